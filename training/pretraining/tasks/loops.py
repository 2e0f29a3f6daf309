"""Loop membership: from its state alone, does an instruction sit in a loop of its function?

A node-level target that a compiler analysis gives for free and random message passing cannot
hold: an instruction is in a loop when it lies on a cycle of the control-flow edges (a
strongly connected component of more than one instruction, or one with a self-edge), which a
3-hop GNN sees only through local cues (a ``phi`` that takes an induction variable, a
backward branch, a compare against a bound). It matters downstream: the opcode counts of the
instructions inside loops alone lift DevMap leakage-free above the whole-program opcode
histogram (RESULTS.md), so node states that know it let a count readout (bags of node codes)
or a pooled vector weigh what runs often. Targets come from the uncorrupted graph; variable
and constant nodes are not scored.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ....pipelines.ir.loops import on_control_cycle
from ....pipelines.ir.program_graph import NODE_INSTRUCTION
from ...core.models.node_text_head import NodeTextHead

__all__ = ["IGNORE", "LoopHead", "loop_membership", "loop_metrics"]

IGNORE = -100
"""Target of nodes that are not scored (variables, constants)."""


class LoopHead(NodeTextHead):
    """A two-class linear classifier over node states (not in a loop / in a loop)."""

    def __init__(self, hidden: int):
        super().__init__(hidden, 2)


def loop_membership(edge_index: torch.Tensor, edge_flow: torch.Tensor, node_type: torch.Tensor
                    ) -> torch.Tensor:
    """``[N]`` long targets: 1 for an instruction on a cycle of the control edges
    (``pipelines/ir/loops.py``), 0 for another instruction, :data:`IGNORE` for other nodes (a
    batch of disjoint graphs is fine: no cycle crosses two of them)."""
    edges = edge_index.cpu().numpy()
    in_loop = on_control_cycle(edges[0], edges[1], edge_flow.cpu().numpy(),
                               int(node_type.numel()))
    targets = torch.from_numpy(in_loop.astype(np.int64))
    return torch.where(node_type.cpu() == NODE_INSTRUCTION, targets,
                       torch.full_like(targets, IGNORE))


def loop_metrics(head: LoopHead, node_states: torch.Tensor, targets: torch.Tensor
                 ) -> dict[str, torch.Tensor] | None:
    """Cross-entropy and accuracy over the scored nodes (None when there are none)."""
    scored = targets != IGNORE
    if not bool(scored.any()):
        return None
    logits = head(node_states[scored]).float()
    labels = targets[scored]
    return {"loss": F.cross_entropy(logits, labels),
            "accuracy": (logits.argmax(-1) == labels).float().mean().detach()}
