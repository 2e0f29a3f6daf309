"""Compile C, C++, OpenCL C and CUDA device sources to LLVM bitcode with a clang subprocess.

One call of :func:`compile_to_bitcode` runs exactly one process (the clang driver, which
runs its ``-cc1`` job in-process) with no shell, stdin closed, bitcode read from stdout
(``-o -``, no temp file), a wall-clock timeout that kills the whole process group and an
address-space limit (``RLIMIT_AS``, set with ``prlimit`` on the child right after spawn so
that the spawn itself stays a cheap ``vfork``). Every failure becomes an
:class:`~mirencoder.infra.errors.InputError` whose ``reason`` is one of :data:`COMPILE_REASONS`.

Text policy: a source with NUL bytes or many control bytes is ``binary_content``; a source
that is not valid UTF-8 but otherwise looks like text (Latin-1 comments, for instance) is
still compiled, because clang accepts such bytes in comments and string literals and old
corpora are full of them.
"""

from __future__ import annotations

import atexit
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from ..infra.errors import ConfigError, FatalError, InputError

__all__ = [
    "LANGUAGE_BY_SUFFIX",
    "SOURCE_LANGUAGES",
    "COMPILE_REASONS",
    "DEFAULT_MAX_FILE_BYTES",
    "CUDA_SHIM",
    "CUDA_INCLUDE",
    "OPT_LEVELS",
    "detect_language",
    "CompileConfig",
    "Toolchain",
    "compile_command",
    "compile_to_bitcode",
    "check_source_bytes",
]

LANGUAGE_BY_SUFFIX: dict[str, str] = {
    ".c": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".C": "cpp",
    ".cl": "opencl",
    ".cu": "cuda",
    ".ll": "ir",
    ".bc": "ir",
}
"""Program files by suffix (case-sensitive: ``.C`` is C++, as for gcc and clang)."""

SOURCE_LANGUAGES = ("c", "cpp", "opencl", "cuda")
"""Languages that :func:`compile_to_bitcode` compiles (``ir`` goes to normalisation)."""

COMPILE_REASONS = ("empty", "too_large", "binary_content", "compile_error", "missing_header",
                   "timeout", "memory_limit", "unsupported_language")
"""Every ``InputError.reason`` that :func:`compile_to_bitcode` raises."""

DEFAULT_MAX_FILE_BYTES = 1_000_000
"""Default size limit of one source file (bytes)."""

CUDA_SHIM = Path(__file__).resolve().parent / "resources" / "cuda_shim.h"
"""Header injected with ``-include`` for CUDA device code (no CUDA toolkit needed)."""

CUDA_INCLUDE = CUDA_SHIM.parent / "cuda_include"
"""Empty stand-ins for CUDA toolkit headers (``cuda_runtime.h``, ...), searched last
(``-idirafter``): the shim already declares what kernels use from them."""

OPT_LEVELS = ("O0", "O1", "O2", "O3", "Os", "Oz")
"""The optimisation levels a build may compile at."""
_MESSAGE_LINES = 6
_MESSAGE_CHARS = 800

# Flags per language; the toolchain note (shared/notes/toolchain.md) is the source of truth.
_LANGUAGE_FLAGS: dict[str, tuple[str, ...]] = {
    "c": ("-x", "c"),
    "cpp": ("-x", "c++"),
    "opencl": ("-x", "cl", "-cl-std=CL1.2", "-Xclang", "-finclude-default-header",
               "-target", "spir64-unknown-unknown"),
    # --cuda-path=/nonexistent keeps a partial CUDA toolkit on the machine from breaking clang.
    # The shim goes in as a precompiled header where one can be built (see _cuda_pch).
    "cuda": ("-x", "cuda", "--cuda-path=/nonexistent", "--cuda-device-only", "-nocudainc",
             "-nocudalib", "--cuda-gpu-arch=sm_70", "-idirafter", str(CUDA_INCLUDE),
             "-include", str(CUDA_SHIM)),
}

# -w: warnings are noise here. -fno-crash-diagnostics: a crashing clang must not leave
# reproducer files in /tmp. -ferror-limit: a broken file fails fast.
_COMMON_FLAGS = ("-c", "-emit-llvm", "-w", "-fno-color-diagnostics", "-fno-crash-diagnostics",
                 "-ferror-limit=5")

# Bytes that (almost) never occur in source text: C0 controls except \t \n \v \f \r and ESC
# (ANSI colour codes in string literals), plus DEL.
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 27), *range(28, 32), 127])
_HIGH_BYTES = bytes(range(128, 256))

_MEMORY_HINTS = ("out of memory", "std::bad_alloc", "Allocation failed", "Cannot allocate memory",
                 "failed to map segment", "unable to allocate")
# Crash backtraces and banners: never useful in a manifest message.
_NOISE_RE = re.compile(r"(#\d+ 0x|\d+\.\s|Stack dump|PLEASE submit|clang: note:)")
_VERSION_RE = re.compile(r"version\s+(\d+(?:\.\d+)+)")


def detect_language(path: str | Path) -> str | None:
    """Returns the language of a program file from its suffix, or None for other files.

    Args:
        path: a file path (only its suffix is read).

    Returns:
        One of ``c``, ``cpp``, ``opencl``, ``cuda``, ``ir``, or None.
    """
    return LANGUAGE_BY_SUFFIX.get(os.path.splitext(str(path))[1])


@dataclass(kw_only=True, slots=True)
class CompileConfig:
    """Settings of the compile stage (part of the build configuration's hash)."""

    opt_level: str = "O2"
    """Optimisation level, one of O0..O3, Os, Oz. O0 adds ``-disable-O0-optnone`` so that the
    IR stays optimisable and carries no ``optnone`` noise. Default O2: evaluation IR is optimised."""
    opt_levels: list[str] = field(default_factory=list)
    """Compile every source at each of these levels, one program variant per level (e.g.
    ``[O0, O1, O2, O3, Oz]``: the variants of a source share its ``group``). Empty: one
    variant at ``opt_level``. Give one or the other. Ready IR (``.ll``/``.bc``) is never
    recompiled: it stays one variant."""
    timeout_s: float = 30.0
    """Wall-clock limit of one clang run, seconds (0 < t <= 3600)."""
    memory_limit_mb: int = 2048
    """Address-space limit (RLIMIT_AS) of one clang run, MiB; clang 14 needs about 300 to start."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Larger sources fail with reason ``too_large`` before clang runs."""
    extra_flags: dict[str, list[str]] = field(default_factory=dict)
    """Extra clang flags per language (``c``, ``cpp``, ``opencl``, ``cuda``), appended last."""
    include_dirs: list[str] = field(default_factory=list)
    """Include folders for every file, after the file's own folder and per-call folders."""
    clang: str | None = None
    """clang executable; None picks ``clang-14``, then ``clang``, from PATH."""
    compilers: list[str] = field(default_factory=list)
    """clang executables that each compile every source at every level, each compile one more
    variant of the source's group (e.g. ``[clang-14, clang-19]``: a change of toolchain as a
    free positive pair beside the levels). Empty: the one ``clang``. Give one or the other.
    The variants are ordered so that neighbours differ in compiler as well as in level (see
    :meth:`variants`)."""
    flag_sets: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Named sets of extra clang flags per language, each compiling every source once more
    at every level with every compiler (e.g. ``{host: {}, spir64: {c: [-target,
    spir64-unknown-unknown, ...]}}``: another target, or another pass pipeline such as
    ``-fno-vectorize``, as a free positive pair). A set's flags follow ``extra_flags``; a
    language a set does not name compiles with ``extra_flags`` alone. Empty: no set. The
    manifest names each variant's set (``flag_set``)."""
    llvm_as: str | None = None
    """llvm-as executable; None picks the one matching clang's version, then ``llvm-as``."""

    def __post_init__(self) -> None:
        problems = []
        if self.opt_level not in OPT_LEVELS:
            problems.append(f"compile.opt_level must be one of {OPT_LEVELS}, got {self.opt_level!r}")
        if self.opt_levels:
            bad = [level for level in self.opt_levels if level not in OPT_LEVELS]
            if bad or len(set(self.opt_levels)) != len(self.opt_levels):
                problems.append(f"compile.opt_levels must be distinct levels of {OPT_LEVELS}, "
                                f"got {list(self.opt_levels)}")
            if self.opt_level != "O2":
                problems.append("give compile.opt_level or compile.opt_levels, not both")
        if self.compilers:
            if (len(set(self.compilers)) != len(self.compilers)
                    or not all(isinstance(c, str) and c for c in self.compilers)):
                problems.append(f"compile.compilers must be distinct executable names, "
                                f"got {list(self.compilers)}")
            if self.clang is not None:
                problems.append("give compile.clang or compile.compilers, not both")
        if not 0 < self.timeout_s <= 3600:
            problems.append(f"compile.timeout_s must be in (0, 3600], got {self.timeout_s}")
        if not 64 <= self.memory_limit_mb <= 1 << 20:
            problems.append(f"compile.memory_limit_mb must be in [64, 1048576], "
                            f"got {self.memory_limit_mb}")
        if self.max_file_bytes < 1:
            problems.append(f"compile.max_file_bytes must be >= 1, got {self.max_file_bytes}")
        problems += _flag_problems("compile.extra_flags", self.extra_flags)
        for name, flags in self.flag_sets.items():
            if not isinstance(name, str) or not name or not isinstance(flags, dict):
                problems.append(f"compile.flag_sets must map names to per-language flag lists, "
                                f"got {name!r}: {flags!r}")
                continue
            problems += _flag_problems(f"compile.flag_sets[{name!r}]", flags)
        if problems:
            raise ConfigError(problems)

    def levels(self) -> tuple[str, ...]:
        """The levels every source is compiled at: ``opt_levels``, else ``(opt_level,)``."""
        return tuple(self.opt_levels) or (self.opt_level,)

    def variants(self) -> tuple[tuple[str, str | None, str | None], ...]:
        """``(level, clang, flag set)`` of every variant of a source, in build order (``clang``
        None: the default search; flag set None: none). The toolchains are every (compiler,
        flag set); with T of them, round ``r`` gives level ``j`` to toolchain ``(j + r) % T``:
        every (level, toolchain) once, neighbours differing in both (the training stream pairs
        neighbouring variants). One toolchain: the levels in order."""
        levels = self.levels()
        toolchains = [(clang, flag_set) for clang in (tuple(self.compilers) or (self.clang,))
                      for flag_set in (tuple(self.flag_sets) or (None,))]
        return tuple((level, *toolchains[(j + r) % len(toolchains)])
                     for r in range(len(toolchains)) for j, level in enumerate(levels))

    @property
    def first_clang(self) -> str | None:
        """The clang of the first variant: ``compilers[0]``, else ``clang`` (None: the default
        search)."""
        return self.compilers[0] if self.compilers else self.clang

    def at_level(self, level: str) -> CompileConfig:
        """This config compiling at one level only (``opt_level=level``, no ``opt_levels``),
        with its first compiler and its first flag set."""
        return self.at_variant(level, self.first_clang, next(iter(self.flag_sets), None))

    def at_variant(self, level: str, clang: str | None, flag_set: str | None = None
                   ) -> CompileConfig:
        """This config compiling one variant: one level, one clang, one flag set (its flags
        appended to ``extra_flags``)."""
        extra = {language: list(flags) for language, flags in self.extra_flags.items()}
        for language, flags in (self.flag_sets[flag_set] if flag_set else {}).items():
            extra[language] = [*extra.get(language, []), *flags]
        return replace(self, opt_level=level, opt_levels=[], compilers=[], clang=clang,
                       flag_sets={}, extra_flags=extra)


def _flag_problems(name: str, flags_by_language: dict) -> list[str]:
    """What is wrong with a per-language flag mapping (``extra_flags`` or one flag set)."""
    problems = []
    unknown = sorted(set(flags_by_language) - set(SOURCE_LANGUAGES))
    if unknown:
        problems.append(f"{name} has unknown languages {unknown}; use {list(SOURCE_LANGUAGES)}")
    for language, flags in flags_by_language.items():
        if not isinstance(flags, list | tuple) or not all(isinstance(f, str) for f in flags):
            problems.append(f"{name}[{language!r}] must be a list of strings")
    return problems


@dataclass(frozen=True, slots=True)
class Toolchain:
    """The clang and llvm-as executables of a build, with their versions (picklable)."""

    clang: str
    """Absolute path of the clang driver."""
    llvm_as: str | None
    """Absolute path of llvm-as, or None when it is not installed (only ``.ll`` inputs need it)."""
    clang_version: str
    """clang's version, e.g. ``14.0.6``."""
    llvm_version: str
    """LLVM's version from ``llvm-as --version`` (clang's version when llvm-as is missing)."""

    @classmethod
    def probe(cls, config: CompileConfig | None = None) -> Toolchain:
        """Finds clang and llvm-as and reads their versions (once per process and path).

        Args:
            config: the compile config; its ``clang`` (or first of ``compilers``) and
                ``llvm_as`` override the search.

        Returns:
            The toolchain.

        Raises:
            FatalError: clang is missing or does not run; the message says how to install it.
        """
        config = config or CompileConfig()
        wanted = config.first_clang
        clang = _which(wanted) if wanted else (_which("clang-14") or _which("clang"))
        if clang is None:
            package = wanted if wanted and wanted.startswith("clang-") else "clang"
            raise FatalError(f"{wanted or 'clang-14 or clang'} not found on PATH. Install it, "
                             f"e.g. `sudo apt-get install {package}` on Debian 12 (clang-14 is "
                             "`clang`; or set compile.clang / compile.compilers).")
        clang_version = _tool_version(clang)
        if config.llvm_as:
            llvm_as = _which(config.llvm_as)
            if llvm_as is None:
                raise FatalError(f"llvm-as {config.llvm_as!r} not found. Install it, e.g. "
                                 "`sudo apt-get install llvm-14` (or unset compile.llvm_as).")
        else:
            major = clang_version.split(".")[0]
            llvm_as = _which(f"llvm-as-{major}") or _which("llvm-as")
        llvm_version = _tool_version(llvm_as) if llvm_as else clang_version
        return cls(clang=clang, llvm_as=llvm_as, clang_version=clang_version,
                   llvm_version=llvm_version)


def _which(name: str) -> str | None:
    found = shutil.which(name)
    return os.path.realpath(found) if found else None


@lru_cache(maxsize=16)
def _tool_version(executable: str) -> str:
    try:
        proc = subprocess.run([executable, "--version"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FatalError(f"cannot run {executable} --version: {exc}") from exc
    text = proc.stdout.decode("utf-8", "replace")
    match = _VERSION_RE.search(text)
    if proc.returncode != 0 or match is None:
        raise FatalError(f"{executable} --version failed (exit {proc.returncode}): "
                         f"{(text + proc.stderr.decode('utf-8', 'replace')).strip()[:300]}")
    return match.group(1)


def _level_flags(config: CompileConfig) -> list[str]:
    flags = [f"-{config.opt_level}"]
    if config.opt_level == "O0":
        flags += ["-Xclang", "-disable-O0-optnone"]
    return flags


def compile_command(path: Path, language: str, toolchain: Toolchain, config: CompileConfig,
                    include_dirs: Sequence[Path] = (), *, cuda_pch: str | None = None
                    ) -> list[str]:
    """Returns the clang argument vector that :func:`compile_to_bitcode` runs (bitcode to stdout).

    Args:
        path: the source file.
        language: one of :data:`SOURCE_LANGUAGES`.
        toolchain: from :meth:`Toolchain.probe`.
        config: the compile config; compiles at ``config.opt_level`` (one variant of
            ``opt_levels``: :meth:`CompileConfig.at_level`).
        include_dirs: extra include folders (e.g. the recipe's), after the file's own folder.
        cuda_pch: a precompiled :data:`CUDA_SHIM` for these flags, used instead of the header.

    Raises:
        InputError: ``unsupported_language``.
    """
    flags = _LANGUAGE_FLAGS.get(language)
    if flags is None:
        raise InputError("unsupported_language",
                         f"cannot compile language {language!r}; compiled languages are "
                         f"{', '.join(SOURCE_LANGUAGES)}")
    if language == "cuda" and cuda_pch:
        flags = (*flags[:-2], "-include-pch", cuda_pch)
    argv = [toolchain.clang, *flags, *_COMMON_FLAGS, *_level_flags(config)]
    argv += ["-I", os.path.dirname(os.path.abspath(path)) or "."]
    for folder in (*include_dirs, *config.include_dirs):
        argv += ["-I", str(folder)]
    argv += config.extra_flags.get(language, ())
    argv += ["-o", "-", str(path)]
    return argv


def check_source_bytes(data: bytes, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
    """Rejects sources that clang should never see: empty, too large, or not text.

    Args:
        data: the file's bytes.
        max_file_bytes: size limit.

    Raises:
        InputError: ``empty``, ``too_large`` or ``binary_content``.
    """
    if len(data) > max_file_bytes:
        raise InputError("too_large", f"{len(data)} bytes > limit {max_file_bytes}")
    if not data.strip():
        raise InputError("empty", "file is empty" if not data else "file holds only whitespace")
    if b"\0" in data:
        offset = data.index(b"\0")
        raise InputError("binary_content", f"NUL byte at offset {offset}: not source text")
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls * 50 > len(data):  # > 2 % control bytes
        raise InputError("binary_content", f"{controls} of {len(data)} bytes are control "
                         "characters: not source text")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            high = len(data) - len(data.translate(None, _HIGH_BYTES))
            if high * 4 > len(data):  # > 25 % non-ASCII and not UTF-8: binary, not Latin-1 text
                raise InputError("binary_content", f"{high} of {len(data)} bytes are non-ASCII "
                                 "and not UTF-8: not source text") from None
            # Otherwise: legacy-encoded text. clang accepts it; compile it (see module docstring).


def _limit_child(pid: int, memory_bytes: int, timeout_s: float) -> None:
    # prlimit(2) on the fresh child instead of a preexec_fn: a preexec_fn forces fork() instead
    # of vfork() and costs ~3.5 ms per file here (a tenth of a clang run), more in a large Ray
    # worker. clang spends its first milliseconds loading shared libraries, so the limit is in
    # place long before any real allocation. The CPU limit is only a backstop that ends clang
    # even if this process dies before its wall-clock timeout fires.
    cpu_s = math.ceil(timeout_s) + 1
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.prlimit(pid, resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    except ProcessLookupError:
        pass  # already exited; its status tells what happened


def compile_to_bitcode(path: Path, language: str, toolchain: Toolchain, config: CompileConfig,
                       include_dirs: Sequence[Path] = ()) -> bytes:
    """Compiles one source file to LLVM bitcode.

    Args:
        path: the source file (C, C++, OpenCL C or CUDA device code).
        language: one of :data:`SOURCE_LANGUAGES` (``ir`` is not compiled).
        toolchain: from :meth:`Toolchain.probe`.
        config: flags, limits and include folders.
        include_dirs: extra include folders of this call (e.g. the recipe's); the file's own
            folder always comes first.

    Returns:
        The module's bitcode.

    Raises:
        InputError: with ``reason`` in :data:`COMPILE_REASONS` and the first useful lines of
            clang's diagnostics as the message. Nothing else escapes for a bad file.
    """
    path = Path(path)
    pch = None
    if language == "cuda":
        with _PCH_LOCK:  # threads compiling CUDA at once build the header once
            pch = _cuda_pch(toolchain.clang, tuple(_level_flags(config)),
                            tuple(config.extra_flags.get("cuda", ())), config.timeout_s,
                            config.memory_limit_mb)
    argv = compile_command(path, language, toolchain, config, include_dirs, cuda_pch=pch)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > config.max_file_bytes:
                raise InputError("too_large", f"{size} bytes > limit {config.max_file_bytes}")
            data = handle.read(config.max_file_bytes + 1)
    except OSError as exc:
        raise InputError("compile_error", f"cannot read {path}: {exc.strerror or exc}") from None
    check_source_bytes(data, config.max_file_bytes)

    limit = config.memory_limit_mb << 20
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, close_fds=True, start_new_session=True,
                                env=_clang_env())
    except OSError as exc:
        raise FatalError(f"cannot start {toolchain.clang}: {exc}") from exc
    try:
        _limit_child(proc.pid, limit, config.timeout_s)
        out, err = proc.communicate(timeout=config.timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise InputError("timeout", f"clang ran longer than {config.timeout_s:g} s") from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    if proc.returncode == 0 and out:
        return out
    raise _classify_failure(proc.returncode, err.decode("utf-8", "replace"), config)


@lru_cache(maxsize=16)
def _cuda_pch(clang: str, level_flags: tuple[str, ...], extra_flags: tuple[str, ...],
              timeout_s: float, memory_limit_mb: int) -> str | None:
    """Precompiles :data:`CUDA_SHIM` once per process and flags; None if clang cannot.

    The shim pulls in clang's CUDA math and intrinsics headers and a few system headers
    (about 0.15 s per compile); the precompiled header gives the same bitcode without that
    cost. It lives in a private temporary folder of this process (removed at exit, or by a
    later process once this one is gone), so it never outlives the headers it was built from.
    """
    _remove_stale_pch_folders()
    folder = tempfile.mkdtemp(prefix=f"{_PCH_PREFIX}{os.getpid()}-")
    atexit.register(shutil.rmtree, folder, True)
    out = os.path.join(folder, "cuda_shim.pch")
    argv = [clang, *_LANGUAGE_FLAGS["cuda"][:-2], *_COMMON_FLAGS, *level_flags, *extra_flags,
            "-Xclang", "-emit-pch", "-o", out, str(CUDA_SHIM)]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, close_fds=True,
                                start_new_session=True, env=_clang_env())
    except OSError:
        return None
    try:
        _limit_child(proc.pid, memory_limit_mb << 20, timeout_s)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait()
        return None
    return out if proc.returncode == 0 and os.path.isfile(out) else None


_PCH_PREFIX = "mirencoder-cuda-pch-"
_PCH_LOCK = threading.Lock()


def _remove_stale_pch_folders() -> None:
    # Ray workers are often killed, not exited: their atexit never runs.
    for folder in Path(tempfile.gettempdir()).glob(f"{_PCH_PREFIX}*-*"):
        pid = folder.name[len(_PCH_PREFIX):].split("-", 1)[0]
        try:
            if folder.stat().st_uid != os.getuid() or not pid.isdigit():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


@lru_cache(maxsize=1)
def _clang_env() -> dict[str, str]:
    # English, colourless diagnostics so that reasons can be read from stderr.
    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C")
    env.pop("CCC_OVERRIDE_OPTIONS", None)
    return env


def _classify_failure(returncode: int, stderr: str, config: CompileConfig) -> InputError:
    message = _first_useful_lines(stderr)
    if returncode == -signal.SIGXCPU:
        return InputError("timeout", f"clang used more than its CPU-time limit: {message}")
    if any(hint in stderr for hint in _MEMORY_HINTS) or returncode == -signal.SIGKILL:
        return InputError("memory_limit", f"clang exceeded the {config.memory_limit_mb} MiB "
                          f"memory limit: {message}")
    if "file not found" in stderr:
        return InputError("missing_header", message)
    if returncode < 0:
        return InputError("compile_error", f"clang crashed (signal {-returncode}): {message}")
    if returncode == 0:
        return InputError("compile_error", "clang wrote no bitcode")
    return InputError("compile_error", message or f"clang failed with exit status {returncode}")


def _first_useful_lines(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not _NOISE_RE.match(line.strip())]
    useful = [line for line in lines
              if "error" in line or "ERROR" in line or "Allocation failed" in line]
    picked = (useful or lines)[:_MESSAGE_LINES]
    text = "\n".join(picked)
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 3] + "..."
