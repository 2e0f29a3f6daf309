"""Compiler-decision prediction: from any variant's vector, what LLVM's loop vectoriser decides
for its source at -O3.

clang's optimisation record gives, per loop it considers, a deterministic answer: vectorised
or not, with which width (VF) and interleave count (IC). Each source of a built dataset gets
one label per task (``evaluation/probes/decision_labels.py`` compiles it once at -O3 and
stores them beside the shards); every optimisation-level variant of the source is asked the
same, so the answer must be read from what the source *is*, not from what a level already
did to it. A *linear* head per view, so the answer must be linearly readable in the vector,
as the probes and the downstream heads read it.

Why beside vectorisation-outcome prediction (``tasks/vectorisation.py``): that target infers
the width from the vector types in a variant's optimised IR, over a whole program and any
vectoriser (loop or SLP), and its head learned it barely (validation accuracy on vectorised
targets 0.27). These labels are the loop vectoriser's own decisions.

Program labels (three tasks; ``-100``: no label):
- ``vectorised``: 0 no loop decided outside ``main``, 1 loops decided but none vectorised,
  2 some loop vectorised;
- ``vf``: the widest VF of its decided loops, classes 1, 2, 4, 8, 16+ (no label without loops);
- ``ic``: the largest IC of its decided loops, classes 1, 2, 4, 8+ (no label without loops).

Caveat for readers of the probes: the compiler-decision probe asks the same question of
held-out sources (single-loop ones, from -O0 IR), so with this objective on, that probe
measures a pre-training target on unseen programs; ``task.decision_corpora`` keeps the labels
of chosen corpora only, so that a probe corpus left out measures transfer across corpora.
The downstream protocols (device mapping, thread coarsening) stay clean tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ....infra.errors import ConfigError

__all__ = ["DECISION_TASKS", "VECTORISED_CLASSES", "VF_CLASSES", "IC_CLASSES",
           "DECISION_LABELS_FILE", "IGNORE", "decision_labels", "decision_targets",
           "load_decision_table", "DecisionHead", "decision_metrics"]

DECISION_TASKS = ("vectorised", "vf", "ic")
VECTORISED_CLASSES = ("no_loop", "scalar", "vector")
VF_CLASSES = (1, 2, 4, 8, 16)
IC_CLASSES = (1, 2, 4, 8)
DECISION_LABELS_FILE = "decision_labels.parquet"
"""The labels' file in a dataset folder (written by ``mirencoder dataset decision-labels``)."""
IGNORE = -100


def _class_of(value: int, classes: Sequence[int]) -> int:
    """Index of the largest class <= value (values above the last class fall into it)."""
    index = 0
    for i, bound in enumerate(classes):
        if value >= bound:
            index = i
    return index


def decision_labels(decisions: Iterable[tuple[bool, int, int]]) -> tuple[int, int, int]:
    """``(vectorised, vf, ic)`` class indices of a program from its loops' decisions
    ``(vectorised?, VF, IC)`` (an empty iterable: no loop decided)."""
    loops = list(decisions)
    if not loops:
        return 0, IGNORE, IGNORE
    vectorised = 2 if any(v for v, _, _ in loops) else 1
    return (vectorised, _class_of(max(vf for _, vf, _ in loops), VF_CLASSES),
            _class_of(max(ic for _, _, ic in loops), IC_CLASSES))


def load_decision_table(dataset_dir: str | Path, corpora: Sequence[str] = ()
                        ) -> dict[str, tuple[int, int, int]]:
    """``group -> (vectorised, vf, ic)`` of the labelled sources of a dataset (only those of
    ``corpora`` when given).

    Raises:
        ConfigError: when the dataset has no labels file, or none of its labels is left.
    """
    import pyarrow.parquet as pq

    path = Path(dataset_dir) / DECISION_LABELS_FILE
    if not path.is_file():
        raise ConfigError(f"task.decision_weight > 0 needs {path}: run `mirencoder dataset "
                          f"decision-labels {dataset_dir}` first")
    table = pq.read_table(path).to_pylist()
    wanted = set(corpora)
    out = {row["group"]: (int(row["vectorised"]), int(row["vf"]), int(row["ic"]))
           for row in table
           if row["status"] == "ok" and (not wanted or row["corpus"] in wanted)}
    if not out:
        known = sorted({row["corpus"] for row in table})
        raise ConfigError(f"{path} has no labelled source of the corpora {sorted(wanted)} "
                          f"(its corpora: {known})")
    return out


def decision_targets(groups: Sequence[str], table: Mapping[str, tuple[int, int, int]]
                     ) -> torch.Tensor | None:
    """``[B, 3]`` long targets of a batch's programs by their variant group (``-100`` rows
    for sources without a label); None when no program of the batch has one."""
    rows = [table.get(group, (IGNORE, IGNORE, IGNORE)) for group in groups]
    if all(row[0] == IGNORE for row in rows):
        return None
    return torch.tensor(rows, dtype=torch.long)


class DecisionHead(nn.Module):
    """One linear layer: vector ``[B, D]`` -> the logits of the three tasks, concatenated."""

    sizes = (len(VECTORISED_CLASSES), len(VF_CLASSES), len(IC_CLASSES))

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, sum(self.sizes))

    def forward(self, vectors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(self.linear(vectors), self.sizes, dim=-1)


def decision_metrics(head: DecisionHead, vectors: torch.Tensor, targets: torch.Tensor
                     ) -> dict[str, torch.Tensor] | None:
    """Mean cross-entropy of the tasks that have a label in the batch, and the accuracy of the
    ``vectorised`` task on the labelled programs; None when nothing is labelled."""
    logits = head(vectors)
    losses = []
    for task, task_logits in enumerate(logits):
        target = targets[:, task]
        if bool((target != IGNORE).any()):
            losses.append(F.cross_entropy(task_logits.float(), target, ignore_index=IGNORE))
    if not losses:
        return None
    labelled = targets[:, 0] != IGNORE
    accuracy = (logits[0][labelled].argmax(-1) == targets[labelled, 0]).float().mean()
    return {"loss": torch.stack(losses).mean(), "accuracy": accuracy.detach()}

