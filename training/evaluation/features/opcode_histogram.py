"""Control: a log-scaled histogram of the instruction opcodes of each program's IR."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ....infra.errors import InputError
from ....pipelines.ir.node_vocab import LLVM_OPCODES
from ..programs import EvalProgram

__all__ = ["LLVM_OPCODES", "opcode_counts", "read_ir_text", "ir_text_rows",
           "OpcodeHistogramFeaturizer"]


_COLUMN = {op: i for i, op in enumerate(LLVM_OPCODES)}
_ASSIGN = re.compile(r'^%(?:"[^"]*"|[-\w.$]+)\s*=\s*')
_LABEL = re.compile(r'^(?:"[^"]*"|[-\w.$]+):(?:\s|$)')
_WORD = re.compile(r"[a-z_]+")
_CALL_PREFIX = {"tail", "musttail", "notail"}
_CLAUSES = {"catch", "filter", "cleanup"}


def opcode_counts(ir_text: str) -> Counter[str]:
    """Counts instruction opcodes in the function bodies of textual LLVM IR (any version).

    Labels, comments, debug records and the case lists of ``switch`` are skipped; a word that is
    not an opcode counts as ``other``.
    """
    counts: Counter[str] = Counter()
    in_body = in_switch = False
    for raw in ir_text.splitlines():
        line = raw.strip()
        if not in_body:
            in_body = line.startswith("define ") and line.endswith("{")
            continue
        if line == "}":
            in_body = False
            continue
        if in_switch:
            in_switch = "]" not in line
            continue
        if not line or line[0] in ";#!" or _LABEL.match(line):
            continue
        rest = _ASSIGN.sub("", line, count=1)
        match = _WORD.match(rest)
        if match is None:
            counts["other"] += 1
            continue
        word = match.group(0)
        if word in _CALL_PREFIX:
            word = "call"
        if word in _CLAUSES:
            continue
        counts[word if word in _COLUMN else "other"] += 1
        if word == "switch" and "[" in rest and "]" not in rest:
            in_switch = True
    return counts


def read_ir_text(path: Path) -> str:
    """Textual IR of a ``.ll`` or ``.bc`` file, normalised by the pipeline when available.

    Raises:
        InputError: when the file cannot be read or parsed.
    """
    data = Path(path).read_bytes()
    try:
        from ....pipelines.ir.normalize import normalize_ir
    except ImportError:
        normalize_ir = None
    if normalize_ir is not None:
        return normalize_ir(data).text
    if data[:4] == b"BC\xc0\xde":
        import llvmlite.binding as llvm

        try:
            return str(llvm.parse_bitcode(data))
        except RuntimeError as error:
            raise InputError("malformed_ir", f"{path}: {error}") from error
    return data.decode("utf-8", errors="replace")


def ir_text_rows(programs: Sequence[EvalProgram], width: int,
                 row_of_text: Callable[[str], Sequence[float] | np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, str]]:
    """``[len(programs), width]`` float32 rows, ``row_of_text`` of each program's IR text
    (:func:`read_ir_text`), and ``program key -> reason`` for each program whose IR could not
    be read (its row is NaN): what a featurizer returns and keeps as ``errors``."""
    out = np.zeros((len(programs), width), dtype=np.float32)
    errors: dict[str, str] = {}
    for row, program in enumerate(programs):
        try:
            text = read_ir_text(program.path)
        except (InputError, OSError) as error:
            errors[program.key] = f"{getattr(error, 'reason', 'unreadable')}: {error}"
            out[row] = np.nan
            continue
        out[row] = row_of_text(text)
    return out, errors


def _opcode_row(text: str) -> np.ndarray:
    row = np.zeros(len(LLVM_OPCODES) + 1, dtype=np.float32)
    for op, count in opcode_counts(text).items():
        row[_COLUMN.get(op, len(LLVM_OPCODES))] += count
    return row


class OpcodeHistogramFeaturizer:
    """``log1p(count)`` of each LLVM opcode (plus ``other``) in the program's IR.

    A strong, cheap control: it sees what the program computes, not how values flow.
    """

    name = "opcode-histogram"

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        try:
            from ....pipelines.ir import normalize  # noqa: F401

            source = "normalised IR (mirencoder.pipelines.ir.normalize)"
        except ImportError:
            source = "raw IR text"
        self.description = f"log1p opcode counts, {len(LLVM_OPCODES) + 1} bins, from {source}"

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        counts, self.errors = ir_text_rows(programs, len(LLVM_OPCODES) + 1, _opcode_row)
        return np.log1p(counts)
