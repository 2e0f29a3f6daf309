"""The ProGraML-style graph of hand-written modules: exact nodes, edges, flows and positions."""

from __future__ import annotations

from collections import Counter

import llvmlite.binding as llvm
import numpy as np
import pytest
from ir_fixtures import LOOP_MODULE, SWITCH_MODULE, compile_c

from mirencoder.infra.errors import InputError
from mirencoder.pipelines.ir.graph import EXTERNAL_TEXT, build_graph
from mirencoder.pipelines.ir.normalize import normalize_ir
from mirencoder.pipelines.ir.program_graph import (
    FLOW_CALL,
    FLOW_CONTROL,
    FLOW_DATA,
    NODE_CONSTANT,
    NODE_INSTRUCTION,
    NODE_VARIABLE,
)


def _edges(graph, flow):
    return sorted((graph.node_texts[s], int(s), graph.node_texts[d], int(d), int(p))
                  for s, d, f, p in zip(graph.edge_src, graph.edge_dst, graph.edge_flow,
                                        graph.edge_position, strict=True) if f == flow)


def _instruction(graph, opcode, nth=0):
    return [i for i, t in enumerate(graph.node_texts)
            if t == opcode and graph.node_type[i] == NODE_INSTRUCTION][nth]


@pytest.fixture(scope="module")
def loop_graph():
    return build_graph(normalize_ir(LOOP_MODULE.encode()))


def test_node_counts_and_texts(loop_graph):
    g = loop_graph
    assert g.num_nodes == 29
    types = Counter(g.node_type.tolist())
    assert types == {NODE_INSTRUCTION: 15, NODE_VARIABLE: 12, NODE_CONSTANT: 2}
    instructions = [t for t, k in zip(g.node_texts, g.node_type, strict=True)
                    if k == NODE_INSTRUCTION]
    assert instructions == ["mul", "ret", "icmp", "br", "phi", "phi", "call", "add", "add",
                            "icmp", "br", "phi", "call", "ret", EXTERNAL_TEXT]
    variables = Counter(t for t, k in zip(g.node_texts, g.node_type, strict=True)
                        if k == NODE_VARIABLE)
    assert variables == {"i32": 10, "i1": 2}
    assert sorted(t for t, k in zip(g.node_texts, g.node_type, strict=True)
                  if k == NODE_CONSTANT) == ["i32", "i32"]  # 0 and 1, each once
    assert g.node_text is None
    # function / block ids: square is function 0 (block 0), main function 1 (blocks 1-3)
    square_mul, main_icmp = _instruction(g, "mul"), _instruction(g, "icmp")
    assert (g.node_function[square_mul], g.node_block[square_mul]) == (0, 0)
    assert (g.node_function[main_icmp], g.node_block[main_icmp]) == (1, 1)
    assert g.node_block[_instruction(g, "phi", 2)] == 3
    external = g.node_texts.index(EXTERNAL_TEXT)
    assert (g.node_function[external], g.node_block[external]) == (-1, -1)
    constants = np.flatnonzero(g.node_type == NODE_CONSTANT)
    assert (g.node_function[constants] == -1).all()


def test_edge_counts(loop_graph):
    g = loop_graph
    assert g.num_edges == 50
    assert Counter(g.edge_flow.tolist()) == {FLOW_CONTROL: 14, FLOW_DATA: 32, FLOW_CALL: 4}
    assert g.edge_src.dtype == np.int32 and g.edge_flow.dtype == np.int8
    assert ((g.edge_src >= 0) & (g.edge_src < g.num_nodes)).all()
    assert ((g.edge_dst >= 0) & (g.edge_dst < g.num_nodes)).all()


def test_control_flow_positions(loop_graph):
    g = loop_graph
    control = _edges(g, FLOW_CONTROL)
    entry_br, loop_br = _instruction(g, "br", 0), _instruction(g, "br", 1)
    loop_head, exit_head = _instruction(g, "phi", 0), _instruction(g, "phi", 2)
    # br i1 %pos, label %loop, label %exit: the true successor is 0, the false one 1
    assert ("br", entry_br, "phi", loop_head, 0) in control
    assert ("br", entry_br, "phi", exit_head, 1) in control
    # the loop's back edge: br i1 %done, label %exit, label %loop
    assert ("br", loop_br, "phi", exit_head, 0) in control
    assert ("br", loop_br, "phi", loop_head, 1) in control
    # sequential flow inside a block has position 0
    assert ("mul", _instruction(g, "mul"), "ret", _instruction(g, "ret"), 0) in control
    assert sum(1 for e in control if e[4] == 0) == 12


def test_data_flow_positions(loop_graph):
    g = loop_graph
    data = _edges(g, FLOW_DATA)
    mul = _instruction(g, "mul")
    # %x * %x: one argument variable, two uses at positions 0 and 1
    into_mul = [(s, p) for _, s, _, d, p in data if d == mul]
    assert len(into_mul) == 2 and into_mul[0][0] == into_mul[1][0]
    assert sorted(p for _, p in into_mul) == [0, 1]
    # the instruction -> its result variable edge has position 0
    assert [p for _, s, t, _, p in data if s == mul] == [0]
    # add i32 %i, 1: the constant is operand 1
    next_add = _instruction(g, "add", 1)
    constant_in = [(p) for t, s, _, d, p in data if d == next_add
                   and g.node_type[s] == NODE_CONSTANT]
    assert constant_in == [1]
    # the phi's incoming values keep their order: [0, %entry], [%next, %loop]
    phi = _instruction(g, "phi", 0)
    incoming = sorted((p, int(g.node_type[s])) for _, s, _, d, p in data if d == phi)
    assert incoming == [(0, NODE_CONSTANT), (1, NODE_VARIABLE)]
    # a call's callee is not data; its argument is operand 0
    call = _instruction(g, "call", 0)
    assert [p for _, s, _, d, p in data if d == call] == [0]


def test_call_edges(loop_graph):
    g = loop_graph
    calls = _edges(g, FLOW_CALL)
    square_call, ext_call = _instruction(g, "call", 0), _instruction(g, "call", 1)
    square_entry, square_ret = _instruction(g, "mul"), _instruction(g, "ret", 0)
    external = g.node_texts.index(EXTERNAL_TEXT)
    assert calls == sorted([
        ("call", square_call, "mul", square_entry, 0),
        ("ret", square_ret, "call", square_call, 0),
        ("call", ext_call, EXTERNAL_TEXT, external, 0),
        (EXTERNAL_TEXT, external, "call", ext_call, 0),
    ])




def test_switch_indirect_call_alloca_and_globals():
    g = build_graph(normalize_ir(SWITCH_MODULE.encode()))
    control = _edges(g, FLOW_CONTROL)
    switch = _instruction(g, "switch")
    successors = sorted((p, g.node_texts[d]) for t, s, _, d, p in control if s == switch)
    assert successors == [(0, "phi"), (1, "getelementptr"), (2, "call")]
    data = _edges(g, FLOW_DATA)
    # switch operands: the condition at 0, case values 1 and 7 at 2 and 4
    switch_in = sorted((p, int(g.node_type[s])) for _, s, _, d, p in data if d == switch)
    assert switch_in == [(0, NODE_VARIABLE), (2, NODE_CONSTANT), (4, NODE_CONSTANT)]
    # alloca without a count has the implicit `i32 1` operand
    alloca = _instruction(g, "alloca")
    assert [(g.node_texts[s], p) for _, s, _, d, p in data if d == alloca] == [("i32", 0)]
    # an indirect call: no call edge; the callee is data at operand index 1 (after 1 argument)
    call = _instruction(g, "call")
    assert not [e for e in _edges(g, FLOW_CALL) if call in (e[1], e[3])]
    assert sorted(p for _, s, _, d, p in data if d == call) == [0, 1]
    # the global is a variable node `ptr` outside any function
    gep = _instruction(g, "getelementptr")
    (global_node,) = [s for _, s, _, d, p in data if d == gep and p == 0]
    assert g.node_texts[global_node] == "ptr" and g.node_function[global_node] == -1
    # result types of vector and aggregate instructions
    produced = {g.node_texts[s]: g.node_texts[d] for _, s, _, d, p in data
                if g.node_type[s] == NODE_INSTRUCTION}
    assert produced["insertelement"] == "<2 x i32>"
    assert produced["extractelement"] == "i32"
    assert produced["insertvalue"] == "{ i32, float }"
    assert produced["extractvalue"] == "float"
    assert produced["phi"] == "i32" and produced["call"] == "i32"


def test_every_instruction_is_reached(loop_graph):
    g = loop_graph
    reached = set(g.edge_dst[g.edge_flow == FLOW_CONTROL].tolist())
    reached |= set(g.edge_dst[g.edge_flow == FLOW_CALL].tolist())
    instructions = set(np.flatnonzero(g.node_type == NODE_INSTRUCTION).tolist())
    assert instructions - reached == {_instruction(g, "icmp", 0)}  # main's entry only


def test_not_canonical_text_is_an_input_error():
    with pytest.raises(InputError) as caught:
        build_graph("define i32 @f() {\n  br label %9\n}\n")
    assert caught.value.reason == "graph_error"


CALLS_PROGRAM = """\
#include <stdlib.h>
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int clamp(int v) { if (v < 0) return 0; if (v > 99) return 99; return v; }
int apply(int (*f)(int), int v) { return f(v); }
int main(int argc, char **argv) {
  int x = atoi(argv[0]) + fib(argc);
  return clamp(x) + apply(clamp, argc) + abs(x);
}
"""


def test_call_edges_match_llvm_on_a_compiled_multi_function_module(tmp_path):
    ir = normalize_ir(compile_c(tmp_path, CALLS_PROGRAM, "-O0", "-Xclang",
                                "-disable-O0-optnone", name="calls.c"))
    graph = build_graph(ir)
    module = llvm.parse_assembly(ir.text, context=llvm.create_context())
    defined = {f.name: f for f in module.functions if not f.is_declaration}
    rets = {name: sum(1 for b in f.blocks for i in b.instructions if i.opcode == "ret")
            for name, f in defined.items()}
    instructions = [i for f in module.functions for b in f.blocks for i in b.instructions]
    nodes = [n for n in range(graph.num_nodes) if graph.node_type[n] == NODE_INSTRUCTION
             and graph.node_texts[n] != EXTERNAL_TEXT]
    assert len(nodes) == len(instructions) and ir.num_functions == 4
    out_calls = Counter(graph.edge_src[graph.edge_flow == FLOW_CALL].tolist())
    in_calls = Counter(graph.edge_dst[graph.edge_flow == FLOW_CALL].tolist())
    expected_edges, externals = 0, set()
    for node, instruction in zip(nodes, instructions, strict=True):
        assert graph.node_texts[node] == instruction.opcode
        if instruction.opcode != "call":
            continue
        callee = list(instruction.operands)[-1]
        if callee.name in defined:  # to the callee's entry, back from each of its `ret`s
            assert (out_calls[node], in_calls[node]) == (1, rets[callee.name])
            expected_edges += 1 + rets[callee.name]
        elif callee.name:  # an external callee: one node per function, both ways
            assert (out_calls[node], in_calls[node]) == (1, 1)
            externals.add(callee.name)
            expected_edges += 2
        else:  # indirect: no call edge
            assert (out_calls[node], in_calls[node]) == (0, 0)
    assert int((graph.edge_flow == FLOW_CALL).sum()) == expected_edges
    assert graph.node_texts.count(EXTERNAL_TEXT) == len(externals) == 2  # atoi, abs
    assert sum(1 for i in instructions if i.opcode == "call") >= 6
