"""Optimisation-outcome prediction: from a program's embedding, the IR of its variants.

The same source compiled at another optimisation level is a free target that says what the
optimiser does to this program: which loops it vectorises (vector types and shuffles appear),
what it inlines, unrolls or folds away. Here each program's ``fused`` vector, with the
embedding of a target level, predicts the node-text distribution (opcodes, types, constants:
the bag of the ProGraML graph's node texts) of every variant of its group in the batch at that
level, its own included. The loss is ``KL(target || predicted)`` averaged over those (anchor,
variant) pairs; a program without a partner still predicts its own level.

Why beside the variant contrast: the contrast makes ``fused`` the same across levels, so it
may drop what tells them apart; the outcome of optimising a source is itself the same from
every level's IR, so asking ``fused`` for it is consistent with the invariance and keeps the
compiler's decisions (the information the decision probes and device mapping read) in the
vector. The targets come from the uncorrupted graphs, so no other task's masking leaks in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.models.fusion import text_counts

__all__ = ["OPT_LEVELS", "level_ids", "node_text_distributions", "OutcomeHead", "group_pairs",
           "outcome_metrics"]

OPT_LEVELS = ("", "O0", "O1", "O2", "O3", "Os", "Oz")
"""Levels the head knows; ``""`` (ready IR, no level) and unknown names share index 0."""


def level_ids(levels: list[str]) -> torch.Tensor:
    """``[B]`` long index of each program's optimisation level in :data:`OPT_LEVELS`."""
    index = {name: i for i, name in enumerate(OPT_LEVELS)}
    return torch.tensor([index.get(level or "", 0) for level in levels], dtype=torch.long)


def node_text_distributions(node_text: torch.Tensor, node_batch: torch.Tensor,
                            num_programs: int, vocab_size: int) -> torch.Tensor:
    """``[B, V]`` float: each program's node-text ids as a distribution (rows sum to 1; a
    program without nodes gets a zero row)."""
    counts = text_counts(node_text.long(), node_batch.long(), num_programs, vocab_size)
    return counts / counts.sum(1, keepdim=True).clamp(min=1.0)


class OutcomeHead(nn.Module):
    """``(vectors [P, D], target levels [P]) -> [P, V]`` node-text logits:
    ``Linear(D, D) - GELU - Linear(D, V)`` over the vector plus a learned level embedding."""

    def __init__(self, dim: int, vocab_size: int, num_levels: int = len(OPT_LEVELS)):
        super().__init__()
        self.level_embedding = nn.Embedding(num_levels, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, vocab_size))

    def forward(self, vectors: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        return self.mlp(vectors + self.level_embedding(levels).to(vectors.dtype))


def group_pairs(groups: torch.Tensor | None, size: int, device: torch.device,
                variants_kept: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(anchor, variant)`` indices of every ordered pair (i, j) of programs of one group,
    i == j included (``groups`` None: each program its own group); with ``variants_kept``
    (``[B]`` bool) only the pairs whose variant j is kept."""
    if groups is None:
        groups = torch.arange(size, device=device)
    groups = groups.to(device)
    pairs = groups[:, None] == groups[None, :]
    if variants_kept is not None:
        pairs = pairs & variants_kept.to(device)[None, :]
    anchor, variant = pairs.nonzero(as_tuple=True)
    return anchor, variant


def outcome_metrics(head: OutcomeHead, vectors: torch.Tensor, levels: torch.Tensor,
                    groups: torch.Tensor | None, targets: torch.Tensor
                    ) -> dict[str, torch.Tensor] | None:
    """Mean ``KL(target_j || softmax(head(vector_i, level_j)))`` over the pairs (i, j) of one
    group (i == j included), and its mean over the cross-level pairs alone (``cross_loss``,
    only when there is one); None when no program has a node.

    Shapes:
        - vectors: ``[B, D]``; levels: ``[B]`` long; groups: ``[B]`` long or None (each
          program its own group); targets: ``[B, V]`` rows summing to 1 (or 0)
    """
    levels = levels.to(vectors.device)
    anchor, variant = group_pairs(groups, vectors.size(0), vectors.device,
                                  variants_kept=targets.sum(1) > 0)
    if anchor.numel() == 0:
        return None
    log_q = F.log_softmax(head(vectors[anchor], levels[variant]).float(), dim=-1)
    p = targets[variant].float()
    kl = (p * (p.clamp(min=1e-12).log() - log_q)).sum(1)
    cross = levels[anchor] != levels[variant]
    metrics = {"loss": kl.mean()}
    if bool(cross.any()):
        metrics["cross_loss"] = kl[cross].mean().detach()
    return metrics
