"""The DevMap resolution study (``devmap_resolution.py`` and its table): the split of the
twins' accuracies, the paired leads, the row sets' agreement, the section and its command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirencoder.training.evaluation.devmap_resolution import (
    family_name,
    kept_controls,
    main,
    merge_family,
)
from mirencoder.training.evaluation.devmap_resolution_judgement import (
    control_leads,
    peer_families,
    target_chance,
)
from mirencoder.training.evaluation.devmap_resolution_stats import (
    family_stats,
    family_table,
    paired_lead,
    runs_together,
    settings_led,
    two_way,
)
from mirencoder.training.evaluation.devmap_resolution_table import (
    cross_row_sets,
    devmap_resolution_markdown,
    devmap_resolution_statements,
    draw_devmap_resolution,
)
from mirencoder.training.evaluation.devmap_sweep import sweep_settings

SETTINGS = ["devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd", "devmap-680 nvidia"]


def test_the_split_finds_the_members_spread_and_the_noise_it_was_built_with():
    rng = np.random.default_rng(0)
    members, seeds = 40, 200
    effects = rng.normal(0, 2.0, members)
    table = 85 + effects[:, None] + rng.normal(0, 5.0, seeds)[None, :] \
        + rng.normal(0, 1.0, (members, seeds))
    split = two_way(table)
    assert split["noise"] == pytest.approx(1.0, abs=0.05)  # the shared seed effect is removed
    assert split["between"] == pytest.approx(effects.std(ddof=1), abs=0.05)
    # members that differ only by the seed they share: no spread and no noise
    same = np.tile(85 + rng.normal(0, 3, seeds), (5, 1))
    assert two_way(same) == {"noise": 0.0, "between": 0.0, "means_sd": 0.0}
    # noise alone never reads as a spread larger than what noise makes
    assert two_way(85 + rng.normal(0, 1, (8, 4)))["between"] < 0.6


def test_a_lead_is_taken_seed_by_seed_and_at_the_protocols_seeds_first():
    twins = [[80.0, 90.0, 70.0, 85.0], [82.0, 92.0, 72.0, 87.0]]
    run = [83.0, 93.0, 73.0, 94.0]  # +2 over the twins' mean at seeds 0-2, +8 at seed 3
    three = paired_lead(run, twins, 3)
    assert (three["lead"], three["low"], three["high"], three["seeds"]) == (2.0, 2.0, 2.0, 3)
    every = paired_lead(run, twins)
    assert every["lead"] == pytest.approx(3.5)
    assert every["low"] < 3.5 < every["high"] and every["seeds"] == 4
    assert paired_lead(run, twins, 1) == {"lead": 2.0, "low": 2.0, "high": 2.0, "seeds": 1}


def _family(lead: float, rng: np.random.Generator, seeds: int = 6) -> dict:
    shared = rng.normal(0, 2, (len(SETTINGS), seeds))
    scores = {}
    for i, setting in enumerate(SETTINGS):
        twins = {f"twin{t}": list(84 + t * 0.5 + shared[i] + rng.normal(0, 0.3, seeds))
                 for t in range(4)}
        base = np.mean(list(twins.values()), axis=0)
        scores[setting] = {**twins, "encoder": list(base + lead)}
    return {"runs": ["encoder"], "twins": [f"twin{t}" for t in range(4)],
            "packages": {"encoder": "runs/pretrain/a/encoder"}, "scores": scores}


def _section() -> dict:
    rng = np.random.default_rng(1)
    controls = {s: {"opcode-histogram": list(88 + rng.normal(0, 1, 6))} for s in SETTINGS}
    first = merge_family({}, "recipe-a", _family(3.0, rng), controls, 6)
    first["families"]["recipe-a"]["note"] = "trained here"
    return merge_family(first, "recipe-b", _family(0.0, rng), controls, 6)


def test_a_family_of_several_runs_names_each_by_its_label():
    rng = np.random.default_rng(2)
    family = _family(1.0, rng)
    for setting in SETTINGS:
        family["scores"][setting]["seed3"] = family["scores"][setting]["twin0"]
    family.update(runs=["encoder", "seed3"], embedding="graph", labels={"encoder": "champion-recipe-s0",
                                                     "seed3": "mixture-seed3"})
    page = devmap_resolution_markdown(merge_family({}, "one architecture", family, {}, 6))
    assert ("- **one architecture**: champion-recipe-s0, mixture-seed3, graph output, against 4 "
            "twins.") in page
    assert "| champion-recipe-s0 (graph output) | 669 AMD | +1.0 |" in page
    assert "| mixture-seed3 (graph output) | 669 AMD |" in page


def test_family_numbers_name_the_run_above_its_twins():
    section = _section()
    a = family_stats(section["families"]["recipe-a"], "devmap-680 nvidia")
    assert a["twins"] == 4 and a["seeds"] == 6
    assert a["runs"]["encoder"]["lead"] == pytest.approx(3.0)
    assert a["runs"]["encoder"]["protocol"] == pytest.approx(3.0)
    assert a["runs"]["encoder"]["above_twins"] == 4
    assert a["between"] == pytest.approx(np.std([0, 0.5, 1, 1.5], ddof=1), abs=0.3)
    assert a["protocol_se"] == pytest.approx(a["noise"] / 3 ** 0.5)
    # the twins sit 0.5 apart: the top one leads its three siblings' mean by about 1.0
    assert a["best_twin"]["name"] == "twin3"
    assert a["best_twin"]["lead"] == pytest.approx(1.0, abs=0.3)
    b = family_stats(section["families"]["recipe-b"], "devmap-669 amd")
    assert b["runs"]["encoder"]["lead"] == pytest.approx(0.0, abs=1e-9)
    assert b["runs"]["encoder"]["above_twins"] == 2  # the twins' mean sits mid-range


def test_runs_together_resample_runs_twins_and_seeds():
    rng = np.random.default_rng(5)
    seeds = 20
    shared = rng.normal(0, 2, seeds)  # the seed effect every member shares

    def member(effect: float) -> list[float]:
        return list(85 + effect + shared + rng.normal(0, 0.5, seeds))

    twins = {f"twin{t}": member(rng.normal(0, 1)) for t in range(8)}
    runs = {f"run{r}": member(3 + rng.normal(0, 1)) for r in range(4)}
    family = {"runs": list(runs), "twins": list(twins),
              "scores": {"devmap-669 amd": {**twins, **runs}}}
    found = runs_together(family, "devmap-669 amd")
    expected = np.mean(list(runs.values())) - np.mean(list(twins.values()))
    assert found["lead"] == pytest.approx(expected) and found["runs"] == 4
    assert 0 < found["low"] < found["lead"] < found["high"]
    # the networks' spread widens it: far wider than one run's seed-paired interval
    one = paired_lead(runs["run0"], list(twins.values()))
    assert found["high"] - found["low"] > 2 * (one["high"] - one["low"])
    assert runs_together({**family, "runs": ["run0"]}, "devmap-669 amd") is None
    assert runs_together(family, "devmap-680 amd") is None
    # runs that are the twins again: no lead, and an interval that holds 0
    same = runs_together({**family, "runs": list(twins)}, "devmap-669 amd")
    assert same["lead"] == pytest.approx(0.0, abs=1e-9) and same["low"] < 0 < same["high"]


def test_the_page_takes_a_familys_runs_together_when_it_has_several():
    rng = np.random.default_rng(2)
    family = _family(3.0, rng)
    for setting in SETTINGS:
        family["scores"][setting]["seed3"] = [v + 0.5 for v in family["scores"][setting]["encoder"]]
    family["runs"] = ["encoder", "seed3"]
    page = devmap_resolution_markdown(merge_family({}, "one architecture", family, {}, 6))
    assert "The runs of a family taken together" in page
    assert "| one architecture | 2 | +3.2 (" in page and " | 4 of 4 |" in page
    assert ("Each family's runs taken together (runs, twins and seeds resampled), the interval "
            "of the mean lead: one architecture 4 of 4 settings above 0, ") in page
    single = devmap_resolution_markdown(_section())
    assert "The runs of a family taken together" not in single


def test_settings_led_counts_runs_against_twins_and_twins_against_siblings():
    section = _section()
    led = settings_led(section["families"]["recipe-a"], SETTINGS)
    assert led["runs"] == {"encoder": 4}  # +3 on every setting, no noise in the lead
    # the twins sit 0.5 apart, far above the lead's noise: the top two lead their siblings
    assert led["twins"]["twin3"] == 4 and led["twins"]["twin0"] == 0
    flat = settings_led(section["families"]["recipe-b"], SETTINGS[:2])
    assert flat["runs"] == {"encoder": 0}


def _twins_only(spread: float, noise: float, seeds: int = 6) -> dict:
    rng = np.random.default_rng(4)
    shared = rng.normal(0, 2, seeds)
    luck = rng.normal(0, spread, (len(SETTINGS), 8))
    return {"runs": [], "twins": [f"twin{t}" for t in range(8)],
            "scores": {s: {f"twin{t}": list(84 + luck[i, t] + shared
                                              + rng.normal(0, noise, seeds))
                           for t in range(8)} for i, s in enumerate(SETTINGS)}}


def test_the_targets_chance_is_a_step_at_plus_two_when_networks_do_not_differ():
    identical = _twins_only(0.0, 0.0)
    found = target_chance(identical, SETTINGS, (0.0, 1.9, 2.0, 3.0))
    assert found["chance"] == {0.0: 0.0, 1.9: 0.0, 2.0: 1.0, 3.0: 1.0}
    assert found["needed"] == {0.5: 2.0, 0.8: 2.0}
    assert found["draws"] == 8 * 7 * 20  # ordered pairs x sets of 3 of 6 seeds
    assert target_chance(identical, SETTINGS, (2.0,), seeds=6)["draws"] == 56
    calm = target_chance(identical, SETTINGS, (1.9, 2.0), run_luck=False)
    assert calm["draws"] == 8 * 20 and calm["chance"] == {1.9: 0.0, 2.0: 1.0}


def test_networks_that_differ_make_the_target_ask_for_more_than_plus_two():
    found = target_chance(_twins_only(1.0, 0.5), SETTINGS, (0.0, 2.0, 4.0, 8.0))
    chance = found["chance"]
    assert chance[0.0] < 0.01  # a random encoder against another: all four at +2 is rare
    assert chance[0.0] <= chance[2.0] <= chance[4.0] <= chance[8.0] == 1.0
    assert chance[2.0] < 0.3  # a true +2 clears +2 on all four settings only by luck
    assert 2.0 < found["needed"][0.5] < found["needed"][0.8] < 8.0
    # a run with no luck of its own still meets a twin's luck on every setting
    calm = target_chance(_twins_only(1.0, 0.5), SETTINGS, (2.0,), run_luck=False)
    assert calm["chance"][2.0] < 0.3 and 2.0 < calm["needed"][0.5] < 8.0
    # one setting alone: a true +2 passes about half the time
    assert target_chance(_twins_only(1.0, 0.5), SETTINGS[:1], (2.0,))["chance"][2.0] == \
        pytest.approx(0.5, abs=0.1)


def test_a_control_is_judged_against_each_familys_twins_as_a_run_is():
    section = _section()
    section["controls"] = {s: {"runtime-only": [90.0] * 6} for s in SETTINGS}
    leads = control_leads(section, family_table(section))
    twins = family_stats(section["families"]["recipe-b"], "devmap-669 amd")["twin_mean"]
    assert leads["runtime-only"]["recipe-b"]["devmap-669 amd"] == pytest.approx(90.0 - twins)
    page = devmap_resolution_markdown(section)
    assert "a constant vector (runtime-only) sits +" in page and "above them on every setting" in page
    assert "| runtime-only | recipe-a | **+" in page and " | yes |" in page


def test_a_control_with_twins_of_its_own_is_judged_as_a_run_is():
    section = _section()
    rng = np.random.default_rng(5)
    for i, setting in enumerate(SETTINGS):
        shared = rng.normal(0, 1, 6)
        section["controls"][setting]["ir2vec-fa"] = list(86 + i + shared)
        for k in range(4):  # random vocabularies: 1.5 points lower, a little spread
            section["controls"][setting][f"ir2vec-fa@runs/ir2vec-twins/rand{k}"] = list(
                84.5 + i + 0.1 * k + shared + rng.normal(0, 0.05, 6))
    [(base, family)] = peer_families(section).items()
    assert base == "ir2vec-fa" and family["twins"] == ["rand0", "rand1", "rand2", "rand3"]
    assert family_stats(family, "devmap-669 amd")["runs"]["ir2vec-fa"]["lead"] == \
        pytest.approx(1.35, abs=0.05)
    page = devmap_resolution_markdown(section)
    assert "| ir2vec-fa | 669 AMD | 4 | +1." in page and "4 of 4" in page
    assert "| ir2vec-fa@" not in page  # its twins are no controls of their own
    assert "The field's own pre-trained embedding, judged the same way: ir2vec-fa against " \
        "its 4 untrained twins +1." in page
    [line] = devmap_resolution_statements(section)
    assert "; ir2vec-fa against its 4 untrained twins +1." in line and line.endswith(").")
    assert peer_families(_section()) == {}


def test_row_sets_agree_when_the_members_effects_repeat():
    section = _section()
    found = cross_row_sets(section, draws=300)
    assert set(found) == {"amd", "nvidia"}
    assert found["nvidia"]["n"] == 10  # two families, each a run and four twins
    assert found["nvidia"]["r"] > 0.9  # every member's effect is the same on both row sets
    assert cross_row_sets({"settings": ["devmap-669 amd"], "families": {}}) == {}


def test_merging_replaces_a_family_and_drops_those_at_other_seeds():
    section = _section()
    assert list(section["families"]) == ["recipe-a", "recipe-b"]
    assert section["settings"] == SETTINGS
    again = merge_family(section, "recipe-a", section["families"]["recipe-b"], {}, 6)
    assert list(again["families"]) == ["recipe-a", "recipe-b"] and again["controls"] == {}
    assert again["families"]["recipe-a"] is section["families"]["recipe-b"]  # replaced in place
    other = merge_family(section, "recipe-c", section["families"]["recipe-b"], {}, 10)
    assert list(other["families"]) == ["recipe-c"] and other["seeds"] == 10


def test_page_statement_figure_and_report(tmp_path: Path, render_with):
    section = _section()
    page = devmap_resolution_markdown(section)
    assert "## How finely DevMap leakage-free separates encoders" in page
    assert "- **recipe-a**: recipe-a against 4 twins. trained here" in page
    assert "| recipe-a | 680 NVIDIA | +3.0 | +3.0 (+3.0 to +3.0) | 4 of 4 |" in page
    assert "| opcode-histogram | 88." in page
    assert "Above +2: recipe-a on 669 AMD" in page
    assert "their mean carries another 0." in page
    assert "where an interval excludes 0 (AMD, NVIDIA), part of the members' spread" in page
    assert "- **recipe-a**: runs recipe-a 4; twins " in page
    assert "Leading on every setting (a twin against its siblings, the same way): recipe-a: runs 1" \
        " of 1, twins " in page
    assert "the luckiest random encoder, twin3 (recipe-" in page
    assert "leads its siblings by +1." in page  # the twins' real spread / sqrt(4)
    assert "the +2 target is" in page and "whether a member's lead on one carries to the other" in page
    assert "| recipe-a | 3 seeds | 240 | " in page and "| recipe-a | 6 seeds | 12 | " in page
    assert "| recipe-a | 3 seeds, run without luck | 80 | " in page
    # the opcode histogram (88 +- noise) sits about +3 above recipe-b's twins (84-85.5)
    assert "| opcode-histogram | recipe-b | **+" in page
    assert "the controls would meet the +2 target (every setting) against these families' " \
        "twins: opcode-histogram against 2 of 2." in page
    assert "The target as judged: a recipe whose runs truly lead random encoders by +2" in page
    assert "judging at all 6 seeds changes the lead needed for even odds by " in page
    [line] = devmap_resolution_statements(section)
    assert ("(and above +2): recipe-a: 4 of 4 run-settings above 0, 4 above +2; recipe-b: 0 of 4 "
            "run-settings above 0, 0 above +2; leading on every setting: recipe-a: runs 1 of 1, "
            "twins 1 of 4; recipe-b: runs 0 of 1, twins 1 of 4; the target as judged: a recipe "
            "whose runs truly lead random encoders by +2 on every setting would meet the target "
            "as judged in ") in line
    assert devmap_resolution_statements({}) == []
    png = draw_devmap_resolution(section, tmp_path / "r.png")
    assert png.is_file() and png.stat().st_size > 1000
    text = render_with("devmap_resolution", section)
    assert "**what limits DevMap leakage-free pre-training**" in text
    pretraining_rows = [row for row in text.splitlines()
                        if row.startswith("| devmap-") and ": pre-training |" in row]
    assert len(pretraining_rows) == 2 and all(
        "see [How finely DevMap leakage-free separates encoders]"
        "(studies/devmap-resolution.md)" in row for row in pretraining_rows)
    ahead = [row for row in text.splitlines() if ": ahead of every baseline |" in row
             and row.startswith("| devmap-")]
    assert ahead and not any("devmap-resolution" in row for row in ahead)


def test_the_figure_leaves_out_a_controls_own_twins_and_a_failed_figure_loses_nothing(
        tmp_path: Path):
    from mirencoder.training.evaluation.report_files import show_and_publish

    section = _section()
    for setting in SETTINGS:
        section["controls"][setting]["ir2vec-fa@runs/rand0"] = [85.0] * 6  # listed nowhere
    png = draw_devmap_resolution(section, tmp_path / "peer.png")
    assert png.is_file() and png.stat().st_size > 1000

    def broken(section: dict, png: Path) -> Path:
        raise KeyError("a figure bug")

    with pytest.raises(KeyError):
        show_and_publish(tmp_path, "devmap_resolution", section, devmap_resolution_markdown,
                         broken)
    kept = json.loads((tmp_path / "results" / "devmap_resolution.unpublished.json").read_text())
    assert kept["families"]["recipe-a"]["scores"] == section["families"]["recipe-a"]["scores"]
    assert not (tmp_path / "results" / "summary.json").exists()  # nothing half-published


def test_the_family_is_named_by_its_pre_training_config(tmp_path: Path):
    package = tmp_path / "run" / "encoder"
    package.mkdir(parents=True)
    assert family_name(package) == "run"
    (package / "lineage.json").write_text(json.dumps({"config_name": "champion"}))
    assert family_name(package) == "champion"


def test_the_command_refuses_too_few_seeds_and_a_folder_that_is_no_package(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--twins", str(tmp_path)])
    assert "not an encoder package folder" in capsys.readouterr().err
    package = tmp_path / "p"
    package.mkdir()
    (package / "encoder_config.json").write_text("{}")
    with pytest.raises(SystemExit):
        main([str(package), "--twins", str(package), "--seeds", "3"])
    assert "--seeds must be at least 4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(package), "--twins", str(package), str(package)])
    assert "--twins needs at least 3 packages" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a bad control fails before anything is embedded
        main([str(package), "--twins", str(package), str(package), str(package),
              "--controls", f"opcode-histogram,ir2vec-fa@{tmp_path / 'nowhere'}"])
    assert "holds no seedEmbeddingVocab.txt" in capsys.readouterr().err


def test_recorded_controls_are_kept_only_at_the_same_seeds_and_on_every_setting():
    section = _section()
    section["controls"]["devmap-669 amd"]["ir2vec-fa@rand0"] = [85.0] * 6  # on one setting only
    kept = kept_controls(section, SETTINGS, 6)
    assert set(kept) == set(SETTINGS)
    assert all(list(v) == ["opcode-histogram"] for v in kept.values())
    assert kept["devmap-680 nvidia"]["opcode-histogram"] == \
        section["controls"]["devmap-680 nvidia"]["opcode-histogram"]
    assert kept_controls(section, SETTINGS, 20) == {}  # other seeds: nothing kept
    assert kept_controls(section, [*SETTINGS, "devmap-700 amd"], 6) == {}
    assert kept_controls({}, SETTINGS, 6) == {}


def test_the_settings_asked_for_are_named_as_a_section_records_them():
    import argparse

    args = argparse.Namespace(row_sets="680,669,", platforms="nvidia,amd")
    assert sweep_settings(args) == SETTINGS
    assert set(kept_controls(_section(), sweep_settings(args), 6)) == set(SETTINGS)
    assert sweep_settings(argparse.Namespace(row_sets="680", platforms="amd")) == \
        ["devmap-680 amd"]


def test_keeping_controls_needs_a_recorded_section(tmp_path: Path, capsys):
    package = tmp_path / "p"
    package.mkdir()
    (package / "encoder_config.json").write_text("{}")
    with pytest.raises(SystemExit):
        main([str(package), "--twins", str(package), str(package), str(package),
              "--keep-controls", "--report-dir", str(tmp_path)])
    assert "--keep-controls: the recorded section holds no controls at 20 seeds" in \
        capsys.readouterr().err


def test_a_family_keeps_the_command_that_scores_it_again():
    import argparse
    import shlex

    from mirencoder.training.evaluation.devmap_resolution import rerun_command

    args = argparse.Namespace(model=Path("runs/a/encoder"), twins=[Path("t0"), Path("t1")],
                              also=["seed3=runs/b/encoder"], controls="opcode-histogram",
                              embedding="graph", seeds=20, row_sets="669,680",
                              platforms="amd,nvidia", jobs=2, family="one architecture",
                              data_dir=None, report_dir=Path("."), note="left out")
    command = rerun_command(args)
    assert shlex.split(command)[3:] == [
        "runs/a/encoder", "--twins", "t0", "t1", "--also", "seed3=runs/b/encoder",
        "--controls", "opcode-histogram", "--embedding", "graph", "--seeds", "20",
        "--row-sets", "669,680", "--platforms", "amd,nvidia", "--jobs", "2",
        "--family", "one architecture", "--report-dir", "."]
    args.keep_controls = True
    assert shlex.split(rerun_command(args))[-3:] == ["--keep-controls", "--report-dir", "."]
    family = _family(0.0, np.random.default_rng(3))
    family["command"] = command
    page = devmap_resolution_markdown(merge_family({}, "one architecture", family, {}, 6))
    assert f"Command: `{command}`." in page and "left out" not in page
