"""Loads the heterogeneous device-mapping data (Cummins et al. CGO'17): the 669-row IR set and
the 680-row OpenCL set, each as one table per platform plus the programs their rows point to."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ...infra.errors import InputError
from ...infra.files import write_bytes_atomic
from .ir_repair import repair_ir_file
from .paths import evaluation_data, extract_kernels
from .programs import EvalProgram

__all__ = ["DEVMAP_PLATFORMS", "STATIC_DEVICE", "DevMapData", "ir_file_name",
           "load_devmap_669", "load_devmap_680", "load_devmap"]

DEVMAP_PLATFORMS = ("amd", "nvidia")
"""AMD = Intel i7-3820 + AMD Tahiti 7970; NVIDIA = Intel i7-3820 + NVIDIA GTX 970."""
STATIC_DEVICE = {"amd": "CPU", "nvidia": "GPU"}
"""The static choice the speedups are measured against (the better single device)."""

_COLUMNS = ("benchmark", "dataset", "transfer", "wgsize", "oracle", "runtime_cpu", "runtime_gpu")


@dataclass(slots=True)
class DevMapData:
    """One device-mapping row set.

    Attributes:
        name: ``devmap-669`` or ``devmap-680``.
        programs: the distinct programs the rows use.
        tables: per platform, the usable rows with columns benchmark, dataset, transfer, wgsize,
            oracle (CPU/GPU), runtime_cpu, runtime_gpu and ``program`` (index into programs).
        coverage: rows and kernels in the CSV and used, exclusions by reason, and details.
        repairs: documented edits made to input files.
    """

    name: str
    programs: list[EvalProgram]
    tables: dict[str, pd.DataFrame]
    coverage: dict[str, Any] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)

    def exclude_programs(self, keys: set[str], reason: str) -> int:
        """Drops every row whose program is in ``keys`` (e.g. a featurizer failed on it).

        Returns:
            The number of rows dropped per platform.
        """
        if not keys:
            return 0
        bad = {i for i, program in enumerate(self.programs) if program.key in keys}
        dropped = 0
        for platform, table in self.tables.items():
            mask = table["program"].isin(bad)
            dropped = int(mask.sum())
            self.tables[platform] = table[~mask].reset_index(drop=True)
        excluded = self.coverage.setdefault("excluded_rows", {})
        excluded[reason] = excluded.get(reason, 0) + dropped
        self.coverage["rows_used"] = len(next(iter(self.tables.values())))
        self.coverage["kernels_used"] = int(
            next(iter(self.tables.values()))["benchmark"].nunique())
        return dropped


def ir_file_name(benchmark: str, dataset: str) -> str:
    """The IR file of a 669-set row: ``<benchmark>_<dataset>.ll``, ``<benchmark>.ll`` for default."""
    return f"{benchmark}.ll" if dataset == "default" else f"{benchmark}_{dataset}.ll"


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise InputError("malformed_csv", f"{path}: missing columns {missing}")
    frame = frame.loc[:, [*_COLUMNS, *(["src"] if "src" in frame.columns else [])]].copy()
    frame["dataset"] = frame["dataset"].astype(str)
    return frame.reset_index(drop=True)


def _check_aligned(tables: dict[str, pd.DataFrame]) -> None:
    first, *rest = tables.values()
    for other in rest:
        if len(other) != len(first) or not (
                (other["benchmark"].values == first["benchmark"].values).all()
                and (other["dataset"].values == first["dataset"].values).all()):
            raise InputError("malformed_csv", "the AMD and NVIDIA CSVs do not list the same rows "
                             "in the same order")


def load_devmap_669(data_dir: Path, cache_dir: Path, *, repair: bool = True) -> DevMapData:
    """Loads the 669-row set with its ready IR files (IR2Vec's variant of the CGO'17 data).

    Args:
        data_dir: the data root (the recipe ``devmap-ir2vec-669-v1`` names the archive under
            it; the CSVs lie beside it).
        cache_dir: where ``kernels_ir.tar.gz`` is extracted.
        repair: rewrite ``T* byval`` to ``T* byval(T)`` in the one file that LLVM >= 11 rejects
            (``rodinia-3.1-lavaMD-kernel_gpu_opencl.ll``); without it that row is usually
            excluded because no featurizer can parse it.
    """
    found = evaluation_data("devmap-ir2vec-669-v1", data_dir,
                            ("cgo17-amd.csv", "cgo17-nvidia.csv"))
    folder = found.folder
    root = extract_kernels(found.path, cache_dir) / "kernels_ir"
    tables = {p: _read_csv(folder / f"cgo17-{p}.csv") for p in DEVMAP_PLATFORMS}
    _check_aligned(tables)
    repairs: list[str] = []
    repaired: dict[str, Path] = {}
    if repair:
        for path in sorted(root.glob("*.ll")):
            fixed, count = repair_ir_file(path, root.parent / "repaired")
            if count:
                repaired[path.name] = fixed
                repairs.append(f"{path.name}: {count} argument(s) `T* byval` rewritten as "
                               "`T* byval(T)` (LLVM >= 11 syntax), in a copy")
    base = tables["amd"]
    programs: list[EvalProgram] = []
    index_of: dict[str, int] = {}
    row_program: list[int] = []
    missing: list[str] = []
    for bench, dataset in zip(base["benchmark"], base["dataset"], strict=True):
        name = ir_file_name(bench, dataset)
        path = root / name
        if not path.is_file():
            missing.append(name)
            row_program.append(-1)
            continue
        if name not in index_of:
            index_of[name] = len(programs)
            programs.append(EvalProgram(key=name[:-3], kernel=bench,
                                        path=repaired.get(name, path)))
        row_program.append(index_of[name])
    for platform, table in tables.items():
        table["program"] = row_program
        tables[platform] = table[table["program"] >= 0].drop(
            columns=[c for c in ("src",) if c in table.columns]).reset_index(drop=True)
    coverage = {
        "rows_total": len(base), "rows_used": len(tables["amd"]),
        "kernels_total": int(base["benchmark"].nunique()),
        "kernels_used": int(tables["amd"]["benchmark"].nunique()),
        "excluded_rows": {"missing_ir": len(missing)} if missing else {},
        "details": {"missing_ir": missing} if missing else {},
        "source": "ready IR files (kernels_ir.tar.gz), one per row",
    }
    return DevMapData(name="devmap-669", programs=programs, tables=tables, coverage=coverage,
                      repairs=repairs)


def _find_kernel_file(folder: Path, benchmark: str, by_lower: dict[str, Path]) -> Path | None:
    exact = folder / f"{benchmark}.cl"
    if exact.is_file():
        return exact
    return by_lower.get(f"{benchmark}.cl".lower())


def _compile_kernels(sources: dict[str, Path], out_dir: Path, opt_level: str = "O2"
                     ) -> tuple[dict[str, Path], dict[str, tuple[str, str]]]:
    """Compiles OpenCL kernels with the pipeline's front end at ``opt_level``, caching bitcode
    and failures (one cache folder per toolchain and settings)."""
    from ...pipelines.compile import CompileConfig
    from ...pipelines.frontend.loader import FrontEnd

    frontend = FrontEnd(CompileConfig(opt_level=opt_level))
    config, toolchain = frontend.config, frontend.probe()
    settings = json.dumps({"clang": toolchain.clang_version, "llvm": toolchain.llvm_version,
                           "config": dataclasses.asdict(config)}, sort_keys=True, default=str)
    folder = out_dir / f"compiled-{hashlib.sha256(settings.encode()).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    failures_path = folder / "failures.json"
    failures: dict[str, tuple[str, str]] = (
        {k: tuple(v) for k, v in json.loads(failures_path.read_text()).items()}
        if failures_path.exists() else {})
    compiled: dict[str, Path] = {}
    todo = [b for b in sorted(sources) if b not in failures and not (folder / f"{b}.bc").exists()]
    for bench in sorted(sources):
        if (folder / f"{bench}.bc").exists():
            compiled[bench] = folder / f"{bench}.bc"
    for bench in tqdm(todo, desc="compile OpenCL kernels", unit="kernel", disable=not todo):
        try:
            bitcode = frontend.file_bytes(sources[bench], "opencl")
        except InputError as error:
            failures[bench] = (error.reason, str(error).splitlines()[0][:300] if str(error) else "")
            continue
        write_bytes_atomic(folder / f"{bench}.bc", bitcode)
        compiled[bench] = folder / f"{bench}.bc"
    failures_path.write_text(json.dumps(failures, indent=1, sort_keys=True))
    (folder / "settings.json").write_text(settings)
    return compiled, {b: failures[b] for b in sources if b in failures}


def load_devmap_680(data_dir: Path, cache_dir: Path, opt_level: str = "O2") -> DevMapData:
    """Loads the 680-row set, compiling its 256 OpenCL sources with the pipeline's front end
    (at ``opt_level``; O2, the default, is the protocol's).

    Rows whose kernel fails to compile are excluded (for every method alike) and counted in
    ``coverage``. Each CSV ``benchmark`` maps to ``kernels/<benchmark>.cl`` (exact name first,
    then a case-insensitive match); the CSV's ``src`` column is checked against the file.
    """
    found = evaluation_data("devmap-opencl-256-v1", data_dir,
                            ("cgo17-amd.csv", "cgo17-nvidia.csv"))
    folder = found.folder
    root = extract_kernels(found.path, cache_dir) / "kernels"
    tables = {p: _read_csv(folder / f"cgo17-{p}.csv") for p in DEVMAP_PLATFORMS}
    _check_aligned(tables)
    base = tables["amd"]
    by_lower = {p.name.lower(): p for p in root.glob("*.cl")}
    sources: dict[str, Path] = {}
    missing: list[str] = []
    src_mismatch: list[str] = []
    for bench, group in base.groupby("benchmark", sort=True):
        path = _find_kernel_file(root, bench, by_lower)
        if path is None:
            missing.append(bench)
            continue
        sources[bench] = path
        if "src" in group.columns and isinstance(group["src"].iloc[0], str):
            if path.read_text(errors="replace").split() != group["src"].iloc[0].split():
                src_mismatch.append(bench)
    compiled, failures = _compile_kernels(sources, cache_dir, opt_level)
    programs = [EvalProgram(key=b, kernel=b, path=compiled[b]) for b in sorted(compiled)]
    index_of = {p.key: i for i, p in enumerate(programs)}
    row_program = [index_of.get(b, -1) for b in base["benchmark"]]
    reasons: Counter[str] = Counter()
    for bench in base["benchmark"]:
        if bench in failures:
            reasons[f"compile:{failures[bench][0]}"] += 1
        elif bench in missing:
            reasons["missing_source"] += 1
    for platform, table in tables.items():
        table["program"] = row_program
        tables[platform] = table[table["program"] >= 0].drop(
            columns=[c for c in ("src",) if c in table.columns]).reset_index(drop=True)
    coverage = {
        "rows_total": len(base), "rows_used": len(tables["amd"]),
        "kernels_total": int(base["benchmark"].nunique()), "kernels_used": len(programs),
        "kernels_compiled": len(compiled), "kernels_failed": len(failures),
        "excluded_rows": dict(reasons),
        "details": {"compile_failures": {b: list(v) for b, v in sorted(failures.items())},
                    "missing_source": missing, "src_column_mismatch": src_mismatch},
        "source": "OpenCL sources compiled by mirencoder.pipelines.compile "
                  f"(clang, {opt_level}, spir64)",
    }
    return DevMapData(name="devmap-680", programs=programs, tables=tables, coverage=coverage)


def load_devmap(row_set: str, data_dir: Path, cache_dir: Path, opt_level: str = "O2"
                ) -> DevMapData:
    """Loads ``"669"`` or ``"680"``; ``opt_level`` compiles the 680 set's kernels at another
    level (the 669 set is ready IR: only its own level, given as O2, is accepted)."""
    if row_set == "669":
        if opt_level != "O2":
            raise ValueError(f"the 669-row set is ready IR and cannot be compiled at "
                             f"{opt_level}: use the 680-row set")
        return load_devmap_669(data_dir, cache_dir)
    if row_set == "680":
        return load_devmap_680(data_dir, cache_dir, opt_level)
    raise ValueError(f"unknown device-mapping row set {row_set!r}; choose 669 or 680")
