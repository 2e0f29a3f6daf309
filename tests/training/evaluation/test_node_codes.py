"""Bags of node codes: node states, the codebook, the counts, the featurizer and the study's
table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.codebook_table import (
    SETTINGS,
    codebook_markdown,
    codebook_statements,
)
from mirencoder.training.evaluation.features.node_codes import (
    LoopProbe,
    NodeCodesFeaturizer,
    code_histograms,
    fit_loop_probe,
    fit_node_codebook,
    node_loop_facts,
    node_states,
)
from mirencoder.training.evaluation.programs import EvalProgram

DEMO_IR = Path(__file__).resolve().parents[3] / "datasets" / "demo-corpus" / "ir"
LOOP_IR = Path(__file__).resolve().parents[2] / "data" / "dot_loop.ll"


def test_counts_add_up_to_each_programs_nodes_and_follow_the_nearest_code():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(50, 8)).astype(np.float32)
    owners = np.repeat([0, 1, 2], [10, 15, 25])
    codebook = fit_node_codebook(states, 4, seed=0)
    assert codebook.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(codebook, axis=1), 1.0, rtol=1e-5)
    histograms = code_histograms(states, owners, codebook, 3)
    np.testing.assert_allclose(np.expm1(histograms).sum(axis=1), [10, 15, 25], rtol=1e-5)
    # a state equal to a centroid (at any length) counts for that centroid
    one = code_histograms(3.0 * codebook[2:3], np.zeros(1, dtype=int), codebook, 1)
    assert np.argmax(one[0]) == 2 and np.expm1(one[0]).sum() == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="needs codes >= 2"):
        fit_node_codebook(states[:3], 4)


def test_featurizer_reads_each_encoders_node_states_and_marks_bad_files(random_package,
                                                                      tmp_path):
    from mirencoder.training.embedding.embedder import Embedder

    embedder = Embedder.from_package(random_package)
    paths = [*sorted(DEMO_IR.glob("*.ll")), *sorted((DEMO_IR.parent / "c").glob("*.c"))][:4]
    n = len(paths)
    assert n >= 2
    records = [embedder.prepare_file(p) for p in paths]
    states, owners = node_states(embedder, records, batch_size=3)
    assert states.shape[0] == owners.shape[0] == sum(len(r["node_type"]) for r in records)
    assert states.shape[1] == embedder.model.config.gnn_hidden
    assert set(owners.tolist()) == set(range(len(records)))

    broken = tmp_path / "broken.ll"
    broken.write_text("this is not IR")
    programs = [EvalProgram(key=p.stem, kernel=p.stem, path=p) for p in [*paths, broken]]
    cache: dict = {}
    featurizer = NodeCodesFeaturizer("codes", embedder, fit_node_codebook(states, 5), cache)
    features = featurizer.featurize(programs)
    assert features.shape == (n + 1, 5)
    assert np.isfinite(features[:n]).all() and np.isnan(features[n]).all()
    assert list(featurizer.errors) == ["broken"]
    # one program alone gives the same counts as inside a batch of programs
    for row, record in enumerate(records):
        alone = code_histograms(node_states(embedder, [record])[0],
                                np.zeros(len(record["node_type"]), dtype=int),
                                featurizer.codebook, 1)[0]
        np.testing.assert_allclose(features[row], alone, atol=1e-6)
    assert len(cache) == n  # the network ran once per readable program


def test_loop_probe_learns_a_linear_loop_signal_and_reports_held_out_programs():
    rng = np.random.default_rng(0)
    owners = np.repeat(np.arange(20), 30)
    in_loop = rng.random(owners.size) < 0.3
    states = rng.normal(size=(owners.size, 6)).astype(np.float32)
    states[:, 0] += 4.0 * in_loop
    probe = fit_loop_probe(states, owners, in_loop)
    assert probe.held_out["accuracy"] > 0.95 and probe.held_out["f1_in_loop"] > 0.9
    assert 0.2 < probe.held_out["in_loop_share"] < 0.4
    assert (probe.in_loop(states) == in_loop).mean() > 0.95


def test_loop_readout_counts_only_the_instructions_the_probe_places_in_loops(random_package):
    from mirencoder.training.embedding.embedder import Embedder

    embedder = Embedder.from_package(random_package)
    record = embedder.prepare_file(LOOP_IR)
    states, _ = node_states(embedder, [record])
    instruction, in_loop = node_loop_facts(embedder, [record])
    assert instruction.shape == in_loop.shape == (len(states),)
    assert in_loop.any() and not (in_loop & ~instruction).any()  # loops hold instructions
    codebook = fit_node_codebook(states, 4)
    program = [EvalProgram(key="dot", kernel="dot", path=LOOP_IR)]
    cache: dict = {}
    every = LoopProbe(np.zeros(states.shape[1], dtype=np.float32), 1.0, {})
    counted = NodeCodesFeaturizer("loop", embedder, codebook, cache, every).featurize(program)
    np.testing.assert_allclose(np.expm1(counted[0]).sum(), instruction.sum(), rtol=1e-5)
    none = LoopProbe(np.zeros(states.shape[1], dtype=np.float32), -1.0, {})
    assert not NodeCodesFeaturizer("loop", embedder, codebook, cache, none).featurize(
        program).any()
    # The loop analysis itself (a perfect probe): exactly the instructions in loops.
    exact = NodeCodesFeaturizer("exact", embedder, codebook, cache, exact_loops=True)
    np.testing.assert_allclose(np.expm1(exact.featurize(program)[0]).sum(), in_loop.sum(),
                               rtol=1e-5)
    assert "loop analysis" in exact.description
    assert len(cache) == 1
    with pytest.raises(ConfigError, match="not both"):
        NodeCodesFeaturizer("both", embedder, codebook, cache, every, exact_loops=True)


def test_table_and_targets_line_compare_the_first_group_with_the_second():
    section = {"groups": {"pre-trained": ["a"], "untrained twins": ["b", "c"]}, "codes": 8,
               "seeds": [0, 1], "corpus_programs": 10, "dataset": "runs/datasets/x",
               "settings": list(SETTINGS),
               "scores": {"pre-trained": {s: [90.0, 92.0] for s in SETTINGS},
                          "untrained twins": {s: [87.0, 88.0, 88.0, 89.0] for s in SETTINGS}}}
    markdown = codebook_markdown(section)
    assert "| pre-trained (1) | 91.0 ± 1.4 (90.0–92.0) |" in markdown
    assert "| untrained twins (2) |" in markdown
    (line,) = codebook_statements(section)
    assert "+3.0 / +3.0 / +3.0 / +3.0" in line and "target +2 on all four: reached" in line
    section["scores"]["pre-trained"]["devmap-680 leakage-free nvidia"] = [88.0]
    assert "NOT reached" in codebook_statements(section)[0]
    assert codebook_statements({}) == []


def test_loop_opcode_histogram_counts_only_the_instructions_of_loops(tmp_path):
    from mirencoder.training.evaluation.features.loop_histogram import (
        LoopOpcodeHistogramFeaturizer,
    )
    from mirencoder.training.evaluation.features.opcode_histogram import LLVM_OPCODES

    ir = Path(__file__).resolve().parents[2] / "data" / "dot_loop.ll"  # a dot-product loop
    broken = tmp_path / "broken.ll"
    broken.write_text("not IR")
    featurizer = LoopOpcodeHistogramFeaturizer()
    features = featurizer.featurize([EvalProgram(key="dot", kernel="dot", path=ir),
                                     EvalProgram(key="bad", kernel="bad", path=broken)])
    counts = dict(zip([*LLVM_OPCODES, "other"], np.expm1(features[0]).round().astype(int),
                      strict=True))
    # the loop block: 2 phi, 2 getelementptr, 2 load, the fmuladd call, add, icmp, br
    assert {op: n for op, n in counts.items() if n} == {
        "phi": 2, "getelementptr": 2, "load": 2, "call": 1, "add": 1, "icmp": 1, "br": 1}
    assert np.isnan(features[1]).all() and list(featurizer.errors) == ["bad"]


def test_study_command_needs_groups_of_package_folders(tmp_path, capsys):
    from mirencoder.training.evaluation.codebook_study import main

    common = ["--dataset", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit):
        main(common)
    assert "give at least one --group or --loop-group" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*common, "--loop-group", f"a={tmp_path / 'nope'}", "--group", "b=" + str(tmp_path)])
    assert "not encoder package folders" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing scored, nothing written
