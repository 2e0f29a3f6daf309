"""Typed settings of ``mirencoder eval devmap`` and ``mirencoder eval thread-coarsening``.

One tree per command: what is evaluated (``methods``), where the report goes (``report``), the
task's own protocol settings (``devmap`` / ``thread_coarsening``) and, for device mapping, the
fine-tuning head (``finetune``, every :class:`FineTuneConfig` field). The command's named
flags (``--model``, ``--seeds``, ...) are shorthands for ``--set`` on these keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...infra.errors import ConfigError
from ..core.model_config import ENCODER_OUTPUTS
from ..embedding.embed_config import basis_problems, window_setting_problem
from .coarsening_eval import CoarseningConfig
from .devmap_eval import DevMapConfig
from .features.registry import BUILTIN_FEATURIZERS, known_feature_name
from .finetune_config import FineTuneConfig
from .paths import repo_root

__all__ = ["MODALITY_METHOD", "MethodsConfig", "DevMapMethodsConfig", "ReportConfig",
           "EvalConfig", "DevMapEvalConfig", "CoarseningEvalConfig", "default_report_dir"]

# Encoder embedding -> its row in the report.
MODALITY_METHOD = {"fused": "encoder", "tokens": "encoder-tokens", "graph": "encoder-graph",
                   "joint": "encoder-joint"}


def default_report_dir() -> Path:
    """``<repo>/runs/eval``: a run's report stays out of the committed RESULTS.md/results/."""
    return repo_root() / "runs" / "eval"


@dataclass(kw_only=True, slots=True)
class MethodsConfig:
    """What is evaluated: the encoder's rows, the baselines and the controls."""

    model: str = ""
    """Encoder to evaluate: a registry URI (``models:/mirencoder@champion``) or a local package
    folder; adds the encoder rows ('': no encoder rows)."""
    untrained_model: str = ""
    """The same encoder architecture with random weights (URI or folder): adds the
    ``encoder-untrained`` ablation row ('': none)."""
    modalities: list[str] = field(default_factory=lambda: list(ENCODER_OUTPUTS))
    """Encoder embeddings to evaluate: fused (row ``encoder``), tokens, graph (ablations);
    joint (the three side by side, row ``encoder-joint``) on request."""
    features: list[str] = field(default_factory=lambda: list(BUILTIN_FEATURIZERS))
    """Baselines and controls (empty: only the encoder): runtime-only, kernel-identity,
    program-size, opcode-histogram, loop-opcode-histogram (the opcode counts of the
    instructions in loops), memory-ops (loads, stores and atomics per address space),
    ir2vec-fa, ir2vec-sym."""
    windows: str = ""
    """Token windows of long programs for the encoder and its twin: '' (the embedder's
    default, first), first, pool, mean or auto (the package's training policy)."""
    max_windows: int = 0
    """Windows per program under pool/mean (0: the embedder's default)."""
    basis: str = ""
    """A principal basis file of ``model`` (``mirencoder embed basis``): its outputs centred
    and turned into the principal directions of its pre-training corpus ('': as they are)."""
    untrained_basis: str = ""
    """The same for the untrained twin, fitted on the same programs with its own vectors."""
    basis_variance: float = 0.9
    """With a basis: the leading directions kept cover this share of the corpus variance."""
    basis_dims: int = 0
    """With a basis: keep exactly this many leading directions (0: by ``basis_variance``)."""

    def problems(self) -> list[str]:
        """Every problem of these settings (checked in :meth:`EvalConfig.__post_init__`)."""
        p = []
        unknown = [n for n in self.features if not known_feature_name(n)]
        if unknown:
            p.append(f"methods.features: unknown {unknown}; known: {list(BUILTIN_FEATURIZERS)}"
                     " and ir2vec-fa@DIR / ir2vec-sym@DIR (another seed vocabulary)")
        bad = [m for m in self.modalities if m not in MODALITY_METHOD]
        if bad:
            p.append(f"methods.modalities: unknown {bad}; known: {list(MODALITY_METHOD)}")
        window_problem = window_setting_problem(self.windows, self.max_windows)
        if window_problem:
            p.append(f"methods.{window_problem}")
        p.extend(f"methods.{problem}" for problem in basis_problems(
            self.basis, self.untrained_basis, self.basis_variance, self.model,
            self.untrained_model, self.basis_dims))
        if not self.features and not self.model and not self.untrained_model:
            p.append("nothing to evaluate: give --features (methods.features) and/or --model "
                     "(methods.model)")
        return p


@dataclass(kw_only=True, slots=True)
class DevMapMethodsConfig(MethodsConfig):
    """The device-mapping methods, with the optional end-to-end fine-tuning row."""

    finetune: bool = False
    """Also fine-tune the ``model`` encoder end to end with an MLP head on [embedding ;
    transfer, wgsize], per fold (row ``encoder+finetune``; with ``untrained_model`` its twin
    too, row ``encoder-untrained+finetune``; settings in the ``finetune`` section; on one CPU
    core about 1 min per epoch per fold of the 669-row set). Device mapping only: thread
    coarsening (17 kernels) has too few programs to fine-tune on."""

    def problems(self) -> list[str]:
        p = MethodsConfig.problems(self)
        if self.finetune and not self.model:
            p.append("methods.finetune: --finetune fine-tunes the encoder given by --model "
                     "(methods.model): add --model URI (a registry URI or a package folder)")
        return p


@dataclass(kw_only=True, slots=True)
class ReportConfig:
    """Where the report goes and whether it is logged to MLflow."""

    out_dir: Path = field(default_factory=default_report_dir)
    """Writes OUT/RESULTS.md, OUT/results/summary.json and OUT/results/results.png (other
    tasks' results there are kept); the committed tables are written with --out-dir <repo>."""
    mlflow: bool = False
    """Log RESULTS.md, summary.json and the chart to MLflow and tag the encoder's registered
    version with its metrics."""
    mlflow_run_id: str = ""
    """MLflow run to log into ('': a new run in ``mirencoder-eval``)."""
    model_name: str = ""
    """Registered model to tag ('': from a ``models:/`` model URI)."""
    model_version: str = ""
    """Registered version to tag ('': from a ``models:/`` model URI)."""
    add_rows: bool = False
    """Add this run's baselines and controls to the rows OUT/results/summary.json already
    holds for each task (same protocols, platforms and row counts, or refused) instead of
    replacing the task: a new control beside an encoder evaluated on another machine."""


@dataclass(kw_only=True, slots=True)
class EvalConfig:
    """The settings every evaluation command shares."""

    methods: MethodsConfig = field(default_factory=MethodsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def __post_init__(self) -> None:
        problems = self.methods.problems()
        if self.report.add_rows and (self.methods.model or self.methods.untrained_model):
            problems.append("report.add_rows adds baselines and controls to recorded rows; the "
                            "encoder rows come from one run: drop --model / --untrained-model")
        if problems:
            raise ConfigError(problems)


@dataclass(kw_only=True, slots=True)
class DevMapEvalConfig(EvalConfig):
    """``mirencoder eval devmap``: heterogeneous device mapping."""

    methods: DevMapMethodsConfig = field(default_factory=DevMapMethodsConfig)
    devmap: DevMapConfig = field(default_factory=DevMapConfig)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)


@dataclass(kw_only=True, slots=True)
class CoarseningEvalConfig(EvalConfig):
    """``mirencoder eval thread-coarsening``: coarsening-factor prediction."""

    thread_coarsening: CoarseningConfig = field(default_factory=CoarseningConfig)
