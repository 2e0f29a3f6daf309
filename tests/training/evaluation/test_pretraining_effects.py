"""'Where pre-training helps': the level-shift sections' runs against their twins, one table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirencoder.training.evaluation.pretraining_effects import (
    draw_effects,
    effect_rows,
    effects_markdown,
)

_SAME, _SHIFT = "trained at O2, tested at O2", "trained at O2, tested at O0"


def _pairs(value: float) -> dict[str, float]:
    return {p: value for p in ("O0->O1", "O0->O2", "O1->O0", "O2->O0", "O1->O2", "O2->O1")}


def _section(same: dict[str, float], shifted: dict[str, float]) -> dict:
    """Graph output: one pre-trained run (``encoder``) and an extra run, two twins, one
    control; each score is the same at every fold seed."""
    names = ("encoder", "run-b", "twin0", "twin1", "opcode-histogram")
    return {"packages": {"encoder": "e", "run-b": "b", "twin0": "t0", "twin1": "t1"},
            "twins": ["twin0", "twin1"], "controls": ["opcode-histogram", "run-b"],
            "retrieval": {n: {"pairs": _pairs(v)} for n, v in
                          zip(names, (0.30, 0.20, 0.10, 0.08, 0.25), strict=True)},
            "scores": {_SAME: {"devmap-680 nvidia": {n: [v] * 3 for n, v in same.items()}},
                       _SHIFT: {"devmap-680 nvidia": {n: [v] * 3 for n, v in shifted.items()}}}}


def test_rows_put_every_run_beside_every_twin_and_name_the_best_control(tmp_path: Path):
    same = {"encoder": 82.0, "run-b": 81.0, "twin0": 82.5, "twin1": 81.5, "opcode-histogram": 86.0}
    shifted = {"encoder": 70.0, "run-b": 66.0, "twin0": 60.0, "twin1": 52.0,
               "opcode-histogram": 58.0}
    summary = {"level_shift_graph": _section(same, shifted)}
    rows = effect_rows(summary)
    assert [(r.measure.split(",")[0], r.setting) for r in rows] == [
        ("cross-level retrieval", "O0 against O1 or O2"),
        ("DevMap leakage-free at the protocol's level", f"devmap-680 nvidia, {_SAME}"),
        ("DevMap leakage-free across levels", f"devmap-680 nvidia, {_SHIFT}")]
    retrieval, same_row, shifted_row = rows
    assert retrieval.runs == pytest.approx([30.0, 20.0]) and retrieval.twins == pytest.approx(
        [10.0, 8.0])
    assert retrieval.control == ("opcode-histogram", pytest.approx(25.0))  # runs are not controls
    assert same_row.lead == pytest.approx(-0.5) and same_row.above_best_twin == 0
    assert shifted_row.lead == pytest.approx(12.0) and shifted_row.above_best_twin == 2
    text = "\n".join(effects_markdown(summary))
    assert ("| `graph` | DevMap leakage-free across levels, accuracy % | devmap-680 nvidia, "
            f"{_SHIFT} | 68.0 (66.0–70.0) (2) | 56.0 (52.0–60.0) (2) | +12.0 | **2 of 2** | "
            "opcode-histogram 58.0 |") in text
    assert "Most runs above every twin in 2 of 3 rows" in text
    assert "At one level (train = test) the lead lies between -0.5 and -0.5 points." in text
    png = draw_effects(rows, tmp_path / "effects.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_level_shift_section_no_table():
    assert effect_rows({}) == [] and effects_markdown({"probes": {}}) == []
    # a section without twins scored gives no row rather than a comparison with nothing
    section = _section({"encoder": 80.0}, {"encoder": 70.0})
    assert [r.measure for r in effect_rows({"level_shift": section})] == [
        "cross-level retrieval, DevMap kernels, precision@1 %"]
