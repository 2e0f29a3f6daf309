"""The IR tokenizer: deterministic training, save/load round trip, hash, special ids, policy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ir_fixtures import LOOP_MODULE, SWITCH_MODULE

from mirencoder.infra.errors import ConfigError
from mirencoder.pipelines.ir.normalize import normalize_ir
from mirencoder.pipelines.ir.tokenizer import SPECIAL_TOKENS, IRTokenizer


@pytest.fixture(scope="module")
def texts():
    return [normalize_ir(m.encode()).text for m in (LOOP_MODULE, SWITCH_MODULE)] * 3


@pytest.fixture(scope="module")
def tokenizer(texts):
    return IRTokenizer.train(texts, vocab_size=300)


def test_special_ids(tokenizer):
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id,
            tokenizer.mask_id) == (0, 1, 2, 3, 4)
    assert [tokenizer.id_to_token(i) for i in range(5)] == list(SPECIAL_TOKENS)
    assert 64 < tokenizer.vocab_size <= 300


def test_training_is_deterministic_and_hash_is_the_json(tmp_path, texts, tokenizer):
    again = IRTokenizer.train(texts, vocab_size=300)
    assert again.sha256 == tokenizer.sha256
    path = tokenizer.save(tmp_path / "sub" / "tokenizer.json")
    import hashlib
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tokenizer.sha256
    loaded = IRTokenizer.load(path)
    assert loaded.sha256 == tokenizer.sha256 and loaded.vocab_size == tokenizer.vocab_size
    for text in texts[:2]:
        np.testing.assert_array_equal(loaded.encode(text), tokenizer.encode(text))
    other = IRTokenizer.train(texts[:1], vocab_size=300)
    assert other.sha256 != tokenizer.sha256
    assert json.loads(path.read_text())["model"]["type"] == "BPE"


def test_encode_matches_the_hugging_face_pipeline(tokenizer, texts):
    for text in texts[:2]:
        ids = tokenizer.encode(text)
        assert ids.dtype == np.int32 and len(ids) > 50
        np.testing.assert_array_equal(ids, tokenizer.encode_reference(text))
    batch = tokenizer.encode_batch(texts[:2])
    np.testing.assert_array_equal(batch[1], tokenizer.encode(texts[1]))
    assert tokenizer.pad_id not in tokenizer.encode(texts[0])  # no special tokens added


def test_encode_a_prefix_gives_the_first_ids(tokenizer, texts):
    long_text = "".join(texts) * 8  # several growth rounds of the prefix
    for text in (*texts[:2], long_text):
        full = tokenizer.encode(text)
        for count in (0, 1, 7, 40, 300, len(full) - 1, len(full), len(full) + 5):
            np.testing.assert_array_equal(tokenizer.encode(text, count), full[:count])
    assert tokenizer.encode(long_text, 20).dtype == np.int32


def test_text_policy_numbered_locals_and_headers(tokenizer):
    prepared = IRTokenizer.prepare(
        'target datalayout = "e-m:e"\ntarget triple = "x86_64-pc-linux-gnu"\n\n'
        "define i32 @f(i32 %0) {\n  %2 = add i32 %0, 12\n  br label %3\n\n3:\n  ret i32 %2\n}\n")
    assert "target" not in prepared and "%0" not in prepared and "%2" not in prepared
    assert prepared.count("%v") == 5 and "bb:" in prepared and "12" in prepared
    tokens = [tokenizer.id_to_token(i) for i in tokenizer.encode(
        "define i32 @main(i32 %0) {\n  %5 = add i32 %0, 1\n  ret i32 %5\n}\n")]
    assert tokens.count("%v") == 4
    assert {"define", "i32", "@", "(", ")", "{", "}", "=", ",", "add", "ret"} <= set(tokens)


def test_bad_settings():
    with pytest.raises(ConfigError):
        IRTokenizer.train(["x"], vocab_size=10)
    with pytest.raises(ConfigError):
        IRTokenizer.train(["x"], vocab_size=100, min_frequency=0)
