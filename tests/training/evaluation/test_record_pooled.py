"""Pre-training's effect pooled over the runs of record: each run against its own twins' mean,
the bootstrap interval over runs, the verdict counts, the report lines and the figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation.record_pooled import (
    draw_record_figures,
    pooled_effects,
    pooled_markdown,
    pooled_statements,
    record_section_markdown,
    run_effects,
)


def _run(name: str, encoder: dict, twin: dict, others: dict | None = None) -> dict:
    return {"name": name, "methods": {"pre-trained": encoder, "untrained twin": twin},
            "twin_seeds": others or {}}


def _runs() -> dict:
    twins = {"1": {"map_fused": 0.30, "devmap-669_amd": 82.0, "vectorized_source": 0.90},
             "2": {"map_fused": 0.20, "devmap-669_amd": 84.0, "vectorized_source": 0.92}}
    return {"runs": [
        _run("a", {"map_fused": 0.75, "devmap-669_amd": 86.0, "vectorized_source": 0.85,
                   "coarsening": 1.12},
             {"map_fused": 0.25, "devmap-669_amd": 83.0, "vectorized_source": 0.91,
              "coarsening": 1.05}, twins),
        _run("b", {"map_fused": 0.50, "devmap-669_amd": 82.0, "vectorized_source": 0.93,
                   "coarsening": 1.00},  # another architecture: its own twins
             {"map_fused": 0.25, "devmap-669_amd": 83.0, "vectorized_source": 0.91,
              "coarsening": 1.06}, twins),
        _run("no twins scored", {"map_fused": 0.9}, {"map_fused": None})]}


def test_each_run_is_measured_against_the_mean_of_its_own_twins():
    effects = run_effects(_runs())
    [a, b] = effects["map_fused"]  # the run without a twin score is left out
    assert (a.name, b.name) == ("a", "b")
    assert a.effect == pytest.approx(0.75 / 0.25) and b.effect == pytest.approx(2.0)
    [a_amd, b_amd] = effects["devmap-669_amd"]
    assert a_amd.effect == pytest.approx(3.0) and b_amd.effect == pytest.approx(-1.0)
    assert effects["vectorized_source"][0].effect == pytest.approx(100 * (0.85 - 0.91))
    [a_tc, _] = effects["coarsening"]  # one twin: its difference, judged on its own speedup
    assert a_tc.effect == pytest.approx(0.07) and a_tc.twins == (1.05,)


def test_pooled_effects_give_the_mean_interval_and_verdicts():
    pooled = {row.key: row for row in pooled_effects(_runs(), resamples=2000)}
    amd = pooled["devmap-669_amd"]
    assert amd.runs == 2 and amd.twin_sets == 2 and amd.mean == pytest.approx(1.0)
    assert amd.low == pytest.approx(-1.0) and amd.high == pytest.approx(3.0)
    # run a (86) clears every twin (83, 82, 84); run b (82) is not below 82
    assert (amd.above_every_twin, amd.below_every_twin, amd.with_several_twins) == (1, 0, 2)
    assert amd.reached == 1  # +3 >= +2; -1 not
    assert pooled["map_fused"].reached == 2 and pooled["coarsening"].reached == 1
    assert pooled["coarsening"].with_several_twins == 0
    assert pooled_effects(_runs(), resamples=2000) == pooled_effects(_runs(), resamples=2000)
    assert pooled_effects({"runs": _runs()["runs"][:1]}) == []  # one run is no pool


def test_pooled_report_lines_name_the_targets_and_the_sign():
    pooled = pooled_effects(_runs(), resamples=2000)
    table = "\n".join(pooled_markdown(pooled, "results/pretraining_effect.png"))
    assert "| DevMap 669 LF AMD % | 2 | 2 | +1.0 | -1.0 to +3.0 | 1 of 2 | 0 of 2 | twins + " \
           "2 points | 1 of 2 |" in table
    assert "| invariance MAP@R | 2 | 2 | 2.50x | 2.00x to 3.00x |" in table
    assert "![each run's effect against its twins](results/pretraining_effect.png)" in table
    [line] = pooled_statements(pooled)
    assert line.startswith("**pre-training's effect over every run of record** (2 runs")
    assert "interval over 2 twin sets" in line
    assert "invariance MAP@R 2.50x (2.00x to 3.00x; all of it above no effect" in line
    assert "DevMap 669 LF AMD % +1.0 (-1.0 to +3.0; it includes no effect" in line
    assert "vectorised? acc (source folds) -2.0" in line  # -6.0 and +2.0 points
    assert pooled_markdown([]) == [] and pooled_statements([]) == []


def test_the_section_and_figures_include_the_pooled_effect(tmp_path: Path):
    runs = _runs()
    figure = draw_record_figures(runs, tmp_path / "results" / "runs_of_record.png")
    assert figure.is_file() and (tmp_path / "results" / "pretraining_effect.png").is_file()
    assert runs["effect_figure"] == "results/pretraining_effect.png"
    section = record_section_markdown(runs)
    assert section.index("## Runs of record") < section.index("### Every run against its own")
    assert "](results/pretraining_effect.png)" in section
    json.dumps(runs)  # the section stays JSON for results/summary.json


def test_runs_that_share_their_twins_are_resampled_together():
    runs = _runs()
    runs["runs"][1]["methods"]["untrained twin"]["coarsening"] = 1.05  # the same twins as a
    [amd] = [row for row in pooled_effects(runs, resamples=500) if row.key == "devmap-669_amd"]
    # one twin set: every draw holds both runs, so the interval is the mean itself
    assert amd.twin_sets == 1 and amd.low == pytest.approx(1.0) == amd.high
