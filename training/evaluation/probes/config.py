"""Typed settings of the probe suite (every default sized for a 2-core machine in minutes)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....infra.errors import ConfigError
from ...core.model_config import ENCODER_OUTPUTS
from ...embedding.embed_config import MODALITIES, basis_problems, window_setting_problem

__all__ = ["OPT_LEVELS", "MODALITIES", "CONTROLS", "GROUPINGS", "CorpusSource", "ProbeConfig",
           "default_corpora", "repo_root"]

OPT_LEVELS = ("O0", "O1", "O2", "O3", "Os", "Oz")
"""Optimisation levels clang accepts here (O0 gets ``-disable-O0-optnone``)."""

DEFAULT_MODALITIES = ENCODER_OUTPUTS
"""Evaluated unless told otherwise (``joint`` measured no better: STUDIES.md, "Which output
for which use")."""

GROUPINGS = ("source", "template")
"""Fold groupings of the decision probe."""

CONTROLS = ("untrained", "opcode-histogram", "program-size", "ir2vec-fa", "random",
            "template-identity")
"""Control rows: the untrained twin, the opcode histogram, the log instruction count (decision
probe only: one number has no cosine to rank by), IR2Vec flow-aware, random vectors, and the
source's generator template as a one-hot (decision probe only: it names the answer of the
retrieval probe); the last measures how far recognising a near-copy goes under source folds."""


def repo_root() -> Path:
    """The checkout holding this package (``pyproject.toml`` beside it), else the working dir."""
    candidate = Path(__file__).resolve().parents[3]
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


@dataclass(frozen=True, slots=True)
class CorpusSource:
    """One corpus of C sources to draw held-out programs from."""

    name: str
    """Corpus label in reports (also the dataset build's corpus name)."""
    archive: str
    """Tar archive (or folder), relative to ``ProbeConfig.data_dir`` unless absolute."""
    member_glob: str
    """Which members are programs (``fnmatch`` on the member path), e.g. ``training_data/s*.c``."""
    template_pattern: str | None = None
    """Regex on the file name whose group 1 names the source's template (files generated from
    one template share it); used when ``ProbeConfig.decision_group_by == "template"``."""
    decision_filter: str | None = None
    """Regex (``re.search``; ``.`` matches newlines, ``^``/``$`` match at lines) a source's text
    must match to be drawn as a decision candidate (probe b); None: every source. Sources
    without a loop cannot qualify, so a filter spares their -O3 compiles."""
    decision_candidates: int | None = None
    """Decision candidates drawn from this corpus (probe b); None:
    ``ProbeConfig.decision_candidates_per_corpus``."""


JOTAI_SECTION = r"^// -{20,} //$"
"""The separator line Jotai puts around the benchmarked function (and the driver's helpers)."""

_OUTSIDE_SECTION = r"(?:(?!" + JOTAI_SECTION + r").)*?"
JOTAI_LOOP_FILTER = (JOTAI_SECTION + _OUTSIDE_SECTION + r"\b(?:for|while|do)\b\s*[({]"
                     + _OUTSIDE_SECTION + JOTAI_SECTION)
"""A loop keyword between two separators: a loop outside Jotai's ``main`` driver (867
of its 18,761 functions; 289 of 300 unfiltered candidates had no loop decision)."""


def default_corpora() -> tuple[CorpusSource, ...]:
    """Jotai (one function plus a driver per file) and the NeuroVectorizer loop kernels.

    Jotai's decision candidates are its held-out functions with a loop, all of them (about
    800): each is its own template, so they are what makes the template folds many.
    """
    return (
        CorpusSource("jotaibench", "corpus/jotaibench.tar.bz2", "jotaibench/jotaibench-v0/*.c",
                     decision_filter=JOTAI_LOOP_FILTER, decision_candidates=1000),
        CorpusSource("neurovectorizer-loops", "corpus/neurovectorizer-loops.tar.gz",
                     "training_data/s*.c", template_pattern=r"^(s\d+n?)_"),
    )


@dataclass(kw_only=True)
class ProbeConfig:
    """Settings of ``run_probes``: data, held-out selection, sample sizes, protocol, methods."""

    data_dir: Path = field(
        default_factory=lambda: (repo_root() / ".." / "shared" / "data").resolve())
    """Folder the corpus archives are relative to (``../shared/data`` beside the checkout)."""
    corpora: tuple[CorpusSource, ...] = field(default_factory=default_corpora)
    """Where the held-out C sources come from."""
    dataset: Path | None = None
    """A built dataset (``index.json`` + ``manifest.parquet``): only sources pre-training never
    saw are used. None: sources are sampled without that check (and the report says so)."""
    include_unseen: bool = True
    """With ``dataset``: also use sources absent from its manifest or that failed to compile
    there (pre-training never saw them either), besides those whose record is in ``test``."""
    cache_dir: Path = field(default_factory=lambda: repo_root() / "runs" / "probes" / "cache")
    """Extracted archives, compiled variants and remark files (keyed by source sha256, clang
    version and flags), so a rerun skips compilation."""
    seed: int = 0
    """Seeds the source samples, the folds, random vectors and MAP@R tie-breaking."""
    retrieval_sources_per_corpus: int = 50
    """Sources per corpus compiled at every level of ``opt_levels`` (probe a)."""
    opt_levels: tuple[str, ...] = ("O0", "O1", "O2", "O3", "Oz")
    """Optimisation levels of the retrieval variants."""
    decision_candidates_per_corpus: int = 300
    """Sources per corpus compiled at -O3 for remarks (probe b), unless the corpus sets its
    own ``CorpusSource.decision_candidates``; drawn among the sources its
    ``decision_filter`` accepts. Only those with exactly one source loop decided by the
    vectoriser outside ``exclude_functions`` are kept."""
    exclude_functions: tuple[str, ...] = ("main",)
    """Functions whose loops do not count (the drivers; inlined copies land there too)."""
    folds: int = 5
    """Folds of the grouped, stratified cross-validation (probe b)."""
    fold_repeats: int = 5
    """Times the cross-validation is repeated, with fold seeds ``seed``, ``seed + 1``, ...
    (probe b): scores are the mean over repeats, reported with their std. Which sources share
    a fold moved a single split's accuracy by up to 0.25 (template folds: 5 to 10 groups)."""
    decision_group_by: tuple[str, ...] = GROUPINGS
    """Fold groupings evaluated, each a table: ``source`` (each file its own group) and
    ``template`` (files generated from one template together, see
    ``CorpusSource.template_pattern``: no near-copy of a test loop is trained on)."""
    decision_train_share: float = 1.0
    """Label efficiency (a diagnostic, not the probe's protocol): each fold of probe b trains
    on this share of its training groups (``folds.subsample_training_groups``: whole groups,
    at least 2, redrawn up to 100 times to keep every class of the fold's training rows); the
    test rows stay the same.
    1: the protocol."""
    decision_test_level: str = "O0"
    """Level shift (a diagnostic, not the probe's protocol): each fold's held-out programs are
    featurized from their IR at this level while the training rows stay at -O0 (rows whose
    source does not compile there are dropped). O0: the protocol; O1 is the one other level
    whose IR the loop vectoriser has not touched (clang runs it at O2, O3 and Os), so the
    label stays hidden.
    """
    min_class_count: int = 5
    """Classes with fewer programs are left out of a task (their count is reported)."""
    logreg_c: float = 1.0
    """Inverse L2 strength of the logistic-regression probe (on standardised features)."""
    logreg_max_iter: int = 2000
    """Iteration cap of the logistic-regression solver."""
    fit_processes: int = 0
    """Processes the decision probe's cross-validations run in (0: one per usable CPU; 1:
    this process); small probes stay in this process. Results do not depend on it."""
    workers: int = 2
    """clang processes run at once."""
    compile_timeout_s: float = 30.0
    """Wall-clock limit of one clang run."""
    model: str | None = None
    """The encoder under test: registry URI or package folder (None: controls only)."""
    untrained_model: str = "auto"
    """Its untrained twin (same architecture and vocabularies, random weights): a registry URI
    or package folder; ``auto`` (`mirencoder eval probes` makes it from ``model``); ``off``,
    ``none`` or empty: no twin rows."""
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    """Encoder embeddings evaluated (rows ``encoder``, ``encoder-tokens``, ``encoder-graph``;
    ``joint`` adds ``encoder-joint``)."""
    untrained_modalities: tuple[str, ...] = DEFAULT_MODALITIES
    """Untrained-twin embeddings evaluated."""
    windows: str = ""
    """Token windows of long programs, for the encoder and its twin alike: '' (the embedder's
    default, first), first, pool, mean or auto (the package's training policy)."""
    max_windows: int = 0
    """Windows per program under ``pool``/``mean`` (0: the package's own, see
    ``EmbedConfig.max_windows``)."""
    basis: str = ""
    """A principal basis file of ``model`` (``mirencoder embed basis``): its outputs centred
    and turned into the principal directions of its pre-training corpus ('': as they are)."""
    untrained_basis: str = ""
    """The same for the untrained twin, fitted on the same programs with its own vectors."""
    basis_variance: float = 0.9
    """With a basis: the leading directions kept cover this share of the corpus variance."""
    basis_dims: int = 0
    """With a basis: keep exactly this many leading directions (0: by ``basis_variance``)."""
    controls: tuple[str, ...] = CONTROLS
    """Control rows to add (see ``CONTROLS``); unavailable ones are skipped with a reason."""
    random_dim: int | None = None
    """Size of the random vectors; None: the encoder's embedding size (128 without one)."""
    progress: bool = False
    """Show progress bars (embedding)."""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.cache_dir = Path(self.cache_dir)
        self.dataset = Path(self.dataset) if self.dataset is not None else None
        self.opt_levels = tuple(self.opt_levels)
        self.modalities = tuple(self.modalities)
        self.untrained_modalities = tuple(self.untrained_modalities)
        self.controls = tuple(self.controls)
        self.exclude_functions = tuple(self.exclude_functions)
        self.decision_group_by = tuple(self.decision_group_by)
        problems = []
        bad_levels = [lv for lv in self.opt_levels if lv not in OPT_LEVELS]
        if bad_levels or len(set(self.opt_levels)) < 2:
            problems.append(f"opt_levels must hold >= 2 distinct levels of {OPT_LEVELS}, "
                            f"got {self.opt_levels}")
        for name in ("modalities", "untrained_modalities"):
            bad = [m for m in getattr(self, name) if m not in MODALITIES]
            if bad:
                problems.append(f"unknown {name} {bad}; known: {list(MODALITIES)}")
        bad_controls = [c for c in self.controls if c not in CONTROLS]
        if bad_controls:
            problems.append(f"unknown controls {bad_controls}; known: {list(CONTROLS)}")
        bad_groupings = [g for g in self.decision_group_by if g not in GROUPINGS]
        if bad_groupings or not self.decision_group_by:
            problems.append(f"decision_group_by must hold some of {list(GROUPINGS)}, "
                            f"got {list(self.decision_group_by)}")
        if not 0 < self.decision_train_share <= 1:
            problems.append(f"decision_train_share must be in (0, 1], got "
                            f"{self.decision_train_share}")
        if self.decision_test_level not in ("O0", "O1"):
            problems.append(f"decision_test_level must be O0 or O1 (the loop vectoriser runs at "
                            f"O2, O3 and Os, so their IR shows the label), got "
                            f"{self.decision_test_level!r}")
        for name in ("retrieval_sources_per_corpus", "decision_candidates_per_corpus"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.folds < 2:
            problems.append(f"folds must be >= 2, got {self.folds}")
        if self.fold_repeats < 1:
            problems.append(f"fold_repeats must be >= 1, got {self.fold_repeats}")
        window_problem = window_setting_problem(self.windows, self.max_windows)
        if window_problem:
            problems.append(window_problem)
        problems.extend(basis_problems(  # an unset twin is checked where it is made
            self.basis, self.untrained_basis, self.basis_variance, self.model,
            self.untrained_model, self.basis_dims))
        if self.workers < 1:
            problems.append(f"workers must be >= 1, got {self.workers}")
        if self.fit_processes < 0:
            problems.append(f"fit_processes must be >= 0 (0: one per usable CPU), got "
                            f"{self.fit_processes}")
        if self.random_dim is not None and self.random_dim < 1:
            problems.append(f"random_dim must be >= 1, got {self.random_dim}")
        if not self.corpora:
            problems.append("corpora is empty")
        problems.extend(_corpus_problems(self.corpora))
        if problems:
            raise ConfigError(problems)

    def archive_path(self, corpus: CorpusSource) -> Path:
        """The corpus archive on disk."""
        path = Path(corpus.archive)
        return path if path.is_absolute() else self.data_dir / path

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (paths as strings) for the results file."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
        out["corpora"] = [dataclasses.asdict(c) for c in self.corpora]
        return out


def _corpus_problems(corpora: tuple[CorpusSource, ...]) -> list[str]:
    problems = []
    for corpus in corpora:
        for name in ("template_pattern", "decision_filter"):
            pattern = getattr(corpus, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as error:
                    problems.append(f"corpus {corpus.name}: {name} is not a regex ({error})")
        if corpus.decision_candidates is not None and corpus.decision_candidates < 0:
            problems.append(f"corpus {corpus.name}: decision_candidates must be >= 0")
    return problems
