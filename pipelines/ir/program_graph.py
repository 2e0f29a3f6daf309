"""The graph view of one program: ProGraML-style node and edge kinds, the flat arrays, and the
one definition of the graph columns.

The graph columns (:data:`GRAPH_COLUMNS`) are the single source of every list of them: the
shard schema's graph fields and ``graph.npz`` members (``pipelines/shards/schema.py``), the
build's IR parts (``pipelines/stages``), the training reader and collate
(``training/core/data``) and the embedder's view cache all derive from it.

Names: a column has the same name in memory (:class:`ProgramGraph` attribute, record key) and
in storage (Parquet column, ``graph.npz`` member); stored names never change, so datasets
built before still read. The one concept with two forms is the node text:

- ``node_texts``: the texts as strings (:attr:`ProgramGraph.node_texts`; the IR parts'
  column ``node_texts``), before the node-text vocabulary exists;
- ``node_text``: their node-text vocabulary ids, int32 (:attr:`ProgramGraph.node_text` once a
  vocabulary is applied; the records', shards' and batches' ``node_text``).

In a batch (``training/core/data/collate.py``) ``edge_src`` and ``edge_dst`` become one
``edge_index`` (``[2, E]``); every other encoder column keeps its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = [
    "NODE_INSTRUCTION", "NODE_VARIABLE", "NODE_CONSTANT", "NODE_TYPES",
    "FLOW_CONTROL", "FLOW_DATA", "FLOW_CALL", "FLOWS", "ProgramGraph",
    "GraphColumn", "GRAPH_COLUMNS", "GRAPH_COLUMN_NAMES", "ENCODER_COLUMNS", "NODE_TEXT",
    "NODE_TEXTS", "TEXT_GRAPH_COLUMN_NAMES", "graph_arrow_fields", "graph_arrays",
    "empty_graph_columns",
]

# Node types, as in ProGraML.
NODE_INSTRUCTION, NODE_VARIABLE, NODE_CONSTANT = 0, 1, 2
NODE_TYPES = ("instruction", "variable", "constant")
# Edge flows, as in ProGraML.
FLOW_CONTROL, FLOW_DATA, FLOW_CALL = 0, 1, 2
FLOWS = ("control", "data", "call")


@dataclass(frozen=True, slots=True)
class GraphColumn:
    """One flat array of the graph view, stored as a list column of its element type.

    Attributes:
        name: the name in memory and in storage.
        dtype: the numpy element type.
        axis: ``"node"`` (length N) or ``"edge"`` (length E).
        encoder: read by the encoder (training batches, embedding); else stored for analysis.
    """

    name: str
    dtype: type[np.integer]
    axis: str
    encoder: bool

    @property
    def arrow_type(self) -> pa.DataType:
        """The pyarrow storage type: a list of the element type."""
        return pa.list_(pa.from_numpy_dtype(self.dtype))


# The graph columns in storage order (records, Parquet shards, graph.npz).
GRAPH_COLUMNS = (
    GraphColumn("node_type", np.int8, "node", True),  # NODE_*
    GraphColumn("node_text", np.int32, "node", True),  # node-text vocabulary ids
    GraphColumn("node_function", np.int32, "node", False),  # -1: module level
    GraphColumn("node_block", np.int32, "node", False),  # -1: module level
    GraphColumn("edge_src", np.int32, "edge", True),
    GraphColumn("edge_dst", np.int32, "edge", True),
    GraphColumn("edge_flow", np.int8, "edge", True),  # FLOW_*
    GraphColumn("edge_position", np.int32, "edge", True),  # operand / successor index
)
GRAPH_COLUMN_NAMES = tuple(column.name for column in GRAPH_COLUMNS)
# The columns the encoder reads, in storage order.
ENCODER_COLUMNS = tuple(column.name for column in GRAPH_COLUMNS if column.encoder)
NODE_TEXT, NODE_TEXTS = "node_text", "node_texts"  # ids; strings (before the vocabulary)
# The graph columns before the vocabulary: node_texts (strings) in node_text's place.
TEXT_GRAPH_COLUMN_NAMES = tuple(NODE_TEXTS if name == NODE_TEXT else name
                                for name in GRAPH_COLUMN_NAMES)
_DTYPES = {column.name: column.dtype for column in GRAPH_COLUMNS}


def graph_arrow_fields(*, texts: bool = False, nullable: bool = True) -> list[pa.Field]:
    """The pyarrow fields of the graph columns, in storage order (``texts``: node texts as
    strings, the IR parts' form)."""
    return [pa.field(NODE_TEXTS, pa.list_(pa.string()), nullable=nullable)
            if texts and column.name == NODE_TEXT
            else pa.field(column.name, column.arrow_type, nullable=nullable)
            for column in GRAPH_COLUMNS]


def graph_arrays(columns: Mapping[str, Any], names: Sequence[str] = GRAPH_COLUMN_NAMES
                 ) -> dict[str, np.ndarray]:
    """The named graph columns of a row or record, as arrays of their column's dtype."""
    return {name: np.asarray(columns[name], dtype=_DTYPES[name]) for name in names}


def empty_graph_columns() -> dict[str, list]:
    """The graph columns of a program without a graph, node texts as strings (an IR-part row)."""
    return {name: [] for name in TEXT_GRAPH_COLUMN_NAMES}


@dataclass(slots=True)
class ProgramGraph:
    """A ProGraML-style multigraph of one module, as flat integer arrays (see
    :data:`GRAPH_COLUMNS`).

    Node ``i`` has type ``node_type[i]`` (``NODE_*``), text ``node_texts[i]`` (instruction:
    opcode, or ``[external]`` for an external callee; variable and constant: the LLVM type),
    and lives in function ``node_function[i]`` and basic block ``node_block[i]`` (``-1`` for
    module-level nodes such as globals and external callees). Edge ``j`` goes from
    ``edge_src[j]`` to ``edge_dst[j]`` with flow ``edge_flow[j]`` (``FLOW_*``) and position
    ``edge_position[j]`` (operand index for data edges, successor index for control edges,
    0 for call edges). ``node_text`` holds the node texts' vocabulary ids once a vocabulary
    is applied (``pipelines/frontend/views.py``).
    """

    node_type: np.ndarray  # int8 [N]
    node_texts: list[str]  # [N]
    node_function: np.ndarray  # int32 [N]
    node_block: np.ndarray  # int32 [N]
    edge_src: np.ndarray  # int32 [E]
    edge_dst: np.ndarray  # int32 [E]
    edge_flow: np.ndarray  # int8 [E]
    edge_position: np.ndarray  # int32 [E]
    node_text: np.ndarray | None = field(default=None)  # int32 [N], once a vocab is applied

    @property
    def num_nodes(self) -> int:
        return int(self.node_type.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_src.shape[0])

    def columns(self, names: Sequence[str] = GRAPH_COLUMN_NAMES) -> dict[str, Any]:
        """The named columns (default: every graph column, node texts as ids).

        Raises:
            ValueError: ``node_text`` asked for before a vocabulary was applied.
        """
        if NODE_TEXT in names and self.node_text is None:
            raise ValueError("node_text is unset: apply a node-text vocabulary first")
        return {name: getattr(self, name) for name in names}
