"""Builds the ProGraML-style program graph of a module from its canonical IR text.

The canonical text (see ``normalize.py``) is what LLVM 22 prints after normalisation: numbered
locals, opaque pointers, no metadata, no attributes, one instruction per line (``switch`` cases
and ``landingpad`` clauses on continuation lines). It is parsed in one pass with compiled
regular expressions, never through llvmlite's per-operand objects (about 11 ms per DevMap file
on their own; this builder takes well under that, see BENCHMARKS.md).

The graph follows ProGraML (Cummins et al., ICML'21), with these choices:

* **Instruction nodes**, text = opcode (``tail call`` is ``call``), one per instruction, in
  program order. Each *called* function declaration (an external callee) gets one instruction
  node with text ``[external]`` (ProGraML's ``; undefined function`` node); ProGraML's extra
  root node linking every function is not built.
* **Variable nodes**, text = LLVM type, one per SSA value that is used: instruction results,
  function arguments, global variables and functions used as values (``ptr``), in order of
  first appearance.
* **Constant nodes**, text = type, one per distinct constant (type and literal) in the module,
  as LLVM uniques constants per context (ProGraML does the same). Constant expressions
  (``getelementptr (...)``) are constants of their type.
* **Control edges**: instruction to the next one in its block (position 0); a terminator to the
  first instruction of each successor, with the successor's index (``br i1 c, T, F``: T is 0,
  F is 1; ``switch``: default 0, cases 1..; ``invoke``: normal 0, unwind 1).
* **Data edges**: operand value to instruction with LLVM's operand index as position (a call's
  arguments are 0..n-1 and its callee n; ``br``'s condition 0; an ``alloca`` without a count
  uses the implicit ``i32 1``); instruction to its result variable, position 0. Basic blocks,
  metadata and inline asm are not data. ``switch`` case values are constant operands at 2, 4,
  ... as in LLVM up to 20 and ProGraML (LLVM 22 stores them outside the operand list).
* **Call edges** (position 0): a direct call site to the callee's entry instruction, and each
  ``ret`` of the callee back to the call site; for an external callee, call site to its
  ``[external]`` node and back. Indirect calls have no call edge (their callee is data).
* Nodes are numbered in order of first appearance: instructions in program order, with each
  constant or global inserted at its first use; a function's argument and result variables
  right after its instructions; external callees last.
* ``node_function``: index of the defined function (in module order); ``node_block``: a
  module-wide basic block index; both ``-1`` for module-level nodes (globals, constants,
  external callees). Arguments belong to their function's entry block.
"""

from __future__ import annotations

import re

import numpy as np

from ...infra.errors import InputError
from .normalize import NormalizedIR
from .program_graph import (
    FLOW_CALL,
    FLOW_CONTROL,
    FLOW_DATA,
    NODE_CONSTANT,
    NODE_INSTRUCTION,
    NODE_VARIABLE,
    ProgramGraph,
)

__all__ = ["build_graph", "EXTERNAL_TEXT"]

EXTERNAL_TEXT = "[external]"

# --- balanced-bracket building blocks ------------------------------------------------------
_L0 = r'(?:[^()\[\]{}<>"]|"[^"]*")*'


def _nest(inner: str) -> str:
    return (r'(?:[^()\[\]{}<>"]|"[^"]*"|\(' + inner + r"\)|\[" + inner + r"\]|\{" + inner
            + r"\}|<" + inner + r">)*")


_L3 = _nest(_nest(_nest(_L0)))
# One top-level comma-separated field (brackets and strings balanced, nesting depth <= 4).
_FIELD = re.compile(r'(?:[^,()\[\]{}<>"]|"[^"]*"|\(' + _L3 + r"\)|\[" + _L3 + r"\]|\{" + _L3
                    + r"\}|<" + _L3 + r">)+")
_TYPE = (r"(?:i\d+|half|bfloat|float|double|x86_fp80|fp128|ppc_fp128|x86_amx|void|label|"
         r'metadata|token|ptr(?: addrspace\(\d+\))?|%[-\w$.]+|%"[^"]*"|<' + _L3 + r">|\["
         + _L3 + r"\]|\{" + _L3 + r"\}|target\(" + _L3 + r"\))")
_TYPED = re.compile(r"(" + _TYPE + r") (.+)$", re.S)
_TYPE_AT_END = re.compile(r"(" + _TYPE + r")$")
_BRACKETS = re.compile(r'[(\[{<"]')

# --- module structure ----------------------------------------------------------------------
# These search "\n" + text: a pattern that starts with a literal ("\ndefine ") is found fast,
# where a MULTILINE ``^`` is tried at every character.
_FUNCTION_HEADER = re.compile(r"\ndefine [^\n]*?(@[-\w$.]+|@\"[^\"]*\")\((" + _L3
                              + r")\)[^\n]*\{\n")
_DECLARE = re.compile(r"\ndeclare [^\n]*?(@[-\w$.]+|@\"[^\"]*\")\(")
_GLOBAL = re.compile(r"\n(@[-\w$.]+|@\"[^\"]*\") = ([^\n]*)")
_GLOBAL_ADDRSPACE = re.compile(r"\baddrspace\((\d+)\) (?:global|constant|alias|ifunc)\b")
_STRUCT = re.compile(r"\n(%[-\w$.]+|%\"[^\"]*\"|%\d+) = type ([^\n]*)")
# An instruction with its continuation lines (switch cases, landingpad clauses), or a block
# label; searched in "\n" + body.
_INSTRUCTION = re.compile(r"\n  (?:%(\d+) = )?([a-z_]+)(?: ([^\n]*(?:\n(?:    |  \])[^\n]*)*))?"
                          r"|\n(\d+):")
_LABEL_REF = re.compile(r"label %(\d+)")
_LOCAL_OR_GLOBAL = re.compile(r'%(\d+)\b|(@[-\w$.]+|@"[^"]*")')
_PHI_INCOMING = re.compile(r"\[ (.+?), %\d+ \]")
_FLAGS = re.compile(r"^(?:(?:nuw|nsw|exact|disjoint|nneg|samesign|fast|nnan|ninf|nsz|arcp|"
                    r"contract|afn|reassoc|inbounds|nusw|inrange\(-?\d+, ?-?\d+\)|volatile|"
                    r"atomic|weak|inalloca|swifterror) )+")
_ORDERING = re.compile(r"(?: syncscope\(\"[^\"]*\"\))?(?: (?:unordered|monotonic|acquire|"
                       r"release|acq_rel|seq_cst))+$")
_CALLEE = re.compile(r'(?:^| )(@[-\w$.]+|@"[^"]*"|%\d+)\(')
_INLINE_ASM = re.compile(r'(?:^| )asm [^"]*"(?:[^"]*)", "[^"]*"\(')
_ARG_ATTRS = re.compile(r"^(?:(?:signext|zeroext|inreg|noext|nest|returned|immarg|swiftself|"
                        r"align \d+|(?:byval|sret|byref|elementtype|preallocated|inalloca)"
                        r"\(" + _L3 + r"\)|inalloca) )+")
_CALL_ARGS = re.compile(r"(" + _L3 + r")\)")
_ANY_BRACKET = re.compile(r'[()\[\]{}<>"]')
_PAREN_DEPTH = {")": 1, "(": -1}
_ADDRSPACE = re.compile(r"addrspace\((\d+)\)")
_SWITCH_CASE = re.compile(r"(\S+ \S+), label %(\d+)")
_VECTOR = re.compile(r"^<(\d+) x (.+)>$")

_SCALAR_TYPES = frozenset("half bfloat float double x86_fp80 fp128 ppc_fp128 x86_amx void label "
                          "metadata token".split())
_BINARY = frozenset("add sub mul udiv sdiv urem srem shl lshr ashr and or xor fadd fsub fmul "
                    "fdiv frem".split())
_CAST = frozenset("trunc zext sext fptrunc fpext fptoui fptosi uitofp sitofp ptrtoint "
                  "inttoptr bitcast addrspacecast ptrtoaddr".split())
_CALL_PREFIX = frozenset(("tail", "musttail", "notail"))


def _drop_flags(rest: str) -> str:
    """``rest`` without its leading flags (``nuw``, ``inbounds``, ``volatile``, ...)."""
    match = _FLAGS.match(rest)
    return rest if match is None else rest[match.end():]


def _fields(rest: str) -> list[str]:
    """Top-level comma-separated fields of an operand list."""
    if _BRACKETS.search(rest) is None:
        return rest.split(", ")
    return [f.strip() for f in _FIELD.findall(rest)]


def _is_scalar_type(word: str) -> bool:
    """``word`` is a one-word type of `_TYPE` other than ``ptr`` (``i32``, ``float``, ...)."""
    return word in _SCALAR_TYPES or (word[:1] == "i" and word[1:].isascii()
                                     and word[1:].isdigit())


def _typed(field: str) -> tuple[str, str]:
    """Splits ``TYPE VALUE``; a field without a recognisable type is all value."""
    head, _, tail = field.partition(" ")
    # Fast path, same result as the regex: a scalar type, or ``ptr`` without an address space.
    if tail and (_is_scalar_type(head)
                 or (head == "ptr" and not tail.startswith("addrspace("))):
        return head, tail
    match = _TYPED.match(field)
    if match is None:
        return "", field
    return match[1], match[2]


def _vector_of(type_text: str, element: str) -> str:
    vector = _VECTOR.match(type_text)
    return f"<{vector[1]} x {element}>" if vector else element


def _element_of(type_text: str) -> str:
    vector = _VECTOR.match(type_text)
    return vector[2] if vector else type_text


class _ModuleGraph:
    """Accumulates nodes and edges as Python lists; ``finish`` turns them into arrays."""

    __slots__ = ("types", "texts", "functions", "blocks", "src", "dst", "flow", "pos",
                 "constants", "globals", "global_types", "structs", "struct_bodies",
                 "externals")

    def __init__(self) -> None:
        self.types: list[int] = []
        self.texts: list[str] = []
        self.functions: list[int] = []
        self.blocks: list[int] = []
        self.src: list[int] = []
        self.dst: list[int] = []
        self.flow: list[int] = []
        self.pos: list[int] = []
        self.constants: dict[tuple[str, str], int] = {}
        self.globals: dict[str, int] = {}
        self.global_types: dict[str, str] = {}
        self.struct_bodies: dict[str, str] = {}
        self.externals: dict[str, int] = {}

    def node(self, node_type: int, text: str, function: int, block: int) -> int:
        self.types.append(node_type)
        self.texts.append(text)
        self.functions.append(function)
        self.blocks.append(block)
        return len(self.types) - 1

    def edge(self, src: int, dst: int, flow: int, position: int) -> None:
        self.src.append(src)
        self.dst.append(dst)
        self.flow.append(flow)
        self.pos.append(position)

    def constant(self, type_text: str, literal: str) -> int:
        key = (type_text, literal)
        node = self.constants.get(key)
        if node is None:
            node = self.constants[key] = self.node(NODE_CONSTANT, type_text or "?", -1, -1)
        return node

    def global_value(self, name: str) -> int:
        node = self.globals.get(name)
        if node is None:
            node = self.globals[name] = self.node(
                NODE_VARIABLE, self.global_types.get(name, "ptr"), -1, -1)
        return node

    def finish(self) -> ProgramGraph:
        return ProgramGraph(
            node_type=np.asarray(self.types, dtype=np.int8),
            node_texts=self.texts,
            node_function=np.asarray(self.functions, dtype=np.int32),
            node_block=np.asarray(self.blocks, dtype=np.int32),
            edge_src=np.asarray(self.src, dtype=np.int32),
            edge_dst=np.asarray(self.dst, dtype=np.int32),
            edge_flow=np.asarray(self.flow, dtype=np.int8),
            edge_position=np.asarray(self.pos, dtype=np.int32),
        )


def _split_top(text: str) -> list[str]:
    return [f.strip() for f in _FIELD.findall(text)]


def _member_type(graph: _ModuleGraph, aggregate: str, index: int) -> str:
    aggregate = aggregate.strip()
    if aggregate.startswith("%"):
        aggregate = graph.struct_bodies.get(aggregate, aggregate)
    if aggregate.startswith("<{") and aggregate.endswith("}>"):
        aggregate = aggregate[1:-1]
    if aggregate.startswith("{") and aggregate.endswith("}"):
        members = _split_top(aggregate[1:-1])
        return members[index] if 0 <= index < len(members) else "?"
    if aggregate.startswith("[") and " x " in aggregate:
        return aggregate[1:-1].split(" x ", 1)[1]
    return "?"


class _Operands:
    """The parsed operands of one instruction."""

    __slots__ = ("values", "successors", "result_type", "callee")

    def __init__(self) -> None:
        # (position, type text, value text)
        self.values: list[tuple[int, str, str]] = []
        self.successors: list[int] = []
        self.result_type = ""
        self.callee = ""


def _return_type(prefix: str) -> str:
    """The type at the end of a call's prefix (``fastcc zeroext i1`` -> ``i1``), or ``?``."""
    last = prefix.rpartition(" ")[2]
    # A bare scalar last word is the match (no multi-word type ends with one); else the regex.
    if last == "ptr" or _is_scalar_type(last):
        return last
    ret = _TYPE_AT_END.search(prefix)
    return ret[1] if ret else "?"


def _call_arguments(tail: str) -> tuple[str, int] | None:
    """The argument text before the call's closing parenthesis, and the index after it."""
    close = tail.find(")")
    if close >= 0 and _ANY_BRACKET.search(tail, 0, close) is None:
        return tail[:close], close + 1  # no nesting: what `_CALL_ARGS` would match
    match = _CALL_ARGS.match(tail)
    return None if match is None else (match[1], match.end())


def _parse_call(rest: str, ops: _Operands, *, invoke: bool) -> None:
    asm = (_INLINE_ASM.search(rest) if rest.startswith("asm ") or " asm " in rest else None)
    if asm is not None:
        prefix, args_start, callee = rest[:asm.start()], asm.end(), ""
    else:
        match = _CALLEE.search(rest)
        if match is None:
            raise ValueError("call without a callee")
        prefix, args_start, callee = rest[:match.start()], match.end(), match[1]
    prefix = prefix.strip()
    if prefix.endswith(")"):  # a function type: `RET (PARAMS)`
        depth = 0
        for i in range(len(prefix) - 1, -1, -1):
            depth += _PAREN_DEPTH.get(prefix[i], 0)
            if depth == 0:
                prefix = prefix[:i].rstrip()
                break
    ops.result_type = _return_type(prefix)
    tail = rest[args_start:]
    arguments = _call_arguments(tail)
    args_text = arguments[0] if arguments else ""
    position = 0
    if args_text.strip():
        for field in _fields(args_text):
            type_text, value = _typed(field)
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


def _parse(opcode: str, rest: str, graph: _ModuleGraph) -> _Operands:  # noqa: C901
    ops = _Operands()
    values = ops.values
    if opcode in _BINARY or opcode == "fneg" or opcode == "freeze":
        rest = _drop_flags(rest)
        fields = _fields(rest)
        type_text, value = _typed(fields[0])
        ops.result_type = type_text
        values.append((0, type_text, value))
        if len(fields) > 1:
            values.append((1, type_text, fields[1]))
    elif opcode == "load":
        fields = _fields(_drop_flags(rest))
        ops.result_type = fields[0]
        type_text, value = _typed(fields[1])
        values.append((0, type_text, value))
    elif opcode == "store":
        fields = _fields(_drop_flags(rest))
        values.append((0, *_typed(fields[0])))
        values.append((1, *_typed(fields[1])))
    elif opcode == "getelementptr":
        fields = _fields(_drop_flags(rest))
        for position, field in enumerate(fields[1:]):
            values.append((position, *_typed(field)))
        ops.result_type = values[0][1] if values else "ptr"
        for _, type_text, _ in values[1:]:
            if type_text.startswith("<"):
                ops.result_type = _vector_of(type_text, values[0][1])
                break
    elif opcode in ("icmp", "fcmp"):
        rest = _drop_flags(rest)
        _, _, rest = rest.partition(" ")  # the predicate
        fields = _fields(rest)
        type_text, value = _typed(fields[0])
        ops.result_type = _vector_of(type_text, "i1")
        values.append((0, type_text, value))
        values.append((1, type_text, fields[1]))
    elif opcode in _CAST:
        rest = _drop_flags(rest)
        source, _, ops.result_type = rest.rpartition(" to ")
        values.append((0, *_typed(source)))
    elif opcode == "br":
        fields = _fields(rest)
        if len(fields) == 1:
            ops.successors = [int(fields[0][7:])]
        else:
            values.append((0, *_typed(fields[0])))
            ops.successors = [int(fields[1][7:]), int(fields[2][7:])]
    elif opcode == "call":
        _parse_call(_drop_flags(rest), ops, invoke=False)
    elif opcode == "phi":
        rest = _drop_flags(rest)
        type_text, _, incoming = rest.partition(" [ ")
        ops.result_type = type_text
        for position, value in enumerate(_PHI_INCOMING.findall("[ " + incoming)):
            values.append((position, type_text, value))
    elif opcode == "ret":
        if rest != "void":
            values.append((0, *_typed(rest)))
    elif opcode == "alloca":
        fields = _fields(_drop_flags(rest))
        counted = len(fields) > 1 and not fields[1].startswith(("align ", "addrspace("))
        values.append((0, *_typed(fields[1])) if counted else (0, "i32", "1"))
        space = _ADDRSPACE.search(fields[-1])
        ops.result_type = f"ptr addrspace({space[1]})" if space and space[1] != "0" else "ptr"
    elif opcode == "select":
        fields = _fields(_drop_flags(rest))
        for position, field in enumerate(fields[:3]):
            values.append((position, *_typed(field)))
        ops.result_type = values[1][1]
    elif opcode == "extractelement":
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        values.append((1, *_typed(fields[1])))
        ops.result_type = _element_of(values[0][1])
    elif opcode == "insertelement":
        fields = _fields(rest)
        for position, field in enumerate(fields[:3]):
            values.append((position, *_typed(field)))
        ops.result_type = values[0][1]
    elif opcode == "shufflevector":
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        values.append((1, *_typed(fields[1])))
        mask_type, _ = _typed(fields[2])
        count = _VECTOR.match(mask_type)
        ops.result_type = (f"<{count[1]} x {_element_of(values[0][1])}>" if count
                           else values[0][1])
    elif opcode == "extractvalue":
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        result = values[0][1]
        for index in fields[1:]:
            result = _member_type(graph, result, int(index))
        ops.result_type = result
    elif opcode == "insertvalue":
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        values.append((1, *_typed(fields[1])))
        ops.result_type = values[0][1]
    elif opcode == "switch":
        head, _, cases = rest.partition("[")
        fields = _fields(head.strip())
        values.append((0, *_typed(fields[0])))
        ops.successors = [int(fields[1][7:])]
        for position, case in enumerate(_SWITCH_CASE.findall(cases)):
            values.append((2 + 2 * position, *_typed(case[0])))
            ops.successors.append(int(case[1]))
    elif opcode == "invoke":
        _parse_call(_drop_flags(rest), ops, invoke=True)
    elif opcode == "atomicrmw":
        rest = _drop_flags(rest)
        _, _, rest = rest.partition(" ")  # the operation
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        values.append((1, *_typed(_ORDERING.sub("", fields[1]))))
        ops.result_type = values[1][1]
    elif opcode == "cmpxchg":
        fields = _fields(_drop_flags(rest))
        for position, field in enumerate(fields[:3]):
            values.append((position, *_typed(_ORDERING.sub("", field))))
        ops.result_type = "{ " + values[1][1] + ", i1 }"
    elif opcode == "va_arg":
        fields = _fields(rest)
        values.append((0, *_typed(fields[0])))
        ops.result_type = fields[1]
    elif opcode == "landingpad":
        head, _, clauses = rest.partition("\n")
        ops.result_type = head.strip()
        position = 0
        for line in clauses.splitlines():
            line = line.strip()
            if line.startswith(("catch ", "filter ")):
                values.append((position, *_typed(line.split(" ", 1)[1])))
                position += 1
    elif opcode in ("unreachable", "fence"):
        pass
    else:  # rare opcodes (EH pads, indirectbr, callbr, resume, ...): operands in text order
        ops.successors = [int(label) for label in _LABEL_REF.findall(rest)]
        for position, match in enumerate(_LOCAL_OR_GLOBAL.finditer(_LABEL_REF.sub("", rest))):
            values.append((position, "?", match[0]))
        if opcode in ("resume",):
            ops.result_type = ""
        elif rest and not rest.startswith(("label", "within", "none")):
            typed = _TYPED.match(rest)
            ops.result_type = typed[1] if typed else "token"
        else:
            ops.result_type = "token"
    return ops


def _functions(module: str) -> list[tuple[str, str, str]]:
    """``(name, parameter text, body)`` of each definition of ``"\n" + text``.

    The body runs from after the header's ``{`` line to the next line that starts with ``}``
    (found with ``str.find``, not a lazy regex scan).
    """
    found = []
    position = 0
    while True:
        header = _FUNCTION_HEADER.search(module, position)
        if header is None:
            return found
        close = module.find("\n}", header.end() - 1)
        if close < 0:
            return found
        found.append((header[1], header[2], module[header.end():close + 1]))
        position = close + 2


def _parse_params(params: str) -> list[tuple[str, int]]:
    """``(type, local number)`` of each named parameter of a definition."""
    result = []
    if not params.strip():
        return result
    for field in _fields(params):
        if field == "...":
            continue
        type_text, rest = _typed(field)
        number = rest.rsplit("%", 1)[-1] if "%" in rest else ""
        if number.isdigit():
            result.append((type_text, int(number)))
    return result


def build_graph(ir: NormalizedIR | str) -> ProgramGraph:
    """Builds the program graph of one normalised module (see the module docstring).

    Args:
        ir: a :class:`NormalizedIR` or its canonical ``text``.

    Returns:
        The multigraph as flat arrays; ``node_text_ids`` is left unset (see ``views.py``).

    Raises:
        InputError: reason ``graph_error`` when the text is not canonical IR.
    """
    text = ir.text if isinstance(ir, NormalizedIR) else ir
    try:
        return _build(text)
    except (ValueError, IndexError, KeyError) as error:
        raise InputError("graph_error", f"cannot build the graph: {error!r}") from None


def _build(text: str) -> ProgramGraph:  # noqa: C901
    graph = _ModuleGraph()
    module = "\n" + text
    for match in _STRUCT.finditer(module):
        graph.struct_bodies[match[1]] = match[2]
    for match in _GLOBAL.finditer(module):
        space = _GLOBAL_ADDRSPACE.search(match[2])
        graph.global_types[match[1]] = (f"ptr addrspace({space[1]})" if space
                                        and space[1] != "0" else "ptr")
    declared = {m[1] for m in _DECLARE.finditer(module)}
    functions = _functions(module)
    defined = {name: index for index, (name, _, _) in enumerate(functions)}

    entries: dict[str, int] = {}  # function name -> entry instruction node
    returns: dict[str, list[int]] = {}  # function name -> its `ret` nodes
    call_sites: list[tuple[int, str]] = []
    block_count = 0
    n_types, n_functions, n_blocks = graph.types, graph.functions, graph.blocks
    # Edge appends are inlined in the hot loops (a method call per edge costs ~20 %).
    src_append, dst_append = graph.src.append, graph.dst.append
    flow_append, pos_append = graph.flow.append, graph.pos.append

    for function_index, (name, params_text, body) in enumerate(functions):
        params = _parse_params(params_text)
        local_types: dict[int, str] = {number: t for t, number in params}
        # Local number -> the node that produces it (instruction) or None (argument).
        producers: dict[int, int] = {}
        uses: list[tuple[int, int, int]] = []  # (instruction node, position, local number)
        block_first: dict[int, int] = {}
        terminators: list[tuple[int, list[int]]] = []
        entry_block = block_count
        block = block_count
        block_count += 1
        label = len(params)
        previous = -1
        rets: list[int] = []
        for line in _INSTRUCTION.finditer("\n" + body):
            if line[4] is not None:  # a block label
                block = block_count
                block_count += 1
                label = int(line[4])
                previous = -1
                continue
            opcode = line[2]
            rest = line[3] or ""
            if opcode in _CALL_PREFIX:
                opcode, _, rest = rest.partition(" ")
            node = len(n_types)
            n_types.append(NODE_INSTRUCTION)
            graph.texts.append(opcode)
            n_functions.append(function_index)
            n_blocks.append(block)
            if previous < 0:
                block_first[label] = node
                if block == entry_block:
                    entries[name] = node
            else:
                src_append(previous)
                dst_append(node)
                flow_append(FLOW_CONTROL)
                pos_append(0)
            previous = node
            ops = _parse(opcode, rest, graph)
            if line[1] is not None:
                number = int(line[1])
                producers[number] = node
                local_types[number] = ops.result_type
            for position, type_text, value in ops.values:
                first = value[:1]
                if first == "%" and value[1:].isdigit():
                    uses.append((node, position, int(value[1:])))
                elif first == "@":
                    if value == ops.callee and (value in defined or value in declared):
                        call_sites.append((node, value))
                        continue
                    graph.edge(graph.global_value(value), node, FLOW_DATA, position)
                elif value:
                    src_append(graph.constant(type_text, value))
                    dst_append(node)
                    flow_append(FLOW_DATA)
                    pos_append(position)
            if ops.successors:
                terminators.append((node, ops.successors))
            elif opcode == "ret":
                rets.append(node)
        returns[name] = rets
        for node, successors in terminators:
            for index, successor in enumerate(successors):
                graph.edge(node, block_first[successor], FLOW_CONTROL, index)
        variables: dict[int, int] = {}
        for node, position, number in uses:
            variable = variables.get(number)
            if variable is None:
                producer = producers.get(number)
                variable = graph.node(NODE_VARIABLE, local_types.get(number, "?"),
                                      function_index,
                                      n_blocks[producer] if producer is not None
                                      else entry_block)
                variables[number] = variable
                if producer is not None:
                    graph.edge(producer, variable, FLOW_DATA, 0)
            src_append(variable)
            dst_append(node)
            flow_append(FLOW_DATA)
            pos_append(position)

    for node, callee in call_sites:
        if callee in defined:
            graph.edge(node, entries[callee], FLOW_CALL, 0)
            for ret in returns[callee]:
                graph.edge(ret, node, FLOW_CALL, 0)
        else:
            external = graph.externals.get(callee)
            if external is None:
                external = graph.externals[callee] = graph.node(
                    NODE_INSTRUCTION, EXTERNAL_TEXT, -1, -1)
            graph.edge(node, external, FLOW_CALL, 0)
            graph.edge(external, node, FLOW_CALL, 0)
    return graph.finish()
