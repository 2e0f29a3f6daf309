"""The representation probes: MAP@R, remark labels, held-out selection, the suite end to end."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.config import load_config
from mirencoder.infra.errors import ConfigError, MirError
from mirencoder.infra.files import sha256_file
from mirencoder.training.evaluation.probes import (
    CorpusSource,
    ProbeConfig,
    ProbeResults,
    RandomVectorsFeaturizer,
    TemplateIdentityFeaturizer,
    build_probe_featurizers,
    plot_probes,
    prepare_probe_programs,
    probes_markdown,
    run_probes,
)
from mirencoder.training.evaluation.probes.compile_cache import ProbeCompiler
from mirencoder.training.evaluation.probes.config import JOTAI_LOOP_FILTER
from mirencoder.training.evaluation.probes.decisions import (
    classification_scores,
    grouped_folds,
    majority_predictions,
)
from mirencoder.training.evaluation.probes.geometry import embedding_geometry
from mirencoder.training.evaluation.probes.heldout import read_manifest_view, select_held_out
from mirencoder.training.evaluation.probes.outputs import write_probe_outputs
from mirencoder.training.evaluation.probes.remarks import (
    parse_optimization_record,
    program_decision,
)
from mirencoder.training.evaluation.probes.rescore import (
    rescore_folder,
    score_with_recorded_settings,
    stored_probe_config,
)
from mirencoder.training.evaluation.probes.retrieval import (
    average_precision_at_r,
    deduplicate_variants,
    map_at_r,
)
from mirencoder.training.evaluation.probes.sources import (
    SourceFile,
    filter_sources,
    source_identity,
)
from mirencoder.training.evaluation.probes.suite import decision_scores, repeated_scores
from mirencoder.training.evaluation.probes.twin import resolve_untrained_twin
from mirencoder.training.evaluation.programs import EvalProgram
from mirencoder.training.registry.random_package import random_encoder_package

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
TINY_CONFIG = REPO_ROOT / "training" / "configs" / "tiny.yaml"


def _clang() -> str:
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed (infra/bootstrap.sh installs it with apt)")
    return clang


def _random_encoder_package(out: Path, ir_texts: list[Any]) -> Path:
    return random_encoder_package(out, ir_texts, config=TINY_CONFIG, vocab_size=300, seed=3)


def _angles(degrees: list[float]) -> np.ndarray:
    radians = np.deg2rad(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


# ----------------------------------------------------------------------------- MAP@R


def test_average_precision_at_r_by_hand() -> None:
    assert average_precision_at_r(np.array([1, 0, 1]), 2) == pytest.approx(0.5)
    assert average_precision_at_r(np.array([0, 1, 1]), 2) == pytest.approx(0.25)
    assert average_precision_at_r(np.array([1, 1, 0]), 2) == pytest.approx(1.0)
    assert average_precision_at_r(np.array([0, 0, 1, 1]), 2) == pytest.approx(0.0)
    assert np.isnan(average_precision_at_r(np.array([0, 1]), 0))


def test_map_at_r_one_relevant_item_each() -> None:
    # a1 0°, a2 10°, b1 25°, b2 90°: nearest of a1 is a2 (hit), of a2 is a1 (hit),
    # of b1 is a2 (miss), of b2 is b1 (hit).
    scores = map_at_r(_angles([0, 10, 25, 90]), ["a", "a", "b", "b"])
    assert scores.ap_at_r.tolist() == [1.0, 1.0, 0.0, 1.0]
    assert scores.map_at_r == pytest.approx(0.75)
    assert scores.mean_precision_at_1 == pytest.approx(0.75)


def test_map_at_r_two_relevant_items() -> None:
    # a1 0°, a2 30°, a3 60°, b1 20°. a1 ranks b1, a2, a3 -> AP@2 = (0 + 1/2) / 2 = 0.25;
    # a2 ranks b1 then a1/a3 -> 0.25; a3 ranks a2, b1, a1 -> (1 + 0) / 2 = 0.5; b1 has R = 0.
    scores = map_at_r(_angles([0, 30, 60, 20]), ["a", "a", "a", "b"])
    assert scores.query_index.tolist() == [0, 1, 2]
    assert scores.ap_at_r == pytest.approx([0.25, 0.25, 0.5])
    assert scores.map_at_r == pytest.approx(1 / 3)
    assert scores.mean_precision_at_1 == pytest.approx(1 / 3)


def test_map_at_r_perfect_and_query_excluded() -> None:
    vectors = np.array([[1, 0], [1, 0.01], [0, 1], [0.01, 1]])
    assert map_at_r(vectors, ["a", "a", "b", "b"]).map_at_r == pytest.approx(1.0)


def test_map_at_r_ties_do_not_favour_relevant_items() -> None:
    # Identical vectors: the relevant item comes first in 1 of 3 orders on average.
    values = [map_at_r(np.ones((4, 3)), ["a", "a", "b", "b"], seed=s).map_at_r
              for s in range(200)]
    assert np.mean(values) == pytest.approx(1 / 3, abs=0.06)
    assert map_at_r(np.zeros((4, 3)), ["a", "a", "b", "b"]).map_at_r < 1.0


def test_embedding_geometry_by_hand() -> None:
    rng = np.random.default_rng(0)
    isotropic = embedding_geometry(rng.standard_normal((4000, 8)))
    assert isotropic["effective_rank"] == pytest.approx(8.0, rel=0.01)
    assert isotropic["dims_99"] == 8 and isotropic["dim"] == 8
    # Two independent directions copied into 6 dims (plus a constant one, dropped): rank 2,
    # whatever the width and the columns' scales.
    base = rng.standard_normal((500, 2))
    copies = np.hstack([base[:, :1] * 5, base[:, :1], base[:, 1:] * 0.1, base[:, 1:],
                        base[:, :1] - 3, base[:, 1:] * 2, np.ones((500, 1))])
    collapsed = embedding_geometry(copies)
    assert collapsed["effective_rank"] == pytest.approx(2.0, rel=0.02)
    assert collapsed["dims_90"] == collapsed["dims_99"] == 2 and collapsed["dim"] == 7
    with_nan = np.vstack([copies, np.full((1, 7), np.nan)])
    assert embedding_geometry(with_nan)["n"] == 500


def test_deduplicate_variants() -> None:
    groups = ["s1", "s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4"]
    digests = ["x", "x", "y", "z", "z", "y", "w", "u", "v"]
    kept, counts = deduplicate_variants(groups, digests)
    # s1 keeps x (first) and y; s2 has one distinct variant; s3 shares y with s1.
    assert kept == [0, 2, 7, 8]
    assert counts == {"identical_variants": 2, "single_variant_sources": 1,
                      "cross_source_duplicates": 1}


# ----------------------------------------------------------------------------- remarks

VECTORISABLE = """
void add(float *restrict a, const float *restrict b, int n) {
  for (int i = 0; i < n; i++) a[i] = a[i] + b[i];
}
"""
NOT_VECTORISABLE = """
extern int opaque(int);
int total(int *a, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += opaque(a[i]);
  return s;
}
"""
TWO_LOOPS = """
void two(float *restrict a, const float *restrict b, int n) {
  for (int i = 0; i < n; i++) a[i] = a[i] * b[i];
  for (int j = 0; j < n; j++) a[j] = a[j] - 2.0f;
}
"""
MAIN_ONLY = """
extern int opaque(int);
int main(void) { int s = 0; for (int i = 0; i < 100; i++) s += opaque(i); return s; }
"""
_TEXT_REMARK = re.compile(r"vectorization width: (\d+), interleaved count: (\d+)")


def _source(path: Path, text: str) -> SourceFile:
    path.write_text(text)
    return SourceFile("unit", str(path), path, source_identity(str(path)))


def _text_remarks(clang: str, path: Path) -> str:
    return subprocess.run([clang, "-O3", "-Rpass=loop-vectorize",
                           "-Rpass-missed=loop-vectorize", "-c", str(path), "-o", "/dev/null"],
                          capture_output=True, text=True, check=True).stderr


def test_remarks_on_real_clang_output(tmp_path: Path) -> None:
    clang = _clang()
    compiler = ProbeCompiler(tmp_path / "cache", workers=1)
    decisions = {}
    for name, text in [("vec", VECTORISABLE), ("novec", NOT_VECTORISABLE),
                       ("two", TWO_LOOPS), ("main", MAIN_ONLY)]:
        source = _source(tmp_path / f"{name}.c", text)
        outcome = compiler.remarks(source)
        assert outcome.path is not None, outcome.error
        decisions[name] = program_decision(parse_optimization_record(outcome.path.read_text()))
    vec, reason = decisions["vec"]
    assert reason is None and vec is not None and vec.vectorized and vec.vf > 1
    # The YAML record and the -Rpass text remarks agree.
    width, count = _TEXT_REMARK.search(_text_remarks(clang, tmp_path / "vec.c")).groups()
    assert (vec.vf, vec.ic) == (int(width), int(count))
    novec, reason = decisions["novec"]
    assert reason is None and novec is not None and not novec.vectorized
    assert (novec.vf, novec.labels()["vectorized"]) == (1, "no")
    assert "loop not vectorized" in _text_remarks(clang, tmp_path / "novec.c")
    assert decisions["two"] == (None, "several_loops")
    assert decisions["main"] == (None, "no_loop_decision")
    # A second compiler over the same cache compiles nothing.
    again = ProbeCompiler(tmp_path / "cache", workers=1)
    again.remarks(_source(tmp_path / "vec.c", VECTORISABLE))
    assert (again.hits, again.misses) == (1, 0)


def test_compile_failure_is_cached(tmp_path: Path) -> None:
    _clang()
    compiler = ProbeCompiler(tmp_path / "cache", workers=1)
    bad = _source(tmp_path / "bad.c", "int f( { return }\n")
    first = compiler.variant(bad, "O1")
    assert first.path is None and first.error.startswith("compile_error")
    again = ProbeCompiler(tmp_path / "cache", workers=1)
    assert again.variant(bad, "O1").error == first.error and again.misses == 0


# ----------------------------------------------------------------------------- held out


def _write_dataset(folder: Path, manifest: list[dict], splits: dict[str, list[str]],
                   fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True)
    index: dict[str, Any] = {"splits": {}}
    for split, keys in splits.items():
        entry: dict[str, list] = {"parquet": [], "wds": []}
        if fmt == "parquet":
            rel = f"parquet/{split}/part-00000-000.parquet"
            (folder / rel).parent.mkdir(parents=True)
            pq.write_table(pa.table({"key": pa.array(keys, pa.string())}), folder / rel)
        else:
            rel = f"wds/{split}/part-00000-000.tar"
            (folder / rel).parent.mkdir(parents=True)
            with tarfile.open(folder / rel, "w") as tar:
                for key in keys:
                    data = json.dumps({"key": key, "split": split}).encode()
                    info = tarfile.TarInfo(f"{key}.meta.json")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        entry[fmt].append({"path": rel, "records": len(keys),
                           "sha256": sha256_file(folder / rel)})
        index["splits"][split] = entry
    (folder / "index.json").write_text(json.dumps(index))
    columns = {name: [row.get(name) for row in manifest] for name in
               ("path", "corpus", "language", "status", "reason", "message", "ir_sha256", "key")}
    pq.write_table(pa.table(columns), folder / "manifest.parquet")
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "wds"])
def test_held_out_selection_from_a_manifest(tmp_path: Path, fmt: str) -> None:
    archive = "../shared/data/corpus/loops.tar.gz"
    manifest = [
        {"path": f"{archive}!d/test.c", "status": "ok", "key": "k-test"},
        {"path": f"{archive}!d/train.c", "status": "ok", "key": "k-train"},
        {"path": f"{archive}!d/dup-of-test.c", "status": "duplicate", "key": "k-test"},
        {"path": f"{archive}!d/dup-of-train.c", "status": "duplicate", "key": "k-train"},
        {"path": f"{archive}!d/failed.c", "status": "failed", "key": None},
        {"path": f"{archive}!d/valid.c", "status": "ok", "key": "k-val"},
    ]
    dataset = _write_dataset(tmp_path / "ds", manifest, {"train": ["k-train"],
                                                         "validation": ["k-val"],
                                                         "test": ["k-test"]}, fmt)
    names = ["test", "train", "dup-of-test", "dup-of-train", "failed", "valid", "absent"]
    sources = [SourceFile("loops", f"/abs/corpus/loops.tar.gz!d/{n}.c", tmp_path / f"{n}.c",
                          source_identity(f"/abs/corpus/loops.tar.gz!d/{n}.c")) for n in names]
    view = read_manifest_view(dataset)
    strict = select_held_out({"loops": sources}, view, include_unseen=False)
    assert [s.identity[1] for s in strict.sources["loops"]] == ["d/test.c", "d/dup-of-test.c"]
    assert strict.checked and "test split" in strict.statement
    assert strict.reasons["loops"] == {"absent": 1, "failed": 1, "test_split": 2, "train": 2,
                                       "validation": 1}
    wide = select_held_out({"loops": sources}, view, include_unseen=True)
    assert [s.identity[1] for s in wide.sources["loops"]] == [
        "d/test.c", "d/dup-of-test.c", "d/failed.c", "d/absent.c"]
    assert wide.summary()["eligible"] == {"loops": 4}


def test_held_out_selection_with_one_row_per_optimisation_level(tmp_path: Path) -> None:
    """A source is seen when any of its level variants was trained on, even if another
    level failed or is a duplicate of a test record."""
    archive = "../shared/data/corpus/loops.tar.gz"
    manifest = [
        {"path": f"{archive}!d/mixed.c", "status": "failed", "key": None},
        {"path": f"{archive}!d/mixed.c", "status": "ok", "key": "k-train"},
        {"path": f"{archive}!d/held.c", "status": "ok", "key": "k-test"},
        {"path": f"{archive}!d/held.c", "status": "duplicate", "key": "k-test"},
        {"path": f"{archive}!d/held.c", "status": "failed", "key": None},
    ]
    dataset = _write_dataset(tmp_path / "ds", manifest, {"train": ["k-train"],
                                                         "test": ["k-test"]}, "parquet")
    sources = [SourceFile("loops", f"/abs/corpus/loops.tar.gz!d/{n}.c", tmp_path / f"{n}.c",
                          source_identity(f"/abs/corpus/loops.tar.gz!d/{n}.c"))
               for n in ("mixed", "held")]
    selection = select_held_out({"loops": sources}, read_manifest_view(dataset),
                                include_unseen=True)
    assert [s.identity[1] for s in selection.sources["loops"]] == ["d/held.c"]
    assert selection.reasons["loops"] == {"test_split": 1, "train": 1}


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a built dataset"):
        read_manifest_view(tmp_path)


# ----------------------------------------------------------------------------- folds, controls


def test_grouped_folds_and_majority_baseline() -> None:
    labels = ["a"] * 12 + ["b"] * 8
    groups = [f"g{i // 2}" for i in range(20)]
    folds = grouped_folds(labels, groups, 5, seed=0)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(20))
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
    predictions = majority_predictions(labels, folds)
    scores = classification_scores(labels, predictions)
    assert scores["n"] == 20 and scores["accuracy"] == pytest.approx(
        np.mean(np.asarray(labels) == predictions.astype(str)))


def test_repeated_fold_seeds_average_and_spread(synthetic_decisions) -> None:
    assert repeated_scores([{"accuracy": 0.5, "macro_f1": 0.4, "n": 9},
                            {"accuracy": 0.7, "macro_f1": 0.6, "n": 9}]) == pytest.approx(
        {"accuracy": 0.6, "accuracy_std": 0.1414214, "macro_f1": 0.5,
         "macro_f1_std": 0.1414214, "n": 9, "repeats": 2})
    rng = np.random.default_rng(0)
    data, yes = synthetic_decisions(60)
    features = {"noisy": rng.standard_normal((60, 4)) + yes}
    config = ProbeConfig(folds=3, fold_repeats=1, min_class_count=2)
    single = decision_scores(features, data, config)["source"]["vectorized"]
    repeated = decision_scores(features, data, dataclasses.replace(config, fold_repeats=4))
    repeated = repeated["source"]["vectorized"]
    assert single["repeats"] == 1 and single["methods"]["noisy"]["accuracy_std"] == 0.0
    assert repeated["repeats"] == 4 and repeated["methods"]["noisy"]["repeats"] == 4
    assert repeated["methods"]["noisy"]["accuracy_std"] > 0  # other folds, other scores
    # Repeat r uses fold seed seed + r: the mean is that of four single runs at seeds 0-3.
    singles = [decision_scores(features, data, dataclasses.replace(config, seed=seed))
               ["source"]["vectorized"]["methods"]["noisy"]["accuracy"] for seed in range(4)]
    assert repeated["methods"]["noisy"]["accuracy"] == pytest.approx(np.mean(singles))
    assert "fold_repeats must be >= 1" in str(_config_error(fold_repeats=0))
    assert "by_corpus" not in repeated["majority"] or repeated["majority"]["by_corpus"] == {}


def test_fits_in_worker_processes_score_what_one_process_does(synthetic_decisions) -> None:
    rng = np.random.default_rng(3)
    data, yes = synthetic_decisions(90)
    features = {"noisy": rng.standard_normal((90, 6)) + yes,
                "weak": rng.standard_normal((90, 3)) + 0.3 * yes}
    moved = {name: x + 0.1 * rng.standard_normal(x.shape) for name, x in features.items()}
    config = ProbeConfig(folds=3, fold_repeats=2, min_class_count=2)
    here = decision_scores(features, data, dataclasses.replace(config, fit_processes=1),
                           moved, min_process_work=0)
    spawned = decision_scores(features, data, dataclasses.replace(config, fit_processes=2),
                              moved, min_process_work=0)
    assert spawned == here
    scores = here["source"]["vectorized"]["methods"]
    assert scores["noisy"]["accuracy"] > scores["weak"]["accuracy"]  # real fits, not copies
    assert "fit_processes must be >= 0" in str(_config_error(fit_processes=-1))


def test_scores_by_corpus_split_the_pooled_predictions(synthetic_decisions) -> None:
    data, yes = synthetic_decisions(60)
    data.corpora = ["a" if i < 20 else "b" for i in range(60)]
    # the signal is clean on corpus a and absent on corpus b
    signal = np.where(np.arange(60)[:, None] < 20, yes, 0.5)
    config = ProbeConfig(folds=3, fold_repeats=2, min_class_count=2)
    task = decision_scores({"m": signal}, data, config)["source"]["vectorized"]
    by_corpus = task["methods"]["m"]["by_corpus"]
    assert set(by_corpus) == {"a", "b"} and by_corpus["a"]["n"] == 20
    assert by_corpus["a"]["accuracy"] == 1.0 > by_corpus["b"]["accuracy"]
    pooled = (20 * by_corpus["a"]["accuracy"] + 40 * by_corpus["b"]["accuracy"]) / 60
    assert task["methods"]["m"]["accuracy"] == pytest.approx(pooled)
    assert set(task["majority"]["by_corpus"]) == {"a", "b"}


def test_a_share_of_the_training_groups_scores_the_same_test_rows(synthetic_decisions) -> None:
    rng = np.random.default_rng(1)
    data, yes = synthetic_decisions(120)
    features = {"noisy": rng.standard_normal((120, 4)) + 2.0 * yes}
    config = ProbeConfig(folds=3, fold_repeats=2, min_class_count=2)
    full = decision_scores(features, data, config)["source"]["vectorized"]
    few = decision_scores(features, data, dataclasses.replace(config, decision_train_share=0.1))
    few = few["source"]["vectorized"]
    assert few["methods"]["noisy"]["n"] == full["methods"]["noisy"]["n"] == 120
    assert few["methods"]["noisy"]["accuracy"] != full["methods"]["noisy"]["accuracy"]
    assert few["methods"]["noisy"]["accuracy"] > 0.6  # 6 of 60 sources still carry the signal
    assert "decision_train_share must be in (0, 1]" in str(
        _config_error(decision_train_share=0.0))


def test_stored_probe_config_pins_aliases_and_moves_paths() -> None:
    stored = {"config": ProbeConfig(model="models:/mirencoder@champion",
                                    untrained_model="runs/old/all/twin", fold_repeats=1,
                                    modalities=("fused",)).to_dict(),
              "encoder": {"version": "10"}}
    stored["config"]["retired_setting"] = 1  # settings a later version dropped are ignored
    del stored["config"]["fold_repeats"]  # settings the file predates take today's default
    config = stored_probe_config(stored, [("runs/old/", "runs/new/x/")], progress=False)
    assert config.model == "models:/mirencoder/10"  # the alias may have moved since
    assert config.untrained_model == "runs/new/x/all/twin"
    assert config.fold_repeats == ProbeConfig().fold_repeats and config.modalities == ("fused",)
    assert config.corpora == ProbeConfig().corpora
    stored["encoder"] = {}
    with pytest.raises(MirError, match="no version to pin"):
        stored_probe_config(stored)


def _config_error(**kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        ProbeConfig(**kwargs)
    return caught.value


def test_classification_scores_by_hand() -> None:
    predictions = np.array(["a", "a", "b", None], dtype=object)
    scores = classification_scores(["a", "b", "b", "b"], predictions)
    # Rows 0-2: accuracy 2/3; F1(a) = 2/3, F1(b) = 2/3.
    assert scores == pytest.approx({"accuracy": 2 / 3, "macro_f1": 2 / 3, "n": 3})


def test_untrained_model_choice() -> None:
    from mirencoder.training.evaluation.probes.twin import twin_choice

    assert twin_choice(" Auto ") == twin_choice(ProbeConfig().untrained_model) == "auto"
    for off in (None, "", "none", "NONE", "off"):
        assert twin_choice(off) is None
    assert twin_choice("models:/m@x") == "models:/m@x"
    # On the command line "none" stays the word (a plain str field), not an unset value.
    assert load_config(ProbeConfig, overrides=["untrained_model=none"]).untrained_model == "none"


def test_random_vectors_depend_on_key_only() -> None:
    programs = [EvalProgram(f"p{i}", f"p{i}", Path(f"/x/{i}.bc")) for i in range(3)]
    featurizer = RandomVectorsFeaturizer(16, seed=1)
    forward = featurizer.featurize(programs)
    backward = featurizer.featurize(programs[::-1])
    assert forward.shape == (3, 16)
    assert np.array_equal(forward, backward[::-1])
    assert not np.allclose(forward, RandomVectorsFeaturizer(16, seed=2).featurize(programs))


def test_template_identity_one_hot() -> None:
    programs = [EvalProgram(f"{k}@O0", k, Path(f"/x/{i}.bc")) for i, k in enumerate(
        ["loops/training_data/s12_a.c", "loops/training_data/s12_b.c", "loops/training_data/s7n_c.c",
         "jotai/f.c", "jotai/g.c"])]
    featurizer = TemplateIdentityFeaturizer({"loops": r"^(s\d+n?)_", "jotai": None})
    out = featurizer.featurize(programs)
    assert featurizer.retrieval is False and out.shape == (5, 4)
    assert np.array_equal(out.sum(axis=1), np.ones(5))
    assert np.array_equal(out[0], out[1])  # one template: s12
    assert len({tuple(row) for row in out[2:]}) == 3  # s7n, and each jotai file its own


def test_config_validation() -> None:
    with pytest.raises(ConfigError) as error:
        ProbeConfig(opt_levels=("O0", "O9"), controls=("nope",), folds=1)
    message = str(error.value)
    assert "opt_levels" in message and "controls" in message and "folds" in message
    assert json.dumps(ProbeConfig().to_dict())
    bad = CorpusSource("c", "c.tar.gz", "*.c", decision_filter="for(", decision_candidates=-1)
    with pytest.raises(ConfigError) as error:
        ProbeConfig(corpora=(bad,))
    assert "decision_filter is not a regex" in str(error.value)
    assert "decision_candidates must be >= 0" in str(error.value)


_JOTAI_SEPARATOR = "// " + "-" * 73 + " //"


def _jotai_like(body: str, helpers: str = "") -> str:
    """A file laid out as Jotai's: preamble, the function, the driver's helpers, ``main``."""
    return (f"#include <stdlib.h>\nint next_i() {{ return 3; }}\n\n{_JOTAI_SEPARATOR}\n\n"
            f"{body}\n\n{_JOTAI_SEPARATOR}\n{helpers}\n{_JOTAI_SEPARATOR}\n\n"
            "int main(int argc, char *argv[]) {\n  int *a = malloc(64);\n"
            "  for(int _i0 = 0; _i0 < 16; _i0++) a[_i0] = next_i();\n  return f(a, 16);\n}\n")


def test_jotai_loop_filter_sees_loops_outside_the_driver(tmp_path: Path) -> None:
    texts = {
        "loop": _jotai_like("int f(int *a, int n) {\n  int s = 0;\n"
                            "  for (int i = 0; i < n; i++) s += a[i];\n  return s;\n}"),
        "while": _jotai_like("int f(int *a, int n) {\n  while(n--) a[n] = 0;\n  return 0;\n}"),
        "do": _jotai_like("int f(int *a, int n) {\n  do { n--; } while (n);\n  return n;\n}"),
        "helper": _jotai_like("int f(int *a, int n) { return a[n]; }",
                              "void _delete(int *p) {\n  for (;;) free(p);\n}"),
        "no_loop": _jotai_like("int f(int *a, int n) {\n  int format = a[0];\n"
                               "  return n > 0 ? format : 0; /* for (x) */\n}"),
        "main_only": _jotai_like("int f(int *a, int n) { return a[n] + n; }"),
    }
    texts["no_loop"] = texts["no_loop"].replace("/* for (x) */", "")
    sources = []
    for stem, text in texts.items():
        path = tmp_path / f"{stem}.c"
        path.write_text(text)
        sources.append(SourceFile("jotaibench", str(path), path, ("", str(path))))
    kept = {s.local_path.stem for s in filter_sources(sources, JOTAI_LOOP_FILTER)}
    # the driver's helpers are not main: their loops are decided too, so they stay candidates
    assert kept == {"loop", "while", "do", "helper"}


# ----------------------------------------------------------------------------- end to end

_OPS = {"add": "+", "sub": "-", "mul": "*"}


def _loop_corpus(folder: Path) -> Path:
    """A small archive of loop kernels: vectorisable ones and ones with an opaque call."""
    folder.mkdir(parents=True)
    with tarfile.open(folder / "loops.tar.gz", "w:gz") as tar:
        for ctype in ("float", "int", "double"):
            for name, op in _OPS.items():
                kernels = {
                    f"vec_{ctype}_{name}": f"void k({ctype} *restrict a, const {ctype} "
                                           f"*restrict b, int n) {{\n  for (int i = 0; i < n; "
                                           f"i++) a[i] = a[i] {op} b[i];\n}}\n",
                    f"call_{ctype}_{name}": f"extern {ctype} g({ctype});\nvoid k({ctype} *a, "
                                            f"int n) {{\n  for (int i = 0; i < n; i++) a[i] = "
                                            f"g(a[i]) {op} ({ctype})3;\n}}\n",
                }
                for stem, text in kernels.items():
                    data = text.encode()
                    info = tarfile.TarInfo(f"loops/{stem}.c")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return folder / "loops.tar.gz"


def _check_results(results: ProbeResults, methods: list[str], tmp_path: Path) -> None:
    data = results.to_dict()
    json.dumps(data, allow_nan=False)
    assert list(data["methods"]) == methods
    for method in methods:
        if data["methods"][method]["dim"] == 1 or method == "template-identity":
            # one number has no cosine to rank by; the template names the answer
            assert method not in data["retrieval"]["methods"]
        else:
            row = data["retrieval"]["methods"][method]
            assert 0.0 <= row["map_at_r"] <= 1.0 and row["queries"] > 0
        for grouping in data["decisions"]["groupings"].values():
            scores = grouping["vectorized"]["methods"][method]
            assert 0.0 <= scores["accuracy"] <= 1.0
    for method in methods:
        geometry = data["methods"][method]["geometry"]
        assert 1.0 <= geometry["effective_rank"] <= geometry["dim"]
        assert 1 <= geometry["dims_90"] <= geometry["dims_99"] <= geometry["dim"]
    markdown = probes_markdown(results)
    assert "### a. Optimisation-invariance retrieval" in markdown
    assert "### c. Embedding geometry" in markdown
    assert "| majority class |" in markdown and "| random |" in markdown
    assert plot_probes(results, tmp_path / "probes.png").stat().st_size > 1000
    assert ProbeResults.from_dict(data).to_dict() == data


@pytest.mark.slow
def test_suite_end_to_end_on_own_loops(tmp_path: Path) -> None:
    _clang()
    archive = _loop_corpus(tmp_path / "corpus")
    config = ProbeConfig(
        data_dir=tmp_path, cache_dir=tmp_path / "cache", folds=3, min_class_count=2,
        corpora=(CorpusSource("loops", str(archive), "loops/*.c", r"^(\w+?_\w+?)_"),),
        opt_levels=("O0", "O1", "O2"), retrieval_sources_per_corpus=8,
        decision_candidates_per_corpus=18, modalities=("fused", "graph"),
        untrained_modalities=("fused",),
        controls=("untrained", "opcode-histogram", "random", "template-identity"))
    data = prepare_probe_programs(config)
    assert data.held_out["checked"] is False and "UNCHECKED" in data.held_out["statement"]
    assert data.decisions.counts["outcomes"]["loops"]["qualified"] == 18
    assert sorted(set(data.decisions.labels["vectorized"])) == ["no", "yes"]
    assert data.retrieval.counts["sources_kept"] == {"loops": 8}
    texts = [p.path.read_bytes() for p in data.decisions.programs[:6]]
    package = _random_encoder_package(tmp_path / "package", texts)
    config.model = str(package)
    twin = resolve_untrained_twin(str(package), tmp_path / "twins")
    written = (twin / "encoder.safetensors").stat().st_mtime_ns
    assert resolve_untrained_twin(str(package), tmp_path / "twins") == twin  # made once
    assert (twin / "encoder.safetensors").stat().st_mtime_ns == written
    assert json.loads((twin / "lineage.json").read_text())["untrained"] is True
    config.untrained_model = str(twin)
    featurizers, skipped, encoder = build_probe_featurizers(config)
    assert skipped == {} and encoder["uri"] == str(package)
    results = run_probes(config, featurizers, data=data, skipped=skipped, encoder=encoder)
    methods = ["encoder", "encoder-graph", "encoder-untrained", "opcode-histogram", "random",
               "template-identity"]
    _check_results(results, methods, tmp_path)
    assert "`template-identity`: decision probe only" in probes_markdown(results)
    assert results.methods["random"]["dim"] == results.methods["encoder"]["dim"]
    # The rerun compiles nothing: every variant and remark file comes from the cache.
    assert prepare_probe_programs(config).toolchain["cache_misses"] == 0
    # Level shift: the same decision rows at -O1, from which the held-out folds are predicted.
    shifted = prepare_probe_programs(replace(config, decision_test_level="O1"))
    assert shifted.decisions.counts["test_level"] == "O1"
    assert [p.key for p in shifted.decisions.test_programs] == [
        p.key.replace("@O0", "@O1") for p in shifted.decisions.programs]
    assert {p.key for p in shifted.decisions.programs} <= {p.key for p in data.decisions.programs}
    moved = run_probes(replace(config, decision_test_level="O1"), featurizers[-2:],
                       data=shifted)
    assert "level shift: the held-out folds are predicted from their -O1 IR" in (
        moved.decisions["protocol"])
    assert moved.decisions["groupings"]["source"]["vectorized"]["methods"]["random"]
    # Rescoring the stored results under another protocol: same models, new repeats, the
    # previous file kept; a second folder scoring the same packages is embedded from memory.
    stored = tmp_path / "stored"
    write_probe_outputs(results, stored)
    shutil.copytree(stored, tmp_path / "copy")
    store: dict = {}
    rescored = rescore_folder(stored, store, {}, fold_repeats=2, progress=False)
    assert (stored / "probes.previous.json").exists()
    again = json.loads((stored / "probes.json").read_text())
    grouping = again["decisions"]["groupings"]["source"]["vectorized"]
    assert grouping["repeats"] == 2 and grouping["methods"]["encoder"]["repeats"] == 2
    assert again["retrieval"]["methods"]["encoder"]["map_at_r"] == pytest.approx(
        results.retrieval["methods"]["encoder"]["map_at_r"])
    assert list(rescored.methods) == methods and len(store) == len(methods)
    rescore_folder(tmp_path / "copy", store, {}, fold_repeats=2, progress=False)
    assert len(store) == len(methods)
    # One more model on the recorded settings: the twin scored as the model repeats its row.
    alone = score_with_recorded_settings(again, str(twin), tmp_path / "twin-alone",
                                         progress=False)
    assert list(alone.methods) == ["encoder", "encoder-graph"]
    assert (tmp_path / "twin-alone" / "probes.json").is_file()
    assert alone.retrieval["methods"]["encoder"]["map_at_r"] == pytest.approx(
        again["retrieval"]["methods"]["encoder-untrained"]["map_at_r"])
    twin_row = grouping["methods"]["encoder-untrained"]["accuracy"]
    assert alone.decisions["groupings"]["source"]["vectorized"]["methods"]["encoder"][
        "accuracy"] == pytest.approx(twin_row)
    # A new run with its twin on the recorded settings (evaluate_run.sh PROBE_SETTINGS=):
    # both rows, no other control, each as the recorded probe scored it.
    paired = score_with_recorded_settings(again, str(package), tmp_path / "paired",
                                          untrained_model=str(twin), progress=False)
    assert list(paired.methods) == ["encoder", "encoder-graph", "encoder-untrained"]
    paired_rows = paired.decisions["groupings"]["source"]["vectorized"]["methods"]
    for method in ("encoder", "encoder-untrained"):
        assert paired_rows[method]["accuracy"] == pytest.approx(
            grouping["methods"][method]["accuracy"])


def _shared_data() -> Path:
    if not (SHARED_DATA / "corpus" / "neurovectorizer-loops.tar.gz").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA


def _mini_loop_archive(data_dir: Path, out: Path, count: int) -> Path:
    """The first ``count`` NeuroVectorizer kernels plus their header, as a small archive."""
    with tarfile.open(data_dir / "corpus" / "neurovectorizer-loops.tar.gz") as src, \
            tarfile.open(out, "w:gz") as dst:
        kernels = 0
        for member in src:
            name = Path(member.name).name
            is_kernel = member.isfile() and re.match(r"s\d+n?_.*\.c$", name) is not None
            if member.isfile() and (name.startswith("header.") or (is_kernel and
                                                                   kernels < count)):
                kernels += is_kernel
                dst.addfile(member, src.extractfile(member))
    return out


@pytest.mark.shared_data
@pytest.mark.slow
def test_held_out_selection_on_a_real_build(tmp_path: Path) -> None:
    _clang()
    data_dir = _shared_data()
    from mirencoder.pipelines.build import build_dataset
    from mirencoder.pipelines.config import load_recipe

    archive = _mini_loop_archive(data_dir, tmp_path / "nvmini.tar.gz", 40)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: probes-mini\ninputs:\n  - path: {archive}\n    corpus: nv\n"
                      "vocab:\n  tokenizer_vocab_size: 300\n  node_vocab_max_size: 300\n"
                      "split:\n  validation_fraction: 0.2\n  test_fraction: 0.3\n"
                      "exclude_evaluation_kernels: false\n")
    dataset = tmp_path / "dataset"
    build_dataset(load_recipe(recipe), dataset, num_cpus=2, show_progress=False)
    manifest = pq.read_table(dataset / "manifest.parquet").to_pylist()
    keys = set(pq.read_table(dataset / "parquet" / "test", columns=["key"])
               .column("key").to_pylist()) if (dataset / "parquet" / "test").exists() else set()
    expected = {Path(r["path"].split("!", 1)[1]).name for r in manifest
                if r["key"] in keys and Path(r["path"]).name.startswith("s")}
    config = ProbeConfig(dataset=dataset, include_unseen=False, cache_dir=tmp_path / "cache",
                         corpora=(CorpusSource("nv", str(archive), "training_data/s*.c"),),
                         retrieval_sources_per_corpus=0, decision_candidates_per_corpus=40)
    data = prepare_probe_programs(config)
    assert data.held_out["checked"] and data.held_out["eligible"] == {"nv": len(expected)}
    assert data.held_out["reasons"]["nv"]["test_split"] == len(expected)
    chosen = {Path(p.kernel).name for p in data.decisions.programs}
    assert chosen and chosen <= expected


@pytest.mark.shared_data
@pytest.mark.slow
def test_suite_on_real_held_out_corpora(tmp_path: Path) -> None:
    _clang()
    data_dir = _shared_data()
    nv = CorpusSource("neurovectorizer-loops", "corpus/neurovectorizer-loops.tar.gz",
                      "training_data/s*.c", template_pattern=r"^(s\d+n?)_")
    config = ProbeConfig(data_dir=data_dir, cache_dir=tmp_path / "cache", corpora=(nv,),
                         retrieval_sources_per_corpus=6, decision_candidates_per_corpus=30,
                         folds=3, min_class_count=3,
                         controls=("opcode-histogram", "program-size", "random"),
                         random_dim=32)
    featurizers, skipped, _ = build_probe_featurizers(config)
    assert list(skipped) == ["encoder"]
    results = run_probes(config, featurizers, skipped=skipped)
    _check_results(results, ["opcode-histogram", "program-size", "random"], tmp_path)
    counts = results.decisions["counts"]
    # header.c and header.h are not programs; every kernel includes header.h and compiles.
    assert results.retrieval["counts"]["compile_failures"] == {}
    assert counts["candidates"] == {"neurovectorizer-loops": 30}
    assert counts["programs"]["neurovectorizer-loops"] >= 20
    histogram = results.retrieval["methods"]["opcode-histogram"]["map_at_r"]
    assert histogram > results.retrieval["methods"]["random"]["map_at_r"]
