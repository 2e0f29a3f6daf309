"""The one definition of the graph columns, and the schemas and types derived from it."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pyarrow as pa
import pytest

from mirencoder.pipelines.ir.graph import build_graph
from mirencoder.pipelines.ir.program_graph import (
    ENCODER_COLUMNS,
    GRAPH_COLUMN_NAMES,
    GRAPH_COLUMNS,
    NODE_TEXT,
    TEXT_GRAPH_COLUMN_NAMES,
    ProgramGraph,
    empty_graph_columns,
    graph_arrays,
)
from mirencoder.pipelines.shards.schema import PROGRAM_SCHEMA, graph_from_npz, graph_to_npz
from mirencoder.pipelines.stages.ir_stage import IR_PART_SCHEMA

# The stored names and element types: frozen, so datasets built before still read.
STORED = [("node_type", "int8"), ("node_text", "int32"), ("node_function", "int32"),
          ("node_block", "int32"), ("edge_src", "int32"), ("edge_dst", "int32"),
          ("edge_flow", "int8"), ("edge_position", "int32")]

IR = """define i32 @f(i32 %a) {
entry:
  %b = add i32 %a, 1
  ret i32 %b
}
"""


def test_stored_graph_columns_never_change():
    assert [(c.name, np.dtype(c.dtype).name) for c in GRAPH_COLUMNS] == STORED
    graph_fields = [f for f in PROGRAM_SCHEMA if f.name in GRAPH_COLUMN_NAMES]
    assert graph_fields == [pa.field(name, pa.list_(pa.type_for_alias(dtype)), nullable=False)
                            for name, dtype in STORED]
    assert PROGRAM_SCHEMA.names.index("node_type") == PROGRAM_SCHEMA.names.index("tokens") + 1
    ir_fields = {f.name: f for f in IR_PART_SCHEMA}
    assert ir_fields["node_texts"].type == pa.list_(pa.string()) and NODE_TEXT not in ir_fields
    assert [name for name in IR_PART_SCHEMA.names if name in TEXT_GRAPH_COLUMN_NAMES] == list(
        TEXT_GRAPH_COLUMN_NAMES)
    assert ENCODER_COLUMNS == tuple(n for n in GRAPH_COLUMN_NAMES
                                    if n not in ("node_function", "node_block"))


def test_program_graph_holds_every_column_under_its_stored_name():
    assert {f.name for f in fields(ProgramGraph)} == {*TEXT_GRAPH_COLUMN_NAMES, NODE_TEXT}
    graph = build_graph(IR)
    with pytest.raises(ValueError, match="node_text"):
        graph.columns()
    assert list(graph.columns(TEXT_GRAPH_COLUMN_NAMES)) == list(empty_graph_columns())
    graph.node_text = np.arange(graph.num_nodes, dtype=np.int32)
    arrays = graph_arrays(graph.columns())
    assert {name: a.dtype for name, a in arrays.items()} == {
        name: np.dtype(dtype) for name, dtype in STORED}
    unpacked = graph_from_npz(graph_to_npz(arrays))
    assert list(unpacked) == list(GRAPH_COLUMN_NAMES)
    for name, array in arrays.items():
        np.testing.assert_array_equal(unpacked[name], array)
        assert unpacked[name].dtype == array.dtype
