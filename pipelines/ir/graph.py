"""Builds the ProGraML-style program graph of a module from its canonical IR text.

The canonical text (see ``normalize.py``) is what LLVM 22 prints after normalisation: numbered
locals, opaque pointers, no metadata, no attributes, one instruction per line (``switch`` cases
and ``landingpad`` clauses on continuation lines). It is parsed in one pass with compiled
regular expressions, never through llvmlite's per-operand objects (about 11 ms per DevMap file
on their own; this builder takes well under that, see BENCHMARKS.md): ``graph_structure.py``
reads the module's types, globals and functions, ``graph_operands.py`` the operands of each
instruction (with the type helpers of ``graph_syntax.py``), and this module assembles the graph.

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

import numpy as np

from ...infra.errors import InputError
from .graph_operands import parse_operands
from .graph_structure import (
    CALL_PREFIX,
    INSTRUCTION,
    FunctionText,
    ModuleText,
    parse_params,
    read_module,
)
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


class _ModuleGraph:
    """Accumulates nodes and edges as Python lists; ``finish`` turns them into arrays.

    Also holds what links functions: each function's entry instruction and ``ret`` nodes,
    and the direct call sites (linked once every function is built).
    """

    __slots__ = ("types", "texts", "functions", "blocks", "src", "dst", "flow", "pos",
                 "constants", "globals", "global_types", "externals", "block_count",
                 "entries", "returns", "call_sites")

    def __init__(self, global_types: dict[str, str]) -> None:
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
        self.global_types = global_types
        self.externals: dict[str, int] = {}
        self.block_count = 0  # module-wide basic block numbering
        self.entries: dict[str, int] = {}  # function name -> entry instruction node
        self.returns: dict[str, list[int]] = {}  # function name -> its `ret` nodes
        self.call_sites: list[tuple[int, str]] = []  # (call node, callee name)

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


def build_graph(ir: NormalizedIR | str) -> ProgramGraph:
    """Builds the program graph of one normalised module (see the module docstring).

    Args:
        ir: a :class:`NormalizedIR` or its canonical ``text``.

    Returns:
        The multigraph as flat arrays; ``node_text`` (the ids) is left unset (see ``views.py``).

    Raises:
        InputError: reason ``graph_error`` when the text is not canonical IR.
    """
    text = ir.text if isinstance(ir, NormalizedIR) else ir
    try:
        return _build(text)
    except (ValueError, IndexError, KeyError) as error:
        raise InputError("graph_error", f"cannot build the graph: {error!r}") from None


def _build(text: str) -> ProgramGraph:
    module = read_module(text)
    graph = _ModuleGraph(module.global_types)
    defined = {function.name: index for index, function in enumerate(module.functions)}
    for index, function in enumerate(module.functions):
        _add_function(graph, module, defined, index, function)
    _add_call_edges(graph, defined)
    return graph.finish()


def _add_function(graph: _ModuleGraph, module: ModuleText, defined: dict[str, int],
                  function_index: int, function: FunctionText) -> None:
    """The instruction nodes of one function, its control and data edges, then its variables.

    Call edges wait for :func:`_add_call_edges`; uses of locals wait until the function's
    last instruction (a ``phi`` may use a value defined further down).
    """
    params = parse_params(function.params)
    local_types: dict[int, str] = {number: t for t, number in params}
    # Local number -> the node that produces it (instruction); arguments have none.
    producers: dict[int, int] = {}
    uses: list[tuple[int, int, int]] = []  # (instruction node, position, local number)
    block_first: dict[int, int] = {}  # block label -> its first instruction node
    terminators: list[tuple[int, list[int]]] = []
    rets: list[int] = []
    entry_block = block = graph.block_count
    graph.block_count += 1
    label = len(params)
    previous = -1
    n_types, n_functions, n_blocks = graph.types, graph.functions, graph.blocks
    # Edge appends are inlined in the hot loops (a method call per edge costs ~20 %).
    src_append, dst_append = graph.src.append, graph.dst.append
    flow_append, pos_append = graph.flow.append, graph.pos.append
    declared, struct_bodies = module.declared, module.struct_bodies

    for line in INSTRUCTION.finditer("\n" + function.body):
        if line[4] is not None:  # a block label
            block = graph.block_count
            graph.block_count += 1
            label = int(line[4])
            previous = -1
            continue
        opcode = line[2]
        rest = line[3] or ""
        if opcode in CALL_PREFIX:
            opcode, _, rest = rest.partition(" ")
        node = len(n_types)
        n_types.append(NODE_INSTRUCTION)
        graph.texts.append(opcode)
        n_functions.append(function_index)
        n_blocks.append(block)
        if previous < 0:
            block_first[label] = node
            if block == entry_block:
                graph.entries[function.name] = node
        else:
            src_append(previous)
            dst_append(node)
            flow_append(FLOW_CONTROL)
            pos_append(0)
        previous = node
        ops = parse_operands(opcode, rest, struct_bodies)
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
                    graph.call_sites.append((node, value))
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

    graph.returns[function.name] = rets
    for node, successors in terminators:
        for index, successor in enumerate(successors):
            graph.edge(node, block_first[successor], FLOW_CONTROL, index)
    _add_variables(graph, function_index, entry_block, uses, producers, local_types)


def _add_variables(graph: _ModuleGraph, function_index: int, entry_block: int,
                   uses: list[tuple[int, int, int]], producers: dict[int, int],
                   local_types: dict[int, str]) -> None:
    """One variable node per used local (at its first use), its producer edge and its uses."""
    variables: dict[int, int] = {}
    blocks = graph.blocks
    for node, position, number in uses:
        variable = variables.get(number)
        if variable is None:
            producer = producers.get(number)
            variable = graph.node(NODE_VARIABLE, local_types.get(number, "?"), function_index,
                                  blocks[producer] if producer is not None else entry_block)
            variables[number] = variable
            if producer is not None:
                graph.edge(producer, variable, FLOW_DATA, 0)
        graph.src.append(variable)
        graph.dst.append(node)
        graph.flow.append(FLOW_DATA)
        graph.pos.append(position)


def _add_call_edges(graph: _ModuleGraph, defined: dict[str, int]) -> None:
    """Call site -> callee entry and each callee ``ret`` -> call site; externals get a node."""
    for node, callee in graph.call_sites:
        if callee in defined:
            graph.edge(node, graph.entries[callee], FLOW_CALL, 0)
            for ret in graph.returns[callee]:
                graph.edge(ret, node, FLOW_CALL, 0)
        else:
            external = graph.externals.get(callee)
            if external is None:
                external = graph.externals[callee] = graph.node(
                    NODE_INSTRUCTION, EXTERNAL_TEXT, -1, -1)
            graph.edge(node, external, FLOW_CALL, 0)
            graph.edge(external, node, FLOW_CALL, 0)
