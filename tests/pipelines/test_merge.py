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


def _variant(order: int, group: str, level: str, digest: str) -> dict:
    return {**_row(order, f"{group}.c", digest), "group": group, "opt_level": level}


def test_groups_linked_by_a_shared_program_share_one_split():
    h = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4)]
    rows = [_variant(0, "a" * 24, "O0", h[0]), _variant(1, "a" * 24, "O2", h[1]),
            _variant(2, "b" * 24, "O0", h[2]), _variant(3, "b" * 24, "O2", h[1]),
            _variant(4, "c" * 24, "O0", h[3])]
    for by_group in (False, True):
        config = SplitConfig(validation_fraction=0.3, test_fraction=0.3)
        decisions = decide(rows, {}, config, split_by_group=by_group)
        assert decisions[3].status == "duplicate" and decisions[3].reason == "duplicate_ir"
        assert decisions[0].split == decisions[1].split == decisions[2].split
        key = "a" * 24 if by_group else min(h[:3])
        assert decisions[0].split == split_of(key, config)
        assert decisions[4].split == split_of("c" * 24 if by_group else h[3], config)


def test_same_ir_at_two_levels_is_kept_once_and_evaluation_taints_the_group():
    h = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3)]
    rows = [_variant(0, "a" * 24, "O1", h[0]), _variant(1, "a" * 24, "O2", h[0]),
            _variant(2, "e" * 24, "O0", h[1]), _variant(3, "e" * 24, "O2", h[2])]
    decisions = decide(rows, {h[2]: "devmap!k.cl"}, SplitConfig(), split_by_group=True)
    assert decisions[1].status == "duplicate" and decisions[1].reason == "duplicate_variant"
    assert "-O1" in decisions[1].message and decisions[1].key == decisions[0].key
    assert decisions[3].reason == "evaluation_kernel"
    assert decisions[2].status == "excluded" and decisions[2].reason == "evaluation_group"
    assert "devmap!k.cl" in decisions[2].message
