"""Vectorisation-outcome prediction: from a program's embedding, how wide its variants'
vector code is.

The same source compiled at -O2/-O3 shows what LLVM's loop and SLP vectorisers did to it:
vector types (``<4 x i32>``) appear in the optimised IR's graph. Each program's ``fused``
vector, with the embedding of a target level, predicts the widest vector type (lane-count
class: none, 2, 4, 8, 16+) of every variant of its group in the batch at that level, its own
included; cross-entropy over those (anchor, variant) pairs. A *linear* head, so that the
answer must be linearly readable in the vector: the frozen-embedding probes and downstream
heads read it that way.

Why beside outcome prediction (``tasks/outcome.py``): the node-text distribution it predicts
puts almost no mass on vector types (a few nodes in hundreds), so its KL barely asks for the
vectoriser's decision; this target is that decision alone, free from the compiler, for every
source of the corpus. Caveat for readers of the probes: the compiler-decision probe asks the
same kind of question (-O3 vectorised? width?) of held-out programs from remarks, so with this
objective on it measures transfer of a related pre-training target rather than a by-product;
the downstream protocols (device mapping, thread coarsening) stay clean tests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ....pipelines.ir.node_vocab import NodeTextVocabulary
from .outcome import OPT_LEVELS, group_pairs

__all__ = ["LANE_CLASSES", "vector_lanes", "dataset_vector_lanes", "lane_classes",
           "VectorisationHead", "vectorisation_metrics"]

LANE_CLASSES = (0, 2, 4, 8, 16)
"""Classes of the widest vector type: none (scalar code), 2, 4, 8 and 16 or more lanes."""

_VECTOR = re.compile(r"<\s*(\d+)\s+x\s")


def vector_lanes(node_texts: Sequence[str]) -> list[int]:
    """Lanes of each node text's outermost vector type (``"<4 x i32>"`` -> 4,
    ``"<2 x <2 x ptr>>"`` -> 2), 0 for anything else (opcodes, scalar types, ``[PAD]``)."""
    lanes = []
    for text in node_texts:
        match = _VECTOR.match(text.strip())
        lanes.append(int(match.group(1)) if match else 0)
    return lanes


def dataset_vector_lanes(dataset_dir: str | Path) -> list[int]:
    """:func:`vector_lanes` of every id of a built dataset's ``node_vocab.json``."""
    vocab = NodeTextVocabulary.load(Path(dataset_dir) / "node_vocab.json")
    return vector_lanes(vocab.texts)


def lane_classes(targets: torch.Tensor, lanes: torch.Tensor) -> torch.Tensor:
    """``[B]`` long class (index into :data:`LANE_CLASSES`) of each program's widest vector
    type, from its node-text distribution ``targets [B, V]`` and each id's lanes ``[V]``; a
    1-lane vector counts as none."""
    widest = ((targets > 0).long() * lanes.to(targets.device)[None, :]).amax(1)
    bounds = torch.tensor(LANE_CLASSES[1:], device=targets.device)
    return torch.bucketize(widest, bounds, right=True)


class VectorisationHead(nn.Module):
    """``(vectors [P, D], target levels [P]) -> [P, len(LANE_CLASSES)]`` logits:
    ``Linear(D, C)`` over the vector plus a learned level embedding."""

    def __init__(self, dim: int, num_levels: int = len(OPT_LEVELS)):
        super().__init__()
        self.level_embedding = nn.Embedding(num_levels, dim)
        self.linear = nn.Linear(dim, len(LANE_CLASSES))

    def forward(self, vectors: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        return self.linear(vectors + self.level_embedding(levels).to(vectors.dtype))


def vectorisation_metrics(head: VectorisationHead, vectors: torch.Tensor, levels: torch.Tensor,
                          groups: torch.Tensor | None, classes: torch.Tensor
                          ) -> dict[str, torch.Tensor] | None:
    """Mean cross-entropy of ``head(vector_i, level_j)`` against ``classes[j]`` over the pairs
    (i, j) of one group (i == j included), and its accuracy over the pairs whose variant j has
    vector code (``vector_accuracy``, only when there is one); None for an empty batch.

    Shapes:
        - vectors: ``[B, D]``; levels, classes: ``[B]`` long; groups: ``[B]`` long or None
          (each program its own group)
    """
    anchor, variant = group_pairs(groups, vectors.size(0), vectors.device)
    if anchor.numel() == 0:
        return None
    levels, classes = levels.to(vectors.device), classes.to(vectors.device)
    logits = head(vectors[anchor], levels[variant]).float()
    target = classes[variant]
    correct = (logits.argmax(-1) == target).float()
    out = {"loss": F.cross_entropy(logits, target), "accuracy": correct.mean()}
    vectorised = target > 0
    if bool(vectorised.any()):
        out["vector_accuracy"] = correct[vectorised].mean()
    return out
