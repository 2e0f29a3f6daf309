"""What an :class:`~.embedder.Embedder` returns and works with: the embeddings of a call
(:class:`EmbeddingResult`) and one input on its way to them (:class:`Prepared`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EmbeddingResult", "Prepared"]


@dataclass(slots=True)
class EmbeddingResult:
    """Embeddings of N inputs, in input order.

    Attributes:
        vectors: ``[N, D]`` float32; rows of failed inputs are NaN.
        keys: the input paths (or ``text[i]`` for texts).
        errors: ``{row index: (reason, message)}`` for failed inputs.
        modality: ``fused``, ``tokens`` or ``graph``.
    """

    vectors: np.ndarray
    keys: list[str]
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)
    modality: str = "fused"

    @property
    def ok(self) -> np.ndarray:
        """``[N]`` bool, True where the input was embedded."""
        mask = np.ones(len(self.keys), dtype=bool)
        mask[list(self.errors)] = False
        return mask

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(slots=True)
class Prepared:
    """One input after compilation and view building (or its failure, or an earlier twin)."""

    record: dict[str, Any] | None = None
    error: tuple[str, str] | None = None
    # Digests of the raw input and of its canonical text (twins share one of them).
    digests: list[str] = field(default_factory=list)
    # The row of an identical program (same canonical text) met earlier in the same call.
    duplicate_of: int | None = None
