"""The targets judged once (target_checks) and drawn (target_chart)."""

from __future__ import annotations

import math
from pathlib import Path

from mirencoder.training.evaluation.target_chart import chart_rows, draw_targets_chart
from mirencoder.training.evaluation.target_checks import (
    Check,
    downstream_targets,
    judge,
    probe_targets,
)


def _cells(**values: float) -> dict:
    return {method: {"accuracy_mean": value} for method, value in values.items()}


def _summary() -> dict:
    leakage_free = {"amd": _cells(encoder=88.0, **{"encoder-untrained": 85.0,
                                                    "runtime-only": 87.0, "oracle": 100.0}),
                    "nvidia": _cells(encoder=84.0, **{"encoder-untrained": 83.0,
                                                       "opcode-histogram": 84.5})}
    literature = {"amd": _cells(encoder=94.5, **{"ir2vec-fa": 91.0}),
                  "nvidia": _cells(encoder=91.0, **{"ir2vec-fa": 89.0})}
    tc = {"average": {"encoder": {"speedup_mean": 1.12}, "program-size": {"speedup_mean": 1.08}}}
    accs = {"encoder": 0.90, "encoder-untrained": 0.80, "opcode-histogram": 0.90}
    decisions = {"vectorized": {"methods": {m: {"accuracy": a} for m, a in accs.items()}}}
    maps = {"encoder": 0.5, "encoder-untrained": 0.2, "opcode-histogram": 0.45}
    return {"results": {"thread-coarsening": {"leakage-free": tc},
                        "devmap-669": {"literature-rs104": literature,
                                       "leakage-free": leakage_free}},
            "probes": {"retrieval": {"methods": {m: {"map_at_r": v} for m, v in maps.items()}},
                       "decisions": {"groupings": {"source": decisions}}}}


def test_a_check_is_met_at_its_goal_unless_it_must_beat_a_baseline():
    assert Check("amd", 90.0, 90.0).met and not Check("amd", 90.0, 90.0, strict=True).met
    twin = Check("amd", 88.0, 87.0, reference="encoder-untrained", reference_value=85.0)
    assert twin.met and twin.margin == 3.0  # the margin is against the twin, not the goal
    assert math.isclose(Check("average", 1.05, 1.10).margin, -0.05)


def test_judge_orders_and_decides_every_target():
    targets = judge(_summary())
    assert [(t.where, t.kind, t.met) for t in targets] == [
        ("devmap-669, literature-rs104", "literature", False),  # nvidia 91.0 < 92.0
        ("devmap-669, leakage-free", "ahead", False),  # nvidia 84.0 is not above 84.5
        ("devmap-669, leakage-free", "pretraining", False),  # nvidia only +1.0
        ("thread-coarsening, leakage-free", "ahead", True),
        ("thread-coarsening, leakage-free", "pretraining", True),
        ("probes, optimisation-invariance MAP@R", "invariance", False),  # < 0.45 + 0.10
        ("probes, compiler decisions (source folds)", "decisions", False)]  # ties the histogram
    ahead = targets[1].checks
    assert [(c.reference, c.goal, c.strict) for c in ahead] == [
        ("runtime-only", 87.0, True), ("opcode-histogram", 84.5, True)]  # the oracle is a bound
    invariance = targets[5]
    assert [(c.reference, round(c.goal, 3), c.met) for c in invariance.checks] == [
        ("encoder-untrained", 0.4, True), ("opcode-histogram", 0.55, False)]


def test_targets_leave_out_what_they_cannot_judge():
    platforms = {"amd": _cells(**{"runtime-only": 90.0}), "nvidia": _cells(**{"runtime-only": 84.0})}
    assert downstream_targets("devmap-669", "leakage-free", platforms) == []  # no encoder row
    no_twin = {p: _cells(encoder=85.0, **{"runtime-only": 80.0}) for p in ("amd", "nvidia")}
    kinds = [t.kind for t in downstream_targets("devmap-669", "leakage-free", no_twin)]
    assert kinds == ["ahead"]  # the pre-training target needs the twin on every platform
    probes = {"retrieval": {"methods": {"encoder": {"map_at_r": 0.3}}},
              "decisions": {"groupings": {"source": {"ic": {"methods": {
                  "encoder": {"accuracy": 0.9}, "opcode-histogram": {"accuracy": 0.8}}}}}}}
    targets = probe_targets(probes)
    assert [t.kind for t in targets] == ["decisions"]  # MAP@R has nothing to be judged against
    assert [c.reference for c in targets[0].checks] == ["opcode-histogram"]


def test_targets_chart_draws_one_row_per_check(tmp_path: Path):
    rows = chart_rows(judge(_summary()))
    assert len(rows) == 2 + 2 + 2 + 1 + 1 + 2 + 2
    label, ratio, base, met = rows[0]
    assert label == "devmap-669, literature-rs104: amd vs published goal"
    assert math.isclose(ratio, 94.5 / 94.0) and base is None and met
    label, ratio, base, met = rows[4]
    assert label == "devmap-669, leakage-free pre-training: amd vs twin"
    assert math.isclose(base, 85.0 / 87.0) and met
    png = draw_targets_chart(_summary(), tmp_path / "results" / "targets.png")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw_targets_chart({"results": {}}, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def _speed(first_ms: float = 7.65) -> dict:
    entry = {"encoder": "untrained random champion package", "machine": "2 cores",
             "measured_at": "2026-12-03 11:30 UTC", "files": 669, "bf16_ms": 9.7}
    return {"policies": {
        "first": {**entry, "policy": "first", "default": True, "encoder_ms": first_ms,
                  "ir2vec_fa_ms": 9.61},
        "pool:4": {**entry, "policy": "pool:4", "default": False, "encoder_ms": 30.12,
                   "ir2vec_fa_ms": 8.97}}}


def test_speed_target_judges_the_default_policy_and_shows_the_others():
    from mirencoder.training.evaluation.report_markdown import speed_statements
    from mirencoder.training.evaluation.target_table import target_rows

    summary = {"embedding_speed": _speed()}
    (target,) = judge(summary)
    assert target.kind == "speed" and target.met
    assert math.isclose(target.checks[0].value, 9.61 / 7.65)
    (row,) = target_rows(summary)
    assert row[2] == "7.65 vs 9.61 ms/file (1.26x); pool:4 (not the default) 0.30x"
    (line,) = speed_statements(summary["embedding_speed"])
    assert line.startswith("**embedding speed**: target reached — window policy first")
    assert "pool:4 (not the default) 0.30x" in line
    assert not judge({"embedding_speed": _speed(first_ms=9.61)})[0].met  # a tie is not faster
    assert judge({"embedding_speed": {"policies": {"pool:4": _speed()["policies"]["pool:4"]}}}) == []


def test_bench_embed_publishes_one_entry_per_policy(tmp_path: Path):
    from benchmarks.bench_embed import publish_speed

    for entry in _speed()["policies"].values():
        publish_speed(tmp_path, entry)
    publish_speed(tmp_path, {**_speed(7.0)["policies"]["first"]})  # a rerun replaces its policy
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| embedding speed, default window policy |" in text
    assert "7.00 vs 9.61 ms/file (1.37x); pool:4 (not the default) 0.30x | yes |" in text


def test_a_leakage_free_sentence_without_baselines_says_so():
    from mirencoder.training.evaluation.report_markdown import target_statements

    alone = {p: _cells(encoder=85.0, **{"encoder-untrained": 82.0}) for p in ("amd", "nvidia")}
    (line,) = target_statements({"results": {"devmap-669": {"leakage-free": alone}}})
    assert "no baseline or control computed here" in line
    assert "Pre-training target (untrained twin + 2 points): reached (amd +3.0" in line
