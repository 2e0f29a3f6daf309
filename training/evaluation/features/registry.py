"""Builds the built-in featurizers by name (the encoder ones need a loaded model)."""

from __future__ import annotations

from pathlib import Path

from .base import Featurizer
from .ir2vec_vectors import IR2VecFeaturizer
from .kernel_identity import KernelIdentityFeaturizer
from .loop_histogram import LoopOpcodeHistogramFeaturizer
from .memory_ops import MemoryOpsFeaturizer
from .opcode_histogram import OpcodeHistogramFeaturizer
from .program_size import ProgramSizeFeaturizer
from .runtime_only import RuntimeOnlyFeaturizer

__all__ = ["BUILTIN_FEATURIZERS", "VOCABULARY_FEATURIZERS", "build_featurizer",
           "known_feature_name"]

BUILTIN_FEATURIZERS = ("runtime-only", "kernel-identity", "program-size", "opcode-histogram",
                       "loop-opcode-histogram", "memory-ops", "ir2vec-fa", "ir2vec-sym")

VOCABULARY_FEATURIZERS = ("ir2vec-fa", "ir2vec-sym")
"""Feature sets that take another seed vocabulary as ``NAME@DIR``."""


def _vocabulary_form(name: str) -> tuple[str, str] | None:
    """``("ir2vec-fa", DIR)`` for ``ir2vec-fa@DIR`` (or ``ir2vec-sym@DIR``), else None."""
    base, at, vocabulary = name.partition("@")
    return (base, vocabulary) if at and vocabulary and base in VOCABULARY_FEATURIZERS else None


def known_feature_name(name: str) -> bool:
    """Whether ``name`` is a built-in feature set or ``ir2vec-fa@DIR`` / ``ir2vec-sym@DIR``
    (the folder is checked when the featurizer is built)."""
    return name in BUILTIN_FEATURIZERS or _vocabulary_form(name) is not None


def build_featurizer(name: str) -> Featurizer:
    """Returns a fresh built-in featurizer; ``ir2vec-fa@DIR`` (or ``ir2vec-sym@DIR``) is
    IR2Vec with the seed vocabulary in ``DIR`` (an untrained twin's, ``ir2vec_vocab.py``).

    Raises:
        ValueError: for an unknown name (the message lists the known ones), or a vocabulary
            folder without its file.
    """
    if (form := _vocabulary_form(name)) is not None:
        base, vocabulary = form
        return IR2VecFeaturizer(base.split("-", 1)[1], vocabulary=Path(vocabulary))
    if name == "runtime-only":
        return RuntimeOnlyFeaturizer()
    if name == "kernel-identity":
        return KernelIdentityFeaturizer()
    if name == "program-size":
        return ProgramSizeFeaturizer()
    if name == "opcode-histogram":
        return OpcodeHistogramFeaturizer()
    if name == "loop-opcode-histogram":
        return LoopOpcodeHistogramFeaturizer()
    if name == "memory-ops":
        return MemoryOpsFeaturizer()
    if name in VOCABULARY_FEATURIZERS:
        return IR2VecFeaturizer(name.split("-", 1)[1])
    raise ValueError(f"unknown feature set {name!r}; known: {', '.join(BUILTIN_FEATURIZERS)}"
                     ", and ir2vec-fa@DIR / ir2vec-sym@DIR (another seed vocabulary)")
