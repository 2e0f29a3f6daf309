"""Synthesises a small but learnable built-dataset folder (index.json, wds and parquet shards).

Programs come from a few templates (each a Markov chain over opcodes, with its own corpus name),
so the token view and the graph view describe the same instructions: the opcode mix links
tokens to graphs (matching is learnable), each instruction's type token follows from its
opcode and value numbers count up (masked tokens are predictable beyond the unigram guess),
and control/data edges follow the instruction order (edges are predictable). No tokenizer.json
is written: the index gives the vocabulary sizes and the special ids.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mirencoder.infra.files import sha256_file
from mirencoder.pipelines.ir.program_graph import (
    FLOW_CALL,
    FLOW_CONTROL,
    FLOW_DATA,
    NODE_INSTRUCTION,
    NODE_VARIABLE,
)
from mirencoder.pipelines.shards.schema import PROGRAM_SCHEMA_V1, record_to_wds_sample

__all__ = ["make_synthetic_dataset", "SYNTH_VOCAB_SIZE", "SYNTH_NODE_VOCAB_SIZE"]

SPECIAL_IDS = {"pad_id": 0, "unk_id": 1, "cls_id": 2, "sep_id": 3, "mask_id": 4}
NUM_OPCODES = 12
NUM_TYPES = 4
NUM_VALUES = 24
_OPCODE_BASE = 5  # token ids: specials 0-4, opcodes, "=", ",", newline, types, values
_EQUALS = _OPCODE_BASE + NUM_OPCODES
_COMMA = _EQUALS + 1
_NEWLINE = _COMMA + 1
_TYPE_BASE = _NEWLINE + 1
_VALUE_BASE = _TYPE_BASE + NUM_TYPES
SYNTH_VOCAB_SIZE = _VALUE_BASE + NUM_VALUES
# Node texts: pad 0, unk 1, opcodes, types, "[external]".
SYNTH_NODE_VOCAB_SIZE = 2 + NUM_OPCODES + NUM_TYPES + 1
_CALL_OPCODE = NUM_OPCODES - 1
_TEMPLATES = 4


def _program(rng: np.random.Generator, template: int, transitions: np.ndarray) -> dict:
    length = int(rng.integers(6, 40))
    opcodes = [int(rng.integers(NUM_OPCODES))]
    for _ in range(length - 1):
        opcodes.append(int(rng.choice(NUM_OPCODES, p=transitions[template, opcodes[-1]])))
    tokens: list[int] = []
    node_type: list[int] = []
    node_text: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    flow: list[int] = []
    position: list[int] = []
    instruction_nodes, variable_nodes = [], []
    for i, opcode in enumerate(opcodes):
        type_id = opcode % NUM_TYPES
        operands = [j for j in (i - 1, i - 2) if j >= 0][: 1 + opcode % 2]
        tokens += [_VALUE_BASE + i % NUM_VALUES, _EQUALS, _OPCODE_BASE + opcode,
                   _TYPE_BASE + type_id]
        for k, j in enumerate(operands):
            tokens += ([_COMMA] if k else []) + [_VALUE_BASE + j % NUM_VALUES]
        tokens.append(_NEWLINE)
        instruction_nodes.append(len(node_type))
        node_type.append(NODE_INSTRUCTION)
        node_text.append(2 + opcode)
        variable_nodes.append(len(node_type))
        node_type.append(NODE_VARIABLE)
        node_text.append(2 + NUM_OPCODES + type_id)
        src.append(instruction_nodes[i]), dst.append(variable_nodes[i])
        flow.append(FLOW_DATA), position.append(0)
        for k, j in enumerate(operands):
            src.append(variable_nodes[j]), dst.append(instruction_nodes[i])
            flow.append(FLOW_DATA), position.append(k)
        if i:
            src.append(instruction_nodes[i - 1]), dst.append(instruction_nodes[i])
            flow.append(FLOW_CONTROL), position.append(0)
    if _CALL_OPCODE in opcodes:
        external = len(node_type)
        node_type.append(NODE_INSTRUCTION)
        node_text.append(2 + NUM_OPCODES + NUM_TYPES)
        for i, opcode in enumerate(opcodes):
            if opcode == _CALL_OPCODE:
                src.append(instruction_nodes[i]), dst.append(external)
                flow.append(FLOW_CALL), position.append(0)
    return {"tokens": tokens, "node_type": node_type, "node_text": node_text,
            "node_function": [0] * len(node_type), "node_block": [0] * len(node_type),
            "edge_src": src, "edge_dst": dst, "edge_flow": flow, "edge_position": position}


def make_synthetic_dataset(out_dir: str | Path, *, programs: dict[str, int] | None = None,
                           shards: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Writes a dataset folder in the layout of ``mirencoder dataset build``.

    Args:
        out_dir: the folder to create.
        programs: records per split (default: train 192, validation 32, test 16).
        shards: shards per split (default: train 4, validation 1, test 1).
        seed: decides every program.

    Returns:
        ``out_dir``.
    """
    import webdataset as wds

    programs = programs or {"train": 192, "validation": 32, "test": 16}
    shards = shards or {"train": 4, "validation": 1, "test": 1}
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    # Each template prefers a different few successors for every opcode.
    transitions = rng.dirichlet(np.full(NUM_OPCODES, 0.15), size=(_TEMPLATES, NUM_OPCODES))
    splits: dict[str, dict] = {}
    for split, count in programs.items():
        records = []
        for n in range(count):
            template = int(rng.integers(_TEMPLATES))
            record = _program(rng, template, transitions)
            digest = hashlib.sha256(f"{split}:{n}:{seed}".encode()).hexdigest()
            record.update(key=digest[:24], ir_sha256=digest, corpus=f"synth-{template % 2}",
                          source_path=f"synthetic/{split}/{n}.ll", language="ir", split=split,
                          num_tokens=len(record["tokens"]), bitcode=b"")
            records.append(record)
        entry: dict = {"records": count, "wds": [], "parquet": []}
        per_shard = -(-count // shards[split])
        for s in range(shards[split]):
            part = records[s * per_shard:(s + 1) * per_shard]
            name = f"part-00000-{s:05d}"
            tar_path = out / "wds" / split / f"{name}.tar"
            tar_path.parent.mkdir(parents=True, exist_ok=True)
            with wds.TarWriter(str(tar_path), mtime=0) as writer:
                for record in part:
                    writer.write(record_to_wds_sample(record))
            parquet_path = out / "parquet" / split / f"{name}.parquet"
            parquet_path.parent.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(part, schema=PROGRAM_SCHEMA_V1)  # a schema-1 dataset
            pq.write_table(table, parquet_path)
            for fmt, path in (("wds", tar_path), ("parquet", parquet_path)):
                entry[fmt].append({"path": str(path.relative_to(out)), "records": len(part),
                                   "bytes": path.stat().st_size, "sha256": sha256_file(path)})
        splits[split] = entry
    node_vocab = {"texts": ["[PAD]", "[UNK]"] + [f"op{i}" for i in range(NUM_OPCODES)]
                  + [f"type{i}" for i in range(NUM_TYPES)] + ["[external]"]}
    (out / "node_vocab.json").write_text(json.dumps(node_vocab))
    index = {
        "format_version": 1, "config_hash": "synthetic", "recipe": "synthetic",
        "tokenizer_sha256": hashlib.sha256(b"synthetic-tokenizer").hexdigest(),
        "node_vocab_sha256": sha256_file(out / "node_vocab.json"),
        "vocab_size": SYNTH_VOCAB_SIZE, "node_vocab_size": SYNTH_NODE_VOCAB_SIZE,
        "special_ids": SPECIAL_IDS,
        "counts": {"ok": sum(programs.values()), "failed": 0, "duplicate": 0, "excluded": 0},
        "splits": splits,
    }
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return out
