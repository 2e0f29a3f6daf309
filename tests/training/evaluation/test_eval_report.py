"""Report files (RESULTS.md, summary.json, chart) and the MLflow hand-off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.report_files import write_report
from mirencoder.training.evaluation.report_markdown import target_statements

METRIC_KEYS = {"accuracy_mean", "accuracy_std", "speedup_mean", "speedup_std", "geomean_mean",
               "geomean_std", "n_rows", "n_seeds", "per_seed"}


def _cell(accuracy: float, speedup: float) -> dict:
    return {"accuracy_mean": accuracy, "accuracy_std": 0.5, "speedup_mean": speedup,
            "speedup_std": 0.01, "geomean_mean": speedup * 0.8, "geomean_std": 0.0,
            "n_rows": 669, "n_seeds": 3, "per_seed": []}


def _devmap_run(encoder_amd: float) -> dict:
    methods = {"encoder": (encoder_amd, 3.5), "opcode-histogram": (90.0, 3.4),
               "runtime-only": (85.0, 3.0), "kernel-identity": (89.0, 3.2),
               "static": (58.8, 1.0), "oracle": (100.0, 3.63)}
    platforms = {p: {m: _cell(a - (2 if p == "nvidia" else 0), s) for m, (a, s) in methods.items()}
                 for p in ("amd", "nvidia")}
    results = {"literature-rs104": platforms, "leakage-free": platforms}
    meta = {"coverage": {"rows_total": 669, "rows_used": 669, "kernels_total": 256,
                         "kernels_used": 256, "excluded_rows": {}, "source": "test"},
            "repairs": [], "featurizers": {"opcode-histogram": {
                "description": "d", "dimensions": 66, "seconds": 1.0, "ms_per_program": 1.5,
                "failures": {}}}, "seeds": 3, "heads": ["xgboost"], "timing_s": {"total": 1.0}}
    return {"devmap-669": {"results": results, "meta": meta}}


def _coarsening_run() -> dict:
    methods = {"opcode-histogram": (30.0, 1.2), "static": (33.8, 1.0), "oracle": (100.0, 1.356)}
    platforms = {p: {m: _cell(a, s) for m, (a, s) in methods.items()}
                 for p in ("cypress", "tahiti", "fermi", "kepler", "average")}
    meta = {"coverage": {"rows": 68, "kernels": 17}, "repairs": [], "featurizers": {},
            "seeds": 3, "heads": ["xgboost"], "timing_s": {"total": 1.0}}
    return {"thread-coarsening": {"results": {"literature": platforms, "leakage-free": platforms},
                                  "meta": meta}}


def test_report_files_schema_merge_and_chart(tmp_path: Path) -> None:
    encoder = {"uri": "models:/mirencoder/3", "version": "3", "lineage": {"dataset": "abc"}}
    write_report(_coarsening_run(), tmp_path, encoder=None, command="mirencoder eval tc")
    summary, paths = write_report(_devmap_run(95.0), tmp_path, encoder=encoder,
                                  command="mirencoder eval devmap")
    on_disk = json.loads(paths["summary_json"].read_text())
    assert on_disk["schema_version"] == 1
    assert set(on_disk["results"]) == {"devmap-669", "thread-coarsening"}  # merged
    cell = on_disk["results"]["devmap-669"]["literature-rs104"]["amd"]["encoder"]
    assert set(cell) == METRIC_KEYS
    assert on_disk["encoder"]["version"] == "3"
    assert on_disk["tasks"]["devmap-669"]["encoder"]["uri"] == "models:/mirencoder/3"
    assert on_disk["tasks"]["thread-coarsening"]["encoder"] is None
    assert "IR2Vec flow-aware" in on_disk["published"]["devmap"]
    png = paths["chart_png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    text = paths["results_md"].read_text()
    assert "| _IR2Vec flow-aware (published)_ | 92.8 | 3.51x" in text
    assert "| **encoder** | 95.0 ± 0.5" in text
    assert "models:/mirencoder/3" in text
    assert "![results](results/results.png)" in text
    assert "![targets](results/targets.png)" in text  # the targets chart under the table
    assert paths["targets_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "**devmap-669, literature-rs104**: target reached" in text
    assert ("amd: runtime-only 85.0 %, best program representation encoder 95.0 % (+10.0), "
            "kernel identity 89.0 % (+4.0)") in text


def test_added_rows_join_the_recorded_task_or_are_refused(tmp_path: Path) -> None:
    encoder = {"uri": "models:/mirencoder/3", "version": "3", "lineage": {}}
    write_report(_devmap_run(95.0), tmp_path, encoder=encoder, command="mirencoder eval devmap")
    cells = {"program-size": _cell(91.0, 3.45), "static": _cell(58.8, 1.0),
             "oracle": _cell(100.0, 3.63)}
    platforms = {p: dict(cells) for p in ("amd", "nvidia")}
    meta = {"featurizers": {"program-size": {"description": "log size", "dimensions": 1,
                                             "seconds": 0.1, "ms_per_program": 0.2,
                                             "failures": {}}}}
    run = {"devmap-669": {"results": {"leakage-free": platforms}, "meta": meta}}
    summary, paths = write_report(run, tmp_path, encoder=None, add_rows=True,
                                  command="mirencoder eval devmap --features program-size")
    amd = summary["results"]["devmap-669"]["leakage-free"]["amd"]
    assert amd["program-size"]["accuracy_mean"] == 91.0
    assert amd["encoder"]["accuracy_mean"] == 95.0  # recorded rows kept
    assert summary["results"]["devmap-669"]["literature-rs104"]["amd"].get("program-size") is None
    assert summary["encoder"]["version"] == "3"
    task = summary["tasks"]["devmap-669"]
    assert set(task["featurizers"]) == {"opcode-histogram", "program-size"}
    assert task["added_rows"][0]["methods"] == ["program-size"]
    text = paths["results_md"].read_text()
    assert "| devmap-669: rows added (program-size) |" in text
    assert "| program-size | 91.0 ± 0.5" in text
    before = paths["summary_json"].read_text()
    for protocol, rows in (("leakage-free", 496), ("literature-rs204", 669)):
        other = {"amd": {m: dict(v, n_rows=rows) for m, v in cells.items()}}
        with pytest.raises(ConfigError, match="rows here|not recorded"):
            write_report({"devmap-669": {"results": {protocol: other}, "meta": meta}}, tmp_path,
                         encoder=None, command="c", add_rows=True)
    with pytest.raises(ConfigError, match="no recorded results"):
        write_report({"devmap-680": run["devmap-669"]}, tmp_path, encoder=None, command="c",
                      add_rows=True)
    assert paths["summary_json"].read_text() == before  # a refused run changes nothing


def test_target_statements_say_not_reached_and_not_assessed() -> None:
    summary = {"results": {**{k: v["results"] for k, v in _devmap_run(93.0).items()},
                           **{k: v["results"] for k, v in _coarsening_run().items()}}}
    lines = target_statements(summary)
    literature = next(line for line in lines if "devmap-669, literature-rs104" in line)
    assert "NOT reached" in literature and "amd 93.0 % vs target 94.0 %" in literature
    leakage = next(line for line in lines if "devmap-669, leakage-free" in line)
    assert "ahead of" in leakage and "+3.0" in leakage
    coarsening = next(line for line in lines if "thread-coarsening, literature" in line)
    assert "not assessed" in coarsening and "opcode-histogram 1.200x" in coarsening


def test_log_results_to_mlflow_sqlite(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from mirencoder.training.evaluation.mlflow_logging import (
        log_results_to_mlflow,
        resolve_model_version,
    )

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("pretrain",
                                          artifact_location=str(tmp_path / "artifacts"))
    run_id = client.create_run(experiment).info.run_id
    client.create_registered_model("mirencoder")
    version = client.create_model_version("mirencoder", source=str(tmp_path / "model"),
                                          run_id=run_id).version
    client.set_registered_model_alias("mirencoder", "champion", version)
    assert resolve_model_version("models:/mirencoder@champion", client) == ("mirencoder",
                                                                           str(version))
    assert resolve_model_version("models:/mirencoder/7") == ("mirencoder", "7")
    assert resolve_model_version("/some/folder") is None

    summary, _ = write_report(_devmap_run(95.0), tmp_path / "out",
                              encoder={"uri": "models:/mirencoder@champion"}, command="x")
    # a study section: its index and its page are logged too
    from mirencoder.training.evaluation.report_files import update_report
    from mirencoder.training.evaluation.summary import load_summary

    recorded = json.loads((Path(__file__).parents[3] / "results" / "summary.json").read_text())
    paths = update_report(tmp_path / "out", "program_dims", recorded["program_dims"])
    summary = load_summary(paths["summary_json"])
    logged = log_results_to_mlflow(summary, run_id=run_id, model_name="mirencoder",
                                   version=version, tracking_uri=uri)
    assert logged == run_id
    artifacts = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert artifacts == {"evaluation/RESULTS.md", "evaluation/summary.json",
                         "evaluation/results.png", "evaluation/targets.png",
                         "evaluation/STUDIES.md", "evaluation/studies"}
    assert [a.path for a in client.list_artifacts(run_id, "evaluation/studies")] == [
        "evaluation/studies/program-dims.md"]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["eval.devmap-669.literature-rs104.amd.encoder.accuracy_mean"] == 95.0
    assert "eval.devmap-669.leakage-free.nvidia.opcode-histogram.speedup_mean" in metrics
    tags = client.get_model_version("mirencoder", version).tags
    assert float(tags["eval.devmap-669.literature-rs104.amd.encoder.accuracy_mean"]) == 95.0
    assert tags["eval.run_id"] == run_id
    assert not any("opcode-histogram" in key for key in tags)  # only the encoder's metrics

    # without a run id a new run is created in the evaluation experiment, its artifacts
    # beside the database (never under the working directory)
    new_run = log_results_to_mlflow(summary, tracking_uri=uri)
    assert new_run != run_id
    assert client.get_run(new_run).info.status == "FINISHED"
    assert client.get_run(new_run).info.artifact_uri.startswith((tmp_path / "mlartifacts")
                                                                .as_uri())


def test_chart_needs_results(tmp_path: Path) -> None:
    from mirencoder.training.evaluation.report_chart import draw_results_chart

    with pytest.raises(ValueError):
        draw_results_chart({"results": {}}, tmp_path / "x.png")


def test_encoder_section_counts_the_registry_score_tags_instead_of_listing_them() -> None:
    from mirencoder.training.evaluation.report_markdown import render_results_md

    tags = {"dataset_name": "d", "eval.devmap-669.leakage-free.amd.encoder.accuracy_mean": "90",
            "metric.devmap.amd": "90", "weights_sha256": "abc"}
    text = render_results_md({"encoder": {"uri": "models:/m@champion", "version": "3",
                                          "tags": tags}, "results": {}})
    assert "dataset_name: `d`" in text and "weights_sha256: `abc`" in text
    assert "eval.devmap" not in text and "metric.devmap" not in text
    assert "(2 evaluation score tags" in text


def test_rows_are_checked_before_any_work(tmp_path: Path) -> None:
    from mirencoder.training.evaluation.command_support import check_rows_can_be_added
    from mirencoder.training.evaluation.eval_config import DevMapEvalConfig, ReportConfig

    config = DevMapEvalConfig(report=ReportConfig(out_dir=tmp_path, add_rows=True))
    with pytest.raises(ConfigError, match="holds no devmap-669 results"):
        check_rows_can_be_added(config, {"devmap-669": (["leakage-free"], ["amd"])})
    write_report(_devmap_run(95.0), tmp_path, encoder=None, command="c")
    check_rows_can_be_added(config, {"devmap-669": (["leakage-free"], ["amd", "nvidia"])})
    with pytest.raises(ConfigError, match="no devmap-669 literature-rs204 amd rows"):
        check_rows_can_be_added(config, {"devmap-669": (["literature-rs204"], ["amd"])})
    from mirencoder.training.evaluation.eval_config import DevMapMethodsConfig

    with pytest.raises(ConfigError, match="drop --model"):
        DevMapEvalConfig(methods=DevMapMethodsConfig(model="models:/m/1"),
                         report=ReportConfig(add_rows=True))


def test_target_table_one_line_per_target():
    from mirencoder.training.evaluation.target_table import target_rows, target_table_markdown

    def cell(value, key="accuracy_mean"):
        return {key: value}

    lf = {"amd": {"encoder": cell(88.0), "encoder-untrained": cell(85.0),
                  "runtime-only": cell(87.0), "static": cell(59.0), "oracle": cell(100.0)},
          "nvidia": {"encoder": cell(84.0), "encoder-untrained": cell(83.0),
                     "opcode-histogram": cell(84.5)}}
    literature = {"amd": {"encoder": cell(94.5), "runtime-only": cell(92.0),
                          "ir2vec-fa": cell(91.0)},
                  "nvidia": {"encoder": cell(92.5), "runtime-only": cell(83.0),
                             "ir2vec-fa": cell(89.0)}}
    tc = {"average": {"encoder": cell(1.12, "speedup_mean"),
                      "program-size": cell(1.08, "speedup_mean"),
                      "oracle": cell(1.36, "speedup_mean")}}
    summary = {"results": {"devmap-669": {"literature-rs104": literature, "leakage-free": lf},
                           "thread-coarsening": {"leakage-free": tc}}}
    rows = {row[0]: row for row in target_rows(summary)}
    assert rows["devmap-669, literature-rs104"][3] is True
    assert "run-time inputs alone 92.0 / 83.0 %" in rows["devmap-669, literature-rs104"][4]
    ahead = rows["devmap-669, leakage-free: ahead of every baseline"]
    assert ahead[1] == "above runtime-only 87.0 / opcode-histogram 84.5" and ahead[3] is False
    twin = rows["devmap-669, leakage-free: pre-training"]
    assert twin[2] == "+3.0 / +1.0 points" and twin[3] is False
    assert twin[4] == "see 'What the controls show'"  # no program-dimensions section here
    summary["program_dims"] = {"settings": ["devmap-669 amd"]}
    assert "How many program dimensions" in target_rows(summary)[2][4]
    del summary["program_dims"]
    assert rows["thread coarsening, leakage-free: pre-training"][3] is True
    lines = target_table_markdown(summary)
    assert lines[0].startswith("3 of 5 targets met")
    accs = {"encoder": 0.50, "encoder-untrained": 0.40, "opcode-histogram": 0.55,
            "program-size": 0.75, "template-identity": 0.9}
    task = {"methods": {m: {"accuracy": a} for m, a in accs.items()}}
    summary["probes"] = {"decisions": {"groupings": {"template": {"ic": task}}}}
    decisions = target_rows(summary)[-1]
    assert decisions[2] == "+10.0 points vs twin; not above the opcode histogram on IC"
    assert decisions[3] is False and decisions[4].startswith("IC (best control: program-size "
                                                              "0.750)")
    assert "| devmap-669, literature-rs104 | >= 94.0 / 92.0 % | 94.5 / 92.5 % | yes | – |" in lines
    assert target_table_markdown({"results": {"devmap-669": {"leakage-free": {
        "amd": {"runtime-only": cell(90.0)}, "nvidia": {"runtime-only": cell(84.0)}}}}}) == []


def test_studies_go_to_their_own_pages_which_studies_md_and_results_md_index(tmp_path: Path):
    from mirencoder.training.evaluation.report_files import read_studies, update_report
    from mirencoder.training.evaluation.report_markdown import github_anchor

    recorded = json.loads((Path(__file__).parents[3] / "results" / "summary.json").read_text())
    write_report(_devmap_run(95.0), tmp_path, encoder=None, command="mirencoder eval devmap")
    paths = update_report(tmp_path, "program_dims", recorded["program_dims"])
    results, index = paths["results_md"].read_text(), paths["studies_md"].read_text()
    page = (paths["studies_dir"] / "program-dims.md").read_text()
    title = "How many program dimensions the DevMap head can use"
    assert f"## {title}" in page and f"## {title}" not in results + index
    assert f"- [{title}](studies/program-dims.md)" in results  # RESULTS.md links the page
    assert f"- [{title}](studies/program-dims.md)" in index  # and so does the index
    assert "| devmap-669 amd | run-time inputs only |" in page  # the table moved with it
    # the page's own links are relative to its folder
    assert "[RESULTS.md](../RESULTS.md)" in page and "](../STUDIES.md)" in page
    assert "](../results/program_dims.png)" in page and "](results/" not in page
    # the Targets table's rows point at the page that shows what limits them
    from mirencoder.training.evaluation.report_markdown import render_results_md
    assert f"see [{title}](studies/program-dims.md)" in render_results_md(recorded)
    assert read_studies(tmp_path) == index + "\n" + page
    # a second section: its own page; a section the summary drops loses its page
    update_report(tmp_path, "coarsening_resolution", recorded["coarsening_resolution"])
    assert sorted(p.name for p in paths["studies_dir"].iterdir()) == [
        "coarsening-resolution.md", "program-dims.md"]
    update_report(tmp_path, "program_dims", {})
    assert sorted(p.name for p in paths["studies_dir"].iterdir()) == ["coarsening-resolution.md"]
    assert "program-dims" not in paths["studies_md"].read_text()
    # a summary without studies leaves no stale file and no index
    paths = update_report(tmp_path, "coarsening_resolution", {})
    assert not paths["studies_md"].exists() and not list(paths["studies_dir"].glob("*.md"))
    assert "## Studies" not in paths["results_md"].read_text() and read_studies(tmp_path) == ""
    # GitHub's anchors: punctuation dropped, repeats numbered
    seen: dict[str, int] = {}
    assert github_anchor("Does pre-training help? (DevMap, frozen)", seen) == (
        "does-pre-training-help-devmap-frozen")
    assert github_anchor("Does pre-training help? (DevMap, frozen)", seen) == (
        "does-pre-training-help-devmap-frozen-1")


def test_studies_index_lists_the_studies_of_a_long_section():
    from mirencoder.training.evaluation.report_markdown import (
        MIN_LISTED_SUBSECTIONS,
        heading_tree,
        render_studies,
    )

    text = "\n".join(["## Which output", "### Run A", "x", "### Run B", "### Run A",
                      "## Learning curves", "### Run A"])
    tree = heading_tree(text)
    # anchors are counted over every heading, whatever its level (GitHub's numbering)
    assert tree == [("Which output", "which-output",
                     [("Run A", "run-a"), ("Run B", "run-b"), ("Run A", "run-a-1")]),
                    ("Learning curves", "learning-curves", [("Run A", "run-a-2")])]
    recorded = json.loads((Path(__file__).parents[3] / "results" / "summary.json").read_text())
    files = render_studies(recorded)
    index = files.pop("STUDIES.md")
    assert files and all(name.startswith("studies/") for name in files)
    for name, page in files.items():
        [(title, _, subsections)] = heading_tree(page)  # one section per page
        assert f"- [{title}]({name})" in index
        listed = [f"  - [{sub}]({name}#{anchor})" in index for sub, anchor in subsections]
        # a long section lists its studies, a short one does not
        assert all(listed) if len(subsections) >= MIN_LISTED_SUBSECTIONS else not any(listed)


def test_console_table_shows_a_spread_only_where_several_seeds_made_it(capsys) -> None:
    from mirencoder.training.evaluation.command_support import print_summary_table

    cell = {"accuracy_mean": 90.61, "accuracy_std": 0.0, "speedup_mean": 3.5, "speedup_std": 0.0}
    results = {"leakage-free": {"amd": {"encoder": cell}}}
    print_summary_table({"devmap-669": {"seeds": 1, "results": results}})
    one_seed = capsys.readouterr().out
    assert "leakage-free (1 seed)" in one_seed and "90.6" in one_seed and "±" not in one_seed
    spread = {**cell, "accuracy_std": 0.42}
    print_summary_table({"devmap-669": {"seeds": 3,
                                        "results": {"leakage-free": {"amd": {"encoder": spread}}}}})
    three_seeds = capsys.readouterr().out
    assert "leakage-free (3 seeds)" in three_seeds and "90.6 ± 0.4" in three_seeds
