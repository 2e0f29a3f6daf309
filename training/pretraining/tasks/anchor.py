"""Property anchoring: named coordinates of an embedding follow measurable program properties.

Every other objective here (cosine similarities, InfoNCE, linear heads, VICReg's terms) is
unchanged when the embedding is rotated, so nothing gives a single coordinate a meaning. A
downstream head that splits on one column at a time (the gradient-boosted trees of the DevMap
and thread-coarsening protocols) then reads the encoder as it reads random features: the
"How many program dimensions" diagnostic in RESULTS.md shows the opcode histogram losing 1-5
points when its counts come rotated, and dense vectors, pre-trained or not, unmoved by it.

Anchoring asks the first ``K`` coordinates of a vector to follow ``K`` properties of the
program, computed from its own graph view as auxiliary self-supervised targets (PASE, Pascual
et al. 2019, predicts hand-crafted signal features beside its other workers; here the
prediction *is* the coordinate, with no head between, so the basis is fixed): column 0 the log
node count, column ``k >= 1`` the fraction of the graph's nodes whose text is the ``k``-th most
frequent node text of the dataset's vocabulary (ids ``2 ..``, after ``[PAD]`` and ``[UNK]``:
opcodes such as ``load`` and ``getelementptr`` and types such as ``i32`` and ``ptr``). The loss
is ``1 - r`` per column, ``r`` the Pearson correlation over the batch, so only the order and
spacing of programs on the coordinate matter, not its scale (the vectors are LayerNorm
outputs). ``task.anchor_scale: log_count`` anchors ``log1p`` of each text's node count
instead of its fraction, the scale of the opcode-histogram control (size and mix in one
number). ``task.anchor_texts: opcodes`` keeps only the texts that are LLVM opcodes (the
histogram's columns; type nodes such as ``i32`` are left out); ``loop_opcodes`` counts those
texts only among the instructions on a control-flow cycle (the loop-opcode histogram's columns:
what runs in loops), column 0 staying the log node count of the whole graph.
``task.anchor_loss: mse`` compares each coordinate with its property's value instead: a
correlation leaves a column free in every batch where its property is constant (an opcode
no program of the batch has in a loop), and such columns reach the downstream trees as noise. With ``group`` targets each
program is anchored to the mean properties of its variant group, consistent with the variant
contrast that asks one vector of every level.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ....pipelines.ir.node_vocab import LLVM_OPCODES
from ..config import ANCHOR_SCALES, ANCHOR_TEXTS

__all__ = ["ANCHOR_FIRST_TEXT_ID", "ANCHOR_SCALES", "anchor_text_ids", "anchor_targets",
           "anchor_metrics"]

ANCHOR_FIRST_TEXT_ID = 2
"""Node-text id of the most frequent text (0 is ``[PAD]``, 1 ``[UNK]``)."""


def anchor_text_ids(node_texts: Sequence[str], columns: int, texts: str = "frequent"
                    ) -> list[int]:
    """Node-text ids of anchored columns ``1 .. columns - 1``, most frequent first.

    ``node_texts``: the vocabulary's texts by id (``[PAD]``, ``[UNK]``, then by frequency);
    ``texts``: ``frequent`` (every text) or ``opcodes`` / ``loop_opcodes`` (texts that are
    LLVM opcodes; the second counts them only in loops, which the caller's counts decide)."""
    if texts not in ANCHOR_TEXTS:
        raise ValueError(f"texts must be one of {ANCHOR_TEXTS}, got {texts!r}")
    ids = [i for i in range(ANCHOR_FIRST_TEXT_ID, len(node_texts))
           if texts == "frequent" or node_texts[i] in LLVM_OPCODES]
    return ids[:max(columns - 1, 0)]


def anchor_targets(distributions: torch.Tensor, node_counts: torch.Tensor, columns: int,
                   groups: torch.Tensor | None = None, scale: str = "fraction",
                   text_ids: Sequence[int] | None = None) -> torch.Tensor:
    """``[B, columns]`` float: the log node count, then the fractions (``scale="fraction"``)
    or the ``log1p`` node counts (``"log_count"``, the opcode histogram's scale) of the
    ``columns - 1`` most frequent node texts (or of ``text_ids``, :func:`anchor_text_ids`);
    columns past the texts are 0 (no target); with ``groups`` (``[B]``) each row is its
    group's mean.

    Shapes:
        - distributions: ``[B, V]`` node-text fractions (``outcome.node_text_distributions``)
        - node_counts: ``[B]`` nodes per graph
    """
    if scale not in ANCHOR_SCALES:
        raise ValueError(f"scale must be one of {ANCHOR_SCALES}, got {scale!r}")
    sizes = node_counts.float()[:, None]
    if text_ids is None:
        first, last = ANCHOR_FIRST_TEXT_ID, ANCHOR_FIRST_TEXT_ID + columns - 1
        texts = distributions[:, first:last].float()
    else:
        index = torch.as_tensor(list(text_ids)[:columns - 1], dtype=torch.long,
                                device=distributions.device)
        texts = distributions[:, index].float()
    if scale == "log_count":
        texts = torch.log1p(texts * sizes)
    if texts.size(1) < columns - 1:  # a vocabulary smaller than the anchors asked for
        texts = torch.nn.functional.pad(texts, (0, columns - 1 - texts.size(1)))
    targets = torch.cat([torch.log1p(sizes), texts], dim=1)
    if groups is None:
        return targets
    same = (groups[:, None] == groups[None, :]).float()
    return (same @ targets) / same.sum(1, keepdim=True)


def anchor_metrics(vectors: torch.Tensor, targets: torch.Tensor, eps: float = 1e-6,
                   loss: str = "pearson") -> dict[str, torch.Tensor] | None:
    """``loss`` = mean over anchored columns of ``1 - r`` (Pearson over the batch) between
    ``vectors[:, k]`` and ``targets[:, k]``, and ``correlation`` (mean ``r``, detached);
    columns whose target is constant in the batch are left out; ``None`` when every column
    is or the batch has fewer than 3 rows. ``loss="mse"``: the loss is instead the mean
    squared difference ``(vectors[:, k] - targets[:, k])^2`` over every column and row, so
    a column whose target is constant must be constant too (``correlation`` as before).

    Shapes:
        - vectors: ``[B, D]``, ``D >= K``; targets: ``[B, K]``
    """
    if loss not in ("pearson", "mse"):
        raise ValueError(f"loss must be pearson or mse, got {loss!r}")
    if vectors.size(0) < 3:
        return None
    k = targets.size(1)
    x = vectors[:, :k].float()
    y = targets.float()
    x = x - x.mean(0)
    y = y - y.mean(0)
    y_norm = y.norm(dim=0)
    varied = y_norm > eps
    if not bool(varied.any()):
        return None
    r = (x * y).sum(0) / (x.norm(dim=0) * y_norm + eps)
    r = r[varied]
    if loss == "mse":
        squared = (vectors[:, :k].float() - targets.float()).pow(2).mean()
        return {"loss": squared, "correlation": r.mean().detach()}
    return {"loss": (1.0 - r).mean(), "correlation": r.mean().detach()}
