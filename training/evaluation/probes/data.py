"""Preparing the probes' programs: held-out sources -> compiled variants and labelled loops."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....infra.errors import InputError
from ..programs import EvalProgram
from .compile_cache import CompileOutcome, ProbeCompiler
from .config import ProbeConfig
from .heldout import HeldOutSelection, read_manifest_view, select_held_out, unchecked_selection
from .remarks import parse_optimization_record, program_decision
from .retrieval import deduplicate_variants
from .sources import SourceFile, discover_sources, filter_sources, sample_sources, template_of

__all__ = ["TASKS", "RetrievalSet", "DecisionSet", "ProbeData", "prepare_probe_programs",
           "variant_program", "normalized_digest"]

TASKS = ("vectorized", "vf", "ic")
"""Compiler-decision tasks: vectorised at -O3?, vectorisation width, interleave count."""


@dataclass(slots=True)
class RetrievalSet:
    """Kept variants (probe a): one program per distinct normalised IR of a source."""

    programs: list[EvalProgram]
    groups: list[str]
    corpora: list[str]
    levels: list[str]
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DecisionSet:
    """Labelled -O0 programs (probe b), their fold groups per grouping, per-task labels."""

    programs: list[EvalProgram]
    groups: dict[str, list[str]]
    corpora: list[str]
    labels: dict[str, list[str]]
    counts: dict[str, Any] = field(default_factory=dict)
    test_programs: list[EvalProgram] = field(default_factory=list)
    """The same rows at ``ProbeConfig.decision_test_level``, from which the held-out folds
    are predicted (empty: the probe, from ``programs``)."""


@dataclass(slots=True)
class ProbeData:
    """Everything the probes evaluate, plus how it was chosen."""

    retrieval: RetrievalSet
    decisions: DecisionSet
    held_out: dict[str, Any]
    toolchain: dict[str, Any]
    timing: dict[str, float]

    def programs(self) -> list[EvalProgram]:
        """Every distinct program of both probes (each is featurized once)."""
        unique: dict[str, EvalProgram] = {}
        for program in (*self.retrieval.programs, *self.decisions.programs,
                        *self.decisions.test_programs):
            unique.setdefault(program.key, program)
        return list(unique.values())


def variant_program(source: SourceFile, level: str, path: Path) -> EvalProgram:
    """The program of one compiled variant (its kernel is the source: the retrieval group)."""
    return EvalProgram(key=f"{source.source_id}@{level}", kernel=source.source_id, path=path)


def normalized_digest(path: Path) -> str:
    """sha256 of the pipeline's normalised IR text of a bitcode file (names, metadata and
    debug info do not count)."""
    from ....pipelines.ir.normalize import normalize_ir

    return normalize_ir(Path(path).read_bytes(), bitcode=False).sha256


def _digest_or_none(outcome: CompileOutcome) -> str | None:
    if outcome.path is None:
        return None
    try:
        return normalized_digest(outcome.path)
    except InputError:
        return None


def _retrieval_set(config: ProbeConfig, selection: HeldOutSelection,
                   compiler: ProbeCompiler) -> RetrievalSet:
    jobs: list[tuple[SourceFile, str]] = []
    sampled: dict[str, int] = {}
    for corpus, eligible in selection.sources.items():
        chosen = sample_sources(eligible, config.retrieval_sources_per_corpus, config.seed,
                                "retrieval")
        sampled[corpus] = len(chosen)
        jobs += [(source, level) for source in chosen for level in config.opt_levels]
    outcomes = compiler.map(compiler.variant, jobs)
    digests = [_digest_or_none(o) for o in outcomes]
    ok = [i for i, d in enumerate(digests) if d is not None]
    kept_local, dedup = deduplicate_variants([jobs[i][0].source_id for i in ok],
                                             [digests[i] or "" for i in ok])
    kept = [ok[i] for i in kept_local]
    programs = [variant_program(jobs[i][0], jobs[i][1], outcomes[i].path)  # type: ignore[arg-type]
                for i in kept]
    corpora = [jobs[i][0].corpus for i in kept]
    levels = [jobs[i][1] for i in kept]
    failures = Counter((o.error or "").split(":", 1)[0] for o in outcomes if o.path is None)
    counts = {
        "sources_sampled": sampled,
        "variants_compiled": len(jobs) - sum(failures.values()),
        "compile_failures": dict(failures),
        "normalize_failures": sum(1 for o, d in zip(outcomes, digests, strict=True)
                                  if o.path is not None and d is None),
        **dedup,
        "sources_kept": dict(Counter({p.kernel: c for p, c in zip(
            programs, corpora, strict=True)}.values())),
        "variants_kept": dict(Counter(corpora)),
        "variants_per_level": {lv: levels.count(lv) for lv in config.opt_levels},
    }
    return RetrievalSet(programs, [p.kernel for p in programs], corpora, levels, counts)


def _decision_set(config: ProbeConfig, selection: HeldOutSelection,
                  compiler: ProbeCompiler) -> DecisionSet:
    templates = {c.name: c.template_pattern for c in config.corpora}
    corpus_by_name = {c.name: c for c in config.corpora}
    candidates: list[SourceFile] = []
    filtered: dict[str, int] = {}
    for name, eligible in selection.sources.items():
        corpus = corpus_by_name[name]
        if corpus.decision_filter is not None:
            eligible = filter_sources(eligible, corpus.decision_filter)
            filtered[name] = len(eligible)
        count = (config.decision_candidates_per_corpus if corpus.decision_candidates is None
                 else corpus.decision_candidates)
        candidates += sample_sources(eligible, count, config.seed, "decisions")
    records = compiler.map(compiler.remarks, [(s,) for s in candidates])
    reasons: dict[str, Counter[str]] = {}
    qualified = []
    for source, record in zip(candidates, records, strict=True):
        counter = reasons.setdefault(source.corpus, Counter())
        if record.path is None:
            counter["remark_compile_failed"] += 1
            continue
        decision, reason = program_decision(
            parse_optimization_record(record.path.read_text(errors="replace")),
            config.exclude_functions)
        if decision is None:
            counter[reason or "unknown"] += 1
            continue
        counter["qualified"] += 1
        qualified.append((source, decision))
    o0 = compiler.map(compiler.variant, [(s, "O0") for s, _ in qualified])
    level = config.decision_test_level
    shifted = (compiler.map(compiler.variant, [(s, level) for s, _ in qualified])
               if level != "O0" else o0)
    seen: set[str] = set()
    programs, test_programs, corpora = [], [], []
    groups: dict[str, list[str]] = {g: [] for g in config.decision_group_by}
    labels: dict[str, list[str]] = {task: [] for task in TASKS}
    for (source, decision), outcome, moved in zip(qualified, o0, shifted, strict=True):
        digest = _digest_or_none(outcome)
        counter = reasons[source.corpus]
        if digest is None or outcome.path is None:
            counter["o0_failed"] += 1
            continue
        if digest in seen:
            counter["duplicate_o0_ir"] += 1
            continue
        if moved.path is None:
            counter[f"{level.lower()}_failed"] += 1
            continue
        seen.add(digest)
        programs.append(variant_program(source, "O0", outcome.path))
        if level != "O0":
            test_programs.append(variant_program(source, level, moved.path))
        for grouping, members in groups.items():
            members.append(template_of(source, templates.get(source.corpus))
                           if grouping == "template" else source.source_id)
        corpora.append(source.corpus)
        for task, label in decision.labels().items():
            labels[task].append(label)
    counts = {
        **({"eligible_after_filter": filtered} if filtered else {}),
        "candidates": dict(Counter(s.corpus for s in candidates)),
        "outcomes": {c: dict(sorted(r.items())) for c, r in reasons.items()},
        "programs": dict(Counter(corpora)),
        "groups": {g: len(set(m)) for g, m in groups.items()},
        "labels_by_corpus": {task: _by_corpus(values, corpora) for task, values in
                             labels.items()},
    }
    if level != "O0":
        counts["test_level"] = level
    return DecisionSet(programs, groups, corpora, labels, counts, test_programs)


def _by_corpus(values: Sequence[str], corpora: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for value, corpus in zip(values, corpora, strict=True):
        out.setdefault(corpus, Counter())[value] += 1
    return {c: dict(sorted(n.items())) for c, n in sorted(out.items())}


def prepare_probe_programs(config: ProbeConfig) -> ProbeData:
    """Selects held-out sources, compiles them (cached) and labels their loops.

    Raises:
        ConfigError: a missing corpus archive or a folder that is not a built dataset.
        FatalError: clang is not installed.
    """
    start = time.perf_counter()
    found = discover_sources(config)
    if config.dataset is not None:
        selection = select_held_out(found, read_manifest_view(config.dataset),
                                    include_unseen=config.include_unseen)
    else:
        selection = unchecked_selection(found, config.seed)
    discovered = time.perf_counter()
    compiler = ProbeCompiler(config.cache_dir, timeout_s=config.compile_timeout_s,
                             workers=config.workers)
    retrieval = _retrieval_set(config, selection, compiler)
    retrieved = time.perf_counter()
    decisions = _decision_set(config, selection, compiler)
    done = time.perf_counter()
    toolchain = {**compiler.describe(), "cache_hits": compiler.hits,
                 "cache_misses": compiler.misses}
    timing = {"discover_s": discovered - start, "retrieval_compile_s": retrieved - discovered,
              "decision_compile_s": done - retrieved}
    return ProbeData(retrieval, decisions, selection.summary(), toolchain, timing)
