"""A resumable, rank- and worker-split stream of collated program batches.

Splitting: every (rank, DataLoader worker) pair is one *slot* of ``world_size * num_workers``.
Each epoch the shard list is permuted with ``(seed, epoch)`` — the same permutation in every
slot — and slot ``s`` reads shards ``s, s + slots, ...``. With fewer shards than slots every
slot reads all shards and keeps samples ``i`` with ``i % slots == s``. Either way each sample
is read by exactly one slot per epoch. Training streams repeat epochs forever (the trainer
stops at ``max_steps``), so unequal slot sizes never stall DDP.

Resume: a stream is fully determined by ``(seed, slot)``; to resume after ``start_batch``
batches (counted at the consumer, which takes batches round-robin from the workers) each
worker replays its raw samples through the same shuffle buffer and drops the batches already
consumed, without decoding them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ....infra.errors import ShardError
from .collate import ProgramBatch, collate_records
from .shard_reader import decode_sample, iter_raw_samples
from .token_ids import TokenizerIds

__all__ = ["ProgramStream", "slot_assignment", "worker_batches_consumed", "init_worker"]


def slot_assignment(num_shards: int, epoch: int, seed: int, slot: int, num_slots: int
                    ) -> tuple[list[int], int]:
    """The shard indices one slot reads in one epoch, and the sample stride.

    Returns:
        ``(shard_indices, stride)``: read those shards in order and keep every ``stride``-th
        sample starting at sample ``slot`` when ``stride > 1`` (stride 1: keep all).
    """
    order = list(range(num_shards))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    if num_shards >= num_slots:
        return order[slot::num_slots], 1
    return order, num_slots


def worker_batches_consumed(batches_consumed: int, worker: int, num_workers: int) -> int:
    """How many of ``batches_consumed`` (taken round-robin) came from ``worker``."""
    if batches_consumed <= worker:
        return 0
    return (batches_consumed - worker + num_workers - 1) // num_workers


@dataclass(frozen=True, slots=True)
class _Slot:
    index: int
    count: int
    worker: int
    num_workers: int


class ProgramStream(IterableDataset):
    """Streams :class:`ProgramBatch` objects for one rank (split further across its workers).

    Args:
        shards: the shard paths of one split.
        fmt: ``wds`` or ``parquet``.
        batch_size: programs per batch.
        context_length: token rows' length limit ([CLS] included).
        tokenizer_ids: special ids and vocabulary sizes.
        rank, world_size: this process's place in DDP.
        seed: decides shard order, shuffling, token windows.
        shuffle_buffer: samples held for shuffling (0: file order).
        training: random token windows and endless epochs; otherwise first windows and, unless
            ``repeat``, one epoch with a last partial batch.
        repeat: cycle through epochs forever.
        max_graph_nodes: graph cut (see collate).
        start_batch: batches this rank already consumed (resume).
    """

    def __init__(self, shards: Sequence[str | Path], fmt: str, *, batch_size: int,
                 context_length: int, tokenizer_ids: TokenizerIds, rank: int = 0,
                 world_size: int = 1, seed: int = 0, shuffle_buffer: int = 0,
                 training: bool = True, repeat: bool | None = None,
                 max_graph_nodes: int | None = None, start_batch: int = 0):
        super().__init__()
        if not shards:
            raise ValueError("ProgramStream needs at least one shard")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.shards = [str(path) for path in shards]
        self.fmt, self.batch_size, self.context_length = fmt, batch_size, context_length
        self.tokenizer_ids, self.rank, self.world_size = tokenizer_ids, rank, world_size
        self.seed, self.shuffle_buffer, self.training = seed, shuffle_buffer, training
        self.repeat = training if repeat is None else repeat
        self.max_graph_nodes, self.start_batch = max_graph_nodes, start_batch

    def _slot(self) -> _Slot:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        # The DataLoader always asks worker 0 first; after resuming at batch ``start_batch``
        # the next batch belongs to worker ``start_batch % num_workers``, so rotate.
        worker = (worker + self.start_batch) % num_workers
        return _Slot(index=self.rank * num_workers + worker, count=self.world_size * num_workers,
                     worker=worker, num_workers=num_workers)

    def _raw(self, slot: _Slot) -> Iterator[dict]:
        epoch = 0
        while True:
            shard_ids, stride = slot_assignment(len(self.shards), epoch, self.seed, slot.index,
                                                slot.count)
            position = kept = 0
            for shard_id in shard_ids:
                for raw in iter_raw_samples(self.shards[shard_id], self.fmt):
                    if stride == 1 or position % stride == slot.index:
                        kept += 1
                        yield raw
                    position += 1
            if kept == 0 and self.repeat:
                raise ShardError(f"data slot {slot.index} of {slot.count} (rank {self.rank}) "
                                 "got no samples in an epoch: fewer samples than ranks × "
                                 "workers; lower data.num_workers or use more data")
            epoch += 1
            if not self.repeat:
                return

    def _shuffled(self, samples: Iterator[dict], rng: random.Random) -> Iterator[dict]:
        if self.shuffle_buffer <= 1:
            yield from samples
            return
        buffer: list[dict] = []
        for sample in samples:
            if len(buffer) < self.shuffle_buffer:
                buffer.append(sample)
                continue
            index = rng.randrange(len(buffer))
            yield buffer[index]
            buffer[index] = sample
        rng.shuffle(buffer)
        yield from buffer

    def __iter__(self) -> Iterator[ProgramBatch]:
        slot = self._slot()
        skip = worker_batches_consumed(self.start_batch, slot.worker, slot.num_workers)
        samples = self._shuffled(self._raw(slot), random.Random(f"{self.seed}:{slot.index}"))
        pending: list[dict] = []
        produced = 0
        for raw in samples:
            pending.append(raw)
            if len(pending) == self.batch_size:
                if produced >= skip:
                    yield self._collate(pending, slot, produced)
                produced += 1
                pending = []
        if pending and produced >= skip:
            yield self._collate(pending, slot, produced)

    def _collate(self, raws: list[dict], slot: _Slot, batch_index: int) -> ProgramBatch:
        rng = (np.random.default_rng([self.seed, slot.index, batch_index]) if self.training
               else None)
        records = [decode_sample(raw, self.fmt) for raw in raws]
        return collate_records(records, context_length=self.context_length,
                               tokenizer_ids=self.tokenizer_ids, rng=rng,
                               max_graph_nodes=self.max_graph_nodes)


def init_worker(_: int) -> None:
    """DataLoader ``worker_init_fn``: one intra-op thread per worker (workers only decode).

    Seeding is not needed: every random choice in the stream has its own seeded generator.
    """
    torch.set_num_threads(1)
