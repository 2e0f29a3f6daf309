"""IR-graph contrastive alignment: symmetric InfoNCE between the token and graph views.

CLIP/ALBEF's image-text contrast on programs: each program's ``tokens`` and ``graph`` vectors
are projected (one linear map per view, as ALBEF's ``text_proj``/``vision_proj``) and
L2-normalised; a program's token projection must pick its own graph projection among the
batch's graphs, and its graph projection its own token projection (in-batch negatives). The
temperature is learned, initialised at CLIP's 0.07 and kept within
[:data:`TEMPERATURE_MIN`, :data:`TEMPERATURE_MAX`] (CLIP caps the logit scale at 100, i.e.
0.01; ALBEF clamps at 0.5). The similarities also supply the matching task's hard negatives
(:func:`~mirencoder.training.pretraining.tasks.matching.sample_negatives`).

Negatives come from the rank's own batch: no all-gather across DDP ranks, so the number of
negatives is ``batch_size - 1`` whatever the world size (no extra collective per step).
By default (``task.contrastive_variants: negative``) a program's other optimisation-level
variants in the batch are negatives too: the task is "which graph is *this* IR's", and they
are its hardest distractors. With ``ignore`` they are left out of the softmax like copies
(SupCon's treatment of same-class pairs), so that the alignment does not push apart the
variants that the variant contrast pulls together. Copies of the program
itself (the same key twice in a batch, common when a small dataset repeats within the shuffle
buffer) are left out of the softmax: they are neither its positive nor a true negative.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TEMPERATURE_MIN", "TEMPERATURE_MAX", "ContrastiveProjection", "info_nce_metrics"]

TEMPERATURE_MIN = 0.01
TEMPERATURE_MAX = 0.5


class ContrastiveProjection(nn.Module):
    """Linear projections of the two views and the learnable temperature.

    ``forward(tokens, graph)`` returns the logits ``[B, B]`` (float32): cosine similarity of
    token projection ``i`` and graph projection ``j``, divided by the temperature.

    Args:
        dim: width ``D`` of the ``tokens`` and ``graph`` vectors.
        projection_dim: width of the projections.
        temperature_init: the starting temperature.

    Shapes:
        - tokens, graph: ``[B, D]``
        - output: ``[B, B]``
    """

    def __init__(self, dim: int, projection_dim: int, temperature_init: float = 0.07):
        super().__init__()
        if not TEMPERATURE_MIN <= temperature_init <= TEMPERATURE_MAX:
            raise ValueError(f"temperature_init {temperature_init} outside "
                             f"[{TEMPERATURE_MIN}, {TEMPERATURE_MAX}]")
        self.token_proj = nn.Linear(dim, projection_dim)
        self.graph_proj = nn.Linear(dim, projection_dim)
        # log of the temperature (CLIP learns the log of its inverse): positive by construction.
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature_init)))

    @property
    def temperature(self) -> torch.Tensor:
        """The clamped temperature (no gradient beyond the bounds)."""
        return self.log_temperature.float().exp().clamp(TEMPERATURE_MIN, TEMPERATURE_MAX)

    def forward(self, tokens: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        token_z = F.normalize(self.token_proj(tokens).float(), dim=-1)
        graph_z = F.normalize(self.graph_proj(graph).float(), dim=-1)
        return token_z @ graph_z.t() / self.temperature

    def extra_repr(self) -> str:
        return f"temperature={float(self.temperature.detach()):.4f}"


def info_nce_metrics(logits: torch.Tensor, exclude: torch.Tensor | None = None
                     ) -> dict[str, torch.Tensor]:
    """Symmetric InfoNCE over ``logits[i, j]`` (token ``i`` vs graph ``j``, positives on the
    diagonal) and the in-batch top-1 retrieval accuracy tokens -> graph.

    Args:
        logits: ``[B, B]`` with ``B >= 2``.
        exclude: ``[B, B]`` bool, off-diagonal pairs left out (copies of one program, and
            with ``contrastive_variants: ignore`` the program's variants).
    """
    logits = logits.float()
    if exclude is not None:
        logits = logits.masked_fill(exclude, float("-inf"))
    targets = torch.arange(logits.size(0), device=logits.device)
    loss = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))
    accuracy = (logits.argmax(1) == targets).float().mean()
    return {"loss": loss, "accuracy": accuracy.detach()}
