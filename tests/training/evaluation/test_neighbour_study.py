"""The neighbour-label study: folders read into rows, the page's table, the Targets line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation.neighbour_study import KEY, main
from mirencoder.training.evaluation.neighbour_study_table import (
    collect_neighbour_study,
    neighbour_study_markdown,
    neighbour_study_statements,
)
from mirencoder.training.evaluation.report_files import read_studies


def _folder(root: Path, name: str, methods: dict[str, float]) -> None:
    results = {task: {"leakage-free": {platform: {
        m: {"accuracy_mean": value + (1.0 if platform == "nvidia" else 0.0)}
        for m, value in methods.items()} for platform in ("amd", "nvidia")}}
        for task in ("devmap-669", "devmap-680")}
    (root / name / "results").mkdir(parents=True)
    (root / name / "results" / "summary.json").write_text(json.dumps({"results": results}))


@pytest.fixture()
def study_root(tmp_path: Path) -> Path:
    root = tmp_path / "neighbours"
    for head, shift in (("xgb", 0.0), ("k5", 2.0)):
        _folder(root, f"encoder-{head}", {"encoder": 86.0 + shift, "encoder-graph": 85.0,
                                          "static": 59.0})
        for seed, value in ((0, 84.0), (1, 85.0), (2, 86.0)):
            _folder(root, f"twin{seed}-{head}", {"encoder": value, "encoder-graph": 84.0})
        _folder(root, f"controls-{head}", {"opcode-histogram": 87.0 - shift,
                                           "runtime-only": 91.8, "kernel-identity": 90.0})
    (root / "unrelated").mkdir()
    return root


def test_folders_become_rows_per_head(study_root):
    section = collect_neighbour_study(study_root)
    assert section["heads"] == ["xgb", "k5"] and section["twin_seeds"] == [0, 1, 2]
    assert section["settings"] == ["devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd",
                                   "devmap-680 nvidia"]
    scores = section["scores"]
    assert scores["twins"]["devmap-669 amd"]["k5"] == [84.0, 85.0, 86.0]
    assert scores["encoder"]["devmap-669 nvidia"]["k5"] == [89.0]
    assert scores["opcode-histogram"]["devmap-680 amd"] == {"xgb": [87.0], "k5": [85.0]}
    # The twins' rows come from their folders' encoder rows, never the encoder's; bounds and
    # unlisted controls are left out.
    assert "static" not in scores and "kernel-identity" not in scores
    markdown = neighbour_study_markdown({**section, "note": "Why."})
    assert "| devmap-669 amd | untrained twins (fused) | 85.0 ± 1.0 (84.0–86.0) | 85.0 ± 1.0 " \
           "(84.0–86.0) |" in markdown
    assert "| devmap-669 amd | **pre-trained minus twins' mean (fused)** | **+1.0** | **+3.0** |" \
        in markdown
    assert "labels of the 5 nearest training programs" in markdown
    line, = neighbour_study_statements(section)
    assert "devmap-680 nvidia protocol +1.0, K=5 +3.0" in line and "3 twins' mean" in line
    assert neighbour_study_statements({}) == []
    with pytest.raises(ValueError, match="no <encoder"):
        collect_neighbour_study(study_root / "unrelated")


def test_the_command_publishes_a_page_with_its_figure(study_root, tmp_path, capsys):
    report = tmp_path / "report"
    assert main([str(study_root), "--note", "A note.", "--report-dir", str(report)]) == 0
    summary = json.loads((report / "results" / "summary.json").read_text())
    assert summary[KEY]["figure"] == "results/neighbour_labels.png"
    assert (report / "results" / "neighbour_labels.png").stat().st_size > 0
    studies = read_studies(report)
    assert "What a representation's neighbours tell the DevMap head" in studies
    assert "A note." in studies and "**+3.0**" in studies
    assert "DevMap leakage-free through neighbours" in (report / "RESULTS.md").read_text()
    assert "pre-trained minus twins" in capsys.readouterr().out
