"""Collates program records into padded token tensors plus a PyG ``Batch`` (a ProgramBatch).

Long-program policy: by default (``windows="first"``) the token view is cut to one window of
``context_length - 1`` tokens after a prepended [CLS]. In training the window starts at a
random offset (seeded, so runs repeat); at evaluation and embedding time it is the first
window. With ``windows="all"`` every window of a program becomes a token row (windows of
``context_length - 1`` tokens, stride = width, the first ``max_windows`` of them, the same
windows as the embedder's) and ``window_program`` says whose; the encoder pools them into one
token vector per program. Graphs keep their first ``max_graph_nodes`` nodes and the edges
among them (node order follows the IR, so the kept part is the start of the module). Both
cuts are recorded (``num_tokens``/``num_nodes`` hold the sizes before cutting).

Each program carries its variant *group* (one source file's optimisation-level variants share
it; the ``group`` field of newer datasets); a record without one is its own group (its key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from ....infra.errors import ShardError
from ....pipelines.ir.program_graph import ENCODER_COLUMNS, GRAPH_COLUMNS
from .token_ids import TokenizerIds

__all__ = ["ProgramBatch", "collate_graphs", "collate_records", "pad_token_rows", "token_row",
           "token_window", "token_windows", "record_group", "WINDOW_MODES",
           "DEFAULT_MAX_WINDOWS"]

WINDOW_MODES = ("first", "all")
# 16 windows of 255 tokens (the tiny context) cover 4,080 tokens: the average DevMap file
# (3,600 tokens) whole.
DEFAULT_MAX_WINDOWS = 16


@dataclass(slots=True)
class ProgramBatch:
    """A batch of programs, both views.

    Attributes:
        tokens: ``[B, L]`` long, [CLS] first, padded with pad_id (``[W, L]``, one row per
            window, with ``window_program``).
        attention_mask: ``[B, L]`` bool, True on real tokens (``[W, L]`` with windows).
        graph: PyG ``Batch`` with ``node_type``, ``node_text`` (``[N]`` long), ``edge_index``
            (``[2, E]``), ``edge_flow``, ``edge_position`` (``[E]`` long), ``batch``, ``ptr``.
        num_tokens: ``[B]`` token count before windowing.
        num_nodes: ``[B]`` node count before cutting.
        keys: record keys.
        corpora: source corpus of each record.
        groups: variant group of each record (its key when it has none).
        levels: optimisation level of each record (``O0``..``Oz``; ``""`` for ready IR and
            datasets without the column).
        window_program: ``[W]`` long program index of each token row, or None when each
            program has one row.
    """

    tokens: torch.Tensor
    attention_mask: torch.Tensor
    graph: Batch
    num_tokens: torch.Tensor
    num_nodes: torch.Tensor
    keys: list[str]
    corpora: list[str]
    groups: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    window_program: torch.Tensor | None = None

    @property
    def num_programs(self) -> int:
        return len(self.keys)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ProgramBatch:
        """A copy with every tensor on ``device``."""
        changes = {f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
                   for f in fields(self) if hasattr(getattr(self, f.name), "to")}
        return replace(self, **changes)

    def pin_memory(self) -> ProgramBatch:
        """Called by the DataLoader when ``pin_memory=True``."""
        changes = {f.name: getattr(self, f.name).pin_memory() for f in fields(self)
                   if hasattr(getattr(self, f.name), "pin_memory")}
        return replace(self, **changes)

    def replace(self, **changes) -> ProgramBatch:
        return replace(self, **changes)


def token_window(tokens: np.ndarray, width: int, rng: np.random.Generator | None) -> np.ndarray:
    """One window of at most ``width`` tokens: a random one when ``rng`` is given, else the first."""
    if tokens.shape[0] <= width:
        return tokens
    start = int(rng.integers(0, tokens.shape[0] - width + 1)) if rng is not None else 0
    return tokens[start:start + width]


_NODE_COLUMNS = {column.name for column in GRAPH_COLUMNS if column.axis == "node"}


def _graph_data(record: dict, max_nodes: int | None, node_vocab_size: int) -> Data:
    arrays = {name: np.asarray(record[name], dtype=np.int64) for name in ENCODER_COLUMNS}
    num_nodes, num_edges = arrays["node_type"].shape[0], arrays["edge_src"].shape[0]
    if any(array.shape != ((num_nodes,) if name in _NODE_COLUMNS else (num_edges,))
           for name, array in arrays.items()):
        raise ShardError(f"record {record.get('key')}: graph arrays of inconsistent lengths")
    node_type, node_text = arrays["node_type"], arrays["node_text"]
    src, dst = arrays["edge_src"], arrays["edge_dst"]
    flow, position = arrays["edge_flow"], arrays["edge_position"]
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise ShardError(f"record {record.get('key')}: edge endpoint outside its {num_nodes} nodes")
    if node_text.size and (node_text.min() < 0 or node_text.max() >= node_vocab_size):
        raise ShardError(f"record {record.get('key')}: node-text id outside the vocabulary of "
                         f"{node_vocab_size} (dataset and node_vocab.json disagree)")
    if max_nodes is not None and num_nodes > max_nodes:
        keep = (src < max_nodes) & (dst < max_nodes)
        node_type, node_text = node_type[:max_nodes], node_text[:max_nodes]
        src, dst, flow, position = src[keep], dst[keep], flow[keep], position[keep]
        num_nodes = max_nodes
    return Data(node_type=torch.from_numpy(node_type), node_text=torch.from_numpy(node_text),
                edge_index=torch.from_numpy(np.stack([src, dst])),
                edge_flow=torch.from_numpy(flow), edge_position=torch.from_numpy(position),
                num_nodes=num_nodes)


def _record_tokens(record: dict, ids: TokenizerIds) -> np.ndarray:
    """The record's token ids (int64) without a leading [CLS], checked against the vocabulary."""
    tokens = np.asarray(record["tokens"], dtype=np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= ids.vocab_size):
        raise ShardError(f"record {record.get('key')}: token id outside the vocabulary of "
                         f"{ids.vocab_size} (dataset and tokenizer.json disagree)")
    if tokens.size and tokens[0] == ids.cls_id:
        tokens = tokens[1:]
    return tokens


def token_row(record: dict, *, context_length: int, tokenizer_ids: TokenizerIds,
              rng: np.random.Generator | None = None) -> np.ndarray:
    """The token window of one record (int64, without [CLS]), as :func:`collate_records` cuts it.

    Raises:
        ShardError: a token id outside the vocabulary.
    """
    return token_window(_record_tokens(record, tokenizer_ids), context_length - 1, rng)


def token_windows(record: dict, *, context_length: int, tokenizer_ids: TokenizerIds,
                  max_windows: int = DEFAULT_MAX_WINDOWS) -> list[np.ndarray]:
    """Every token window of one record (int64, without [CLS]): ``context_length - 1`` tokens,
    stride = width, the first ``max_windows`` of them; one (maybe empty) window at least.

    Raises:
        ShardError: a token id outside the vocabulary.
    """
    if max_windows < 1:
        raise ValueError(f"max_windows must be >= 1, got {max_windows}")
    tokens = _record_tokens(record, tokenizer_ids)
    width = context_length - 1
    count = max(1, min(max_windows, -(-tokens.shape[0] // width)))
    return [tokens[i * width:(i + 1) * width] for i in range(count)]


def record_group(record: dict, index: int) -> str:
    """The record's variant group: its ``group``, else its key (else a name unique in the batch)."""
    group = record.get("group")
    if group is not None and str(group) != "":
        return str(group)
    key = record.get("key")
    return str(key) if key is not None and str(key) != "" else f"#record-{index}"


def pad_token_rows(rows: Sequence[np.ndarray], tokenizer_ids: TokenizerIds
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens, attention_mask)``, both ``[B, L]``: [CLS] + each row, padded with pad_id."""
    ids = tokenizer_ids
    length = 1 + max(row.shape[0] for row in rows)
    token_array = np.full((len(rows), length), ids.pad_id, dtype=np.int64)
    token_array[:, 0] = ids.cls_id
    mask = np.zeros((len(rows), length), dtype=bool)
    for i, row in enumerate(rows):
        token_array[i, 1:1 + row.shape[0]] = row
        mask[i, :1 + row.shape[0]] = True
    return torch.from_numpy(token_array), torch.from_numpy(mask)


def collate_graphs(records: Sequence[dict], *, node_vocab_size: int,
                   max_graph_nodes: int | None = None) -> Batch:
    """The records' graphs as one PyG ``Batch`` (each cut to ``max_graph_nodes`` nodes).

    Raises:
        ShardError: a broken graph or a node-text id outside the vocabulary.
    """
    return Batch.from_data_list([_graph_data(record, max_graph_nodes, node_vocab_size)
                                 for record in records])


def collate_records(records: Sequence[dict], *, context_length: int,
                    tokenizer_ids: TokenizerIds, rng: np.random.Generator | None = None,
                    max_graph_nodes: int | None = None, windows: str = "first",
                    max_windows: int = DEFAULT_MAX_WINDOWS) -> ProgramBatch:
    """Pads tokens (with a [CLS] in front of each row) and batches the graphs.

    Args:
        records: program records (Parquet rows or decoded WebDataset samples).
        context_length: the longest token row, [CLS] included.
        tokenizer_ids: special ids and vocabulary sizes.
        rng: picks random token windows (training, ``windows="first"``); ``None`` takes the
            first window.
        max_graph_nodes: graphs keep at most this many nodes.
        windows: ``first`` (one row per program) or ``all`` (a row per window, at most
            ``max_windows`` per program, and ``window_program``).
        max_windows: the most windows per program with ``windows="all"``.

    Raises:
        ShardError: a record whose ids fall outside the vocabularies or whose graph is broken.
    """
    if not records:
        raise ValueError("collate_records needs at least one record")
    if windows not in WINDOW_MODES:
        raise ValueError(f"windows must be one of {', '.join(WINDOW_MODES)}, got {windows!r}")
    ids = tokenizer_ids
    window_program = None
    if windows == "first":
        rows = [token_row(record, context_length=context_length, tokenizer_ids=ids, rng=rng)
                for record in records]
    else:
        per_record = [token_windows(record, context_length=context_length, tokenizer_ids=ids,
                                    max_windows=max_windows) for record in records]
        rows = [row for windows_of in per_record for row in windows_of]
        window_program = torch.tensor([i for i, windows_of in enumerate(per_record)
                                       for _ in windows_of], dtype=torch.long)
    tokens, mask = pad_token_rows(rows, ids)
    return ProgramBatch(
        tokens=tokens, attention_mask=mask,
        graph=collate_graphs(records, node_vocab_size=ids.node_vocab_size,
                             max_graph_nodes=max_graph_nodes),
        num_tokens=torch.tensor([int(np.asarray(r["tokens"]).shape[0]) for r in records]),
        num_nodes=torch.tensor([len(r["node_type"]) for r in records]),
        keys=[str(r.get("key", "")) for r in records],
        corpora=[str(r.get("corpus", "")) for r in records],
        groups=[record_group(r, i) for i, r in enumerate(records)],
        levels=[str(r.get("opt_level") or "") for r in records],
        window_program=window_program)
