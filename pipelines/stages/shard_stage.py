"""Stage 2: kept programs of a few compile tasks to token ids, node-text ids (the front end's
:func:`~mirencoder.pipelines.frontend.views.id_views`) and shards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyarrow.parquet as pq

from ..config import ShardConfig
from ..frontend.views import id_views
from ..ir.node_vocab import NodeTextVocabulary
from ..ir.program_graph import NODE_TEXT, NODE_TEXTS, TEXT_GRAPH_COLUMN_NAMES, graph_arrays
from ..ir.tokenizer import IRTokenizer
from ..shards.schema import SPLITS
from ..shards.writers import ParquetShardWriter, WebDatasetShardWriter, write_json_atomic
from .base import Stage

__all__ = ["ShardStage", "ShardTask", "shard_marker"]


def shard_marker(dataset_dir: Path, task: int) -> Path:
    """The completion marker of a shard task: its result, written after its shards."""
    return dataset_dir / "_work" / "shards" / f"task-{task:05d}.json"


@dataclass(frozen=True)
class ShardTask:
    """The kept records of some consecutive IR parts, written as one task's shards."""

    task: int
    """Shard-task id, part of every file name."""
    parts: tuple[str, ...]
    """The IR part files this task reads."""
    kept: dict[int, tuple[str, str]]
    """Input ``order`` -> ``(key, split)`` for the records to keep."""

    @property
    def weight(self) -> int:
        """The records it writes (progress counts them; an empty task counts one)."""
        return max(len(self.kept), 1)


class ShardStage(Stage[ShardTask, dict]):
    """Encodes the kept records of some IR parts and writes them as Parquet and WebDataset shards.

    Shard names carry the task id (``part-{task:05d}-{n:03d}``), so a rerun of a task rewrites
    exactly the same files and never doubles a record. Records go out in variant order, so the
    variants of a source (one group) are consecutive, and a shard never splits a group.
    """

    name: ClassVar[str] = "shard"
    input_columns: ClassVar[tuple[str, ...]] = (
        "order", "group", "opt_level", "path", "corpus", "language", "ir_sha256", "ir_text",
        "bitcode", *TEXT_GRAPH_COLUMN_NAMES)

    def __init__(self, dataset_dir: Path, shards: ShardConfig):
        self.dataset_dir = dataset_dir
        self.shards = shards
        self.tokenizer: IRTokenizer | None = None
        self.node_vocab: NodeTextVocabulary | None = None

    def setup(self) -> None:
        """Loads the dataset's tokenizer and node-text vocabulary once per worker."""
        self.tokenizer = IRTokenizer.load(self.dataset_dir / "tokenizer.json")
        self.node_vocab = NodeTextVocabulary.load(self.dataset_dir / "node_vocab.json")

    def process(self, task: ShardTask) -> dict:
        """Writes the shards of one task (first removing any a stopped run left under its id),
        then its marker (:func:`shard_marker`).

        Returns:
            ``{"task", "records": {split: n}, "shards": {split: {"parquet": [...], "wds": [...]}}}``.
        """
        result = self._write_shards(task.task, [Path(p) for p in task.parts], task.kept)
        write_json_atomic(shard_marker(self.dataset_dir, task.task), result)
        return result

    def _write_shards(self, task: int, parts: list[Path], kept: dict[int, tuple[str, str]]
                      ) -> dict:
        root = self.dataset_dir
        for stale in [*root.glob(f"parquet/*/part-{task:05d}-*"),
                      *root.glob(f"wds/*/part-{task:05d}-*")]:
            stale.unlink()
        writers = {}
        for split in SPLITS:
            kwargs = {"root": self.dataset_dir, "max_records": self.shards.max_records,
                      "max_bytes": self.shards.max_bytes}
            writers[split] = (
                ParquetShardWriter(self.dataset_dir / "parquet" / split, f"part-{task:05d}", **kwargs),
                WebDatasetShardWriter(self.dataset_dir / "wds" / split, f"part-{task:05d}", **kwargs),
            )
        counts = dict.fromkeys(SPLITS, 0)
        for part in parts:
            table = pq.read_table(part, columns=list(self.input_columns))
            orders = table.column("order").to_pylist()
            wanted = [i for i, order in enumerate(orders) if order in kept]
            if not wanted:
                continue
            for row in table.take(wanted).to_pylist():
                key, split = kept[row["order"]]
                record = self._record(row, key, split)
                for writer in writers[split]:
                    writer.write(record)
                counts[split] += 1
        shards = {split: {"parquet": [s.to_dict() for s in parquet.close()],
                          "wds": [s.to_dict() for s in wds.close()]}
                  for split, (parquet, wds) in writers.items()}
        return {"task": task, "records": counts, "shards": shards}

    def _record(self, row: dict, key: str, split: str) -> dict:
        tokens, node_text = id_views(row["ir_text"], row[NODE_TEXTS], self.tokenizer,
                                     self.node_vocab)
        return {
            "key": key, "ir_sha256": row["ir_sha256"], "corpus": row["corpus"],
            "source_path": row["path"], "language": row["language"], "split": split,
            "group": row["group"], "opt_level": row["opt_level"],
            "num_tokens": int(tokens.shape[0]), "tokens": tokens,
            **graph_arrays({**row, NODE_TEXT: node_text}),
            "bitcode": row["bitcode"] if self.shards.write_bitcode else b"",
        }

