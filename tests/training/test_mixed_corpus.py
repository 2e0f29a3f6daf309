"""A mixed corpus (``data.mix_dataset_dirs``): train splits of several datasets built with one
vocabulary, interleaved unit by unit, each sample once per epoch, resumable, in the lineage."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.infra.files import sha256_file
from mirencoder.training.core.data.stream import ProgramStream, interleave_units
from mirencoder.training.core.data.token_ids import tokenizer_ids_from_dataset
from mirencoder.training.pretraining.config import DataConfig, load_pretrain_config
from mirencoder.training.pretraining.datamodule import ProgramDataModule, split_shards


@pytest.fixture(scope="module")
def second_dataset(tmp_path_factory, synthetic_dataset):
    """The synthetic dataset again under other keys ('b/...'): another corpus built with the
    same vocabularies, as ``vocab.from_dataset`` builds one."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import webdataset as wds

    from mirencoder.pipelines.shards.schema import record_to_wds_sample

    out = tmp_path_factory.mktemp("mixed") / "second"
    shutil.copytree(synthetic_dataset, out)
    index = json.loads((out / "index.json").read_text())
    for entry in index["splits"].values():
        for tar, parquet in zip(entry["wds"], entry["parquet"], strict=True):
            table = pq.read_table(out / parquet["path"])
            keys = pa.array([f"b/{key}" for key in table.column("key").to_pylist()], pa.string())
            table = table.set_column(table.schema.get_field_index("key"), "key", keys)
            pq.write_table(table, out / parquet["path"])
            with wds.TarWriter(str(out / tar["path"]), mtime=0) as writer:
                for record in table.to_pylist():
                    writer.write(record_to_wds_sample(record))
            for written in (tar, parquet):  # the index records the rewritten files
                written.update(bytes=(out / written["path"]).stat().st_size,
                               sha256=sha256_file(out / written["path"]))
    index["recipe"] = "second"
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return out


def _shards(dataset, fmt="wds"):
    return split_shards(dataset, json.loads((dataset / "index.json").read_text()), "train", fmt)


def _module(first, second, **overrides):
    config = DataConfig(dataset_dir=str(first), mix_dataset_dirs=(str(second),), batch_size=6,
                        num_workers=0, shuffle_buffer=20, seed=3, **overrides)
    return ProgramDataModule(config, context_length=32)


def test_interleave_follows_the_weights_and_drains_every_stream():
    import random

    streams = [iter([("a", [i]) for i in range(300)]), iter([("b", [i]) for i in range(100)])]
    units = list(interleave_units(streams, [3.0, 1.0], random.Random(0)))
    assert Counter(g for g, _ in units) == {"a": 300, "b": 100}  # nothing lost at the end
    head = Counter(g for g, _ in units[:200])
    assert 120 <= head["a"] <= 180, head  # ~3:1 while both last


@pytest.mark.parametrize("workers", [0, 2])
def test_mixed_stream_reads_each_sample_of_both_once_and_mixes_from_the_start(
        synthetic_dataset, second_dataset, workers, worker_loader):
    index = json.loads((synthetic_dataset / "index.json").read_text())
    stream = ProgramStream(_shards(synthetic_dataset), "wds", batch_size=6, context_length=32,
                           tokenizer_ids=tokenizer_ids_from_dataset(synthetic_dataset, index),
                           seed=5, shuffle_buffer=8, training=True, repeat=False,
                           mixed_shards=[_shards(second_dataset)])
    keys = [key for batch in worker_loader(stream, workers) for key in batch.keys]
    first = {k for k in keys if not k.startswith("b/")}
    assert len(keys) == 2 * len(first) == 2 * 192 and len(set(keys)) == len(keys)
    assert {f"b/{k}" for k in first} == set(keys) - first
    # Interleaved, not one dataset after the other: both in the first three batches.
    assert 0 < sum(k.startswith("b/") for k in keys[:18]) < 18


def test_datamodule_weighs_by_records_resumes_and_refuses_another_mix(synthetic_dataset,
                                                                       second_dataset):
    module = _module(synthetic_dataset, second_dataset)
    assert module.mix_weights == [192, 192] and module.train_records == 384
    state = module.state_dict()
    assert state["mix"] == [["second"], [192, 192]]
    iterator = iter(module.train_dataloader())
    for _ in range(4):
        next(iterator)
    module.batches_consumed = 4
    state = json.loads(json.dumps(module.state_dict()))
    expected = [tuple(next(iterator).keys) for _ in range(5)]
    resumed = _module(synthetic_dataset, second_dataset)
    resumed.load_state_dict(state)
    assert [tuple(b.keys) for b, _ in zip(resumed.train_dataloader(), range(5),
                                          strict=False)] == expected
    with pytest.raises(ConfigError, match="mix"):
        _module(synthetic_dataset, second_dataset, mix_weights=(1.0, 3.0)).load_state_dict(state)
    alone = ProgramDataModule(DataConfig(dataset_dir=str(synthetic_dataset), batch_size=6,
                                         num_workers=0, shuffle_buffer=20, seed=3),
                              context_length=32)
    assert alone.state_dict()["mix"] == [] and alone.mix_weights == []
    with pytest.raises(ConfigError, match="mix"):
        alone.load_state_dict(state)


def test_weights_shift_the_share(synthetic_dataset, second_dataset):
    module = _module(synthetic_dataset, second_dataset, mix_weights=(1.0, 4.0))
    keys = [k for b, _ in zip(module.train_dataloader(), range(20), strict=False) for k in b.keys]
    share = sum(k.startswith("b/") for k in keys) / len(keys)
    assert 0.65 < share < 0.95, share  # 0.8 asked


def test_refuses_other_vocabularies_repeats_and_bad_weights(tmp_path, synthetic_dataset,
                                                            second_dataset):
    other = tmp_path / "other-vocab"
    shutil.copytree(second_dataset, other)
    index = json.loads((other / "index.json").read_text())
    index["tokenizer_sha256"] = "f" * 64
    (other / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConfigError, match="another tokenizer.*vocab.from_dataset"):
        _module(synthetic_dataset, other)
    with pytest.raises(ConfigError, match="listed twice"):
        _module(synthetic_dataset, synthetic_dataset)
    with pytest.raises(ConfigError, match="not a built dataset|index.json"):
        _module(synthetic_dataset, tmp_path / "missing")
    with pytest.raises(ConfigError, match="mix_weights needs one weight per dataset"):
        DataConfig(dataset_dir=str(synthetic_dataset), mix_dataset_dirs=("x",),
                   mix_weights=(1.0,))


def test_run_lineage_names_the_mixed_datasets(synthetic_dataset, second_dataset, tmp_path):
    from mirencoder.training.pretraining.run_context import describe_run

    config = load_pretrain_config(overrides={
        "data.dataset_dir": str(synthetic_dataset),
        "data.mix_dataset_dirs": f"{second_dataset}", "trainer.output_dir": str(tmp_path)})
    assert config.data.mix_dataset_dirs == (str(second_dataset),)
    lineage = describe_run(config).lineage()
    [mixed] = lineage["mixed_datasets"]
    assert mixed["dataset_name"] == "second" and mixed["dataset_dir"] == str(second_dataset)
    assert len(mixed["dataset_index_sha256"]) == 64
    alone = load_pretrain_config(overrides={"data.dataset_dir": str(synthetic_dataset),
                                           "trainer.output_dir": str(tmp_path)})
    assert "mixed_datasets" not in describe_run(alone).lineage()


def test_registry_tags_name_the_mixed_datasets(random_package, tmp_path):
    from mirencoder.training.registry.model_registry import package_lineage_tags

    package = tmp_path / "encoder"
    shutil.copytree(random_package, package)
    lineage = json.loads((package / "lineage.json").read_text())
    assert "mixed_datasets" not in package_lineage_tags(package)
    lineage["mixed_datasets"] = [{"dataset_name": "dapt-ls-cat-v1", "dataset_dir": "x"}]
    (package / "lineage.json").write_text(json.dumps(lineage))
    assert package_lineage_tags(package)["mixed_datasets"] == "dapt-ls-cat-v1"
