"""The small MLP head that fine-tuning and the frozen stacked head share: the network
(:func:`head_classifier`), its head-only fitting on fixed embeddings (:func:`fit_head_only`)
and a context that pins torch's thread count (:func:`torch_threads`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["fit_head_only", "head_classifier", "torch_threads"]


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def head_classifier(dim: int, runtime_dim: int, hidden: int, classes: int):
    import torch
    from torch import nn

    class _Classifier(nn.Module):
        """Standardises the embedding per dimension (fixed statistics of the training fold's
        frozen embeddings: programs differ by a small fraction of the embedding's scale), then
        LayerNorm, then an MLP on ``[embedding ; run-time inputs]``; a stacked head adds
        ``base_scale`` times the given base logits."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("center", torch.zeros(dim))
            self.register_buffer("scale", torch.ones(dim))
            self.norm = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim + runtime_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, classes))
            self.base_scale = nn.Parameter(torch.ones(()))

        def standardize(self, embeddings: torch.Tensor) -> None:
            self.center.copy_(embeddings.mean(dim=0))
            std = embeddings.std(dim=0) if len(embeddings) > 1 else torch.ones_like(self.scale)
            self.scale.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

        def forward(self, embedding: torch.Tensor, runtime: torch.Tensor,
                    base: torch.Tensor | None = None) -> torch.Tensor:
            embedding = self.norm((embedding - self.center) / self.scale)
            logits = self.mlp(torch.cat([embedding, runtime], dim=1))
            return logits if base is None else logits + self.base_scale * base

    return _Classifier()


# Rows per step of the head-only epochs (cheap steps on cached embeddings).
_PROBE_BATCH_ROWS = 64


def fit_head_only(classifier, embeddings, runtime, targets, base, *, epochs: int, lr: float,
                  weight_decay: float, order: np.random.Generator,
                  device: str = "cpu") -> float | None:
    """Trains ``classifier`` alone on fixed embeddings (AdamW, rows in shuffled batches of
    :data:`_PROBE_BATCH_ROWS`); ``base``: a stacked head's base logits or None. Returns the
    mean loss of the last epoch (None for 0 epochs)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    optimizer = torch.optim.AdamW(classifier.parameters(), lr=lr, weight_decay=weight_decay)
    last = None
    for _ in range(epochs):
        total = 0.0
        shuffled = order.permutation(len(embeddings))
        for start in range(0, len(shuffled), _PROBE_BATCH_ROWS):
            rows = torch.as_tensor(shuffled[start:start + _PROBE_BATCH_ROWS], device=device)
            logits = classifier(embeddings[rows], runtime[rows],
                                None if base is None else base[rows])
            loss = F.cross_entropy(logits, targets[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        last = total / len(embeddings)
    return last
