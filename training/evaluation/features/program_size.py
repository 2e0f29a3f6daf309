"""Control: one number per program, the log of its instruction count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ....infra.errors import InputError
from ..programs import EvalProgram
from .opcode_histogram import opcode_counts, read_ir_text

__all__ = ["ProgramSizeFeaturizer"]


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
        out = np.zeros((len(programs), 1), dtype=np.float32)
        self.errors = {}
        for row, program in enumerate(programs):
            try:
                out[row, 0] = np.log1p(sum(opcode_counts(read_ir_text(program.path)).values()))
            except (InputError, OSError) as error:
                self.errors[program.key] = f"{getattr(error, 'reason', 'unreadable')}: {error}"
                out[row] = np.nan
        return out
