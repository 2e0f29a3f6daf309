"""The toolchain-variants study: rows of the diagnostics' sections grouped into arms, each
arm's mean and range per column, its errors, its table in RESULTS.md and its command."""

from __future__ import annotations

import json

import pytest

from mirencoder.training.evaluation import toolchain_study
from mirencoder.training.evaluation.toolchain_study_table import (
    COLUMNS,
    draw_toolchain_study,
    parse_arm,
    row_values,
    study_section,
    toolchain_study_markdown,
)

SETTINGS = ("devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd", "devmap-680 nvidia")


def _summary() -> dict:
    """Sections as the diagnostics write them: run a/b, twin t, control opcode-histogram."""
    devmap = {s: {"a": [80.0, 82.0], "b": [84.0, 84.0], "t": [70.0, 70.0],
                  "opcode-histogram": [90.0, 90.0]} for s in SETTINGS}
    decisions = {s: {"a": [60.0], "b": [70.0], "t": [50.0]}
                 for s in ("vectorised? (source folds)", "vectorised? (template folds)")}
    return {"toolchain_retrieval": {"scores": {"a": {"top1": 0.30, "mrr": 0.4},
                                               "b": {"top1": 0.40, "mrr": 0.5},
                                               "t": {"top1": 0.10, "mrr": 0.2},
                                               "opcode-histogram": {"top1": 0.5, "mrr": 0.6}},
                                    "packages": {"a": "runs/a", "t": "runs/t"}},
            "label_efficiency": {"scores": {"10 % of the training kernels": {},
                                            "100 % of the training kernels": devmap},
                                 "packages": {"b": "runs/b"}},
            "label_efficiency_decisions": {"scores": {"100 % of the training groups": decisions}}}


def test_rows_take_each_diagnostic_value_and_arms_their_mean_and_range():
    summary = _summary()
    assert row_values(summary, "a", {"a": 0.7}) == [0.7, 30.0, 0.4, 81.0, 81.0, 81.0, 81.0,
                                                    60.0, 60.0]
    assert row_values(summary, "opcode-histogram")[:4] == [None, 50.0, 0.6, 90.0]
    section = study_section(summary, [("runs", ["a", "b"]), ("twin", ["t"]),
                                      ("opcodes", ["opcode-histogram"])], "what it shows",
                            {"a": 0.7, "b": 0.8, "t": 0.2})
    assert section["columns"] == [name for name, _ in COLUMNS]
    assert section["packages"] == {"a": "runs/a", "b": "runs/b", "t": "runs/t"}
    table = toolchain_study_markdown(section)
    assert "| runs (2) | 0.750 (0.700–0.800) | 35.0 (30.0–40.0) | 0.450 (0.400–0.500) | " \
           "82.5 (81.0–84.0) |" in table
    assert "| opcodes (1) | – | 50.0 | 0.600 | 90.0 |" in table
    assert "what it shows" in table


def test_bad_arms_and_unscored_rows_are_refused_by_name():
    assert parse_arm("twins=t0|t1") == ("twins", ["t0", "t1"])
    for bad in ("twins", "=t0", "twins=|"):
        with pytest.raises(ValueError, match="expected LABEL=ROW"):
            parse_arm(bad)
    with pytest.raises(ValueError, match=r"\['nowhere'\]"):
        study_section(_summary(), [("runs", ["a", "nowhere"])])


def test_the_command_publishes_the_section_into_results(tmp_path, render_with, capsys):
    scores = tmp_path / "summary.json"
    scores.write_text(json.dumps(_summary()))
    probes = tmp_path / "probes.json"
    probes.write_text(json.dumps({"retrieval": {"methods": {"encoder": {"map_at_r": 0.7}}}}))
    report = tmp_path / "report"
    (report / "results").mkdir(parents=True)
    assert toolchain_study.main(["--scores", str(scores), "--arm", "runs=a|b",
                                 "--arm", "twin=t", "--probes", f"a={probes}"]) == 0
    printed = capsys.readouterr().out
    assert "| runs (2) | 0.700 |" in printed
    section = study_section(_summary(), [("runs", ["a", "b"]), ("opcodes", ["opcode-histogram"])])
    png = draw_toolchain_study(section, report / "results" / "toolchain_variants.png")
    assert png.stat().st_size > 1000
    with pytest.raises(SystemExit):
        toolchain_study.main(["--scores", str(scores), "--arm", "runs=a|missing"])
    section = study_section(_summary(), [("runs", ["a", "b"])])
    rendered = render_with("toolchain_variants", section)
    assert "## Toolchain variants as positive pairs" in rendered and "| runs (2) |" in rendered
