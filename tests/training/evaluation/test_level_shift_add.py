"""Adding rows to a recorded level-shift section: names, the rescoring check, the merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation.level_shift_add import (
    check_rows,
    largest_difference,
    main,
    merge_rows,
    parse_rows,
)
from mirencoder.training.evaluation.summary import SCHEMA_VERSION

PAIRS = ["trained at O2, tested at O2", "trained at O2, tested at O0"]
SETTINGS = ["devmap-680 amd", "devmap-680 nvidia"]


def _section() -> dict:
    rows = {"twin0": 80.0, "opcode-histogram": 85.0, "run-a": 82.0}
    return {
        "levels": ["O0", "O2"], "pairs": [["O2", "O2"], ["O2", "O0"]], "fractions": PAIRS,
        "settings": SETTINGS, "twins": ["twin0"], "embedding": "fused", "seeds": 2,
        "controls": ["opcode-histogram", "run-a"], "labels": {"run-a": "pre-trained encoder, run-a"},
        "packages": {"encoder": "runs/x/encoder", "twin0": "runs/twins/twin0", "run-a": "runs/a"},
        "scores": {pair: {s: {name: [v + i, v + i + 1] for name, v in rows.items()}
                          for i, s in enumerate(SETTINGS)} for pair in PAIRS},
        "retrieval": {name: {"precision_at_1": 0.1, "pairs": {"O0->O2": 0.1, "O2->O0": 0.1}}
                      for name in rows},
        "note": "recorded",
    }


def _new(names: dict[str, float], p_at_1: float = 0.1) -> dict:
    return {"scores": {pair: {s: {n: [v + i, v + i + 1] for n, v in names.items()}
                              for i, s in enumerate(SETTINGS)} for pair in PAIRS},
            "retrieval": {n: {"precision_at_1": p_at_1,
                              "pairs": {"O0->O2": p_at_1, "O2->O0": p_at_1}} for n in names}}


def test_rows_are_named_once_and_never_over_a_twin_or_a_control():
    section = _section()
    assert parse_rows(["run-b=runs/b"], section) == {"run-b": "runs/b"}
    for bad, match in ((["run-b"], "NAME=PACKAGE"), (["run-b=x", "run-b=y"], "twice"),
                       (["twin0=x"], "already has"), (["opcode-histogram=x"], "already has"),
                       (["run-a=x"], "--replace")):
        with pytest.raises(ValueError, match=match):
            parse_rows(bad, section)
    assert parse_rows(["run-a=runs/a2"], section, replace=True) == {"run-a": "runs/a2"}
    with pytest.raises(ValueError, match="already has"):
        parse_rows(["twin0=x"], section, replace=True)


def test_the_check_passes_on_repeated_cells_and_names_each_moved_one():
    section = _section()
    assert check_rows(section, _new({"twin0": 80.0}), ["twin0"]) == []
    moved = _new({"twin0": 80.5})
    problems = check_rows(section, moved, ["twin0"])
    assert len(problems) == len(PAIRS) * len(SETTINGS) and "recorded [80.0, 81.0]" in problems[0]
    assert largest_difference(section, moved, ["twin0"]) == pytest.approx(0.5)
    assert check_rows(section, moved, ["twin0"], tolerance=0.5 + 1e-9) == []
    moved = _new({"twin0": 80.0})
    moved["retrieval"]["twin0"]["pairs"]["O0->O2"] = 0.5
    assert [p for p in check_rows(section, moved, ["twin0"]) if "retrieval" in p]
    assert check_rows(section, _new({}), ["twin0"])  # rescored without the row: refused
    assert check_rows(section, _new({"twin9": 1.0}), ["twin9"]) == [
        "twin9: the section holds no such row"]


def test_merge_adds_rows_after_the_extras_and_leaves_the_recorded_ones():
    section = _section()
    before = json.dumps(section, sort_keys=True)
    merged = merge_rows(section, _new({"run-b": 90.0}, 0.3), {"run-b": "runs/b"})
    assert json.dumps(section, sort_keys=True) == before  # not changed in place
    assert merged["controls"] == ["opcode-histogram", "run-a", "run-b"]
    assert merged["labels"]["run-b"] == "pre-trained encoder, run-b"
    assert merged["packages"]["run-b"] == "runs/b"
    cell = merged["scores"][PAIRS[1]][SETTINGS[1]]
    assert cell["run-b"] == [91.0, 92.0] and cell["twin0"] == [81.0, 82.0]
    assert merged["retrieval"]["run-b"]["precision_at_1"] == 0.3
    assert merged["retrieval"]["twin0"] == section["retrieval"]["twin0"]
    # a replaced row keeps its place and takes the new numbers
    again = merge_rows(section, _new({"run-a": 70.0}), {"run-a": "runs/a2"})
    assert again["controls"] == ["opcode-histogram", "run-a"]
    assert again["scores"][PAIRS[0]][SETTINGS[0]]["run-a"] == [70.0, 71.0]


def test_the_command_refuses_what_it_cannot_merge(tmp_path: Path, capsys):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.json").write_text(json.dumps(
        {"schema_version": SCHEMA_VERSION, "level_shift": _section()}))
    with pytest.raises(SystemExit):
        main(["level_shift_tokens", "x=runs/x", "--check", "twin0=t", "--from-report",
              str(tmp_path)])
    assert "holds no section 'level_shift_tokens'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["level_shift", "run-b=runs/b", "--check", "twin3=t", "--from-report",
              str(tmp_path)])
    assert "a NAME the section holds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["level_shift", "run-a=runs/b", "--check", "twin0=t", "--from-report",
              str(tmp_path)])
    assert "--replace" in capsys.readouterr().err


def test_added_rows_are_stated_under_the_table():
    from mirencoder.training.evaluation.level_shift_table import added_markdown

    section = merge_rows(_section(), _new({"run-b": 90.0}), {"run-b": "runs/b"})
    assert added_markdown(section) == ""
    section["added"] = [{"rows": ["run-b"], "checked": ["twin0"], "tolerance": 0.5,
                         "largest_difference": 0.4032, "seconds": 300.0}]
    text = added_markdown(section)
    assert "Rows added later, scored alone (run-b): twin0" in text and "within 0.40" in text
