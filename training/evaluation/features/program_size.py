"""Control: one number per program, the log of its instruction count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..programs import EvalProgram
from .opcode_histogram import ir_text_rows, opcode_counts

__all__ = ["ProgramSizeFeaturizer"]


def _log_size(ir_text: str) -> list[float]:
    return [float(np.log1p(sum(opcode_counts(ir_text).values())))]


class ProgramSizeFeaturizer:
    """``log1p`` of the number of instructions in the program's IR (normalised as the opcode
    histogram's): the simplest program feature there is.

    It asks how much of a score a representation owes to knowing how big the program is. The
    encoder pools its views by mean and max and embeds the first token window, so its vectors
    carry size only indirectly; the opcode histogram's log counts carry it in every column.
    """

    name = "program-size"
    description = "log1p instruction count (1 column), from the opcode histogram's IR reading"

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        out, self.errors = ir_text_rows(programs, 1, _log_size)
        return out
