"""Encoder packages: safetensors + JSON only, identical embeddings in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mirencoder.infra.errors import ConfigError, FatalError
from mirencoder.training.core.data.shard_reader import decode_sample, iter_raw_samples
from mirencoder.training.core.data.token_ids import tokenizer_ids_from_dataset
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.core.models.encoder import MIREncoder
from mirencoder.training.core.package import load_encoder_package, save_encoder_package
from mirencoder.training.pretraining.datamodule import load_dataset_index, split_shards

_EMBED = """
import sys, numpy as np
from mirencoder.training.core.package import load_encoder_package
from mirencoder.training.core.data.collate import collate_records
from mirencoder.training.core.data.shard_reader import decode_sample, iter_raw_samples
model, info = load_encoder_package(sys.argv[1])
records = [decode_sample(r, "wds") for r, _ in zip(iter_raw_samples(sys.argv[2], "wds"), range(6))]
batch = collate_records(records, context_length=info.model_config.context_length,
                        tokenizer_ids=info.tokenizer_ids)
np.save(sys.argv[3], model.embed(batch)["fused"].numpy())
"""


def test_package_round_trip_in_a_fresh_process(synthetic_dataset, tmp_path):
    from mirencoder.training.core.data.collate import collate_records

    index = load_dataset_index(synthetic_dataset)
    ids = tokenizer_ids_from_dataset(synthetic_dataset, index)
    config = ModelConfig(d_model=32, heads=2, ffn=64, gnn_hidden=32, fusion_dim=48,
                         context_length=64, positions="rotary")
    torch.manual_seed(0)
    model = MIREncoder(config, vocab_size=ids.vocab_size, node_vocab_size=ids.node_vocab_size,
                         pad_id=ids.pad_id).eval()
    package = save_encoder_package(tmp_path / "pkg", model, config,
                                   synthetic_dataset / "tokenizer.json",  # absent: skipped
                                   synthetic_dataset / "node_vocab.json",
                                   {"dataset_index_sha256": "abc", "steps": 0},
                                   tokenizer_ids=ids)
    names = sorted(p.name for p in package.iterdir())
    assert names == ["encoder.safetensors", "encoder_config.json", "lineage.json",
                     "node_vocab.json"]
    assert b"pickle" not in (package / "encoder.safetensors").read_bytes()[:2000]
    lineage = json.loads((package / "lineage.json").read_text())
    assert lineage["dataset_index_sha256"] == "abc" and lineage["num_parameters"] > 0

    shard = split_shards(synthetic_dataset, index, "validation", "wds")[0]
    records = [decode_sample(r, "wds") for r, _ in zip(iter_raw_samples(shard, "wds"), range(6),
                                                         strict=False)]
    expected = model.embed(collate_records(records, context_length=64, tokenizer_ids=ids))
    out = tmp_path / "fused.npy"
    subprocess.run([sys.executable, "-c", _EMBED, str(package), str(shard), str(out)],
                   check=True, timeout=120)
    assert np.array_equal(np.load(out), expected["fused"].numpy())
    assert expected["fused"].shape == (6, 48)

    loaded, info = load_encoder_package(package)
    assert info.embedding_dim == 48 and info.tokenizer_path is None
    assert info.node_vocab_path == package / "node_vocab.json"
    assert info.model_config == config and not loaded.training


def test_package_errors_are_clear(tmp_path, synthetic_dataset):
    with pytest.raises(ConfigError, match="not an encoder package"):
        load_encoder_package(tmp_path)
    config = ModelConfig(d_model=16, heads=2, ffn=32, gnn_hidden=16, fusion_dim=16,
                         context_length=16, layers=1, gnn_layers=1)
    model = MIREncoder(config, vocab_size=50, node_vocab_size=10, pad_id=0)
    package = save_encoder_package(tmp_path / "p", model, config, None, None, {})
    weights = package / "encoder.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(FatalError, match="corrupt encoder package"):
        load_encoder_package(package)
