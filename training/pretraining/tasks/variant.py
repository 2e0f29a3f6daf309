"""Variant contrast: a source file's optimisation-level variants are positives of each other.

SimCLR/MoCo contrast semantics-preserving views of one input; here the same source compiled
at different optimisation levels gives such views for free. Programs of one *group* (one
source file) in the batch are each other's positives, every other program a negative;
with several positives per anchor the loss is SupCon's (Khosla et al. 2020,
``L_out``): ``-mean_{p in P(i)} log softmax_{k != i}(z_i . z_k / t)[p]``, NT-Xent when each
anchor has one positive. Anchors without a partner in the batch (a program without a
group, whose group is then its own key) do not contribute. Copies of one program in a batch
(same key) are neither positives nor negatives of each other: only true variants count.

The loss acts on a SimCLR projection head (Linear-ReLU-Linear) over the chosen vectors
(``variant_views``, default ``fused``): the invariance is imposed on the projection, so the
embedding below it keeps what tells the variants apart (SimCLR's finding that the
representation before the head transfers better).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VariantProjection", "group_ids", "variant_metrics"]


class VariantProjection(nn.Module):
    """SimCLR's projection head: ``Linear(D, D) - ReLU - Linear(D, P)``, L2-normalised
    (``kind="none"``: the vectors themselves, L2-normalised; ``P = D``).

    Shapes:
        - vectors: ``[B, D]``; output: ``[B, P]`` float32, unit norm
    """

    def __init__(self, dim: int, projection_dim: int, kind: str = "mlp"):
        super().__init__()
        self.mlp = (nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, projection_dim))
                    if kind == "mlp" else nn.Identity())

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(vectors).float(), dim=-1)


def group_ids(groups: list[str]) -> torch.Tensor | None:
    """``[B]`` long: programs of one group share an id; ``None`` when no group repeats."""
    index: dict[str, int] = {}
    ids = torch.tensor([index.setdefault(group, len(index)) for group in groups],
                       dtype=torch.long)
    return ids if len(index) < len(groups) else None


def variant_metrics(z: torch.Tensor, groups: torch.Tensor, temperature: float,
                    exclude: torch.Tensor | None = None) -> dict[str, torch.Tensor] | None:
    """SupCon loss over the anchors that have a positive, and their top-1 accuracy (the
    nearest other program is a variant of the same group); ``None`` without any anchor.

    Shapes:
        - z: ``[B, P]`` unit vectors; groups: ``[B]`` long group ids
        - exclude: ``[B, B]`` bool pairs left out entirely (copies of one program), or None
    """
    size = z.size(0)
    own = torch.eye(size, dtype=torch.bool, device=z.device)
    if exclude is not None:
        own = own | exclude.to(z.device)
    groups = groups.to(z.device)
    positives = (groups[:, None] == groups[None, :]) & ~own
    anchors = positives.any(1)
    if not bool(anchors.any()):
        return None
    logits = (z.float() @ z.float().t() / temperature).masked_fill(own, float("-inf"))
    # A row left without any column (only copies of itself) is no anchor; keep it finite.
    logits = logits.masked_fill(own.all(1, keepdim=True), 0.0)
    log_prob = logits.log_softmax(1).masked_fill(~positives, 0.0)
    per_anchor = -log_prob.sum(1) / positives.sum(1).clamp(min=1)
    loss = per_anchor[anchors].mean()
    nearest = logits.argmax(1)
    hit = positives[torch.arange(size, device=z.device), nearest]
    return {"loss": loss, "accuracy": hit[anchors].float().mean().detach()}
