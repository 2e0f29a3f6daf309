"""Control: the opcode histogram of the instructions that sit in loops.

The whole-program opcode histogram counts an instruction once wherever it is; the work a
kernel does is dominated by what runs in its loops. This control counts only the instructions
on a cycle of their function's control flow (``pipelines/ir/loops.py``, the same analysis as
the loop-membership pre-training target), in the graph view the encoder reads: a cheap static
proxy of the dynamic instruction mix, and the upper reference for what an encoder that knows
loop membership can give a count readout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ....infra.errors import InputError, MirError
from ....pipelines.ir.loops import on_control_cycle
from ....pipelines.ir.program_graph import NODE_INSTRUCTION
from ..programs import EvalProgram
from .opcode_histogram import LLVM_OPCODES

__all__ = ["LoopOpcodeHistogramFeaturizer", "loop_opcode_counts"]

_COLUMN = {op: i for i, op in enumerate(LLVM_OPCODES)}


def loop_opcode_counts(graph) -> np.ndarray:
    """``[len(LLVM_OPCODES) + 1]`` counts of the opcodes of a ``ProgramGraph``'s
    instructions on control-flow cycles (the last bin: any other instruction text, such as
    ``[external]``)."""
    in_loop = on_control_cycle(graph.edge_src, graph.edge_dst, graph.edge_flow,
                               graph.num_nodes)
    counts = np.zeros(len(LLVM_OPCODES) + 1)
    for node in np.flatnonzero(in_loop & (graph.node_type == NODE_INSTRUCTION)):
        counts[_COLUMN.get(graph.node_texts[node], len(LLVM_OPCODES))] += 1
    return counts


class LoopOpcodeHistogramFeaturizer:
    """``log1p(count)`` of each LLVM opcode among the instructions that sit in loops."""

    name = "loop-opcode-histogram"
    description = (f"log1p opcode counts of the instructions on control-flow cycles, "
                   f"{len(LLVM_OPCODES) + 1} bins, from the normalised IR's graph view")

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        from ....pipelines.frontend.views import graph_view
        from ....pipelines.ir.normalize import normalize_ir

        out = np.full((len(programs), len(LLVM_OPCODES) + 1), np.nan, dtype=np.float32)
        self.errors = {}
        for row, program in enumerate(programs):
            try:
                graph = graph_view(normalize_ir(Path(program.path).read_bytes(), bitcode=False))
            except (InputError, MirError, OSError) as error:
                self.errors[program.key] = f"{getattr(error, 'reason', 'unreadable')}: {error}"
                continue
            out[row] = np.log1p(loop_opcode_counts(graph))
        return out
