"""The field's pre-trained embedding against its untrained twins (``peer_twins.py`` and its
table): rows from evaluation summaries, the section, the Targets line, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation.peer_twins import main
from mirencoder.training.evaluation.peer_twins_table import (
    collect_peer_rows,
    draw_peer_twins,
    peer_statements,
    peer_twins_markdown,
)

TWINS = [f"ir2vec-fa@runs/ir2vec-twins/rand{k}" for k in range(4)]


def _scores(trained: float, twins: list[float], metric: str) -> dict:
    return {name: {f"{metric}_mean": value, "n_seeds": 3}
            for name, value in zip(["ir2vec-fa", *TWINS], [trained, *twins], strict=True)}


def _devmap_summary() -> dict:
    return {"published": {"devmap": {"IR2Vec flow-aware": {"amd": {"accuracy": 92.8},
                                                           "nvidia": {"accuracy": 89.7}}}},
            "results": {"devmap-669": {
                "literature-rs104": {"amd": _scores(91.0, [90.0, 91.5, 90.5, 92.0], "accuracy"),
                                     "nvidia": _scores(88.0, [85.0, 86.0, 85.5, 86.5],
                                                       "accuracy")},
                "leakage-free": {"amd": {"opcode-histogram": {"accuracy_mean": 87.0},
                                         **_scores(85.0, [84.0, 86.0, 85.0, 85.0],
                                                   "accuracy")}}}}}


def _coarsening_summary() -> dict:
    return {"published": {"thread-coarsening": {"IR2Vec flow-aware": {"average": {
                "speedup": 1.238}}}},
            "results": {"thread-coarsening": {"literature": {
                "average": _scores(1.233, [1.231, 1.244, 1.235, 1.242], "speedup"),
                "tahiti": _scores(1.3, [1.2, 1.2, 1.2, 1.2], "speedup")}}}}


def test_rows_pair_the_released_vocabulary_with_its_twins_and_the_published_number():
    section = collect_peer_rows([_devmap_summary(), _coarsening_summary()], "ir2vec-fa")
    assert section["twins"] == TWINS
    settings = [(r["task"], r["protocol"], r["platform"]) for r in section["rows"]]
    assert settings == [("devmap-669", "literature-rs104", "amd"),
                        ("devmap-669", "literature-rs104", "nvidia"),
                        ("devmap-669", "leakage-free", "amd"),
                        ("thread-coarsening", "literature", "average")]  # platforms: average
    first, _, free, speed = section["rows"]
    assert first["published"] == 92.8 and free["published"] is None  # measured at rs104 only
    assert speed["published"] == 1.238 and speed["metric"] == "speedup"
    assert free["twins"] == [84.0, 86.0, 85.0, 85.0]
    with pytest.raises(ValueError, match="no setting holds ir2vec-sym"):
        collect_peer_rows([_devmap_summary()], "ir2vec-sym")


def test_the_page_and_the_targets_line_count_settings_above_every_twin(tmp_path: Path):
    section = collect_peer_rows([_devmap_summary(), _coarsening_summary()], "ir2vec-fa")
    page = peer_twins_markdown(section)
    assert "| devmap-669 literature-rs104 NVIDIA | 88.0 | 85.8 (85.0-86.5) | +2.2 | 4 of 4 | " \
        "89.7 |" in page
    assert "| thread-coarsening literature | 1.233x | 1.238x (1.231x-1.244x) | -0.005x | " \
        "1 of 4 | 1.238x |" in page
    assert "above every random one on 1 of 4 settings and below every one on 0" in page
    assert "+2 or more on 1 of 3 settings" in page
    assert "thread-coarsening literature 1.238x (random vocabularies 1.231x-1.244x)" in page
    [line] = peer_statements(section)
    assert "above every random vocabulary on 1 of 4 settings; DevMap leads +0.0 to +2.2 " \
        "points, +2 on 1 of 3; thread-coarsening literature 1.233x against 1.231x-1.244x." in line
    assert peer_statements({}) == []
    png = draw_peer_twins(section, tmp_path / "p.png")
    assert png.is_file() and png.stat().st_size > 1000


def test_the_command_reads_evaluation_folders_and_refuses_others(tmp_path: Path, capsys,
                                                                 render_with):
    for name, summary in (("devmap", _devmap_summary()), ("tc", _coarsening_summary())):
        (tmp_path / name / "results").mkdir(parents=True)
        (tmp_path / name / "results" / "summary.json").write_text(json.dumps(summary))
    assert main([str(tmp_path / "devmap"), str(tmp_path / "tc"), "--note", "two folders"]) == 0
    assert "two folders" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nowhere")])
    assert "no results/summary.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "tc"), "--base", "opcode-histogram"])
    assert "no setting holds opcode-histogram" in capsys.readouterr().err
    section = collect_peer_rows([_devmap_summary()], "ir2vec-fa")
    text = render_with("peer_twins", section)
    assert "**the field's pre-trained embedding against its untrained twins**" in text
