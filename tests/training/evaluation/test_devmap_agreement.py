"""DevMap's two row sets as a ruler: points from the report's summary, correlations, chance
leads among twins, the page and its Targets line, derived whenever the report is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirencoder.training.evaluation.devmap_agreement_table import (
    SETTINGS,
    devmap_agreement,
    devmap_agreement_markdown,
    devmap_agreement_statements,
    pearson_interval,
    representation_points,
    run_leads,
    twin_leads,
)
from mirencoder.training.evaluation.report_files import recorded_section, update_report


def _scores(a669: float, n669: float, a680: float, n680: float) -> dict[str, float]:
    return dict(zip(SETTINGS, (a669, n669, a680, n680), strict=True))


def _summary() -> dict:
    """Two runs sharing one architecture's twins (seed 0 and seeds 1-5), a third with a twin of
    its own, and two controls in the report's results."""
    shared = [_scores(85, 82, 86, 82), _scores(84, 83, 88, 81), _scores(86, 81, 85, 84),
              _scores(85, 84, 86, 80), _scores(83, 82, 87, 83), _scores(85, 80, 85, 82)]
    twin_seeds = {str(i): s for i, s in enumerate(shared[1:], start=1)}
    runs = [{"name": "a", "methods": {"pre-trained": _scores(86, 85, 86, 84),
                                      "untrained twin": shared[0]}, "twin_seeds": twin_seeds},
            {"name": "b", "methods": {"pre-trained": _scores(84, 81, 87, 85),
                                      "untrained twin": shared[0]}, "twin_seeds": twin_seeds},
            {"name": "c", "methods": {"pre-trained": _scores(85, 83, 85, 83),
                                      "untrained twin": _scores(84, 84, 86, 81)}},
            {"name": "d", "methods": {"pre-trained": {**_scores(85, 83, 85, 83),
                                                      SETTINGS[3]: None},
                                      "untrained twin": shared[0]}}]
    controls = {"opcode-histogram": _scores(87.4, 84.8, 91.2, 86.0),
                "runtime-only": _scores(91.8, 84.2, 93.9, 83.7),
                "static": _scores(59, 57, 59, 57)}
    results = {}
    for method, scores in controls.items():
        for setting, value in scores.items():
            rows, platform = setting.removeprefix("devmap-").split("_")
            results.setdefault(f"devmap-{rows}", {"leakage-free": {}})["leakage-free"].setdefault(
                platform, {})[method] = {"accuracy_mean": value, "accuracy_std": 0.0}
    return {"runs_of_record": {"runs": runs}, "results": results}


def test_points_count_each_twin_once_and_leave_out_incomplete_rows():
    points = representation_points(_summary())
    assert [p["name"] for p in points["pre-trained"]] == ["a", "b", "c"]  # d lacks a setting
    assert len(points["twins"]) == 7  # six shared (counted once) and c's own
    assert [p["name"] for p in points["controls"]] == ["runtime-only", "opcode-histogram"]


def test_pearson_interval_brackets_r_and_needs_spread():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    r, low, high = pearson_interval(x, x + rng.normal(scale=0.5, size=200), draws=2000)
    assert r == pytest.approx(np.corrcoef(x, x + rng.normal(scale=0.5, size=200))[0, 1], abs=0.1)
    assert low < r < high and low > 0.7
    r, low, high = pearson_interval(x, rng.normal(size=200), draws=2000)
    assert low < 0 < high
    assert pearson_interval(np.ones(5), x[:5]) is None
    assert pearson_interval(x[:2], x[:2]) is None


def test_twin_leads_count_each_twin_against_its_siblings():
    leads = twin_leads(_summary(), min_twins=5)
    assert leads["sets"] == 1 and leads["twins"] == 6  # c's single twin is no set
    # By hand: twin 1 (84, 83, 88, 81) against the others' mean (84.8, 81.8, 85.8, 82.2):
    # 680 AMD +2.2; twin 2 (86, 81, 85, 84) -> 680 NVIDIA +2.2; twin 3 (85, 84, 86, 80) -> 669
    # NVIDIA +2.2; twin 4 (83, 82, 87, 83): 680 AMD +1.4, no lead.
    assert leads["per_setting"] == {SETTINGS[0]: 0, SETTINGS[1]: 1, SETTINGS[2]: 1,
                                    SETTINGS[3]: 1}
    assert leads["any"] == 3 and leads["both_rows"] == 0 and leads["all"] == 0


def test_run_leads_count_each_run_against_its_own_twins():
    runs = run_leads(_summary())
    # a and b against the six shared twins' mean (84.67, 82.0, 86.17, 82.0): a (86, 85, 86, 84)
    # leads on 669 NVIDIA (+3.0) and 680 NVIDIA (+2.0) -> both rows of NVIDIA; b (84, 81, 87, 85)
    # on 680 NVIDIA (+3.0); c against its own twin (84, 84, 86, 81): 680 NVIDIA +2.0; d has a
    # setting missing.
    assert runs["runs"] == 3
    assert runs["per_setting"] == {SETTINGS[0]: 0, SETTINGS[1]: 1, SETTINGS[2]: 0,
                                   SETTINGS[3]: 3}
    assert runs["any"] == 3 and runs["both_rows"] == 1 and runs["both_rows_runs"] == ["a"]


def test_section_page_and_line():
    section = devmap_agreement(_summary(), draws=500)
    enc = section["correlations"]["encoders"]["amd"]
    points = section["points"]
    x = [p["scores"][SETTINGS[0]] for p in points["pre-trained"] + points["twins"]]
    y = [p["scores"][SETTINGS[2]] for p in points["pre-trained"] + points["twins"]]
    assert enc[0] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert section["correlations"]["controls"]["amd"] is None  # two controls: too few
    page = devmap_agreement_markdown(section)
    assert "| every encoder (pre-trained and twins) | 10 |" in page
    assert "| baselines and controls | 2 | – | – |" in page
    assert "on at least one of the four settings 3 of 6" in page
    line, = devmap_agreement_statements(section)
    assert "over 10 encoders" in line and "3 of 6 untrained twins" in line
    assert "pre-trained runs over their twins: 3 of 3 on at least one setting, 1 on both" in line
    assert "on both row sets of one platform 1 (`a`)" in page
    assert devmap_agreement({"runs_of_record": {"runs": []}}) == {}
    assert devmap_agreement_statements({}) == []


def test_the_report_derives_the_section_and_its_figure(tmp_path):
    (tmp_path / "results").mkdir()
    summary = {**_summary(), "results": {}}  # the runs alone (the results chart wants more)
    (tmp_path / "results" / "summary.json").write_text(json.dumps({"schema_version": 1,
                                                                   **summary}))
    update_report(tmp_path, "runs_of_record", summary["runs_of_record"])
    section = recorded_section(tmp_path, "devmap_agreement")
    assert section["figure"] == "results/devmap_agreement.png"
    assert (tmp_path / "results" / "devmap_agreement.png").stat().st_size > 0
    page = (tmp_path / "studies" / "devmap-agreement.md").read_text()
    assert "Do DevMap's two row sets agree" in page and "../results/devmap_agreement.png" in page
    assert "DevMap's two row sets as a ruler" in (tmp_path / "RESULTS.md").read_text()
    # No run of record left: the derived section goes with it.
    update_report(tmp_path, "runs_of_record", {"runs": []})
    assert recorded_section(tmp_path, "devmap_agreement") == {}
    assert not (tmp_path / "studies" / "devmap-agreement.md").exists()
    assert not (tmp_path / "results" / "devmap_agreement.png").exists()
