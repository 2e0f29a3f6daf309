"""A resumable, rank- and worker-split stream of collated program batches.

Units: consecutive samples of a shard with the same variant group (a source file's
optimisation-level variants, which the build writes adjacently) form one *unit*, split into
balanced chunks of at most ``variants_per_group``; a sample without a group is a unit alone.
Units, not samples, are split across slots, shuffled and packed into batches, so a batch
holds several variants of a source (the variant contrast's positives). Packing fills each
batch in unit order; a unit larger than the room left continues in the next batch, and a
unit that would put more than ``variants_per_group`` programs of its group in the batch waits
for the next one. The cap yields when a batch's worth of samples is already waiting (too few
groups in reach to fill a batch within it, e.g. a small split that repeats within a batch), so
packing always progresses. Without groups every unit is one sample and the stream is the
plain sample stream.

Splitting: every (rank, DataLoader worker) pair is one *slot* of ``world_size * num_workers``.
Each epoch the shard list is permuted with ``(seed, epoch)`` — the same permutation in every
slot — and slot ``s`` reads shards ``s, s + slots, ...``. With fewer shards than slots every
slot reads all shards and keeps units ``i`` with ``i % slots == s``. Either way each sample
is read by exactly one slot per epoch. Training streams repeat epochs forever (the trainer
stops at ``max_steps``), so unequal slot sizes never stall DDP.

Mixing: a stream may read several shard lists (``mixed_shards``, e.g. the train splits of
two datasets built with one vocabulary). Each list is split across slots as above on its own,
and each slot interleaves their units in a seeded order, drawing list ``k`` with probability
``weights[k]``, so batches mix the corpora throughout instead of taking one shard at a time.

Resume: a stream is fully determined by ``(seed, slot)``; to resume after ``start_batch``
batches (counted at the consumer, which takes batches round-robin from the workers) each
worker replays its raw samples through the same shuffle buffer and drops the batches already
consumed, without decoding them.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ....infra.errors import ShardError
from .collate import WINDOW_MODES, ProgramBatch, collate_records
from .shard_reader import decode_sample, iter_raw_samples, sample_group
from .token_ids import TokenizerIds

__all__ = ["ProgramStream", "slot_assignment", "worker_batches_consumed", "init_worker",
           "worker_context", "Unit", "group_units", "pack_units", "interleave_units"]

# A unit: (group or None, samples). Units of one group hold at most ``variants_per_group``.
Unit = tuple[str | None, list]

# A run of one group longer than this is emitted in parts (bounds memory on a bad dataset).
_MAX_RUN = 256


def group_units(samples: Iterable[tuple[Any, str | None]], cap: int) -> Iterator[Unit]:
    """Runs of consecutive samples with one group, in balanced chunks of at most ``cap``.

    Args:
        samples: ``(sample, group)`` pairs in file order (group ``None``: a unit alone).
        cap: the largest unit (0: no cap).
    """
    run: list = []
    current: str | None = None
    for sample, group in samples:
        if run and (group is None or group != current or len(run) >= _MAX_RUN):
            yield from _chunks(current, run, cap)
            run = []
        run.append(sample)
        current = group
    if run:
        yield from _chunks(current, run, cap)


def _chunks(group: str | None, run: list, cap: int) -> Iterator[Unit]:
    if group is None or not cap or len(run) <= cap:
        yield group, run
        return
    parts = -(-len(run) // cap)
    size, extra = divmod(len(run), parts)  # balanced: 5 at cap 2 -> 2, 2, 1; at cap 4 -> 3, 2
    start = 0
    for part in range(parts):
        stop = start + size + (part < extra)
        yield group, run[start:stop]
        start = stop


def pack_units(units: Iterable[Unit], batch_size: int, cap: int) -> Iterator[list]:
    """Packs units into batches of ``batch_size`` samples (at the end of a finite stream the
    last one or two may be short).

    Units fill a batch in order; one larger than the room left continues at the start of the
    next batch. A unit that would put more than ``cap`` samples of its group in the batch
    (``cap`` 0: no limit) waits and goes first into the next one, unless ``batch_size``
    samples already wait (then it is placed: the cap cannot be kept, and waiting must not
    grow). Deterministic, so the batches of a resumed stream are those of the uninterrupted
    one.
    """
    packer = _Packer(batch_size, cap)
    for unit in units:
        yield from packer.add(unit)
    yield from packer.flush()


class _Packer:
    """The state of :func:`pack_units`: the batch being filled and the units waiting."""

    def __init__(self, batch_size: int, cap: int):
        self.batch_size, self.cap = batch_size, cap
        self.batch: list = []
        self.counts: Counter = Counter()
        self.waiting: list[Unit] = []
        self.waiting_samples = 0
        self.batch_done: list = []

    def add(self, unit: Unit) -> Iterator[list]:
        todo = [unit]
        while todo:
            group, samples = todo.pop(0)
            held = self.counts[group] if group is not None else 0
            if (self.cap and held and held + len(samples) > self.cap
                    and self.waiting_samples < self.batch_size):
                self.waiting.append((group, samples))
                self.waiting_samples += len(samples)
                continue
            room = self.batch_size - len(self.batch)
            self.batch.extend(samples[:room])
            self.counts[group] += len(samples[:room])
            if len(self.batch) == self.batch_size:
                rest = [(group, samples[room:])] if len(samples) > room else []
                todo = rest + self._restart() + todo
                yield self.batch_done

    def _restart(self) -> list[Unit]:
        """Closes the batch (kept in ``batch_done``); returns the units that waited."""
        self.batch_done, waiting = self.batch, self.waiting
        self.batch, self.counts, self.waiting, self.waiting_samples = [], Counter(), [], 0
        return waiting

    def flush(self) -> Iterator[list]:
        while self.batch or self.waiting:
            waiting = self._restart()
            if self.batch_done:
                yield self.batch_done
            for unit in waiting:  # a fresh batch: the first waiting unit always fits
                yield from self.add(unit)


def interleave_units(streams: Sequence[Iterator[Unit]], weights: Sequence[float],
                     rng: random.Random) -> Iterator[Unit]:
    """Units drawn from ``streams``, each next one from stream ``k`` with probability
    ``weights[k]`` (renormalised over the streams not yet exhausted); ends when all are."""
    live = list(range(len(streams)))
    while live:
        k = rng.choices(live, weights=[weights[i] for i in live])[0]
        try:
            yield next(streams[k])
        except StopIteration:
            live.remove(k)


def slot_assignment(num_shards: int, epoch: int, seed: int, slot: int, num_slots: int
                    ) -> tuple[list[int], int]:
    """The shard indices one slot reads in one epoch, and the unit stride.

    Returns:
        ``(shard_indices, stride)``: read those shards in order and keep every ``stride``-th
        unit starting at unit ``slot`` when ``stride > 1`` (stride 1: keep all).
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
        shuffle_buffer: units held for shuffling (0: file order); a unit is one sample, or up
            to ``variants_per_group`` adjacent variants of one group.
        training: random token windows and endless epochs; otherwise first windows and, unless
            ``repeat``, one epoch with a last partial batch.
        repeat: cycle through epochs forever.
        max_graph_nodes: graph cut (see collate).
        start_batch: batches this rank already consumed (resume).
        variants_per_group: most programs of one group per unit and per batch (0: no cap;
            1: every sample alone).
        mixed_shards: more shard lists read beside ``shards`` and interleaved with them.
        weights: each list's share of the units (``shards`` first; default equal).
    """

    def __init__(self, shards: Sequence[str | Path], fmt: str, *, batch_size: int,
                 context_length: int, tokenizer_ids: TokenizerIds, rank: int = 0,
                 world_size: int = 1, seed: int = 0, shuffle_buffer: int = 0,
                 training: bool = True, repeat: bool | None = None,
                 max_graph_nodes: int | None = None, start_batch: int = 0,
                 variants_per_group: int = 2, windows: str = "first", max_windows: int = 4,
                 mixed_shards: Sequence[Sequence[str | Path]] = (),
                 weights: Sequence[float] = ()):
        super().__init__()
        if not shards or not all(mixed_shards):
            raise ValueError("ProgramStream needs at least one shard in every shard list")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.shards = [str(path) for path in shards]
        self.shard_lists = [self.shards] + [[str(path) for path in more] for more in mixed_shards]
        self.weights = [float(w) for w in weights] or [1.0] * len(self.shard_lists)
        if len(self.weights) != len(self.shard_lists) or min(self.weights) <= 0:
            raise ValueError(f"weights must be {len(self.shard_lists)} positive numbers (one "
                             f"per shard list), got {list(weights)}")
        self.fmt, self.batch_size, self.context_length = fmt, batch_size, context_length
        self.tokenizer_ids, self.rank, self.world_size = tokenizer_ids, rank, world_size
        self.seed, self.shuffle_buffer, self.training = seed, shuffle_buffer, training
        self.repeat = training if repeat is None else repeat
        self.max_graph_nodes, self.start_batch = max_graph_nodes, start_batch
        if variants_per_group < 0:
            raise ValueError(f"variants_per_group must be >= 0, got {variants_per_group}")
        self.variants_per_group = variants_per_group
        if windows not in WINDOW_MODES or max_windows < 1:
            raise ValueError(f"windows must be one of {', '.join(WINDOW_MODES)} and max_windows "
                             f">= 1, got {windows!r}, {max_windows}")
        self.windows, self.max_windows = windows, max_windows

    def _slot(self) -> _Slot:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        # The DataLoader always asks worker 0 first; after resuming at batch ``start_batch``
        # the next batch belongs to worker ``start_batch % num_workers``, so rotate.
        worker = (worker + self.start_batch) % num_workers
        return _Slot(index=self.rank * num_workers + worker, count=self.world_size * num_workers,
                     worker=worker, num_workers=num_workers)

    def _units(self, shard: str) -> Iterator[Unit]:
        cap = self.variants_per_group
        if cap == 1:  # every sample alone: the group need not be read
            for raw in iter_raw_samples(shard, self.fmt):
                yield None, [raw]
            return
        yield from group_units(((raw, sample_group(raw, self.fmt))
                                for raw in iter_raw_samples(shard, self.fmt)), cap)

    def _raw(self, slot: _Slot) -> Iterator[Unit]:
        if len(self.shard_lists) == 1:
            return self._raw_from(self.shards, slot)
        return interleave_units([self._raw_from(shards, slot) for shards in self.shard_lists],
                                self.weights, random.Random(f"{self.seed}:{slot.index}:mix"))

    def _raw_from(self, shards: list[str], slot: _Slot) -> Iterator[Unit]:
        epoch = 0
        while True:
            shard_ids, stride = slot_assignment(len(shards), epoch, self.seed, slot.index,
                                                slot.count)
            position = kept = 0
            for shard_id in shard_ids:
                for unit in self._units(shards[shard_id]):
                    if stride == 1 or position % stride == slot.index:
                        kept += 1
                        yield unit
                    position += 1
            if kept == 0 and self.repeat:
                raise ShardError(f"data slot {slot.index} of {slot.count} (rank {self.rank}) "
                                 "got no samples in an epoch: fewer samples than ranks × "
                                 "workers; lower data.num_workers or use more data")
            epoch += 1
            if not self.repeat:
                return

    def _shuffled(self, samples: Iterator[Unit], rng: random.Random) -> Iterator[Unit]:
        if self.shuffle_buffer <= 1:
            yield from samples
            return
        buffer: list[Unit] = []
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
        units = self._shuffled(self._raw(slot), random.Random(f"{self.seed}:{slot.index}"))
        for produced, raws in enumerate(pack_units(units, self.batch_size,
                                                   self.variants_per_group)):
            if produced >= skip:
                yield self._collate(raws, slot, produced)

    def _collate(self, raws: list[dict], slot: _Slot, batch_index: int) -> ProgramBatch:
        rng = (np.random.default_rng([self.seed, slot.index, batch_index]) if self.training
               else None)
        records = [decode_sample(raw, self.fmt) for raw in raws]
        return collate_records(records, context_length=self.context_length,
                               tokenizer_ids=self.tokenizer_ids, rng=rng,
                               max_graph_nodes=self.max_graph_nodes, windows=self.windows,
                               max_windows=self.max_windows)


def init_worker(_: int) -> None:
    """DataLoader ``worker_init_fn``: one intra-op thread per worker (workers only decode).

    Seeding is not needed: every random choice in the stream has its own seeded generator.
    """
    torch.set_num_threads(1)


def worker_context(start: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context DataLoader workers start from.

    ``forkserver`` (the default): workers fork from a small server process that has imported
    this module once, not from the trainer, which by then holds torch, Lightning, MLflow and
    Ray threads; a worker forked from such a process can die in the C allocator ('double free
    or corruption'), seen twice in the test suite. ``spawn`` starts each worker from scratch
    (slowest); ``fork`` forks the caller (fastest start, the old behaviour).
    """
    context = multiprocessing.get_context(start)
    if start == "forkserver":
        context.set_forkserver_preload([__name__])
    return context
