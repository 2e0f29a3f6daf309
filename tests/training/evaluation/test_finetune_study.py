"""The fine-tuning study: folders of `eval devmap --finetune` runs -> RESULTS.md section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.training.evaluation.finetune import (
    FINETUNE_METHOD,
    HEAD_ONLY_READOUT_SUFFIX,
    UNTRAINED_FINETUNE_METHOD,
)
from mirencoder.training.evaluation.finetune_study import main
from mirencoder.training.evaluation.finetune_table import (
    collect_finetune,
    finetune_markdown,
    finetune_statements,
)
from mirencoder.training.evaluation.report_files import read_studies
from mirencoder.training.evaluation.report_markdown import render_studies

SETTINGS = {"epochs": 3, "encoder_lr": 1e-4, "head_lr": 1e-4, "probe_epochs": 500,
            "batch_size": 16, "hidden": 64, "modality": "fused"}


def _row(*accuracies: float) -> dict:
    return {"accuracy_mean": sum(accuracies) / len(accuracies),
            "per_seed": [{"accuracy": a} for a in accuracies]}


def _folder(root: Path, platform: str, rows: dict[str, tuple[float, ...]],
            encoder: str = "enc", settings: dict | None = None, task: str = "devmap-669"
            ) -> Path:
    """A folder as `mirencoder eval devmap --out-dir` writes it (the keys the study reads)."""
    folder = root / platform
    (folder / "results").mkdir(parents=True)
    summary = {
        "results": {task: {"leakage-free": {platform: {
            m: _row(*v) for m, v in rows.items()}}}},
        "tasks": {task: {"seeds": 2, "own_head_settings": {
            FINETUNE_METHOD: settings or SETTINGS, UNTRAINED_FINETUNE_METHOD: SETTINGS}}},
        "encoder": {"uri": encoder, "untrained_uri": "twin"}}
    (folder / "results" / "summary.json").write_text(json.dumps(summary))
    return folder


ROWS = {"encoder": (85.0, 86.0), "encoder-untrained": (84.0, 85.0),
        "encoder+mlp": (80.0, 81.0), "encoder-untrained+mlp": (82.0, 82.0),
        FINETUNE_METHOD: (83.0, 84.0), UNTRAINED_FINETUNE_METHOD: (80.0, 80.0),
        "runtime-only": (91.0, 92.0), "opcode-histogram+mlp": (83.0, 83.0)}


def test_two_platform_folders_merge_into_one_table_with_gaps(tmp_path: Path) -> None:
    folders = [_folder(tmp_path, "amd", ROWS), _folder(tmp_path, "nvidia", ROWS)]
    section = collect_finetune(folders)
    assert section["settings"] == ["devmap-669 amd", "devmap-669 nvidia"]
    assert section["encoder"] == "enc" and section["twin"] == "twin"
    text = finetune_markdown(section)
    # seed by seed: (83-80 + 84-80) / 2 = +3.5 fine-tuned; frozen XGBoost +1.0; frozen MLP -1.5
    assert "| MLP, fine-tuned end to end | **pre-trained minus twin** | **+3.5** | **+3.5** |" in text
    assert "| XGBoost, frozen (the protocol's head) | **pre-trained minus twin** | **+1.0** |" in text
    assert "**-1.5**" in text and "| MLP, frozen | opcode histogram | 83.0 ± 0.0 | 83.0 ± 0.0 |" in text
    assert "encoder lr 0.0001" in text
    (line,) = finetune_statements(section)
    assert "devmap-669 amd 83.5 % (+3.5 against the twin; frozen under XGBoost +1.0)" in line


def test_study_publishes_a_section_a_figure_and_a_targets_line(tmp_path: Path) -> None:
    folders = [_folder(tmp_path, "amd", ROWS)]
    report = tmp_path / "report"
    assert main([str(f) for f in folders] + ["--report-dir", str(report), "--note", "n"]) == 0
    summary = json.loads((report / "results" / "summary.json").read_text())
    assert summary["finetuning"]["figure"] == "results/finetuning.png"
    assert (report / "results" / "finetuning.png").stat().st_size > 0
    text, study = (report / "RESULTS.md").read_text(), read_studies(report)
    assert "## Fine-tuning the encoder end to end (DevMap leakage-free)" in study
    assert "**fine-tuned end to end**" in text  # its line in the Targets list
    assert "![fine-tuning against the twin](../results/finetuning.png)" in study
    assert "".join(render_studies(summary).values()).count(
        "## Fine-tuning the encoder end to end") == 1


def test_bad_folders_get_clear_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(ValueError, match="no results/summary.json"):
        collect_finetune([tmp_path / "missing"])
    frozen_only = {k: v for k, v in ROWS.items() if "finetune" not in k}
    with pytest.raises(ValueError, match="encoder-untrained\\+finetune"):
        collect_finetune([_folder(tmp_path, "amd", frozen_only)])
    a = _folder(tmp_path / "a", "amd", ROWS)
    with pytest.raises(ValueError, match="also in another folder"):
        collect_finetune([a, _folder(tmp_path / "b", "amd", ROWS)])
    with pytest.raises(ValueError, match="its encoder differs"):
        collect_finetune([a, _folder(tmp_path / "c", "nvidia", ROWS, encoder="other")])
    with pytest.raises(SystemExit):
        main([str(tmp_path / "missing")])
    assert "no results/summary.json" in capsys.readouterr().err


TWIN_ROWS = {"encoder": (83.0, 84.0), "encoder+mlp": (78.0, 80.0), FINETUNE_METHOD: (82.0, 82.0)}


def _twin_folder(root: Path, platform: str, name: str, rows: dict = TWIN_ROWS,
                 settings: dict | None = None, task: str = "devmap-669") -> Path:
    """A twin run alone: `eval devmap --finetune --model TWIN`, so its rows are named encoder*."""
    folder = _folder(root / name, platform, rows, encoder=name, settings=settings, task=task)
    summary = json.loads((folder / "results" / "summary.json").read_text())
    summary["encoder"]["untrained_uri"] = None
    (folder / "results" / "summary.json").write_text(json.dumps(summary))
    return folder


def test_more_twins_come_as_twin_folders_and_the_gap_is_to_their_mean(tmp_path: Path) -> None:
    folders = [_folder(tmp_path, "amd", ROWS)]
    twins = [_twin_folder(tmp_path, "amd", "twin1"),
             _twin_folder(tmp_path, "amd", "twin2", {**TWIN_ROWS, FINETUNE_METHOD: (86.0, 86.0)})]
    section = collect_finetune(folders, twins)
    assert section["twins"] == ["twin", "twin1", "twin2"]
    text = finetune_markdown(section)
    # fine-tuned twins' means 80, 82, 86 -> 82.7 ± 3.1 (80.0–86.0); pre-trained 83.5 -> +0.8
    assert "| MLP, fine-tuned end to end | untrained twins (3) | 82.7 ± 3.1 (80.0–86.0) |" in text
    assert "| MLP, fine-tuned end to end | **pre-trained minus twins' mean** | **+0.8** |" in text
    # frozen XGBoost twins 84.5, 83.5, 83.5 -> pre-trained 85.5 is +1.7 ahead
    assert "| XGBoost, frozen (the protocol's head) | **pre-trained minus twins' mean** | **+1.7** |" in text
    assert "`twin`, `twin1`, `twin2`" in text and str(twins[1]) in text
    (line,) = finetune_statements(section)
    assert "its 3 untrained twins" in line
    assert "83.5 % (+0.8 against the twins' mean, above 2 of 3 twins; frozen under XGBoost +1.7)" in line
    report = tmp_path / "report"
    args = [str(folders[0]), "--twin-folders", *map(str, twins), "--report-dir", str(report)]
    assert main(args) == 0
    assert (report / "results" / "finetuning.png").stat().st_size > 0


def test_bad_twin_folders_get_clear_errors(tmp_path: Path) -> None:
    folders = [_folder(tmp_path, "amd", ROWS)]
    with pytest.raises(ValueError, match="not a twin of 'enc'"):
        collect_finetune(folders, [_twin_folder(tmp_path, "amd", "enc")])
    other = {**SETTINGS, "encoder_lr": 1e-5}
    with pytest.raises(ValueError, match="fine-tuned with other settings"):
        collect_finetune(folders, [_twin_folder(tmp_path / "b", "amd", "t", settings=other)])
    frozen = {k: v for k, v in TWIN_ROWS.items() if k != FINETUNE_METHOD}
    with pytest.raises(ValueError, match="no encoder\\+finetune row"):
        collect_finetune(folders, [_twin_folder(tmp_path / "c", "amd", "t", frozen)])
    twin = _twin_folder(tmp_path / "d", "amd", "t")
    with pytest.raises(ValueError, match="also in another folder"):
        collect_finetune(folders, [twin, _twin_folder(tmp_path / "e", "amd", "t")])
    both = folders + [_folder(tmp_path / "f", "nvidia", ROWS)]
    with pytest.raises(ValueError, match="twin t has no fine-tuned result for devmap-669 nvidia"):
        collect_finetune(both, [twin])


def test_a_section_stored_before_twin_folders_still_renders(tmp_path: Path) -> None:
    section = collect_finetune([_folder(tmp_path, "amd", ROWS)])
    stored = {k: v for k, v in section.items() if k not in ("twin_scores", "twins", "twin_folders")}
    assert finetune_markdown(stored) == finetune_markdown(section)
    assert "| MLP, fine-tuned end to end | untrained twin | 80.0 ± 0.0 |" in finetune_markdown(stored)


def test_the_xgboost_readout_of_the_fine_tuned_encoders_is_a_fourth_pair(tmp_path: Path) -> None:
    readout = {**ROWS, FINETUNE_METHOD + "+xgboost": (88.0, 89.0),
               UNTRAINED_FINETUNE_METHOD + "+xgboost": (85.0, 85.0)}
    settings = {**SETTINGS, "xgboost_readout": True}
    section = collect_finetune([_folder(tmp_path, "amd", readout, settings=settings)])
    text = finetune_markdown(section)
    assert ("| XGBoost on the fine-tuned encoder | **pre-trained minus twin** | **+3.5** |"
            in text)
    assert "also read by the protocol's XGBoost head" in text
    (line,) = finetune_statements(section)
    assert "fine-tuned, read by XGBoost 88.5 % (+3.5)" in line
    # without the readout rows, no fourth pair and no words about it
    plain = collect_finetune([_folder(tmp_path / "plain", "amd", ROWS)])
    assert "XGBoost on the fine-tuned encoder" not in finetune_markdown(plain)
    assert "read by XGBoost" not in finetune_statements(plain)[0]


def test_another_runs_study_is_its_own_named_section(tmp_path: Path) -> None:
    report = tmp_path / "report"
    first = [str(_folder(tmp_path / "a", "amd", ROWS))]
    second = [str(_folder(tmp_path / "b", "amd", ROWS, encoder="enc2"))]
    assert main(first + ["--report-dir", str(report)]) == 0
    assert main(second + ["--report-dir", str(report), "--name", "seed1"]) == 0
    summary = json.loads((report / "results" / "summary.json").read_text())
    assert summary["finetuning"]["encoder"] == "enc"
    assert summary["finetuning-seed1"]["encoder"] == "enc2"
    assert summary["finetuning-seed1"]["figure"] == "results/finetuning-seed1.png"
    text, study = (report / "RESULTS.md").read_text(), read_studies(report)
    assert study.index("(DevMap leakage-free)\n") < study.index("(DevMap leakage-free): seed1\n")
    assert "**fine-tuned end to end**" in text and "**fine-tuned end to end, seed1**" in text
    with pytest.raises(SystemExit):
        main(second + ["--name", "no spaces"])


def test_recorded_studies_merge_with_a_new_twin_into_one_section(tmp_path: Path,
                                                                 capsys) -> None:
    """Two studies of one run (680 rows with twins 1 and 2, 669 rows with twin 1 only) whose
    folders are gone, merged with twin 2's new 669 folder: one section, three twins on every
    setting, the 669 study's key and figure dropped."""
    report = tmp_path / "report"
    old = tmp_path / "old"
    first = [_folder(old / "680", "amd", ROWS, task="devmap-680"),
             "--twin-folders",
             _twin_folder(old / "680", "amd", "twin1", task="devmap-680"),
             _twin_folder(old / "680", "amd", "twin2", task="devmap-680")]
    second = [_folder(old / "669", "amd", ROWS), "--twin-folders",
              _twin_folder(old / "669", "amd", "twin1")]
    assert main([*map(str, first), "--report-dir", str(report), "--name", "s"]) == 0
    assert main([*map(str, second), "--report-dir", str(report), "--name", "s-669"]) == 0
    new_twin = _twin_folder(tmp_path / "new", "amd", "twin2",
                            {**TWIN_ROWS, FINETUNE_METHOD: (86.0, 86.0)})
    assert (report / "results" / "finetuning-s-669.png").exists()
    import shutil

    shutil.rmtree(old)
    assert main(["--twin-folders", str(new_twin), "--recorded", "finetuning-s",
                 "finetuning-s-669", "--name", "s", "--report-dir", str(report)]) == 0
    summary = json.loads((report / "results" / "summary.json").read_text())
    assert "finetuning-s-669" not in summary
    assert not (report / "results" / "finetuning-s-669.png").exists()  # its figure too
    assert (report / "results" / "finetuning-s.png").exists()
    section = summary["finetuning-s"]
    assert section["settings"] == ["devmap-669 amd", "devmap-680 amd"]
    assert section["twins"] == ["twin", "twin1", "twin2"]
    assert str(new_twin) in section["twin_folders"] and len(section["folders"]) == 2
    text = finetune_markdown(section)
    # 669: fine-tuned twins 80, 82, 86 -> pre-trained 83.5 is +0.8; 680: 80, 82, 82 -> +2.2
    assert "| MLP, fine-tuned end to end | **pre-trained minus twins' mean** | **+0.8** | **+2.2** |" in text
    rendered = read_studies(report)
    assert rendered.count("## Fine-tuning the encoder end to end") == 1
    assert "](studies/finetuning-s.md)" in (report / "RESULTS.md").read_text()
    # bad uses: no report, an unknown study, a study of another encoder
    for args, words in ((["--recorded", "finetuning-s"], "give --report-dir"),
                        (["--recorded", "finetuning-x", "--report-dir", str(report)],
                         "no such fine-tuning study")):
        with pytest.raises(SystemExit):
            main(args)
        assert words in capsys.readouterr().err
    other = _folder(tmp_path / "other", "nvidia", ROWS, encoder="enc2")
    with pytest.raises(ValueError, match="its encoder differs"):
        collect_finetune([other], recorded=[section])


def test_a_stacked_study_names_its_heads_and_shows_the_head_only_rows(tmp_path: Path) -> None:
    """``runtime_base`` + ``head_only_readout``: the fine-tuning's own MLP rows say
    "stacked", the frozen MLP does not, and the head before the end-to-end epochs gets its
    pair of rows with a gap."""
    stacked = {**SETTINGS, "runtime_base": True, "runtime_base_folds": 5,
               "head_only_readout": True}
    head_only = FINETUNE_METHOD + HEAD_ONLY_READOUT_SUFFIX
    rows = {**ROWS, head_only: (90.0, 91.0),
            UNTRAINED_FINETUNE_METHOD + HEAD_ONLY_READOUT_SUFFIX: (89.0, 89.0),
            "encoder+stacked": (92.0, 92.0), "encoder-untrained+stacked": (90.0, 90.0),
            "runtime-only+stacked": (91.0, 91.0)}
    section = collect_finetune([_folder(tmp_path, "amd", rows, settings=stacked)])
    text = finetune_markdown(section)
    assert "| stacked MLP, head-only epochs, frozen | **pre-trained minus twin** | **+1.5** |" in text
    assert "| stacked MLP, fine-tuned end to end | pre-trained encoder |" in text
    assert "| MLP, frozen | pre-trained encoder |" in text  # sklearn's MLP: never stacked
    assert ("| stacked MLP, frozen (--heads stacked) | **pre-trained minus twin** | **+2.0** |"
            in text)
    assert "| stacked MLP, frozen (--heads stacked) | run-time inputs only | 91.0 ± 0.0 |" in text
    assert "stacked on the protocol's XGBoost over the run-time inputs alone" in text
    assert "out of fold over 5 inner folds" in text
    assert "also read as it stood after the head-only epochs" in text
    plain = finetune_markdown(collect_finetune([_folder(tmp_path / "plain", "amd", ROWS)]))
    assert "stacked MLP" not in plain and "head-only epochs, frozen" not in plain
    assert "stacked on the protocol" not in plain
