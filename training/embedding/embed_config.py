"""Typed settings of the embedder: which encoder, at what precision, in what batches.

One :class:`EmbedConfig` builds an :class:`~mirencoder.training.embedding.embedder.Embedder`
(``Embedder.from_config``) and is what ``mirencoder embed --config/--set/--dry-run`` resolves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...infra.config import check, help_field
from ...infra.errors import ConfigError
from ...pipelines.compile import CompileConfig
from ..core.model_config import ENCODER_OUTPUTS
from ..core.package_verify import DEFAULT_BASIS_VARIANCE

__all__ = ["EmbedConfig", "MODALITIES", "PRECISIONS", "WINDOW_POLICIES", "window_setting_problem",
           "basis_problems", "twin_choice", "DEFAULT_MAX_GRAPH_NODES", "DEFAULT_TOKEN_BATCH_SIZE",
           "DEFAULT_GRAPH_BATCH_SIZE"]

MODALITIES = (*ENCODER_OUTPUTS, "joint")
# ``joint``: the three outputs side by side (3 x D), each scaled to length 1/sqrt(3), so that
# the cosine of two joint vectors is the mean of their three cosines (``joint_vectors``).
# Inference precisions: float32 (the default; equal to the training computation up to float
# rounding) or bfloat16 (faster on CPUs with bf16 units and on GPUs, within about 1 %).
PRECISIONS = ("fp32", "bf16")
WINDOW_POLICIES = ("auto", "first", "mean", "pool")


def window_setting_problem(windows: str, max_windows: int) -> str | None:
    """What is wrong with a caller's window setting (``windows`` '' = the embedder's default,
    ``max_windows`` 0 = the package's own), or None."""
    if windows in ("", *WINDOW_POLICIES) and max_windows >= 0:
        return None
    return (f"windows must be '' or one of {', '.join(WINDOW_POLICIES)} and max_windows >= 0, "
            f"got {windows!r}, {max_windows}")


def twin_choice(value: str | None) -> str | None:
    """What an ``untrained_model`` setting means: ``"auto"`` (make the twin of the model under
    test), None (``off``, ``none``, empty or None: no twin) or the twin's URI / folder itself."""
    text = (value or "").strip()
    if text.lower() == "auto":
        return "auto"
    return None if text.lower() in ("", "none", "off") else text


def _basis_keep_problems(variance: float, dims: int) -> list[str]:
    """What is wrong with how many leading directions of a basis are kept."""
    p: list[str] = []
    check(p, 0.0 < variance <= 1.0, f"basis_variance must be in (0, 1], got {variance}")
    check(p, dims >= 0, f"basis_dims must be >= 0 (0: by basis_variance), got {dims}")
    return p


def basis_problems(basis: str, untrained_basis: str, variance: float, model: str | None,
                   untrained_model: str | None, dims: int = 0) -> list[str]:
    """What is wrong with an evaluation's principal-basis settings (each basis belongs to the
    encoder it was fitted for, so the twin gets its own)."""
    p = _basis_keep_problems(variance, dims)
    check(p, not basis or bool(model), "basis is set but model is not")
    check(p, not untrained_basis or twin_choice(untrained_model) is not None,
          "untrained_basis is set but untrained_model is not")
    check(p, not (basis and twin_choice(untrained_model) not in (None, "auto")
                  and not untrained_basis),
          "basis is set for the encoder but not for its untrained twin (untrained_basis): "
          "compare the two like for like, each in its own basis")
    return p


# Graphs keep their first N nodes at embedding time when the package does not say otherwise
# (the training default, DataConfig.max_graph_nodes).
DEFAULT_MAX_GRAPH_NODES = 2048
# Token windows and graphs per forward pass; the best of 2-32 on the DevMap files on one CPU
# core.
DEFAULT_TOKEN_BATCH_SIZE = 32
DEFAULT_GRAPH_BATCH_SIZE = 8


@dataclass(kw_only=True, slots=True)
class EmbedConfig:
    """The encoder to load and how programs are turned into embeddings."""

    model: str = help_field("models:/mirencoder@champion",
                            "models:/NAME@ALIAS, models:/NAME/VERSION, runs:/ID/encoder, a local "
                            "encoder package folder or a local MLflow model folder")
    tracking_uri: str | None = help_field(
        None, "MLflow registry (null: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/runs/mlflow.db)")
    cache_dir: str | None = help_field(
        None, "where pulled models are cached (null: <repo>/runs/cache/models)")
    precision: str = help_field(
        "fp32", "network precision: fp32 (exact) or bf16 (about 1.4x faster on CPUs with "
        "AVX512-BF16/AMX and on GPUs; embeddings within ~1 %)")
    modality: str = help_field("fused", "embedding written by default: fused, tokens, graph or joint (all three, 3 x D)")
    windows: str = help_field(
        "first", "long programs: first (the first token window; measured best on the probes "
        "and faster than IR2Vec, see ARCHITECTURE.md) | pool (the first max_windows windows "
        "encoded and pooled into one token vector before the projection, as training with "
        "data.windows=all) | mean (the mean of max_windows windows' embeddings) | auto (the "
        "policy the package was trained with: pool after data.windows=all, else first)")
    max_windows: int = help_field(
        0, "token windows per program under windows=pool/mean (0: the package's "
        "data.max_windows when it was trained with data.windows=all, else 16; 16 x 255 tokens "
        "cover the average DevMap file)")
    batch_size: int = help_field(32, "programs prepared and encoded together (one chunk)")
    workers: int = help_field(
        0, "threads reading and compiling inputs ahead of the encoder (0: one per usable CPU; "
        "1: none); results do not depend on it")
    token_batch_size: int = help_field(
        DEFAULT_TOKEN_BATCH_SIZE, "token windows per forward pass (results do not depend on it)")
    graph_batch_size: int = help_field(
        DEFAULT_GRAPH_BATCH_SIZE, "graphs per forward pass (results do not depend on it)")
    deduplicate: bool = help_field(
        True, "within one call, prepare and encode identical programs (same canonical text), "
        "token windows and graphs once")
    max_graph_nodes: int = help_field(
        0, "graphs keep their first N nodes (0: the value the package was trained with)")
    sha256: str = help_field(
        "", "expected package sha256 (digest of every file; overrides registry tags and lock "
        "files)")
    lock_file: str = help_field(
        "", "mirencoder.lock.json listing the package's files (default: one beside a local "
        "package folder)")
    max_model_bytes: int = help_field(  # training.core.package.DEFAULT_MAX_MODEL_BYTES
        2 << 30, "refuse a package whose config describes more float32 parameter bytes")
    basis: str = help_field(
        "", "a principal basis of this encoder: 'package' (the one its package ships) or a "
        "file (`mirencoder embed basis`); every output comes centred and turned into the "
        "principal directions of the pre-training corpus, the leading ones kept ('': the "
        "network's own coordinates)")
    basis_variance: float = help_field(
        DEFAULT_BASIS_VARIANCE, "with a basis: keep the fewest leading directions covering "
        "this share of the corpus variance (1.0: all, only turned)")
    basis_dims: int = help_field(
        0, "with a basis: keep exactly this many leading directions instead (0: by "
        "basis_variance)")
    compile: CompileConfig = field(default_factory=CompileConfig)

    def __post_init__(self) -> None:
        p: list[str] = []
        check(p, bool(self.model), "model must be set")
        check(p, self.precision in PRECISIONS,
              f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        check(p, self.modality in MODALITIES,
              f"modality must be one of {', '.join(MODALITIES)}, not {self.modality!r}")
        check(p, self.windows in WINDOW_POLICIES,
              f"windows must be one of {', '.join(WINDOW_POLICIES)}, not {self.windows!r}")
        check(p, self.max_windows >= 0, "max_windows must be >= 0")
        check(p, self.workers >= 0, "workers must be >= 0 (0: one per usable CPU)")
        for name in ("batch_size", "token_batch_size", "graph_batch_size"):
            check(p, getattr(self, name) >= 1, f"{name} must be >= 1")
        check(p, self.max_graph_nodes >= 0, "max_graph_nodes must be >= 0")
        check(p, not self.sha256 or (len(self.sha256) == 64 and all(
            c in "0123456789abcdefABCDEF" for c in self.sha256)), "sha256 must be 64 hex digits")
        check(p, self.max_model_bytes >= 1, "max_model_bytes must be >= 1")
        p.extend(_basis_keep_problems(self.basis_variance, self.basis_dims))
        if p:
            raise ConfigError(p)
