"""Probe results, probe targets and the objective ablations in RESULTS.md / summary.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mirencoder.training.evaluation.ablation_table import ablations_markdown, collect_ablations
from mirencoder.training.evaluation.ablations import main
from mirencoder.training.evaluation.probes.targets import probe_target_statements
from mirencoder.training.evaluation.report_files import read_studies, update_report, write_report


def _probes(encoder_map: float, encoder_acc: float) -> dict:
    """A probes.json as `mirencoder eval probes` writes it (the parts the report reads)."""
    maps = {"encoder": encoder_map, "encoder-tokens": 0.4, "encoder-graph": 0.1,
            "encoder-untrained": 0.15, "opcode-histogram": 0.16, "random": 0.004}
    accs = {"encoder": encoder_acc, "encoder-untrained": 0.80, "opcode-histogram": 0.84}
    task = {"n": 100, "folds": 5, "classes": {"no": 50, "yes": 50},
            "majority": {"accuracy": 0.5, "macro_f1": 0.33, "n": 100},
            "methods": {m: {"accuracy": a, "macro_f1": a - 0.01, "n": 100}
                        for m, a in accs.items()}}
    return {"methods": {m: {"description": m} for m in maps}, "skipped": {},
            "retrieval": {"protocol": "MAP@R", "counts": {}, "methods": {
                m: {"map_at_r": v, "precision_at_1": v, "queries": 10, "by_corpus": {}}
                for m, v in maps.items()}},
            "decisions": {"protocol": "logreg", "counts": {},
                          "groupings": {"source": {"vectorized": task}}},
            "held_out": {"statement": "held out"}, "toolchain": {}, "encoder": {}, "timing": {}}


def _devmap_summary(amd: float) -> dict:
    cell = {"accuracy_mean": amd, "accuracy_std": 0.5}
    return {"results": {"devmap-669": {"leakage-free": {
        "amd": {"encoder": cell, "encoder-untrained": {"accuracy_mean": 80.0}},
        "nvidia": {"encoder": {"accuracy_mean": amd - 3}}}}}}


def test_probe_targets_say_reached_or_not():
    reached = probe_target_statements(_probes(0.40, 0.90))
    assert len(reached) == 2 and all("target reached" in line for line in reached)
    missed = probe_target_statements(_probes(0.20, 0.82))
    assert all("NOT reached" in line for line in missed)
    assert "target >= 0.300" in missed[0] and "target >= 0.260" in missed[0]
    assert probe_target_statements({}) == []
    named = probe_target_statements(_probes(0.40, 0.90), twin_label="seed-0 untrained twin")
    assert "; seed-0 untrained twin 0.150 (target >= 0.300)" in named[0]
    assert "template alone" not in named[1]
    probes = _probes(0.40, 0.90)
    task = probes["decisions"]["groupings"]["source"]["vectorized"]
    task["methods"]["template-identity"] = {"accuracy": 0.83, "macro_f1": 0.8, "n": 100}
    assert probe_target_statements(probes)[1].endswith(
        "Naming the generator template alone (template-identity, no program content): "
        "vectorised? 0.830.")


def test_probes_merge_into_results_md_beside_the_downstream_tables(tmp_path: Path):
    from test_eval_report import _devmap_run

    # Probes alone: a report without a chart; then a downstream run keeps the probes.
    paths = update_report(tmp_path, "probes", _probes(0.40, 0.90))
    text = paths["results_md"].read_text()
    assert "## Representation probes" in text and "probes, optimisation-invariance" in text
    assert not paths["chart_png"].exists()
    assert "![probes: retrieval and decisions](results/probes.png)" in text
    assert paths["probes_png"].read_bytes()[:4] == b"\x89PNG"
    write_report(_devmap_run(95.0), tmp_path, encoder={"uri": "x"}, command="eval devmap")
    summary = json.loads(paths["summary_json"].read_text())
    assert summary["probes"]["retrieval"]["methods"]["encoder"]["map_at_r"] == 0.40
    text = paths["results_md"].read_text()
    assert "## Representation probes" in text and "## Heterogeneous device mapping" in text


def test_ablations_are_collected_rendered_and_merged(tmp_path: Path, capsys):
    root = tmp_path / "ablations"
    for name, score in (("all", 0.40), ("no-variant", 0.15), ("no-mlm", None)):
        run = root / name
        (run / "probes").mkdir(parents=True)
        (run / "devmap" / "results").mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"final_step": 150}))
        if score is None:  # unfinished: no evaluations yet
            continue
        probes = _probes(score, 0.85)
        if name != "all":  # the twin is scored once
            del probes["retrieval"]["methods"]["encoder-untrained"]
        (run / "probes" / "probes.json").write_text(json.dumps(probes))
        (run / "devmap" / "results" / "summary.json").write_text(
            json.dumps(_devmap_summary(85.0)))
    ablations = collect_ablations(root)
    assert [r["name"] for r in ablations["rows"]] == ["all", "no-variant"]
    assert ablations["missing"] == ["no-mlm"]
    assert ablations["rows"][1]["map_fused"] == 0.15 and ablations["rows"][0]["steps"] == 150
    assert ablations["rows"][0]["devmap_nvidia"] == 82.0
    assert ablations["controls"]["untrained twin"]["map_fused"] == 0.15
    table = ablations_markdown(ablations)
    assert "| no-variant | − variant contrast | 0.150 |" in table and "Not finished: no-mlm" in table
    assert main([str(root), "--report-dir", str(tmp_path), "--steps", "150"]) == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary["ablations"]["meta"]["steps"] == 150
    assert "## Ablations" in (tmp_path / "RESULTS.md").read_text()


def test_seed_spread_of_the_full_runs_is_stated():
    rows = [{"name": "all", "removed": "none", "map_fused": 0.30, "devmap_amd": 85.0},
            {"name": "all-seed1", "removed": "none (seed 1)", "map_fused": 0.34,
             "devmap_amd": 86.0},
            {"name": "no-variant", "removed": "variant contrast", "map_fused": 0.10}]
    table = ablations_markdown({"rows": rows, "controls": {}, "missing": []})
    assert "seed spread of `all` (2 seeds" in table
    assert "MAP@R fused 0.320 ± 0.028" in table and "DevMap LF AMD % 85.5 ± 0.7" in table
    assert "seed spread" not in ablations_markdown({"rows": rows[2:], "controls": {}})


def test_leakage_free_statements_judge_the_pretraining_target():
    from test_eval_report import _cell, _coarsening_run, _devmap_run

    from mirencoder.training.evaluation.report_markdown import target_statements

    devmap = _devmap_run(95.0)
    for platform, cells in devmap["devmap-669"]["results"]["leakage-free"].items():
        cells["encoder-untrained"] = _cell(92.0 if platform == "amd" else 90.0, 3.0)
    coarsening = _coarsening_run()
    for cells in coarsening["thread-coarsening"]["results"]["leakage-free"].values():
        cells["encoder"] = _cell(30.0, 1.12)
    summary = {"results": {task: run["results"] for task, run in {**devmap, **coarsening}.items()}}
    lines = [line for line in target_statements(summary) if "leakage-free" in line]
    assert "Pre-training target (untrained twin + 2 points): reached (amd +3.0, nvidia +3.0" in lines[0]
    assert "Pre-training target (>= 1.10x): reached (1.120x)" in lines[1]


def test_runs_of_record_pair_each_run_with_its_twin(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.record_runs import main as record_main
    from mirencoder.training.evaluation.record_table import collect_run, runs_markdown

    folders = []
    for name, score in (("run-a", 0.40), ("run-b", 0.30)):
        folder = tmp_path / "eval" / name
        (folder / "probes").mkdir(parents=True)
        (folder / "devmap" / "results").mkdir(parents=True)
        (folder / "probes" / "probes.json").write_text(json.dumps(_probes(score, 0.85)))
        devmap = _devmap_summary(85.0)
        devmap["encoder"] = {"version": None, "lineage": {  # scored from a package folder
            "config_name": name, "dataset_name": f"data-{name}", "steps": 1500}}
        (folder / "devmap" / "results" / "summary.json").write_text(json.dumps(devmap))
        if name == "run-b":  # evaluate_run.sh copies the run's result.json
            (folder / "result.json").write_text(json.dumps({"registered_version": 4}))
        folders.append(folder)
    for seed, amd in (("1", 84.0), ("2", 88.0)):  # twins at other seeds, scored as the model
        twin = folders[1] / f"twin-seed{seed}"
        (twin / "devmap" / "results").mkdir(parents=True)
        (twin / "devmap" / "results" / "summary.json").write_text(
            json.dumps(_devmap_summary(amd)))
    run = collect_run(folders[1])  # no thread-coarsening folder: its score is missing
    assert run["twin_seeds"]["2"]["devmap-669_amd"] == 88.0
    assert run["twin_seeds"]["1"]["map_fused"] is None  # no probes for that twin
    assert (run["name"], run["version"], run["dataset"]) == ("run-b", 4, "data-run-b")
    assert run["methods"]["pre-trained"]["map_fused"] == 0.30
    assert run["methods"]["untrained twin"]["map_fused"] == 0.15
    assert run["methods"]["untrained twin"]["devmap-669_amd"] == 80.0
    assert run["methods"]["pre-trained"]["coarsening"] is None
    table = runs_markdown({"runs": [collect_run(f) for f in folders]})
    assert "| `run-b` | 4 | data-run-b | 1500 | pre-trained | 0.300 | 0.850 |" in table
    assert "|  |  |  |  | untrained twin | 0.150 | 0.800 |" in table
    # the spread row: the seed-0 twin (80.0) and the two others (84.0, 88.0) on DevMap AMD
    spread = next(line for line in table.splitlines() if "untrained twins, 3 seeds" in line)
    assert "84.0 ± 4.0 (80.0–88.0)" in spread and "| 0.150 [1 of 3] |" in spread
    assert table.count("untrained twins,") == 1  # run-a has no other twin seeds
    assert record_main([*map(str, folders), "--report-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert [r["name"] for r in summary["runs_of_record"]["runs"]] == ["run-a", "run-b"]
    assert "## Runs of record" in (tmp_path / "RESULTS.md").read_text()
    assert summary["runs_of_record"]["figure"] == "results/runs_of_record.png"
    assert (tmp_path / "results" / "runs_of_record.png").stat().st_size > 10_000
    assert "![each run beside its untrained twins](results/runs_of_record.png)" in (
        tmp_path / "RESULTS.md").read_text()


def test_targets_against_the_twins_mean_when_twins_were_drawn_at_several_seeds():
    from mirencoder.training.evaluation.record_table import twin_spread_statements

    twin = {"map_fused": 0.16, "devmap-669_amd": 80.0, "coarsening": 1.03}
    runs = {"runs": [{"name": "champ", "methods": {
        "pre-trained": {"map_fused": 0.40, "devmap-669_amd": 83.5, "coarsening": 1.05},
        "untrained twin": twin}, "twin_seeds": {
            "1": {"map_fused": 0.24, "devmap-669_amd": 82.0, "coarsening": 1.11},
            "2": {"map_fused": 0.20, "devmap-669_amd": 81.0, "coarsening": 1.00}}}]}
    [line] = twin_spread_statements(runs, "champ")
    # MAP@R 0.40 / mean 0.20 = 2.00x: reached; DevMap +2.5 over mean 81.0: reached
    assert "= 2.00x the twins' mean 0.200 ± 0.040 (3 seeds; target 2x: reached)" in line
    assert "devmap-669 LF amd 83.5 % vs twins 81.0 ± 1.0 (+2.5; target +2: reached)" in line
    assert "range 1.000–1.110x" in line and "seeds 0, 1, 2" in line
    assert "vectorised?" not in line  # no probe accuracies given
    for seed, value in (("1", 0.40), ("2", 0.60)):
        runs["runs"][0]["twin_seeds"][seed]["vectorized_template"] = value
    twin["vectorized_template"] = 0.50
    runs["runs"][0]["methods"]["pre-trained"]["vectorized_template"] = 0.68
    [line] = twin_spread_statements(runs, "champ")
    assert ("vectorised? (template folds) 0.680 vs twins 0.500 ± 0.100 (+18.0 points; target +5: "
            "reached; above every twin)") in line
    assert twin_spread_statements(runs, "other") == []  # not the report's encoder
    runs["runs"][0]["methods"]["pre-trained"]["map_fused"] = 0.39
    assert "target 2x: NOT reached" in twin_spread_statements(runs, "champ")[0]


def test_replicates_of_one_recipe_are_judged_as_a_spread_against_the_twins():
    from mirencoder.training.evaluation.record_table import replicate_statements, runs_markdown

    twin = {"map_fused": 0.16, "devmap-669_amd": 80.0}
    twins = {"1": {"map_fused": 0.24, "devmap-669_amd": 82.0},
             "2": {"map_fused": 0.20, "devmap-669_amd": 81.0}}

    def run(name: str, map_fused: float, amd: float) -> dict:
        return {"name": name, "methods": {
            "pre-trained": {"map_fused": map_fused, "devmap-669_amd": amd},
            "untrained twin": dict(twin)}, "twin_seeds": {k: dict(v) for k, v in twins.items()}}

    runs = {"runs": [run("a", 0.40, 81.5), run("b", 0.50, 84.7), run("other", 0.1, 70.0)],
            "replicates": [{"label": "recipe x", "names": ["a", "b"]}]}
    runs["runs"][1]["twin_seeds"]["2"]["devmap-669_amd"] = 81.2  # scored again: 81.0 / 81.2
    [line] = replicate_statements(runs)
    # runs 0.45 mean vs twins 0.20 (three seeds, each scored by both runs): 2.25x, 0.40 > 0.24
    assert "(2 runs against 3 untrained twins, means)" in line
    assert ("invariance MAP@R 0.450 vs 0.200 (2.25x, target 2x: reached; worst run above the "
            "best twin)") in line
    assert ("DevMap 669 LF AMD % 83.1 vs 81.0 (+2.1, target +2: reached; ranges overlap)"
            in line)  # twins 80, 82, 81.1
    table = runs_markdown(runs)
    assert "### Pre-training seeds: recipe x" in table
    assert "| pre-trained, 2 runs: mean ± std (range) | 0.450 ± 0.071 (0.400–0.500) |" in table
    runs["replicates"][0]["names"] = ["a"]  # one run is no spread
    assert replicate_statements(runs) == [] and "Pre-training seeds" not in runs_markdown(runs)


def test_twins_scored_on_fewer_measures_are_counted_where_they_are_missing():
    from mirencoder.training.evaluation.record_table import (
        replicate_statements,
        runs_markdown,
        twin_spread_statements,
    )

    twin = {"map_fused": 0.16, "devmap-669_amd": 80.0}
    later = {"3": {"map_fused": 0.30, "devmap-669_amd": None}}  # DevMap left out

    def run(name: str, amd: float) -> dict:
        return {"name": name, "methods": {
            "pre-trained": {"map_fused": 0.5, "devmap-669_amd": amd},
            "untrained twin": dict(twin)}, "twin_seeds": {
                "1": {"map_fused": 0.20, "devmap-669_amd": 82.0}, **later}}

    runs = {"runs": [run("a", 84.0), run("b", 85.0)], "note": "Twin 3 was drawn later.",
            "replicates": [{"label": "recipe x", "names": ["a", "b"]}]}
    [line] = twin_spread_statements(runs, "a")
    assert "(3 seeds; target 2x" in line  # MAP@R: every twin
    assert "vs twins 81.0 ± 1.4 (2 of 3 twins; +3.0; target +2: reached)" in line
    [line] = replicate_statements(runs)
    assert "DevMap 669 LF AMD % 84.5 vs 81.0 (2 of 3 twins; +3.5" in line
    table = runs_markdown(runs)
    assert "Twin 3 was drawn later.\n\n| run |" in table
    assert "| 0.220 ± 0.072 (0.160–0.300) | – | – | 81.0 ± 1.4 (80.0–82.0) [2 of 3] |" in table


def test_record_runs_keeps_recorded_runs_whose_folders_are_gone(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.record_runs import main as record_main

    def scored(name: str, score: float) -> Path:
        folder = tmp_path / "eval" / name
        (folder / "probes").mkdir(parents=True)
        (folder / "probes" / "probes.json").write_text(json.dumps(_probes(score, 0.85)))
        return folder

    first, second = scored("run-a", 0.40), scored("run-b", 0.30)
    assert record_main([str(first), str(second), "--report-dir", str(tmp_path)]) == 0
    shutil.rmtree(first)  # run-a's folder is gone (another session); run-b is rescored
    (second / "probes" / "probes.json").write_text(json.dumps(_probes(0.35, 0.85)))
    third = scored("run-c", 0.50)
    assert record_main([str(second), str(third), "--keep-recorded", "--report-dir",
                        str(tmp_path), "--replicates", "recipe=run-a,run-c"]) == 0
    runs = json.loads((tmp_path / "results" / "summary.json").read_text())["runs_of_record"]
    assert [r["name"] for r in runs["runs"]] == ["run-a", "run-b", "run-c"]
    maps = [r["methods"]["pre-trained"]["map_fused"] for r in runs["runs"]]
    assert maps == [0.40, 0.35, 0.50]
    assert runs["replicates"] == [{"label": "recipe", "names": ["run-a", "run-c"]}]
    summary_path = tmp_path / "results" / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["runs_of_record"]["note"] = "what the runs show"
    summary_path.write_text(json.dumps(summary))
    fourth = scored("run-d", 0.45)  # a later run alone keeps the recorded groups and note
    assert record_main([str(fourth), "--keep-recorded", "--report-dir", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "results" / "summary.json").read_text())["runs_of_record"]
    assert [r["name"] for r in runs["runs"]][-1] == "run-d"
    assert runs["note"] == "what the runs show"
    assert runs["replicates"] == [{"label": "recipe", "names": ["run-a", "run-c"]}]
    assert record_main([str(fourth), "--keep-recorded", "--report-dir", str(tmp_path),
                        "--replicates", "recipe=run-c,run-d"]) == 0  # given again: replaced
    runs = json.loads((tmp_path / "results" / "summary.json").read_text())["runs_of_record"]
    assert runs["replicates"] == [{"label": "recipe", "names": ["run-c", "run-d"]}]
    with pytest.raises(SystemExit):  # the record lives in the report: it must be named
        record_main([str(third), "--keep-recorded"])
    assert "--keep-recorded" in capsys.readouterr().err
    unscored = tmp_path / "eval" / "not-scored-yet"
    unscored.mkdir()
    before = summary_path.read_text()
    with pytest.raises(SystemExit):  # it was a row of dashes in RESULTS.md
        record_main([str(unscored), "--keep-recorded", "--report-dir", str(tmp_path)])
    assert "no scores" in capsys.readouterr().err and summary_path.read_text() == before


def test_record_runs_refuses_runs_scored_on_another_probe(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.record_runs import main as record_main

    def probes(programs: int) -> dict:
        found = _probes(0.4, 0.85)
        found["decisions"]["counts"] = {"programs": {"jotaibench": programs},
                                        "groups": {"source": programs}}
        return found

    (tmp_path / "results").mkdir()
    from mirencoder.training.evaluation.summary import SCHEMA_VERSION
    (tmp_path / "results" / "summary.json").write_text(json.dumps(
        {"schema_version": SCHEMA_VERSION, "probes": probes(10)}))
    folders = []
    for name, programs in (("same", 10), ("other", 540)):
        folder = tmp_path / "eval" / name
        (folder / "probes").mkdir(parents=True)
        (folder / "probes" / "probes.json").write_text(json.dumps(probes(programs)))
        folders.append(str(folder))
    with pytest.raises(SystemExit):
        record_main([*folders, "--report-dir", str(tmp_path)])
    error = capsys.readouterr().err
    assert folders[1] in error and f"{folders[0]} (" not in error
    assert "PROBE_SETTINGS=results/summary.json" in error
    assert "runs_of_record" not in json.loads((tmp_path / "results" / "summary.json").read_text())
    twin = Path(folders[0]) / "twin-seed1" / "probes"  # a twin drawn at another seed counts
    twin.mkdir(parents=True)
    (twin / "probes.json").write_text(json.dumps(probes(540)))
    with pytest.raises(SystemExit):
        record_main([folders[0], "--report-dir", str(tmp_path)])
    assert f"{folders[0]}/twin-seed1 (" in capsys.readouterr().err
    (twin / "probes.json").write_text(json.dumps(probes(10)))
    assert record_main([folders[0], "--report-dir", str(tmp_path)]) == 0  # the same probe
    assert record_main([folders[1]]) == 0  # printed only: nothing to compare with


def test_record_runs_refuses_replicates_it_was_not_given(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.record_runs import main as record_main

    folder = tmp_path / "run-a"
    (folder / "probes").mkdir(parents=True)
    (folder / "probes" / "probes.json").write_text(json.dumps(_probes(0.4, 0.85)))
    with pytest.raises(SystemExit):
        record_main([str(folder), "--replicates", "x=run-a,run-z"])
    error = capsys.readouterr().err
    assert "--replicates 'x=run-a,run-z'" in error and "(run-a)" in error


def _scored_folder(folder: Path, maps: dict[str, float], amd: dict[str, float]) -> Path:
    """A folder as infra/evaluate_outputs.sh leaves it: one encoder scored as the model, each
    output a row (``encoder``, ``encoder-tokens``, ``encoder-graph``, ``encoder-joint``)."""
    probes = _probes(maps["encoder"], 0.85)
    probes["retrieval"]["methods"] = {m: {"map_at_r": v} for m, v in maps.items()}
    rows = {m: {"accuracy": 0.8 + v / 10} for m, v in maps.items()}
    probes["decisions"]["groupings"] = {"template": {"vectorized": {"methods": rows}}}
    (folder / "probes").mkdir(parents=True)
    (folder / "devmap" / "results").mkdir(parents=True)
    (folder / "probes" / "probes.json").write_text(json.dumps(probes))
    cells = {m: {"accuracy_mean": a} for m, a in amd.items()}
    (folder / "devmap" / "results" / "summary.json").write_text(json.dumps(
        {"results": {"devmap-669": {"leakage-free": {"amd": cells}}}}))
    return folder


def test_each_output_is_set_beside_the_same_output_of_the_twins(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.output_table import (
        collect_outputs,
        output_statements,
        outputs_markdown,
    )
    from mirencoder.training.evaluation.which_output import main as output_main

    names = ("encoder", "encoder-tokens", "encoder-graph", "encoder-joint")
    trained = [_scored_folder(tmp_path / f"run{i}", dict(zip(names, (0.4 + i / 10, 0.5, 0.1, 0.3),
                                                                strict=True)),
                              dict(zip(names, (85.0, 86.0, 87.0, 88.0 + i), strict=True)))
               for i in range(2)]
    twins = [_scored_folder(tmp_path / f"twin{i}", dict(zip(names, (0.2, 0.5, 0.1, 0.2),
                                                            strict=True)),
                            dict(zip(names, (85.0, 85.0, 85.0, 85.0 + i), strict=True)))
             for i in range(2)]
    table = collect_outputs({"pre-trained": trained, "twins": twins})
    joint = table["groups"]["pre-trained"]["scores"]["joint"]
    assert [s["map_fused"] for s in joint] == [0.3, 0.3]
    assert [s["devmap-669_amd"] for s in joint] == [88.0, 89.0]
    assert joint[0]["vectorized_template"] == pytest.approx(0.83) and joint[0]["coarsening"] is None
    text = outputs_markdown(table)  # a section written before studies: one table
    assert text == outputs_markdown({"studies": {"Pre-trained runs": table}})
    assert "| `joint` | pre-trained (2) | 0.300 ± 0.000 (0.300–0.300) |" in text
    assert "| `fused` | twins (2) | 0.200 ± 0.000 (0.200–0.200) |" in text
    statements = output_statements(table)
    assert statements[0].startswith("`fused`: MAP@R 2.25x;")
    assert "DevMap 669 LF AMD % +3.0 (every run above every twin)" in statements[3]
    assert "vectorised? acc (template folds) +1.0 points" in statements[3]
    assert output_main(["--group", "pre-trained=" + ",".join(map(str, trained)),
                        "--group", "twins=" + ",".join(map(str, twins)),
                        "--note", "No output wins everywhere.",
                        "--report-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    study = summary["which_output"]["studies"]["Pre-trained runs"]
    assert set(study["groups"]) == {"pre-trained", "twins"}
    report = read_studies(tmp_path)
    assert "## Which output for which use" in report and "No output wins everywhere." in report
    assert "### " not in report.split("## Which output")[1].split("\n## ")[0]
    # another recipe is a second study beside the first; the same label replaces its study
    for note in ("first", "second"):
        assert output_main(["--group", f"recipe B={trained[0]}", "--group", f"twins={twins[0]}",
                            "--label", "Recipe B", "--note", note,
                            "--report-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert list(summary["which_output"]["studies"]) == ["Pre-trained runs", "Recipe B"]
    section = read_studies(tmp_path).split("## Which output")[1]
    assert "### Pre-trained runs" in section and "### Recipe B" in section
    assert "No output wins everywhere." in section and "second" in section
    assert "| `fused` | recipe B (1) |" in section and "\nfirst\n" not in section
    with pytest.raises(SystemExit):
        output_main(["--group", f"x={tmp_path / 'nowhere'}"])
    assert "not scored" in capsys.readouterr().err


def _output_row(map_r: float, devmap: float) -> dict:
    return {"map_fused": map_r, "vectorized_source": 0.9, "vectorized_template": 0.5,
            "devmap-669_amd": devmap, "devmap-669_nvidia": devmap, "devmap-680_amd": devmap,
            "devmap-680_nvidia": devmap, "coarsening": 1.05}


def _output_group(folders: list[str], maps: list[float], devmaps: list[float]) -> dict:
    rows = [_output_row(m, d) for m, d in zip(maps, devmaps, strict=True)]
    return {"folders": folders, "scores": {"fused": rows, "graph": [
        _output_row(m / 4, d + 1) for m, d in zip(maps, devmaps, strict=True)]}}


def test_every_output_over_every_study_counts_each_run_once_against_its_twins():
    from mirencoder.training.evaluation.output_table import output_overview, outputs_markdown

    twins = _output_group(["t0", "t1"], [0.2, 0.2], [84.0, 86.0])
    section = {"studies": {
        "A": {"groups": {"pre-trained": _output_group(["r0", "r1"], [0.4, 0.5], [85.5, 88.0]),
                         "untrained twins": twins}},
        # r0 again, now at another study's head: counted once, against A's twins
        "B": {"groups": {"the start": _output_group(["r0"], [0.9], [99.0]),
                         "its untrained twins": twins}},
        # a second group that is no twin set: no comparison
        "C": {"groups": {"run": _output_group(["r2"], [0.9], [99.0]),
                         "control run": _output_group(["r3"], [0.1], [80.0])}}}}
    overview = output_overview(section)
    fused = overview["fused"]
    assert fused["runs"] == 2 and fused["invariance"] == pytest.approx([2.0, 2.5])
    assert fused["devmap"] == [[0.5] * 4, [3.0] * 4]
    assert fused["leads"]["vectorized_template"] == [0.0, 0.0]  # in points
    graph = overview["graph"]
    assert graph["invariance"] == pytest.approx([2.0, 2.5])  # its own twins: 0.05
    text = outputs_markdown(section)
    assert "| `fused` | 2 | 2.25x (2 of 2) | +0.0 | +0.0 | +1.8 | +1.8 | +1.8 | +1.8 | 2 of 2 | " \
        "1 of 2 | +0.000x |" in text
    assert "`fused` is the output that most often meets the invariance target (2 of 2 runs)" \
        in text
    assert "runs of any output at +2 on all four: 2." in text  # fused r1 and graph r1
    assert output_overview({"studies": {"C": section["studies"]["C"]}}) == {}


def test_learning_curve_runs_from_the_twin_through_each_checkpoint(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.learning_curve import main as curve_main
    from mirencoder.training.evaluation.learning_curve_table import collect_curve

    folder = tmp_path / "eval" / "run-a"
    with pytest.raises(SystemExit):  # nothing scored yet: a clear refusal
        curve_main([str(tmp_path / "missing")])
    assert "not a folder" in capsys.readouterr().err
    (folder / "probes").mkdir(parents=True)
    (folder / "devmap" / "results").mkdir(parents=True)
    (folder / "probes" / "probes.json").write_text(json.dumps(_probes(0.60, 0.90)))
    devmap = _devmap_summary(86.0)
    devmap["encoder"] = {"lineage": {"config_name": "run-a", "steps": 1500}}
    (folder / "devmap" / "results" / "summary.json").write_text(json.dumps(devmap))
    # checkpoints scored as the model (the 1500-step one is the final encoder: not read)
    for step, score in ((1000, 0.50), (250, 0.30), (1500, 0.99)):
        checkpoint = folder / "curve" / f"step-{step:07d}" / "probes"
        checkpoint.mkdir(parents=True)
        (checkpoint / "probes.json").write_text(json.dumps(_probes(score, 0.85)))
    twin = folder / "twin-seed1" / "probes"
    twin.mkdir(parents=True)
    twin_probes = _probes(0.25, 0.82)  # scored as the model: its row is "encoder"
    (twin / "probes.json").write_text(json.dumps(twin_probes))
    curve = collect_curve(folder)
    assert [p["step"] for p in curve["points"]] == [0, 250, 1000, 1500]
    assert [p["scores"]["map_fused"] for p in curve["points"]] == [0.15, 0.30, 0.50, 0.60]
    assert curve["points"][0]["scores"]["devmap-669_amd"] == 80.0  # the seed-0 twin
    assert [t["map_fused"] for t in curve["twins"]] == [0.15, 0.25]
    assert curve_main([str(folder), "--report-dir", str(tmp_path)]) == 0
    results = read_studies(tmp_path)
    assert "## Learning curves" in results and "### `run-a`" in results
    assert "| 250 | 0.300 | 0.850 |" in results
    assert "| untrained twins (2 seeds, range) | 0.150–0.250 |" in results
    assert (tmp_path / "results" / "learning_curve.png").stat().st_size > 10_000
    # Targets: each score from step 0 to the end, and how often it left the twins' range
    line = next(x for x in (tmp_path / "RESULTS.md").read_text().splitlines()
                if x.startswith("- **learning curve**"))
    assert "checkpoints at steps 250, 1000, 1500" in line
    assert "invariance MAP@R 0.150 -> 0.600 (above the twins' range at 3, below at 0 of 3)" in line
    empty = tmp_path / "eval" / "unscored"
    empty.mkdir()
    with pytest.raises(SystemExit):
        curve_main([str(empty)])
    assert "no scored encoder" in capsys.readouterr().err


def test_record_runs_borrows_twin_seeds_only_from_the_same_twins(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.record_runs import main as record_main

    def scored(name: str, twin_map: float, twin_seeds: tuple[str, ...] = ()) -> Path:
        folder = tmp_path / "eval" / name
        (folder / "probes").mkdir(parents=True)
        probes = _probes(0.40, 0.85)
        probes["retrieval"]["methods"]["encoder-untrained"]["map_at_r"] = twin_map
        (folder / "probes" / "probes.json").write_text(json.dumps(probes))
        for seed in twin_seeds:
            (folder / f"twin-seed{seed}" / "probes").mkdir(parents=True)
            (folder / f"twin-seed{seed}" / "probes" / "probes.json").write_text(
                json.dumps(_probes(0.2 + int(seed) / 100, 0.8)))
        return folder

    old = scored("run-a", 0.15, ("1", "2"))
    assert record_main([str(old), "--report-dir", str(tmp_path)]) == 0
    shutil.rmtree(old)  # a later machine: the folder with the twins is gone
    new = scored("run-b", 0.15)
    assert record_main([str(new), "--keep-recorded", "--report-dir", str(tmp_path),
                        "--twin-seeds-from", "run-a"]) == 0
    runs = json.loads((tmp_path / "results" / "summary.json").read_text())["runs_of_record"]
    run_b = runs["runs"][1]
    assert run_b["twin_seeds_from"] == "run-a"
    assert run_b["twin_seeds"] == runs["runs"][0]["twin_seeds"]
    assert run_b["twin_seeds"]["2"]["map_fused"] == pytest.approx(0.22)
    assert "seeds 1+ scored with `run-a` (seed-0 twins equal on every score)" in (
        tmp_path / "RESULTS.md").read_text()
    other = scored("run-c", 0.16)  # its seed-0 twin differs: other twins, refused
    with pytest.raises(SystemExit):
        record_main([str(other), "--keep-recorded", "--report-dir", str(tmp_path),
                     "--twin-seeds-from", "run-a"])
    assert "does not repeat run-a's (map_fused)" in capsys.readouterr().err
    assert record_main([str(other), "--keep-recorded", "--report-dir", str(tmp_path),
                        "--twin-seeds-from", "run-a", "--twin-tolerance", "0.02"]) == 0
    run_c = json.loads((tmp_path / "results" / "summary.json").read_text())[
        "runs_of_record"]["runs"][-1]
    assert run_c["twin_seeds_check"]["largest_difference"] == pytest.approx(0.01)
    assert "(seed-0 twins within 0.01)" in (tmp_path / "RESULTS.md").read_text()
    with pytest.raises(SystemExit):
        record_main([str(other), "--report-dir", str(tmp_path), "--twin-seeds-from", "nope"])
    assert "no recorded run of that name" in capsys.readouterr().err
