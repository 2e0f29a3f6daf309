"""Labels of compiler-decision prediction for a built dataset: each C source compiled once at
-O3 with clang's optimisation record, its loop vectoriser's decisions read as three classes
(``tasks/decisions.py``), written as ``decision_labels.parquet`` beside the shards.

One row per variant group (source) of the manifest: ``group``, ``corpus``, ``source``
(``ARCHIVE!member``), ``status`` (``ok``, ``compile_error``, ``not_c``, ``source_missing``),
``message``, ``loops`` (decided loops outside ``main``), ``vectorised_loops`` and the class
indices ``vectorised``, ``vf``, ``ic`` (``-100``: no label). Compiles and remarks are cached
by the probes' compiler (``ProbeCompiler``: the same flags, so the labels and the
compiler-decision probe agree on what clang decided).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....infra.config import help_field
from ....infra.errors import ConfigError
from ....infra.files import write_bytes_atomic
from .compile_cache import ProbeCompiler
from .remarks import loop_decisions, parse_optimization_record
from .sources import SourceFile, source_identity

__all__ = ["DecisionLabelsConfig", "build_decision_labels"]


def _probe_cache() -> Path:
    return Path(__file__).resolve().parents[3] / "runs" / "probes" / "cache"


@dataclass(kw_only=True, slots=True)
class DecisionLabelsConfig:
    """Settings of ``mirencoder dataset decision-labels``."""

    cache_dir: Path = field(default_factory=_probe_cache, metadata={
        "help": "where archives are extracted and clang's outputs cached (default: the "
                "probes' cache, runs/probes/cache)"})
    workers: int = help_field(2, "clang processes at once")
    timeout_s: float = help_field(60.0, "wall-clock limit of one clang run, seconds")

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s must be > 0, got {self.timeout_s}")


def _group_sources(dataset_dir: Path) -> dict[str, tuple[str, str, str]]:
    """``group -> (corpus, source display, language)`` from the manifest (first row of each
    group: every level of a group compiles the same source)."""
    import pyarrow.parquet as pq

    manifest = dataset_dir / "manifest.parquet"
    if not manifest.is_file():
        raise ConfigError(f"{dataset_dir} is not a built dataset (no manifest.parquet)")
    table = pq.read_table(manifest, columns=["group", "corpus", "path", "language"])
    out: dict[str, tuple[str, str, str]] = {}
    for row in table.to_pylist():
        out.setdefault(row["group"], (row["corpus"], row["path"], row["language"] or ""))
    return out


def _local_sources(displays: list[str], work_dir: Path) -> dict[tuple[str, str], Path]:
    """``(archive name, member) -> extracted file`` of every archive the displays name (files
    outside archives map to themselves)."""
    from ....pipelines.inputs import discover_inputs

    archives = sorted({d.split("!", 1)[0] for d in displays if "!" in d})
    missing = [a for a in archives if not Path(a).exists()]
    if missing:
        raise ConfigError([f"corpus archive not found: {a} (the dataset was built from it)"
                           for a in missing])
    found: dict[tuple[str, str], Path] = {}
    for item in discover_inputs(archives, work_dir) if archives else []:
        if item.rejection is None and item.local_path is not None:
            found[source_identity(item.path)] = Path(item.local_path)
    for display in displays:
        if "!" not in display and Path(display).is_file():
            found[source_identity(display)] = Path(display)
    return found


def _label_row(group: str, corpus: str, display: str, language: str,
               local: Path | None, compiler: ProbeCompiler) -> dict[str, Any]:
    # the labels' classes live with the (torch) pre-training task: imported when labelling,
    # not when the command's parser is built
    from ...pretraining.tasks.decisions import IGNORE, decision_labels

    row: dict[str, Any] = {"group": group, "corpus": corpus, "source": display, "status": "ok",
                           "message": None, "loops": 0, "vectorised_loops": 0,
                           "vectorised": IGNORE, "vf": IGNORE, "ic": IGNORE}
    if language != "c":
        return {**row, "status": "not_c", "message": f"language {language or 'unknown'}"}
    if local is None:
        return {**row, "status": "source_missing", "message": "not found in its archive"}
    outcome = compiler.remarks(SourceFile(corpus, display, local, source_identity(display)))
    if outcome.path is None:
        return {**row, "status": "compile_error", "message": (outcome.error or "")[:300]}
    loops = loop_decisions(parse_optimization_record(outcome.path.read_text()))
    decisions = [(d.vectorized, d.vf, d.ic) for copies in loops.values() for d in copies]
    vectorised, vf, ic = decision_labels(decisions)
    return {**row, "loops": len(loops),
            "vectorised_loops": sum(any(d.vectorized for d in c) for c in loops.values()),
            "vectorised": vectorised, "vf": vf, "ic": ic}


def _by_corpus(rows: list[dict[str, Any]], column: str) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {}
    for row in rows:
        counts.setdefault(row["corpus"], Counter())[str(row[column])] += 1
    return {corpus: dict(sorted(c.items())) for corpus, c in sorted(counts.items())}


def build_decision_labels(dataset_dir: str | Path, config: DecisionLabelsConfig, *,
                          progress: Callable[[int, int], None] | None = None
                          ) -> dict[str, Any]:
    """Writes ``<dataset_dir>/decision_labels.parquet`` and returns a summary (counts by
    corpus and status, label classes, seconds); ``progress(done, total)`` after each source.

    Raises:
        ConfigError: not a built dataset, or a corpus archive it names is gone.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ...pretraining.tasks.decisions import DECISION_LABELS_FILE

    started = time.perf_counter()
    dataset_dir = Path(dataset_dir)
    groups = _group_sources(dataset_dir)
    local = _local_sources([display for _, display, _ in groups.values()],
                           Path(config.cache_dir) / "sources")
    compiler = ProbeCompiler(Path(config.cache_dir), timeout_s=config.timeout_s,
                             workers=config.workers)
    jobs = [(group, corpus, display, language, local.get(source_identity(display)), compiler)
            for group, (corpus, display, language) in sorted(groups.items())]
    done = itertools.count(1)  # next() is atomic: the jobs run on the compiler's threads

    def label(*job: Any) -> dict[str, Any]:
        row = _label_row(*job)
        if progress is not None:
            progress(next(done), len(jobs))
        return row

    rows = compiler.map(label, jobs)
    path = dataset_dir / DECISION_LABELS_FILE
    path.unlink(missing_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    summary = {
        "file": str(path), "sources": len(rows),
        "status": _by_corpus(rows, "status"),
        "vectorised_classes": _by_corpus([r for r in rows if r["status"] == "ok"],
                                         "vectorised"),
        "clang": compiler.describe(), "cache": {"hits": compiler.hits, "misses": compiler.misses},
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_bytes_atomic(dataset_dir / "decision_labels.json",
                       json.dumps(summary, indent=2, sort_keys=True).encode())
    return summary
