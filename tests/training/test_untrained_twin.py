"""The untrained-encoder ablation keeps the architecture and vocabularies, not the weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from mirencoder.training.core.package import load_encoder_package
from mirencoder.training.registry.random_package import random_encoder_package
from mirencoder.training.registry.untrained_twin import untrained_twin

DEMO_IR = Path(__file__).resolve().parents[2] / "datasets" / "demo-corpus" / "ir"


def test_twin_has_same_config_and_vocabularies_but_fresh_weights(tmp_path: Path):
    texts = [p.read_text() for p in sorted(DEMO_IR.glob("*.ll"))]
    trained = random_encoder_package(tmp_path / "trained", texts, seed=7,
                                     overrides=["model.layers=1", "model.gnn_layers=1"])
    twin = untrained_twin(trained, tmp_path / "twin", seed=0)
    model_a, info_a = load_encoder_package(trained)
    model_b, info_b = load_encoder_package(twin)
    assert info_a.model_config == info_b.model_config
    assert (trained / "tokenizer.json").read_bytes() == (twin / "tokenizer.json").read_bytes()
    assert (trained / "node_vocab.json").read_bytes() == (twin / "node_vocab.json").read_bytes()
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert any(not torch.equal(state_a[k], state_b[k]) for k in state_a if state_a[k].dim() > 1)
    assert json.loads((twin / "lineage.json").read_text())["untrained"] is True
