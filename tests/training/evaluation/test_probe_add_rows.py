"""Adding control rows to a recorded probe report: only on the same programs and settings."""

from __future__ import annotations

import copy

import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.probes.add_rows import add_probe_rows
from mirencoder.training.evaluation.probes.report import probes_markdown


def _probes(methods: dict[str, dict], retrieval: dict[str, float]) -> dict:
    decision = {"classes": {"no": 5, "yes": 5}, "n": 10, "majority": {"accuracy": 0.5},
                "methods": {m: {"accuracy": a, "macro_f1": a} for m, a in
                            {"encoder": 0.9, "opcode-histogram": 0.8, **{
                                m: 0.7 for m in methods if m not in ("encoder",
                                                                     "opcode-histogram")}}.items()
                            if m in methods}}
    return {"methods": methods, "skipped": {}, "held_out": {"statement": "held out"},
            "toolchain": {}, "encoder": {"uri": "models:/m@champion"},
            "config": {"seed": 0, "folds": 5, "controls": ["opcode-histogram"]},
            "retrieval": {"counts": {"queries": 7}, "methods": {
                m: {"map_at_r": v, "by_corpus": {}, "precision_at_1": v, "queries": 7}
                for m, v in retrieval.items()}},
            "decisions": {"counts": {"programs": {"loops": 10}},
                          "groupings": {"source": {"vectorized": decision}}},
            "timing": {}}


def _method(dim: int) -> dict:
    return {"description": "d", "dim": dim, "failed": 0, "featurize_s": 0.1,
            "geometry": {"effective_rank": 1.0, "dim": dim, "dims_90": 1, "dims_99": 1, "n": 10}}


def test_controls_join_the_recorded_rows_on_the_same_programs() -> None:
    recorded = _probes({"encoder": _method(128), "opcode-histogram": _method(66)},
                       {"encoder": 0.6, "opcode-histogram": 0.16})
    new = _probes({"opcode-histogram": _method(66), "program-size": _method(1)},
                  {"opcode-histogram": 0.16})
    before = copy.deepcopy(recorded)
    merged = add_probe_rows(recorded, new, "mirencoder eval probes --add-rows")
    assert recorded == before  # the recorded section itself is not changed
    assert list(merged["methods"]) == ["encoder", "opcode-histogram", "program-size"]
    assert merged["encoder"] == recorded["encoder"]
    tasks = merged["decisions"]["groupings"]["source"]["vectorized"]["methods"]
    assert tasks["program-size"]["accuracy"] == 0.7 and tasks["encoder"]["accuracy"] == 0.9
    assert "program-size" not in merged["retrieval"]["methods"]
    assert merged["config"]["controls"] == ["opcode-histogram", "program-size"]
    assert merged["added_rows"] == [{"methods": ["program-size"],
                                     "command": "mirencoder eval probes --add-rows"}]
    text = probes_markdown(merged)
    assert "`program-size`: decision probe only" in text
    assert "rows added later on the same programs and settings (checked): `program-size`" in text


def test_other_programs_or_settings_are_refused() -> None:
    recorded = _probes({"opcode-histogram": _method(66)}, {"opcode-histogram": 0.16})
    with pytest.raises(ConfigError, match="no probe results"):
        add_probe_rows({}, recorded, "c")
    other_seed = _probes({"program-size": _method(1)}, {})
    other_seed["config"]["seed"] = 1
    with pytest.raises(ConfigError, match="setting seed"):
        add_probe_rows(recorded, other_seed, "c")
    other_programs = _probes({"program-size": _method(1)}, {})
    other_programs["decisions"]["counts"] = {"programs": {"loops": 11}}
    with pytest.raises(ConfigError, match="decision probe chose other programs"):
        add_probe_rows(recorded, other_programs, "c")
    drifted = _probes({"opcode-histogram": _method(66)}, {"opcode-histogram": 0.17})
    with pytest.raises(ConfigError, match="opcode-histogram scores MAP@R 0.17 here"):
        add_probe_rows(recorded, drifted, "c")


def test_the_command_settings_refuse_encoder_rows_and_a_missing_report(tmp_path) -> None:
    from mirencoder.training.evaluation.probes.command_config import ProbesEvalConfig
    from mirencoder.training.evaluation.probes.config import ProbeConfig

    with pytest.raises(ConfigError, match="give --report-dir"):
        ProbesEvalConfig(add_rows=True)
    with pytest.raises(ConfigError, match="no --model"):
        ProbesEvalConfig(add_rows=True, report_dir=tmp_path,
                         probes=ProbeConfig(model="models:/m@champion"))
    assert ProbesEvalConfig(add_rows=True, report_dir=tmp_path,
                            probes=ProbeConfig(untrained_model="off")).add_rows
