"""The anchoring diagnostic: the properties it measures against and its correlations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mirencoder.training.evaluation.anchor_fidelity import (
    anchor_fidelity,
    column_correlations,
    record_properties,
)
from mirencoder.training.pretraining.tasks.anchor import anchor_targets
from mirencoder.training.pretraining.tasks.outcome import node_text_distributions

DEMO_CORPUS = Path(__file__).resolve().parents[2] / "datasets" / "demo-corpus"


def test_properties_are_the_anchoring_targets_of_a_batch():
    records = [{"node_text": [2, 2, 3, 5]}, {"node_text": [4]}, {"node_text": [2, 6, 6]}]
    properties = record_properties(records, 4, node_vocab_size=8)
    texts = torch.tensor([2, 2, 3, 5, 4, 2, 6, 6])
    batch = torch.tensor([0, 0, 0, 0, 1, 2, 2, 2])
    expected = anchor_targets(node_text_distributions(texts, batch, 3, 8),
                              torch.tensor([4, 1, 3]), 4)
    np.testing.assert_allclose(properties, expected.numpy(), rtol=1e-6)
    assert properties[0, 1] == 0.5 and properties[0, 0] == np.float32(np.log1p(4))


def test_loop_properties_count_the_texts_of_the_nodes_on_control_cycles():
    """anchor_texts loop_opcodes: a loop 1 -> 2 -> 1 counts texts 5 and 5; node 0 and the
    variable 3 (a data edge) are outside it; column 0 stays the whole graph's log size."""
    records = [{"node_text": [2, 5, 5, 3], "edge_src": [0, 1, 2, 1], "edge_dst": [1, 2, 1, 3],
                "edge_flow": [0, 0, 0, 1]},
               {"node_text": [5, 2], "edge_src": [0], "edge_dst": [1], "edge_flow": [0]}]
    properties = record_properties(records, 4, 8, "log_count", [2, 5, 3], in_loops=True)
    np.testing.assert_allclose(properties, [[np.log1p(4), 0.0, np.log1p(2), 0.0],
                                            [np.log1p(2), 0.0, 0.0, 0.0]], rtol=1e-6)


def test_correlations_per_column_and_nan_for_a_constant_one():
    rng = np.random.default_rng(0)
    properties = rng.normal(size=(20, 3))
    properties[:, 2] = 1.0
    vectors = np.concatenate([2 * properties[:, :1] + 1, -properties[:, 1:2],
                              rng.normal(size=(20, 6))], axis=1)
    r = column_correlations(vectors, properties)
    np.testing.assert_allclose(r[:2], [1.0, -1.0], atol=1e-9)
    assert np.isnan(r[2])


def test_fidelity_of_a_real_package_on_real_ir(random_package):
    from mirencoder.training.embedding.embedder import Embedder

    paths = sorted((DEMO_CORPUS / "ir").glob("*.ll"))
    r = anchor_fidelity(Embedder.from_package(random_package), paths, columns=8)
    assert r.shape == (8,) and np.all(np.isnan(r) | (np.abs(r) <= 1 + 1e-9))
    assert np.isfinite(r[0])  # the demo programs differ in size
