"""The node-text vocabulary: frequency order, ties by text, unknowns, JSON round trip, hash."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.pipelines.ir.node_vocab import NodeTextVocabulary


def test_order_ids_and_unknowns():
    counts = Counter({"load": 5, "i32": 9, "add": 5, "ptr": 1, "call": 2})
    vocab = NodeTextVocabulary.build(counts, max_size=5, min_count=2)
    assert len(vocab) == 5 and (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert [vocab.text(i) for i in range(5)] == ["[PAD]", "[UNK]", "i32", "add", "load"]
    assert vocab.texts == ("[PAD]", "[UNK]", "i32", "add", "load")
    ids = vocab.encode(["load", "i32", "call", "never seen", "ptr"])
    assert ids.dtype == np.int32
    assert ids.tolist() == [4, 2, 1, 1, 1]
    assert "add" in vocab and "call" not in vocab


def test_gpu_address_spaces_fall_back_to_the_plain_text_when_only_it_is_known():
    vocab = NodeTextVocabulary(["ptr", "<2 x ptr>", "ptr addrspace(3)"])
    ids = vocab.encode(["ptr addrspace(1)", "ptr addrspace(3)", "<2 x ptr addrspace(1)>",
                        "{ ptr addrspace(1), i32 }", "ptr"])
    # A known text keeps its own id; an unknown one drops its address spaces, else [UNK].
    assert ids.tolist() == [2, 4, 3, vocab.unk_id, 2]


def test_save_load_and_hash(tmp_path):
    counts = Counter({"br": 3, "<4 x float>": 3, "[external]": 1})
    vocab = NodeTextVocabulary.build(counts)
    same = NodeTextVocabulary.build(Counter(dict(reversed(list(counts.items())))))
    assert same.sha256 == vocab.sha256
    path = vocab.save(tmp_path / "node_vocab.json")
    loaded = NodeTextVocabulary.load(path)
    assert loaded.sha256 == vocab.sha256 and len(loaded) == 5
    assert loaded.encode(["<4 x float>", "br"]).tolist() == [2, 3]
    assert NodeTextVocabulary.build(counts, max_size=3).sha256 != vocab.sha256


def test_bad_settings_and_files(tmp_path):
    with pytest.raises(ConfigError):
        NodeTextVocabulary.build(Counter(), max_size=1)
    with pytest.raises(ConfigError):
        NodeTextVocabulary.build(Counter(), min_count=0)
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(ConfigError):
        NodeTextVocabulary.load(tmp_path / "x.json")
    assert len(NodeTextVocabulary.build(Counter({"[PAD]": 4, "a": 1}))) == 3
