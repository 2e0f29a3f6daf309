"""The methods a probe run compares: encoder modalities, the untrained twin, and controls."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..features.base import Featurizer
from ..programs import EvalProgram
from .config import ProbeConfig
from .sources import template_of_id
from .twin import twin_choice

__all__ = ["RandomVectorsFeaturizer", "TemplateIdentityFeaturizer", "build_probe_featurizers",
           "MODALITY_SUFFIX", "DEFAULT_RANDOM_DIM"]

MODALITY_SUFFIX = {"fused": "", "tokens": "-tokens", "graph": "-graph", "joint": "-joint"}
"""Method names: ``encoder``, ``encoder-tokens``, ``encoder-graph``, ``encoder-joint``
(likewise the twin)."""

DEFAULT_RANDOM_DIM = 128
"""Random-vector size when no encoder gives one (the tiny config's embedding size)."""


class RandomVectorsFeaturizer:
    """Control: a seeded Gaussian vector per program, independent of its content.

    The vector depends only on ``(seed, program key)``, so the same program gets the same
    vector in any order or batch; scores measure chance level under the protocol.
    """

    name = "random"

    def __init__(self, dim: int, seed: int = 0):
        self.dim = dim
        self.seed = seed
        self.description = f"seeded Gaussian vectors ({dim}-d), no program content"
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        out = np.empty((len(programs), self.dim), dtype=np.float64)
        for row, program in enumerate(programs):
            digest = hashlib.sha256(f"{self.seed}:{program.key}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            out[row] = rng.standard_normal(self.dim)
        self.errors = {}
        return out


class TemplateIdentityFeaturizer:
    """Control: a one-hot of the source's generator template, no program content.

    Under source folds the other files of a test file's template (near-copies with other
    constants) sit in training, and this row measures how far naming the template goes; under
    template folds a test template is never in training and gets an all-zero vector. Sources
    of a corpus without a template pattern are each their own template. Decision probe only
    (``retrieval = False``): the retrieval probe's answer is the source, which it names.
    """

    name = "template-identity"
    description = "one-hot of the source's generator template (no program content)"
    retrieval = False

    def __init__(self, patterns: dict[str, str | None]):
        self.patterns = dict(patterns)
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        templates = [template_of_id(p.kernel, self.patterns) for p in programs]
        column = {t: i for i, t in enumerate(sorted(set(templates)))}
        out = np.zeros((len(programs), len(column)), dtype=np.float32)
        out[np.arange(len(programs)), [column[t] for t in templates]] = 1.0
        self.errors = {}
        return out


def _encoder_rows(prefix: str, uri: str, modalities: Sequence[str], what: str,
                  config: ProbeConfig) -> tuple[list[Featurizer], Any]:
    from ..features.encoder_embedding import EncoderFeaturizer, SharedOutputs, load_embedder

    basis = config.basis if prefix == "encoder" else config.untrained_basis
    embedder = load_embedder(uri, windows=config.windows, max_windows=config.max_windows,
                             basis=basis, basis_variance=config.basis_variance,
                             basis_dims=config.basis_dims)

    outputs = SharedOutputs(embedder, modalities, progress=config.progress)  # one pass
    rows: list[Featurizer] = [
        EncoderFeaturizer(f"{prefix}{MODALITY_SUFFIX[m]}", outputs.embed(m),
                          f"{what} {uri}, {m} embedding, token windows: "
                          f"{embedder.window_policy}")
        for m in modalities]
    return rows, embedder


def build_probe_featurizers(config: ProbeConfig
                            ) -> tuple[list[Featurizer], dict[str, str], dict[str, Any]]:
    """The encoder rows (``config.model``) and the control rows (``config.controls``).

    Returns:
        The featurizers, ``method -> reason`` for each row that was skipped, and the encoder's
        identity (``{}`` without a model).
    """
    from ..features.ir2vec_vectors import IR2VecFeaturizer, ir2vec_available
    from ..features.opcode_histogram import OpcodeHistogramFeaturizer
    from ..features.program_size import ProgramSizeFeaturizer

    featurizers: list[Featurizer] = []
    skipped: dict[str, str] = {}
    encoder: dict[str, Any] = {}
    dim = config.random_dim
    if config.model:
        from ..features.encoder_embedding import describe_embedder

        rows, embedder = _encoder_rows("encoder", config.model, config.modalities, "encoder",
                                       config)
        featurizers += rows
        encoder = describe_embedder(embedder, config.model)
        dim = dim or int(getattr(embedder, "dim", 0)) or None
    else:
        skipped["encoder"] = "no model given (ProbeConfig.model)"
    if "untrained" in config.controls:
        twin_uri = twin_choice(config.untrained_model)
        if twin_uri == "auto":
            skipped["encoder-untrained"] = ("untrained_model 'auto' is made from the model by "
                                            "`mirencoder eval probes`; give a package here")
        elif twin_uri:
            rows, twin = _encoder_rows("encoder-untrained", twin_uri,
                                       config.untrained_modalities,
                                       "untrained twin (random weights)", config)
            featurizers += rows
            encoder["untrained_uri"] = twin_uri
            dim = dim or int(getattr(twin, "dim", 0)) or None
        else:
            skipped["encoder-untrained"] = "no untrained twin given (ProbeConfig.untrained_model)"
    if "opcode-histogram" in config.controls:
        featurizers.append(OpcodeHistogramFeaturizer())
    if "program-size" in config.controls:
        featurizers.append(ProgramSizeFeaturizer())
    if "ir2vec-fa" in config.controls:
        if ir2vec_available():
            featurizers.append(IR2VecFeaturizer("fa"))
        else:
            skipped["ir2vec-fa"] = "ir2vec is not installed (pip install ir2vec==2.1.1)"
    if "random" in config.controls:
        featurizers.append(RandomVectorsFeaturizer(dim or DEFAULT_RANDOM_DIM, config.seed))
    if "template-identity" in config.controls:
        featurizers.append(TemplateIdentityFeaturizer(
            {c.name: c.template_pattern for c in config.corpora}))
    return featurizers, skipped, encoder
