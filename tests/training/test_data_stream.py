"""Streaming: rank/worker splitting (each sample once per epoch), formats, resumable state."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from mirencoder.infra.errors import ConfigError
from mirencoder.infra.files import sha256_file
from mirencoder.training.core.data.stream import (
    ProgramStream,
    slot_assignment,
    worker_batches_consumed,
)
from mirencoder.training.core.data.token_ids import tokenizer_ids_from_dataset
from mirencoder.training.pretraining.config import DataConfig
from mirencoder.training.pretraining.datamodule import ProgramDataModule, split_shards


def _all_keys(dataset, split="train"):
    index = json.loads((dataset / "index.json").read_text())
    return index, {key for key in _keys_of(dataset, index, split)}


def _keys_of(dataset, index, split):
    from mirencoder.training.core.data.shard_reader import iter_raw_samples

    for path in split_shards(dataset, index, split, "parquet"):
        for row in iter_raw_samples(path, "parquet"):
            yield row["key"]


def _epoch_keys(dataset, index, *, shards, fmt, rank, world, workers, loader):
    ids = tokenizer_ids_from_dataset(dataset, index)
    stream = ProgramStream(shards, fmt, batch_size=5, context_length=32, tokenizer_ids=ids,
                           rank=rank, world_size=world, seed=7, shuffle_buffer=16,
                           training=True, repeat=False)
    return [key for batch in loader(stream, workers) for key in batch.keys]


@pytest.mark.parametrize("fmt", ["wds", "parquet"])
def test_two_ranks_two_workers_see_each_sample_once(synthetic_dataset, fmt, worker_loader):
    index, expected = _all_keys(synthetic_dataset)
    shards = split_shards(synthetic_dataset, index, "train", fmt)
    assert len(shards) == 4  # one shard per slot
    seen = Counter()
    for rank in range(2):
        seen.update(_epoch_keys(synthetic_dataset, index, shards=shards, fmt=fmt, rank=rank,
                                world=2, workers=2, loader=worker_loader))
    assert set(seen) == expected and set(seen.values()) == {1}


def test_fewer_shards_than_slots_split_by_sample(synthetic_dataset, worker_loader):
    index, _ = _all_keys(synthetic_dataset)
    shards = split_shards(synthetic_dataset, index, "train", "wds")[:1]
    from mirencoder.training.core.data.shard_reader import iter_raw_samples

    expected = {json.loads(raw["meta.json"])["key"] for raw in iter_raw_samples(shards[0], "wds")}
    seen = Counter()
    for rank in range(2):
        seen.update(_epoch_keys(synthetic_dataset, index, shards=shards, fmt="wds", rank=rank,
                                world=2, workers=2, loader=worker_loader))
    assert set(seen) == expected and set(seen.values()) == {1}
    assert slot_assignment(1, 0, 7, 3, 4) == ([0], 4)
    assert sorted(sum((slot_assignment(6, 2, 7, s, 3)[0] for s in range(3)), [])) == list(range(6))


def test_round_robin_worker_accounting():
    # batches 0..6 from 2 workers: worker 0 gave 0,2,4,6 and worker 1 gave 1,3,5
    assert worker_batches_consumed(7, 0, 2) == 4 and worker_batches_consumed(7, 1, 2) == 3
    assert worker_batches_consumed(0, 1, 2) == 0 and worker_batches_consumed(5, 0, 1) == 5


def _module(dataset, workers):
    config = DataConfig(dataset_dir=str(dataset), batch_size=6, num_workers=workers,
                        shuffle_buffer=20, seed=3)
    return ProgramDataModule(config, context_length=32, rank=1, world_size=2)


def _signature(batch):
    return (tuple(batch.keys), batch.tokens.sum().item(), batch.tokens.shape)


@pytest.mark.parametrize("workers", [0, 2])
def test_state_resume_continues_the_stream(synthetic_dataset, workers):
    first = _module(synthetic_dataset, workers)
    iterator = iter(first.train_dataloader())
    n, m = 5, 7
    for _ in range(n):
        next(iterator)
    first.batches_consumed = n
    state = first.state_dict()
    expected = [_signature(next(iterator)) for _ in range(m)]
    assert state["version"] == 1 and state["batches_consumed"] == n
    assert state["world_size"] == 2 and state["seed"] == 3

    resumed = _module(synthetic_dataset, workers)
    resumed.load_state_dict(json.loads(json.dumps(state)))  # plain data survives JSON
    got = [_signature(batch) for batch, _ in zip(resumed.train_dataloader(), range(m),
                                                strict=False)]
    assert got == expected


def test_state_refuses_another_layout(synthetic_dataset):
    state = _module(synthetic_dataset, 0).state_dict()
    other = ProgramDataModule(DataConfig(dataset_dir=str(synthetic_dataset), batch_size=6,
                                         num_workers=0, shuffle_buffer=20, seed=3),
                              context_length=32, rank=0, world_size=4)
    with pytest.raises(ConfigError, match="world_size"):
        other.load_state_dict(state)
    with pytest.raises(ConfigError, match="version"):
        _module(synthetic_dataset, 0).load_state_dict({**state, "version": 99})


def test_training_stream_repeats_epochs_and_eval_takes_first_windows(synthetic_dataset):
    module = _module(synthetic_dataset, 0)
    batches = [b for b, _ in zip(module.train_dataloader(), range(40), strict=False)]
    assert len(batches) == 40  # 40 × 6 > the 96 samples of this rank: epochs repeat
    val = ProgramStream(module.val_shards, "wds", batch_size=6, context_length=32,
                        tokenizer_ids=module.tokenizer_ids, training=False, repeat=False)
    a = [b.tokens for b in val]
    b = [b.tokens for b in val]
    assert sum(t.size(0) for t in a) == 32 and all(torch.equal(x, y) for x, y in zip(a, b,
                                                                                     strict=True))


# --- variant groups: units of adjacent variants travel together ------------------------------

_RUNS = (1, 2, 3, 4, 5)  # group sizes, cycled along each shard


@pytest.fixture(scope="module")
def grouped_dataset(tmp_path_factory, synthetic_dataset):
    """The synthetic dataset with a ``group`` per program (runs of 1-5 adjacent programs),
    written as the build will write it: in meta.json and as a Parquet column."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq
    import webdataset as wds

    from mirencoder.pipelines.shards.schema import record_to_wds_sample

    out = tmp_path_factory.mktemp("grouped") / "dataset"
    shutil.copytree(synthetic_dataset, out)
    index = json.loads((out / "index.json").read_text())
    for split, entry in index["splits"].items():
        for shard, (tar, parquet) in enumerate(zip(entry["wds"], entry["parquet"], strict=True)):
            table = pq.read_table(out / parquet["path"])
            groups, run = [], 0
            while len(groups) < table.num_rows:
                groups += [f"{split}-{shard}-{run}"] * _RUNS[run % len(_RUNS)]
                run += 1
            groups = groups[:table.num_rows]
            pq.write_table(table.append_column("group", pa.array(groups, pa.string())),
                           out / parquet["path"])
            with wds.TarWriter(str(out / tar["path"]), mtime=0) as writer:
                for record, group in zip(table.to_pylist(), groups, strict=True):
                    sample = record_to_wds_sample(record)
                    meta = json.loads(sample["meta.json"])
                    sample["meta.json"] = json.dumps({**meta, "group": group},
                                                     sort_keys=True).encode()
                    writer.write(sample)
            for written in (tar, parquet):  # the index records the rewritten files
                written.update(bytes=(out / written["path"]).stat().st_size,
                               sha256=sha256_file(out / written["path"]))
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return out


def test_group_units_and_packing():
    from mirencoder.training.core.data.stream import group_units, pack_units

    pairs = [(i, g) for i, g in enumerate(["a", "a", "a", "a", "a", None, None, "b", "b", "a"])]
    units = list(group_units(pairs, cap=2))
    assert units == [("a", [0, 1]), ("a", [2, 3]), ("a", [4]), (None, [5]), (None, [6]),
                     ("b", [7, 8]), ("a", [9])]
    assert [u for _, u in group_units(pairs, cap=4)][:2] == [[0, 1, 2], [3, 4]]  # balanced
    assert [u for _, u in group_units(pairs, cap=0)][0] == [0, 1, 2, 3, 4]
    # Without groups: the plain sample batches.
    plain = [(None, [i]) for i in range(7)]
    assert list(pack_units(plain, 3, cap=2)) == [[0, 1, 2], [3, 4, 5], [6]]
    # A unit that would exceed the cap waits for the next batch; a unit larger than the room
    # left continues in the next batch; nothing is lost or repeated.
    units = [("a", [0, 1]), ("a", [2, 3]), ("b", [4, 5]), (None, [6]), ("c", [7, 8]),
             ("d", [9, 10])]
    batches = list(pack_units(units, 4, cap=2))
    assert batches == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 10]]
    assert sorted(sum(batches, [])) == list(range(11))
    # Too few groups to fill a batch within the cap (a small split repeating within a batch):
    # the cap yields once a batch's worth waits, so an endless stream keeps flowing.
    endless = ((g, [f"{g}{i}", f"{g}{i}'"]) for i in range(10**9) for g in "ab")
    first = [batch for batch, _ in zip(pack_units(endless, 8, cap=2), range(3), strict=False)]
    assert [len(batch) for batch in first] == [8, 8, 8]


def _group_of(dataset):
    from mirencoder.training.core.data.shard_reader import iter_raw_samples

    index = json.loads((dataset / "index.json").read_text())
    return {row["key"]: row["group"] for path in split_shards(dataset, index, "train", "parquet")
            for row in iter_raw_samples(path, "parquet")}


@pytest.mark.parametrize("fmt", ["wds", "parquet"])
def test_groups_arrive_together_capped_and_each_sample_once(grouped_dataset, fmt,
                                                            worker_loader):
    group_of = _group_of(grouped_dataset)
    index = json.loads((grouped_dataset / "index.json").read_text())
    ids = tokenizer_ids_from_dataset(grouped_dataset, index)
    shards = split_shards(grouped_dataset, index, "train", fmt)
    seen, together, multi = Counter(), 0, 0
    for rank in range(2):
        stream = ProgramStream(shards, fmt, batch_size=8, context_length=32, tokenizer_ids=ids,
                               rank=rank, world_size=2, seed=7, shuffle_buffer=16,
                               training=True, repeat=False, variants_per_group=2)
        for batch in worker_loader(stream, 2):
            assert batch.groups == [group_of[key] for key in batch.keys]  # carried through
            counts = Counter(batch.groups)
            assert max(counts.values()) <= 2  # the cap
            seen.update(batch.keys)
            for group in batch.groups:
                if sum(1 for g in group_of.values() if g == group) > 1:
                    multi += 1
                    together += counts[group] > 1
    assert set(seen) == set(group_of) and set(seen.values()) == {1}
    # Programs with a variant mostly meet one in their batch (a few are split at batch ends
    # or are the odd one of a 3- or 5-run).
    assert together / multi > 0.75, (together, multi)


@pytest.mark.parametrize("workers", [0, 2])
def test_state_resume_continues_a_grouped_stream(grouped_dataset, workers):
    first = _module(grouped_dataset, workers)
    iterator = iter(first.train_dataloader())
    for _ in range(5):
        next(iterator)
    first.batches_consumed = 5
    state = first.state_dict()
    expected = [(*_signature(batch), tuple(batch.groups))
                for batch in (next(iterator) for _ in range(7))]
    resumed = _module(grouped_dataset, workers)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    got = [(*_signature(batch), tuple(batch.groups))
           for batch, _ in zip(resumed.train_dataloader(), range(7), strict=False)]
    assert got == expected
    assert any(len(set(groups)) < len(groups) for *_, groups in got)  # variants did meet


def test_whole_program_training_batches(synthetic_dataset):
    """``data.windows=all``: every program's first ``max_windows`` windows travel as token
    rows with their program index, in training and validation alike."""
    config = DataConfig(dataset_dir=str(synthetic_dataset), batch_size=6, num_workers=0,
                        shuffle_buffer=20, seed=3, windows="all", max_windows=2)
    module = ProgramDataModule(config, context_length=8, rank=0, world_size=1)
    batch = next(iter(module.train_dataloader()))
    assert batch.window_program is not None and batch.num_programs == 6
    assert batch.tokens.size(0) == batch.window_program.numel() > 6
    assert int(torch.bincount(batch.window_program).max()) <= 2
    with pytest.raises(ConfigError, match="windows"):
        DataConfig(dataset_dir="x", windows="some")
