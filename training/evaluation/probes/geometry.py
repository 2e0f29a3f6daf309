"""Embedding geometry: how many directions a method's vectors actually use.

Dimensional collapse (Jing et al. 2022) leaves an embedding in a few directions whatever its
width; a probe or a downstream head then has less to work with. Measured on the probes'
held-out programs, on standardised vectors (what the decision probe's logistic regression
reads): the entropy effective rank (Roy & Vetterli 2007), ``exp(H(p))`` with ``p`` the
normalised eigenvalues of the correlation matrix, and the number of principal directions that
hold 90 % and 99 % of the variance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GEOMETRY_PROTOCOL", "embedding_geometry"]

GEOMETRY_PROTOCOL = (
    "vectors of every held-out probe program, each dimension standardised (constant ones "
    "dropped); effective rank = exp(entropy of the normalised eigenvalues) (Roy & Vetterli "
    "2007); directions for 90 % / 99 % = principal components needed for that share of the "
    "variance")


def embedding_geometry(features: np.ndarray) -> dict[str, float | int]:
    """Effective rank and the principal directions holding 90 % / 99 % of the variance.

    Shapes:
        - features: ``[N, D]``; rows with a NaN (failed programs) are left out
    """
    x = np.asarray(features, dtype=np.float64)
    x = x[~np.isnan(x).any(axis=1)]
    x = x - x.mean(axis=0)
    std = x.std(axis=0)
    x = x[:, std > 1e-12] / std[std > 1e-12]
    if x.shape[0] < 2 or x.shape[1] == 0:
        return {"effective_rank": 0.0, "dims_90": 0, "dims_99": 0, "n": int(x.shape[0]),
                "dim": int(features.shape[1])}
    power = np.linalg.svd(x, compute_uv=False) ** 2
    share = power / power.sum()
    positive = share[share > 1e-15]
    cumulative = np.cumsum(share)
    return {"effective_rank": float(np.exp(-(positive * np.log(positive)).sum())),
            "dims_90": int(np.searchsorted(cumulative, 0.90) + 1),
            "dims_99": int(np.searchsorted(cumulative, 0.99) + 1),
            "n": int(x.shape[0]), "dim": int(features.shape[1])}
