"""Builds the built-in featurizers by name (the encoder ones need a loaded model)."""

from __future__ import annotations

from .base import Featurizer
from .ir2vec_vectors import IR2VecFeaturizer
from .kernel_identity import KernelIdentityFeaturizer
from .loop_histogram import LoopOpcodeHistogramFeaturizer
from .memory_ops import MemoryOpsFeaturizer
from .opcode_histogram import OpcodeHistogramFeaturizer
from .program_size import ProgramSizeFeaturizer
from .runtime_only import RuntimeOnlyFeaturizer

__all__ = ["BUILTIN_FEATURIZERS", "build_featurizer"]

BUILTIN_FEATURIZERS = ("runtime-only", "kernel-identity", "program-size", "opcode-histogram",
                       "loop-opcode-histogram", "memory-ops", "ir2vec-fa", "ir2vec-sym")


def build_featurizer(name: str) -> Featurizer:
    """Returns a fresh built-in featurizer.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
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
    if name in {"ir2vec-fa", "ir2vec-sym"}:
        return IR2VecFeaturizer(name.split("-", 1)[1])
    raise ValueError(f"unknown feature set {name!r}; known: {', '.join(BUILTIN_FEATURIZERS)}")
