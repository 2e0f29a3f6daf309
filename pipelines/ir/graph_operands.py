"""The operands of one instruction of canonical IR text, in LLVM's operand order.

:func:`parse_operands` turns an opcode and the text after it into :class:`Operands`: the
typed operand values with their positions, the successor block labels, the result type and
the direct callee. The positions follow LLVM (see the module docstring of ``graph.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .graph_syntax import (
    BALANCED,
    TYPED,
    drop_flags,
    element_of,
    fields,
    member_type,
    return_type,
    typed,
    vector_length,
    vector_of,
)

__all__ = ["Operands", "parse_operands"]

_LABEL_REF = re.compile(r"label %(\d+)")
_LOCAL_OR_GLOBAL = re.compile(r'%(\d+)\b|(@[-\w$.]+|@"[^"]*")')
_PHI_INCOMING = re.compile(r"\[ (.+?), %\d+ \]")
_ORDERING = re.compile(r"(?: syncscope\(\"[^\"]*\"\))?(?: (?:unordered|monotonic|acquire|"
                       r"release|acq_rel|seq_cst))+$")
_CALLEE = re.compile(r'(?:^| )(@[-\w$.]+|@"[^"]*"|%\d+)\(')
_INLINE_ASM = re.compile(r'(?:^| )asm [^"]*"(?:[^"]*)", "[^"]*"\(')
_ARG_ATTRS = re.compile(r"^(?:(?:signext|zeroext|inreg|noext|nest|returned|immarg|swiftself|"
                        r"align \d+|(?:byval|sret|byref|elementtype|preallocated|inalloca)"
                        r"\(" + BALANCED + r"\)|inalloca) )+")
_CALL_ARGS = re.compile(r"(" + BALANCED + r")\)")
_ANY_BRACKET = re.compile(r'[()\[\]{}<>"]')
_PAREN_DEPTH = {")": 1, "(": -1}
_ADDRSPACE = re.compile(r"addrspace\((\d+)\)")
_SWITCH_CASE = re.compile(r"(\S+ \S+), label %(\d+)")

_BINARY = frozenset("add sub mul udiv sdiv urem srem shl lshr ashr and or xor fadd fsub fmul "
                    "fdiv frem".split())
_CAST = frozenset("trunc zext sext fptrunc fpext fptoui fptosi uitofp sitofp ptrtoint "
                  "inttoptr bitcast addrspacecast ptrtoaddr".split())


class Operands:
    """The parsed operands of one instruction."""

    __slots__ = ("values", "successors", "result_type", "callee")

    def __init__(self) -> None:
        # (position, type text, value text)
        self.values: list[tuple[int, str, str]] = []
        self.successors: list[int] = []
        self.result_type = ""
        self.callee = ""


# --- calls ---------------------------------------------------------------------------------

def _call_arguments(tail: str) -> tuple[str, int] | None:
    """The argument text before the call's closing parenthesis, and the index after it."""
    close = tail.find(")")
    if close >= 0 and _ANY_BRACKET.search(tail, 0, close) is None:
        return tail[:close], close + 1  # no nesting: what `_CALL_ARGS` would match
    match = _CALL_ARGS.match(tail)
    return None if match is None else (match[1], match.end())


def _without_function_type(prefix: str) -> str:
    """A call's prefix without a trailing function type's parameters (``RET (PARAMS)``)."""
    if prefix.endswith(")"):
        depth = 0
        for i in range(len(prefix) - 1, -1, -1):
            depth += _PAREN_DEPTH.get(prefix[i], 0)
            if depth == 0:
                return prefix[:i].rstrip()
    return prefix


def _parse_call(rest: str, ops: Operands, *, invoke: bool) -> None:
    asm = (_INLINE_ASM.search(rest) if rest.startswith("asm ") or " asm " in rest else None)
    if asm is not None:
        prefix, args_start, callee = rest[:asm.start()], asm.end(), ""
    else:
        match = _CALLEE.search(rest)
        if match is None:
            raise ValueError("call without a callee")
        prefix, args_start, callee = rest[:match.start()], match.end(), match[1]
    ops.result_type = return_type(_without_function_type(prefix.strip()))
    tail = rest[args_start:]
    arguments = _call_arguments(tail)
    args_text = arguments[0] if arguments else ""
    position = 0
    if args_text.strip():
        for field in fields(args_text):
            type_text, value = typed(field)
            if type_text == "metadata":
                position += 1
                continue
            attributes = _ARG_ATTRS.match(value)
            if attributes is not None:
                value = value[attributes.end():]
            ops.values.append((position, type_text, value))
            position += 1
    if invoke:
        after = tail[arguments[1]:] if arguments else tail
        ops.successors = [int(label) for label in _LABEL_REF.findall(after)]
        position += len(ops.successors)
    if callee:
        ops.callee = callee
        ops.values.append((position, "ptr", callee))


def _call(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    _parse_call(drop_flags(rest), ops, invoke=False)


def _invoke(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    _parse_call(drop_flags(rest), ops, invoke=True)


# --- arithmetic, memory, casts -------------------------------------------------------------

def _binary(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """Binary operators, ``fneg`` and ``freeze``: the operands share the result type."""
    parts = fields(drop_flags(rest))
    type_text, value = typed(parts[0])
    ops.result_type = type_text
    ops.values.append((0, type_text, value))
    if len(parts) > 1:
        ops.values.append((1, type_text, parts[1]))


def _compare(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    _, _, rest = drop_flags(rest).partition(" ")  # the predicate
    parts = fields(rest)
    type_text, value = typed(parts[0])
    ops.result_type = vector_of(type_text, "i1")
    ops.values.append((0, type_text, value))
    ops.values.append((1, type_text, parts[1]))


def _cast(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    source, _, ops.result_type = drop_flags(rest).rpartition(" to ")
    ops.values.append((0, *typed(source)))


def _load(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(drop_flags(rest))
    ops.result_type = parts[0]
    ops.values.append((0, *typed(parts[1])))


def _store(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(drop_flags(rest))
    ops.values.append((0, *typed(parts[0])))
    ops.values.append((1, *typed(parts[1])))


def _getelementptr(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    values = ops.values
    for position, field in enumerate(fields(drop_flags(rest))[1:]):
        values.append((position, *typed(field)))
    ops.result_type = values[0][1] if values else "ptr"
    for _, type_text, _ in values[1:]:
        if type_text.startswith("<"):
            ops.result_type = vector_of(type_text, values[0][1])
            break


def _alloca(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """An ``alloca`` without a count uses the implicit ``i32 1``."""
    parts = fields(drop_flags(rest))
    counted = len(parts) > 1 and not parts[1].startswith(("align ", "addrspace("))
    ops.values.append((0, *typed(parts[1])) if counted else (0, "i32", "1"))
    space = _ADDRSPACE.search(parts[-1])
    ops.result_type = f"ptr addrspace({space[1]})" if space and space[1] != "0" else "ptr"


def _atomicrmw(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    _, _, rest = drop_flags(rest).partition(" ")  # the operation
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    ops.values.append((1, *typed(_ORDERING.sub("", parts[1]))))
    ops.result_type = ops.values[1][1]


def _cmpxchg(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    for position, field in enumerate(fields(drop_flags(rest))[:3]):
        ops.values.append((position, *typed(_ORDERING.sub("", field))))
    ops.result_type = "{ " + ops.values[1][1] + ", i1 }"


def _va_arg(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    ops.result_type = parts[1]


# --- control flow --------------------------------------------------------------------------

def _br(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """``br label %T`` or ``br i1 c, label %T, label %F`` (condition at position 0)."""
    parts = fields(rest)
    if len(parts) == 1:
        ops.successors = [int(parts[0][7:])]
    else:
        ops.values.append((0, *typed(parts[0])))
        ops.successors = [int(parts[1][7:]), int(parts[2][7:])]


def _switch(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """Condition at 0, case values at 2, 4, ...; successors: the default, then the cases."""
    head, _, cases = rest.partition("[")
    parts = fields(head.strip())
    ops.values.append((0, *typed(parts[0])))
    ops.successors = [int(parts[1][7:])]
    for position, case in enumerate(_SWITCH_CASE.findall(cases)):
        ops.values.append((2 + 2 * position, *typed(case[0])))
        ops.successors.append(int(case[1]))


def _phi(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    type_text, _, incoming = drop_flags(rest).partition(" [ ")
    ops.result_type = type_text
    for position, value in enumerate(_PHI_INCOMING.findall("[ " + incoming)):
        ops.values.append((position, type_text, value))


def _ret(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    if rest != "void":
        ops.values.append((0, *typed(rest)))


def _select(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    for position, field in enumerate(fields(drop_flags(rest))[:3]):
        ops.values.append((position, *typed(field)))
    ops.result_type = ops.values[1][1]


def _landingpad(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """The result type, then one operand per ``catch``/``filter`` clause line."""
    head, _, clauses = rest.partition("\n")
    ops.result_type = head.strip()
    position = 0
    for line in clauses.splitlines():
        line = line.strip()
        if line.startswith(("catch ", "filter ")):
            ops.values.append((position, *typed(line.split(" ", 1)[1])))
            position += 1


def _no_operands(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """``unreachable`` and ``fence``."""


def _other(opcode: str, rest: str, ops: Operands) -> None:
    """Rare opcodes (EH pads, indirectbr, callbr, resume, ...): operands in text order."""
    ops.successors = [int(label) for label in _LABEL_REF.findall(rest)]
    for position, match in enumerate(_LOCAL_OR_GLOBAL.finditer(_LABEL_REF.sub("", rest))):
        ops.values.append((position, "?", match[0]))
    if opcode in ("resume",):
        ops.result_type = ""
    elif rest and not rest.startswith(("label", "within", "none")):
        match = TYPED.match(rest)
        ops.result_type = match[1] if match else "token"
    else:
        ops.result_type = "token"


# --- vectors and aggregates ----------------------------------------------------------------

def _extractelement(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    ops.values.append((1, *typed(parts[1])))
    ops.result_type = element_of(ops.values[0][1])


def _insertelement(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    for position, field in enumerate(fields(rest)[:3]):
        ops.values.append((position, *typed(field)))
    ops.result_type = ops.values[0][1]


def _shufflevector(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    """Two vector operands; the result has the mask's length and the operands' element."""
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    ops.values.append((1, *typed(parts[1])))
    length = vector_length(typed(parts[2])[0])
    first = ops.values[0][1]
    ops.result_type = f"<{length} x {element_of(first)}>" if length else first


def _extractvalue(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    result = ops.values[0][1]
    for index in parts[1:]:
        result = member_type(structs, result, int(index))
    ops.result_type = result


def _insertvalue(rest: str, ops: Operands, structs: dict[str, str]) -> None:
    parts = fields(rest)
    ops.values.append((0, *typed(parts[0])))
    ops.values.append((1, *typed(parts[1])))
    ops.result_type = ops.values[0][1]


_PARSERS: dict[str, Callable[[str, Operands, dict[str, str]], None]] = {
    **dict.fromkeys(_BINARY | {"fneg", "freeze"}, _binary),
    **dict.fromkeys(_CAST, _cast),
    "icmp": _compare, "fcmp": _compare,
    "load": _load, "store": _store, "getelementptr": _getelementptr, "alloca": _alloca,
    "atomicrmw": _atomicrmw, "cmpxchg": _cmpxchg, "va_arg": _va_arg,
    "br": _br, "switch": _switch, "phi": _phi, "ret": _ret, "select": _select,
    "call": _call, "invoke": _invoke, "landingpad": _landingpad,
    "unreachable": _no_operands, "fence": _no_operands,
    "extractelement": _extractelement, "insertelement": _insertelement,
    "shufflevector": _shufflevector, "extractvalue": _extractvalue,
    "insertvalue": _insertvalue,
}


def parse_operands(opcode: str, rest: str, struct_bodies: dict[str, str]) -> Operands:
    """The operands of one instruction.

    Args:
        opcode: the opcode (``tail call`` already reduced to ``call``).
        rest: the text after the opcode, with continuation lines (switch cases, clauses).
        struct_bodies: named struct type -> its body, for ``extractvalue`` result types.

    Raises:
        ValueError, IndexError: when the text is not canonical IR.
    """
    ops = Operands()
    parser = _PARSERS.get(opcode)
    if parser is None:
        _other(opcode, rest, ops)
    else:
        parser(rest, ops, struct_bodies)
    return ops
