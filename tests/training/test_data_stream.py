"""Streaming: rank/worker splitting (each sample once per epoch), formats, resumable state."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader

from mirencoder.infra.errors import ConfigError
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


def _epoch_keys(dataset, index, *, shards, fmt, rank, world, workers):
    ids = tokenizer_ids_from_dataset(dataset, index)
    stream = ProgramStream(shards, fmt, batch_size=5, context_length=32, tokenizer_ids=ids,
                           rank=rank, world_size=world, seed=7, shuffle_buffer=16,
                           training=True, repeat=False)
    loader = DataLoader(stream, batch_size=None, num_workers=workers)
    return [key for batch in loader for key in batch.keys]


@pytest.mark.parametrize("fmt", ["wds", "parquet"])
def test_two_ranks_two_workers_see_each_sample_once(synthetic_dataset, fmt):
    index, expected = _all_keys(synthetic_dataset)
    shards = split_shards(synthetic_dataset, index, "train", fmt)
    assert len(shards) == 4  # one shard per slot
    seen = Counter()
    for rank in range(2):
        seen.update(_epoch_keys(synthetic_dataset, index, shards=shards, fmt=fmt, rank=rank,
                                world=2, workers=2))
    assert set(seen) == expected and set(seen.values()) == {1}


def test_fewer_shards_than_slots_split_by_sample(synthetic_dataset):
    index, _ = _all_keys(synthetic_dataset)
    shards = split_shards(synthetic_dataset, index, "train", "wds")[:1]
    from mirencoder.training.core.data.shard_reader import iter_raw_samples

    expected = {json.loads(raw["meta.json"])["key"] for raw in iter_raw_samples(shards[0], "wds")}
    seen = Counter()
    for rank in range(2):
        seen.update(_epoch_keys(synthetic_dataset, index, shards=shards, fmt="wds", rank=rank,
                                world=2, workers=2))
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
