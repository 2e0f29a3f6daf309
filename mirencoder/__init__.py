"""MIREncoder: pre-trained multi-modal LLVM-IR embeddings for performance optimisation."""

__all__ = ["__version__"]

__version__ = "0.1.0"
