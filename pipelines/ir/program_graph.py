"""The graph view of one program: ProGraML-style node and edge kinds and the flat arrays.

This is the IR layer's own type; the storage schema (``pipelines/shards/schema.py``) and the
model read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "NODE_INSTRUCTION", "NODE_VARIABLE", "NODE_CONSTANT", "NODE_TYPES",
    "FLOW_CONTROL", "FLOW_DATA", "FLOW_CALL", "FLOWS", "ProgramGraph",
]

# Node types, as in ProGraML.
NODE_INSTRUCTION, NODE_VARIABLE, NODE_CONSTANT = 0, 1, 2
NODE_TYPES = ("instruction", "variable", "constant")
# Edge flows, as in ProGraML.
FLOW_CONTROL, FLOW_DATA, FLOW_CALL = 0, 1, 2
FLOWS = ("control", "data", "call")


@dataclass(slots=True)
class ProgramGraph:
    """A ProGraML-style multigraph of one module, as flat integer arrays.

    Node ``i`` has type ``node_type[i]`` (``NODE_*``), text ``node_texts[i]`` (instruction:
    opcode, or ``[external]`` for an external callee; variable and constant: the LLVM type),
    and lives in function ``node_function[i]`` and basic block ``node_block[i]`` (``-1`` for
    module-level nodes such as globals and external callees). Edge ``j`` goes from
    ``edge_src[j]`` to ``edge_dst[j]`` with flow ``edge_flow[j]`` (``FLOW_*``) and position
    ``edge_position[j]`` (operand index for data edges, successor index for control edges,
    0 for call edges).
    """

    node_type: np.ndarray  # int8 [N]
    node_texts: list[str]  # [N]
    node_function: np.ndarray  # int32 [N]
    node_block: np.ndarray  # int32 [N]
    edge_src: np.ndarray  # int32 [E]
    edge_dst: np.ndarray  # int32 [E]
    edge_flow: np.ndarray  # int8 [E]
    edge_position: np.ndarray  # int32 [E]
    node_text_ids: np.ndarray | None = field(default=None)  # int32 [N], once a vocab is applied

    @property
    def num_nodes(self) -> int:
        return int(self.node_type.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_src.shape[0])
