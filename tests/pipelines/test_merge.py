"""Global decisions: dedup ties, exclusion and the deterministic split."""

from __future__ import annotations

import hashlib

from mirencoder.pipelines.config import SplitConfig
from mirencoder.pipelines.merge import decide, record_key, split_of


def _row(order: int, path: str, digest: str | None, status: str = "ok") -> dict:
    return {"order": order, "path": path, "status": status, "ir_sha256": digest,
            "reason": None if status == "ok" else "compile_error", "message": None}


def test_duplicates_go_to_the_first_input_whatever_the_row_order():
    h = hashlib.sha256(b"x").hexdigest()
    rows = [_row(5, "b.c", h), _row(2, "a.c", h), _row(9, "c.c", None, "failed")]
    decisions = decide(rows, {}, SplitConfig())
    assert decisions[2].status == "ok" and decisions[5].status == "duplicate"
    assert decisions[5].key == decisions[2].key == record_key(h)
    assert "a.c" in decisions[5].message
    assert decisions[9].status == "failed" and decisions[9].reason == "compile_error"


def test_modules_without_code_fail_with_a_reason():
    h = hashlib.sha256(b"decl").hexdigest()
    row = {**_row(0, "decl.c", h), "num_instructions": 0}
    decision = decide([row], {}, SplitConfig())[0]
    assert decision.status == "failed" and decision.reason == "no_code"


def test_excluded_inputs_never_become_records():
    h = hashlib.sha256(b"kernel").hexdigest()
    decisions = decide([_row(0, "k.ll", h), _row(1, "k2.ll", h)], {h: "devmap!sobel.ll"},
                       SplitConfig())
    assert {d.status for d in decisions.values()} == {"excluded"}
    assert "sobel" in decisions[0].message


def test_split_is_deterministic_and_close_to_the_fractions():
    config = SplitConfig(validation_fraction=0.1, test_fraction=0.1)
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5000)]
    splits = [split_of(d, config) for d in digests]
    assert splits == [split_of(d, config) for d in digests]
    assert abs(splits.count("test") / 5000 - 0.1) < 0.02
    assert abs(splits.count("validation") / 5000 - 0.1) < 0.02
