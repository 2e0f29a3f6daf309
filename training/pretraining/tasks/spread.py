"""Embedding spread: VICReg's variance and covariance terms against dimensional collapse.

Contrastive and matching objectives can leave an embedding in a few directions (Jing et al.
2022, "Understanding dimensional collapse in contrastive self-supervised learning"); here the
pooled graph vector of the 1,500-step CPU runs spans ~9 effective dimensions of 128 on
held-out programs where the random GNN's spans ~16 (entropy effective rank of the
standardised vectors, Roy & Vetterli 2007; ``training/evaluation/probes/geometry.py``).
VICReg (Bardes et al. 2022) keeps each dimension's batch standard deviation at or above
``target_std`` with a hinge and pushes the off-diagonal covariances to zero; its weights are
variance 25, covariance 1, so the covariance term here weighs ``1/25`` of the variance term.
Unlike VICReg (which regularises its projector's output) the terms act on the embeddings a
consumer reads, because those are what collapsed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["COVARIANCE_RATIO", "spread_metrics"]

COVARIANCE_RATIO = 1.0 / 25.0
"""Covariance weight over variance weight (VICReg: nu = 1, mu = 25)."""


def spread_metrics(vectors: torch.Tensor, target_std: float = 1.0, eps: float = 1e-4
                   ) -> dict[str, torch.Tensor] | None:
    """VICReg's variance hinge plus ``COVARIANCE_RATIO`` x its covariance term over a batch,
    and the batch's mean per-dimension standard deviation; ``None`` for fewer than 2 rows.

    Shapes:
        - vectors: ``[B, D]``; every returned value is a scalar (float32)
    """
    if vectors.size(0) < 2:
        return None
    x = vectors.float()
    x = x - x.mean(dim=0)
    std = torch.sqrt(x.var(dim=0) + eps)
    variance = F.relu(target_std - std).mean()
    covariance = (x.t() @ x) / (x.size(0) - 1)
    off_diagonal = covariance - torch.diag(torch.diagonal(covariance))
    covariance_loss = off_diagonal.pow(2).sum() / x.size(1)
    return {"loss": variance + COVARIANCE_RATIO * covariance_loss,
            "variance": variance.detach(), "covariance": covariance_loss.detach(),
            "std": std.mean().detach()}
