"""clang 14 runs of the probes (variants at each level, -O3 remark files), cached on disk.

A cache entry is named by the sha256 of the source bytes, clang's version and the exact
flags (paths replaced by placeholders), so a rerun, or another checkout with the same
clang, skips the compile. Failures are cached too (as ``<key>.error``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ....infra.errors import InputError
from ....infra.files import sha256_file, sha256_json, write_bytes_atomic
from ....pipelines.compile import CompileConfig, Toolchain, compile_command, compile_to_bitcode
from .sources import SourceFile

__all__ = ["CompileOutcome", "ProbeCompiler", "REMARK_FLAGS"]

REMARK_FLAGS = ("-fsave-optimization-record=yaml", "-foptimization-record-file=@RECORD@",
                "-foptimization-record-passes=loop-vectorize")
"""Flags that make clang write the loop vectoriser's remarks (with their function) as YAML."""

_RECORD = "@RECORD@"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CompileOutcome:
    """A cached file (bitcode or remark YAML), or why clang failed."""

    path: Path | None
    error: str | None = None


def _placeholders(argv: Sequence[str], source: Path, clang: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(source))
    out = []
    for word in argv:
        word = "<clang>" if word == clang else word.replace(str(source), "<source>")
        out.append(word.replace(folder, "<dir>"))
    return out


class ProbeCompiler:
    """Compiles probe sources with clang 14 through the pipeline's compile stage.

    Args:
        cache_dir: root of the cache (``variants/`` and ``remarks/`` below it).
        timeout_s: wall-clock limit of one clang run.
        workers: clang processes at once in :meth:`map`.
    """

    def __init__(self, cache_dir: Path, *, timeout_s: float = 30.0, workers: int = 2):
        self.cache_dir = Path(cache_dir)
        self.timeout_s = timeout_s
        self.workers = workers
        self.toolchain = Toolchain.probe(CompileConfig())
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """clang's path and version (for the results)."""
        return {"clang": self.toolchain.clang, "clang_version": self.toolchain.clang_version}

    def _key(self, kind: str, source: SourceFile, argv: Sequence[str]) -> str:
        payload = {"kind": kind, "source_sha256": sha256_file(source.local_path),
                   "clang": self.toolchain.clang_version,
                   "argv": _placeholders(argv, source.local_path, self.toolchain.clang)}
        return sha256_json(payload)

    def _cached(self, folder: str, key: str, suffix: str) -> tuple[Path, Path, CompileOutcome
                                                                   | None]:
        base = self.cache_dir / folder / key[:2]
        target, error = base / f"{key}{suffix}", base / f"{key}.error"
        outcome = None
        if target.exists():
            outcome = CompileOutcome(target)
        elif error.exists():
            outcome = CompileOutcome(None, error.read_text())
        with self._lock:
            self.hits += outcome is not None
            self.misses += outcome is None
        return target, error, outcome

    def variant(self, source: SourceFile, level: str) -> CompileOutcome:
        """Bitcode of ``source`` at ``-<level>`` (``-O0`` with ``-disable-O0-optnone``)."""
        config = CompileConfig(opt_level=level, timeout_s=self.timeout_s)
        argv = compile_command(source.local_path, "c", self.toolchain, config)
        target, error_file, hit = self._cached("variants", self._key("bitcode", source, argv),
                                               ".bc")
        if hit is not None:
            return hit
        try:
            data = compile_to_bitcode(source.local_path, "c", self.toolchain, config)
        except InputError as error:
            message = f"{error.reason}: {error}"
            write_bytes_atomic(error_file, message.encode())
            return CompileOutcome(None, message)
        write_bytes_atomic(target, data)
        return CompileOutcome(target)

    def remarks(self, source: SourceFile) -> CompileOutcome:
        """The loop vectoriser's optimisation record (YAML) of ``source`` at ``-O3``."""
        config = CompileConfig(opt_level="O3", timeout_s=self.timeout_s,
                               extra_flags={"c": list(REMARK_FLAGS)})
        argv = compile_command(source.local_path, "c", self.toolchain, config)
        target, error_file, hit = self._cached("remarks", self._key("remarks", source, argv),
                                               ".yaml")
        if hit is not None:
            return hit
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".record-") as tmp:
            record = Path(tmp) / "record.yaml"
            real = [w.replace(_RECORD, str(record)) for w in argv]
            message = self._run(real)
            if message is None:
                text = record.read_bytes() if record.exists() else b""
                write_bytes_atomic(target, text)
                return CompileOutcome(target)
        write_bytes_atomic(error_file, message.encode())
        return CompileOutcome(None, message)

    def _run(self, argv: list[str]) -> str | None:
        env = dict(os.environ, LC_ALL="C", LANG="C")
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=self.timeout_s, env=env,
                                  check=False)
        except subprocess.TimeoutExpired:
            return f"timeout: clang ran longer than {self.timeout_s:g} s"
        if proc.returncode == 0:
            return None
        lines = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln), lines[0] if lines else "")
        return f"compile_error: {first[:300] or f'exit status {proc.returncode}'}"

    def map(self, function: Callable[..., T], jobs: Sequence[tuple]) -> list[T]:
        """``[function(*job) for job in jobs]`` with ``workers`` threads (clang runs outside
        the GIL), results in job order."""
        if self.workers <= 1 or len(jobs) < 2:
            return [function(*job) for job in jobs]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda job: function(*job), jobs))
