"""Compiler decisions by arm: probe folders grouped into arms, their tables, the comparison with
the twins, refusals of folders that scored other programs, and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation import decision_probe_study
from mirencoder.training.evaluation.decision_probe_table import (
    COLUMNS,
    HEADLINE,
    decision_probe_markdown,
    decision_probe_statements,
    decision_section,
    draw_decision_probe,
    probe_row,
)
from mirencoder.training.evaluation.report_files import read_studies

COUNTS = {"programs": {"jotaibench": 540, "neurovectorizer-loops": 283},
          "groups": {"source": 823, "template": 575}}


def _scores(accuracy: float) -> dict:
    return {"accuracy": accuracy, "macro_f1": accuracy - 0.1,
            "by_corpus": {"jotaibench": {"accuracy": accuracy - 0.05, "macro_f1": 0.5},
                          "neurovectorizer-loops": {"accuracy": accuracy + 0.05,
                                                    "macro_f1": 0.6}}}


def _folder(root: Path, name: str, accuracy: dict[str, float], map_at_r: float | None = 0.5,
            counts: dict | None = None) -> Path:
    """A probes.json as `mirencoder eval probes` writes it, with the fields the study reads:
    ``accuracy`` maps each method to its accuracy on every task and grouping."""
    tasks = {task: {"majority": _scores(0.75),
                    "methods": {m: _scores(a) for m, a in accuracy.items()}}
             for task in ("vectorized", "vf", "ic")}
    data = {"methods": {m: {} for m in accuracy},
            "retrieval": {"methods": {m: {"map_at_r": map_at_r} for m in accuracy
                                      if map_at_r is not None}},
            "decisions": {"counts": counts or COUNTS,
                          "groupings": {"source": tasks, "template": tasks}}}
    folder = root / name
    folder.mkdir()
    (folder / "probes.json").write_text(json.dumps(data))
    return folder


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {"a": _folder(tmp_path, "a", {"encoder": 0.80, "encoder-graph": 0.9}),
            "b": _folder(tmp_path, "b", {"encoder": 0.76}),
            "t0": _folder(tmp_path, "t0", {"encoder": 0.70}, 0.2),
            "t1": _folder(tmp_path, "t1", {"encoder": 0.78}, 0.2),
            "controls": _folder(tmp_path, "controls",
                                {"opcode-histogram": 0.74, "program-size": 0.75}, None)}


def test_rows_arms_controls_and_the_comparison_with_the_twins(folders):
    values, counts = probe_row(f"{folders['a']}#encoder-graph")
    assert values[0] == 0.5 and values[COLUMNS.index(HEADLINE)] == pytest.approx(90.0)
    assert counts == COUNTS
    section = decision_section([("runs", [str(folders["a"]), str(folders["b"])]),
                                ("twins", [str(folders["t0"]), str(folders["t1"])])],
                               ["twins"], str(folders["controls"]), "what it shows")
    assert list(section["controls"]) == ["majority class", "opcode-histogram", "program-size"]
    assert section["controls"]["majority class"][1] == pytest.approx(75.0)
    assert section["controls"]["opcode-histogram"][0] is None  # no retrieval row
    statements = decision_probe_statements(section)
    assert statements == ["runs (against twins): vectorised? accuracy (template folds) 78.0 against 74.0 "
                          "(+4.0 points; 1 of 2 runs above the best twin); vectorised? macro-F1 "
                          "(template folds) 68.0 against 64.0 (+4.0 points; 1 of 2 runs above "
                          "the best twin); jotaibench: vectorised? macro-F1 (template folds) "
                          "50.0 against 50.0 (+0.0 points; 0 of 2 runs above the best twin); "
                          "neurovectorizer-loops: vectorised? macro-F1 (template folds) 60.0 "
                          "against 60.0 (+0.0 points; 0 of 2 runs above the best twin)"]
    table = decision_probe_markdown(section)
    assert "| runs (2) | 0.500 (0.500–0.500) | 78.0 (76.0–80.0) |" in table
    assert "| opcode-histogram | – | 74.0 |" in table and "| majority class | – | 75.0 |" in table
    assert "Programs: jotaibench 540, neurovectorizer-loops 283; groups: source 823" in table
    assert "what it shows" in table
    assert section["columns"][len(COLUMNS):] == [
        "jotaibench: vectorised? accuracy (template folds)",
        "jotaibench: vectorised? macro-F1 (template folds)",
        "neurovectorizer-loops: vectorised? accuracy (template folds)",
        "neurovectorizer-loops: vectorised? macro-F1 (template folds)"]
    assert "| runs (2) | 73.0 (71.0–75.0) | 50.0 (50.0–50.0) | 83.0 (81.0–85.0) |" in table
    assert "| majority class | 70.0 | 50.0 | 80.0 | 60.0 |" in table


def test_each_output_is_measured_against_the_twins_of_the_same_output(tmp_path):
    runs = _folder(tmp_path, "runs", {"encoder": 0.8, "encoder-graph": 0.9})
    twins = _folder(tmp_path, "twins", {"encoder": 0.7, "encoder-graph": 0.85})
    section = decision_section(
        [("fused", [str(runs)]), ("graph", [f"{runs}#encoder-graph"]),
         ("twins", [str(twins)]), ("twins graph", [f"{twins}#encoder-graph"]),
         ("tokens", [str(runs)])], ["twins", "twins graph"], None)
    statements = decision_probe_statements(section)
    assert [s.split(": ")[0] for s in statements] == [
        "fused (against twins)", "graph (against twins graph)", "tokens (against twins)"]
    assert "90.0 against 85.0 (+5.0 points" in statements[1]


def test_folders_of_other_programs_and_unknown_rows_are_refused(tmp_path, folders):
    other = _folder(tmp_path, "other", {"encoder": 0.8},
                    counts={**COUNTS, "groups": {"source": 293, "template": 45}})
    with pytest.raises(ValueError, match="other programs"):
        decision_section([("runs", [str(folders["a"]), str(other)])], ["runs"], None)
    with pytest.raises(ValueError, match="no method 'encoder-tokens'"):
        decision_section([("runs", [f"{folders['a']}#encoder-tokens"])], ["runs"], None)
    with pytest.raises(ValueError, match="no probes.json"):
        decision_section([("runs", [str(tmp_path / "nowhere")])], ["runs"], None)
    with pytest.raises(ValueError, match="not an arm label"):
        decision_section([("runs", [str(folders["a"])])], ["twins"], None)
    with pytest.raises(ValueError, match="different methods"):
        decision_section([("runs", [str(folders["a"]), f"{folders['b']}#encoder-graph"])],
                         ["runs"], None)
    with pytest.raises(ValueError, match="same method"):
        decision_section([("t", [str(folders["t0"])]), ("u", [str(folders["t1"])])],
                         ["t", "u"], None)


def test_the_command_publishes_the_section_with_its_figure(tmp_path, folders, render_with,
                                                           capsys):
    arms = ["--arm", f"runs={folders['a']}|{folders['b']}",
            "--arm", f"twins={folders['t0']}|{folders['t1']}"]
    assert decision_probe_study.main([*arms, "--twins", "twins",
                                      "--controls", str(folders["controls"])]) == 0
    assert "| runs (2) | 0.500 (0.500–0.500) |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        decision_probe_study.main([*arms, "--twins", "nobody"])
    section = decision_section([("runs", [str(folders["a"])]),
                                ("twins", [str(folders["t0"])])], ["twins"],
                               str(folders["controls"]))
    png = draw_decision_probe(section, tmp_path / "results" / "decision_probe_arms.png")
    assert png.stat().st_size > 1000
    rendered = render_with("decision_probe_arms", section)
    assert "## Compiler decisions on the enlarged probe" in rendered
    assert "| runs (1) |" in rendered


def test_append_adds_arms_to_the_recorded_section_beside_its_twins(tmp_path, folders, capsys):
    """A later session's arms join the published section: the recorded arms keep their values
    (their folders are gone), the new ones sit before the twins of their output and are
    measured against them; relabelling a recorded arm or other programs are refused."""
    report = tmp_path / "report"
    twins = ["--arm", f"twins={folders['t0']}|{folders['t1']}", "--twins", "twins"]
    assert decision_probe_study.main(["--arm", f"old={folders['b']}", *twins, "--controls",
                                      str(folders["controls"]), "--note", "first",
                                      "--report-dir", str(report)]) == 0
    for name in ("b", "t0", "t1"):
        (folders[name] / "probes.json").unlink()  # a fresh machine: only the record is left
    assert decision_probe_study.main(["--arm", f"new={folders['a']}", "--twins", "twins",
                                      "--note", "second", "--report-dir", str(report),
                                      "--append"]) == 0
    summary = json.loads((report / "results" / "summary.json").read_text())
    section = summary["decision_probe_arms"]
    assert [a["label"] for a in section["arms"]] == ["old", "new", "twins"]
    assert section["note"] == "first\n\nsecond" and section["twins"] == ["twins"]
    assert "opcode-histogram" in section["controls"]
    statements = decision_probe_statements(section)
    assert any(s.startswith("new (against twins): vectorised? accuracy (template folds) 80.0 "
                            "against 74.0 (+6.0 points; 1 of 1 runs above the best twin)")
               for s in statements)
    assert "| new (1) |" in read_studies(report)
    capsys.readouterr()
    with pytest.raises(SystemExit):  # the label is taken
        decision_probe_study.main(["--arm", f"new={folders['a']}", "--report-dir", str(report),
                                   "--append"])
    assert "already in the recorded section" in capsys.readouterr().err
    other = _folder(tmp_path, "other", {"encoder": 0.8},
                    counts={**COUNTS, "groups": {"source": 800, "template": 575}})
    with pytest.raises(SystemExit):
        decision_probe_study.main(["--arm", f"later={other}", "--report-dir", str(report),
                                   "--append"])
    assert "other programs" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # nothing recorded there
        decision_probe_study.main(["--arm", f"new={folders['a']}", "--report-dir",
                                   str(tmp_path / "empty"), "--append"])
