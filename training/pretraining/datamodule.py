"""LightningDataModule streaming a built dataset's shards, resumable through its state dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from ...infra.errors import ConfigError
from ..core.data.stream import ProgramStream, init_worker, worker_context
from ..core.data.token_ids import TokenizerIds, tokenizer_ids_from_dataset
from .config import DataConfig

__all__ = ["ProgramDataModule", "DATA_STATE_VERSION", "load_dataset_index", "split_shards",
           "verify_split_shards", "load_mixed_datasets", "split_records", "dataset_name"]

DATA_STATE_VERSION = 1


def load_dataset_index(dataset_dir: str | Path) -> dict:
    """The dataset's ``index.json`` (through the pipeline's reader)."""
    from ...pipelines.dataset import load_index

    return load_index(dataset_dir)


def verify_split_shards(dataset_dir: str | Path, index: dict, splits: list[str], fmt: str):
    """Checks the shards of some splits (one format) and the vocabularies against the sizes
    and sha256 sums in ``index.json``, before anything is read (every rank, before the first
    step).

    Returns:
        What was checked (:class:`~mirencoder.pipelines.dataset.VerifiedFiles`).

    Raises:
        FatalError: one line per missing, truncated or changed file.
    """
    from ...pipelines.dataset import shard_entries, verify_dataset_files

    return verify_dataset_files(dataset_dir, index, shard_entries(index, splits, (fmt,)),
                                side_files=("tokenizer.json", "node_vocab.json"))


def _check_splits(config: DataConfig, dataset_dir: Path, index: dict) -> None:
    """The splits named exist in the dataset, and pre-training never reads the test split (the
    held-out programs the probes score).

    Raises:
        ConfigError: naming the setting and the dataset's splits.
    """
    known = sorted(index.get("splits", {}))
    problems = [f"data.{role}: {dataset_dir} has no split {name!r} (its splits: "
                f"{', '.join(known) or 'none'})"
                for role, name in (("train_split", config.train_split),
                                   ("val_split", config.val_split)) if name and name not in known]
    if config.train_split == "test":
        problems.append("data.train_split: the test split holds the programs the probes score, "
                        "held out from pre-training; train on train")
    if problems:
        raise ConfigError(problems if len(problems) > 1 else problems[0])


def split_shards(dataset_dir: str | Path, index: dict, split: str, fmt: str) -> list[Path]:
    """Absolute shard paths of one split (empty when the split has no records)."""
    entry = index.get("splits", {}).get(split)
    if not entry or not entry.get("records"):
        return []
    return [Path(dataset_dir) / shard["path"] for shard in entry.get(fmt, [])
            if shard.get("records", 1)]


def split_records(index: dict, split: str) -> int:
    """Records of one split in ``index.json`` (0 when it has none)."""
    return int((index.get("splits", {}).get(split) or {}).get("records", 0) or 0)


def dataset_name(dataset_dir: str | Path, index: dict) -> str:
    """A built dataset's name in lineage: its recipe, else its folder's name."""
    return str(index.get("recipe", Path(dataset_dir).name))


def load_mixed_datasets(config: DataConfig, index: dict) -> list[tuple[Path, dict]]:
    """``(folder, index.json)`` of each of ``config.mix_dataset_dirs``, checked to be mixable
    with ``config.dataset_dir`` (whose ``index`` is given).

    Raises:
        ConfigError: listing each folder that is not a built dataset, repeats another, has
            other vocabularies than ``dataset_dir`` or no train shards in the format.
    """
    main = Path(config.dataset_dir).resolve()
    seen, mixed, problems = {main}, [], []
    for text in config.mix_dataset_dirs:
        folder = Path(text).resolve()
        if folder in seen:
            problems.append(f"data.mix_dataset_dirs: {text} is listed twice (or is dataset_dir)")
            continue
        seen.add(folder)
        try:
            other = load_dataset_index(folder)
        except ConfigError as error:
            problems.extend(f"data.mix_dataset_dirs: {p}" for p in error.problems)
            continue
        for key, what in (("tokenizer_sha256", "tokenizer"), ("node_vocab_sha256", "node vocabulary")):
            if other.get(key) != index.get(key):
                problems.append(
                    f"data.mix_dataset_dirs: {text} has another {what} than {config.dataset_dir} "
                    f"({str(other.get(key))[:12]} vs {str(index.get(key))[:12]}); build it with "
                    f"vocab.from_dataset: {config.dataset_dir}")
        if not split_shards(folder, other, config.train_split, config.format):
            problems.append(f"data.mix_dataset_dirs: {text}: split {config.train_split!r} has no "
                            f"{config.format} shards")
        mixed.append((folder, other))
    if problems:
        raise ConfigError(problems)
    return mixed


class ProgramDataModule(L.LightningDataModule):
    """Train/validation streams of :class:`ProgramBatch` for one DDP rank.

    The rank and world size come from the attached trainer (or the constructor, outside
    Lightning). The state dict stores positions, not data: ``batches_consumed`` (equal on
    every rank, since DDP steps in lock-step), the seed, and the layout it is valid for;
    :meth:`load_state_dict` refuses another world size, worker count or batch size.

    Args:
        config: the data section of the run config.
        context_length: the model's token window ([CLS] included).
        rank, world_size: used when no trainer is attached.
    """

    def __init__(self, config: DataConfig, *, context_length: int, rank: int = 0,
                 world_size: int = 1):
        super().__init__()
        if not config.dataset_dir:
            raise ConfigError("data.dataset_dir is not set")
        self.config, self.context_length = config, context_length
        self._rank, self._world_size = rank, world_size
        self.dataset_dir = Path(config.dataset_dir)
        self.index = load_dataset_index(self.dataset_dir)
        _check_splits(config, self.dataset_dir, self.index)
        # Every file to be read is checked against index.json first (FatalError naming it).
        self.verified = verify_split_shards(self.dataset_dir, self.index,
                                            [config.train_split, config.val_split], config.format)
        self.tokenizer_ids: TokenizerIds = tokenizer_ids_from_dataset(self.dataset_dir, self.index)
        self.train_shards = split_shards(self.dataset_dir, self.index, config.train_split,
                                         config.format)
        if not self.train_shards:
            raise ConfigError(f"{self.dataset_dir}: split {config.train_split!r} has no "
                              f"{config.format} shards")
        self.val_shards = (split_shards(self.dataset_dir, self.index, config.val_split,
                                        config.format) if config.val_split else [])
        # A mixed corpus: more train splits, interleaved with this one (validation stays here).
        self.mixed = load_mixed_datasets(config, self.index)
        for folder, other in self.mixed:
            verify_split_shards(folder, other, [config.train_split], config.format)
        self.mixed_train_shards = [split_shards(folder, other, config.train_split, config.format)
                                   for folder, other in self.mixed]
        records = [split_records(self.index, config.train_split)] + [
            split_records(other, config.train_split) for _, other in self.mixed]
        self.train_records = sum(records)
        self.mix_weights = ((list(config.mix_weights) or [max(r, 1) for r in records])
                            if self.mixed else [])
        self.batches_consumed = 0  # outside a trainer; inside one, global_step counts

    @property
    def rank(self) -> int:
        return self.trainer.global_rank if self.trainer is not None else self._rank

    @property
    def world_size(self) -> int:
        return self.trainer.world_size if self.trainer is not None else self._world_size

    def _consumed(self) -> int:
        return int(self.trainer.global_step) if self.trainer is not None else self.batches_consumed

    def _loader(self, stream: ProgramStream) -> DataLoader:
        workers = self.config.num_workers
        return DataLoader(stream, batch_size=None, num_workers=workers,
                          pin_memory=torch.cuda.is_available(), worker_init_fn=init_worker,
                          prefetch_factor=4 if workers else None,
                          persistent_workers=False,
                          multiprocessing_context=(worker_context(self.config.worker_start)
                                                   if workers else None))

    def train_dataloader(self) -> DataLoader:
        c = self.config
        return self._loader(ProgramStream(
            self.train_shards, c.format, batch_size=c.batch_size,
            context_length=self.context_length, tokenizer_ids=self.tokenizer_ids,
            rank=self.rank, world_size=self.world_size, seed=c.seed,
            shuffle_buffer=c.shuffle_buffer, training=True, max_graph_nodes=c.max_graph_nodes,
            start_batch=self._consumed(), variants_per_group=c.variants_per_group,
            windows=c.windows, max_windows=c.max_windows,
            mixed_shards=self.mixed_train_shards, weights=self.mix_weights))

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_shards:
            return []
        c = self.config
        # Repeats so every rank gets limit_val_batches batches, however the split divides.
        return self._loader(ProgramStream(
            self.val_shards, c.format, batch_size=c.batch_size,
            context_length=self.context_length, tokenizer_ids=self.tokenizer_ids,
            rank=self.rank, world_size=self.world_size, seed=c.seed, shuffle_buffer=0,
            training=False, repeat=True, max_graph_nodes=c.max_graph_nodes,
            variants_per_group=c.variants_per_group, windows=c.windows,
            max_windows=c.max_windows))

    def state_dict(self) -> dict[str, Any]:
        consumed = self._consumed()
        return {"version": DATA_STATE_VERSION, "seed": self.config.seed,
                "world_size": self.world_size, "num_workers": self.config.num_workers,
                "batch_size": self.config.batch_size, "format": self.config.format,
                "mix": self._mix_state(), "batches_consumed": consumed,
                "samples_seen": consumed * self.config.batch_size * self.world_size,
                "epoch_estimate": self._epoch_estimate(consumed)}

    def _mix_state(self) -> list:
        """The mixed datasets (names) and weights; empty for one dataset (older states too)."""
        return [[dataset_name(folder, other) for folder, other in self.mixed],
                self.mix_weights] if self.mixed else []

    def _epoch_estimate(self, consumed: int) -> int:
        return (consumed * self.config.batch_size * self.world_size) // max(self.train_records, 1)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        expected = {"version": DATA_STATE_VERSION, "world_size": self.world_size,
                    "num_workers": self.config.num_workers,
                    "batch_size": self.config.batch_size, "seed": self.config.seed,
                    "format": self.config.format}
        problems = [f"data state {key}={state.get(key)!r}, this run has {value!r}"
                    for key, value in expected.items() if state.get(key) != value]
        if state.get("mix", []) != self._mix_state():
            problems.append(f"data state mix={state.get('mix', [])!r}, this run has "
                            f"{self._mix_state()!r} (data.mix_dataset_dirs / mix_weights)")
        if problems:
            raise ConfigError(["cannot resume the data stream: " + p for p in problems])
        self.batches_consumed = int(state["batches_consumed"])
