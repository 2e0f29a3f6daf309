"""Every built-dataset file a reader uses is checked against ``index.json`` before it is read.

The damage is the issue's: the low bit of ten token ids flipped inside one ``tokens.npy`` of a
WebDataset shard (same size, valid npy), 16 bytes flipped in the middle of a Parquet shard,
a truncated shard. Each must stop the reader with one line naming the file, before any step.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import FatalError
from mirencoder.infra.files import sha256_file
from mirencoder.training.pretraining.config import DataConfig
from mirencoder.training.pretraining.datamodule import ProgramDataModule

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def dataset(synthetic_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic dataset (its shards get damaged)."""
    return Path(shutil.copytree(synthetic_dataset, tmp_path / "dataset"))


def _shard(dataset: Path, split: str, fmt: str, n: int = 0) -> Path:
    index = json.loads((dataset / "index.json").read_text())
    return dataset / index["splits"][split][fmt][n]["path"]


def flip_token_bits(tar_path: Path, count: int = 10) -> None:
    """Flips the low bit of ``count`` token ids in the first ``tokens.npy`` of a tar, in place."""
    with tarfile.open(tar_path) as tar:
        member = next(m for m in tar if m.name.endswith(".tokens.npy"))
        payload = tar.extractfile(member).read()
    header = len(payload) - 4 * len(np.load(io.BytesIO(payload)))
    with open(tar_path, "r+b") as handle:
        for i in range(count):
            handle.seek(member.offset_data + header + 4 * i)  # int32 little-endian: low byte
            low = handle.read(1)[0]
            handle.seek(-1, 1)
            handle.write(bytes([low ^ 1]))


def flip_middle_bytes(path: Path, count: int = 16) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_pretrain_refuses_a_shard_with_flipped_token_bits(dataset: Path, small_model: dict,
                                                          tmp_path: Path):
    shard = _shard(dataset, "train", "wds", 1)
    size = shard.stat().st_size
    flip_token_bits(shard)
    assert shard.stat().st_size == size  # still a well-formed tar of valid npy members
    run_dir = tmp_path / "run"
    args = {**small_model, "data.dataset_dir": dataset, "data.format": "wds",
            "data.batch_size": 8, "data.num_workers": 0, "trainer.max_steps": 5,
            "trainer.accelerator": "cpu", "trainer.output_dir": run_dir,
            "trainer.val_every_n_steps": 0, "optim.warmup_steps": 2,
            "tracking.enabled": "false"}
    command = [sys.executable, "-m", "mirencoder", "pretrain", "--config", "tiny"]
    command += [f"--set={key}={value}" for key, value in args.items()]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("mirencoder: error")]
    assert len(errors) == 1 and str(shard) in errors[0] and "sha256" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not (run_dir / "result.json").exists() and not (run_dir / "encoder").exists()
    assert not (run_dir / "metrics.jsonl").exists()  # not one step


@pytest.mark.parametrize("damage", ["flip16", "truncate", "missing"])
def test_data_module_checks_every_shard_before_reading(dataset: Path, damage: str):
    shard = _shard(dataset, "validation", "parquet")
    if damage == "flip16":
        flip_middle_bytes(shard)
        expected = "sha256"
    elif damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:-100])
        expected = "bytes, index.json records"
    else:
        shard.unlink()
        expected = "missing"
    config = DataConfig(dataset_dir=str(dataset), format="parquet", num_workers=0)
    with pytest.raises(FatalError) as info:
        ProgramDataModule(config, context_length=32)
    assert str(info.value).count("\n") == 0
    assert str(info.value).startswith(str(shard)) and expected in str(info.value)
    # The other format's shards are intact and are all that a wds run reads.
    module = ProgramDataModule(DataConfig(dataset_dir=str(dataset), format="wds",
                                          num_workers=0), context_length=32)
    assert module.verified.files == 4 + 1 + 1  # train and validation shards, node_vocab.json


def test_intact_dataset_passes_and_changed_vocabulary_is_refused(dataset: Path):
    config = DataConfig(dataset_dir=str(dataset), format="parquet", num_workers=0)
    module = ProgramDataModule(config, context_length=32)
    assert module.verified.files == 6 and module.verified.bytes > 0
    vocab = json.loads((dataset / "node_vocab.json").read_text())
    vocab["texts"][2], vocab["texts"][3] = vocab["texts"][3], vocab["texts"][2]
    (dataset / "node_vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(FatalError, match="node_vocab.json: sha256"):
        ProgramDataModule(config, context_length=32)


def test_held_out_selection_refuses_a_changed_shard_or_manifest(dataset: Path):
    from mirencoder.training.evaluation.probes.heldout import read_manifest_view

    manifest = dataset / "manifest.parquet"
    pq.write_table(pa.table({"path": ["a.c"], "status": ["ok"], "key": ["k"]}), manifest)
    index = json.loads((dataset / "index.json").read_text())
    index["manifest_sha256"] = sha256_file(manifest)
    (dataset / "index.json").write_text(json.dumps(index))
    assert read_manifest_view(dataset).split_of_key  # intact: reads the keys
    pq.write_table(pa.table({"path": ["a.c"], "status": ["ok"], "key": ["other"]}), manifest)
    with pytest.raises(FatalError, match="manifest.parquet: sha256"):
        read_manifest_view(dataset)
    index["manifest_sha256"] = sha256_file(manifest)
    (dataset / "index.json").write_text(json.dumps(index))
    shard = _shard(dataset, "test", "parquet")
    flip_middle_bytes(shard)
    with pytest.raises(FatalError, match=str(shard)):
        read_manifest_view(dataset)


def test_data_module_names_a_split_the_dataset_lacks_and_never_trains_on_test(
        synthetic_dataset: Path):
    """A mistyped validation split used to mean no validation, silently; the test split (the
    probes' held-out programs) used to be trained on when asked."""
    from mirencoder.infra.errors import ConfigError

    def module(**splits: str) -> ProgramDataModule:
        return ProgramDataModule(DataConfig(dataset_dir=str(synthetic_dataset), **splits),
                                 context_length=32)

    with pytest.raises(ConfigError, match=r"data.val_split: .* has no split 'valid' \(its "
                                          r"splits: .*validation"):
        module(val_split="valid")
    with pytest.raises(ConfigError, match="data.train_split: the test split holds the programs"):
        module(train_split="test")
    assert module(val_split="").val_shards == []  # no validation, as documented
