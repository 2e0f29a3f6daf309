"""End-to-end fine-tuning head (`encoder+finetune`) on a tiny random encoder package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirencoder.cli import main
from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.devmap_data import DevMapData
from mirencoder.training.evaluation.devmap_eval import (
    DevMapConfig,
    evaluate_devmap_rows,
    own_head_factories,
)
from mirencoder.training.evaluation.feature_runs import featurize_programs
from mirencoder.training.evaluation.finetune import (
    FINETUNE_METHOD,
    HEAD_ONLY_READOUT_SUFFIX,
    UNTRAINED_FINETUNE_METHOD,
    XGBOOST_READOUT_SUFFIX,
    FineTuneConfig,
    FineTuneMethod,
)
from mirencoder.training.evaluation.finetune_readout import FineTunedReadout, HeadOnlyReadout
from mirencoder.training.evaluation.head_factory import make_head
from mirencoder.training.evaluation.programs import EvalProgram

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "datasets" / "demo-corpus"
SMALL = ["model.layers=1", "model.gnn_layers=1", "model.d_model=32", "model.heads=2",
         "model.ffn=64", "model.gnn_hidden=32", "model.fusion_dim=32",
         "model.context_length=64"]
SOURCES = [DEMO / "ir" / "clamp_scale.ll", DEMO / "ir" / "collatz.ll",
           DEMO / "c" / "matmul.c", DEMO / "c" / "crc32.c", DEMO / "c" / "prefix_sum.c",
           DEMO / "c" / "bit_tricks.c"]
SIZES = 4  # rows per program (data sizes)


@pytest.fixture(scope="module")
def embedder(tmp_path_factory, require_clang):
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.registry.random_package import random_encoder_package

    texts = [p.read_text() for p in sorted((DEMO / "ir").glob("*.ll"))]
    package = random_encoder_package(tmp_path_factory.mktemp("ft") / "encoder", texts,
                                     vocab_size=300, seed=3, overrides=SMALL)
    return Embedder.from_uri(package)


@pytest.fixture(scope="module")
def programs() -> list[EvalProgram]:
    return [EvalProgram(key=p.stem, kernel=p.stem, path=p) for p in SOURCES]


def _table(n_programs: int) -> pd.DataFrame:
    """Rows of every program at several data sizes; the label is a function of the program."""
    rng = np.random.default_rng(0)
    program = np.repeat(np.arange(n_programs), SIZES)
    oracle = np.where(program % 2 == 0, "GPU", "CPU")
    runtime_cpu = rng.uniform(1, 2, len(program))
    runtime_gpu = np.where(oracle == "GPU", runtime_cpu / 2, runtime_cpu * 2)
    return pd.DataFrame({
        "benchmark": [f"k{p}" for p in program], "dataset": np.tile(np.arange(SIZES), n_programs),
        "transfer": rng.uniform(0, 1e6, len(program)), "wgsize": rng.integers(1, 256, len(program)),
        "oracle": oracle, "runtime_cpu": runtime_cpu, "runtime_gpu": runtime_gpu,
        "program": program})


def _method(embedder, **overrides) -> FineTuneMethod:
    config = FineTuneConfig(**{"epochs": 2, "batch_size": 4, **overrides})
    return FineTuneMethod.from_embedder(embedder, config)


def _rows(method: FineTuneMethod, programs, table: pd.DataFrame) -> np.ndarray:
    column = method.featurize(programs)
    assert not method.errors and np.isfinite(column).all()
    return np.hstack([column[table["program"].to_numpy()],
                      table[["transfer", "wgsize"]].to_numpy(float)])


def _weights(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def test_finetuning_changes_weights_predicts_every_row_and_is_deterministic(embedder, programs):
    from mirencoder.training.core.package import load_encoder_package

    table = _table(len(programs))
    method = _method(embedder, epochs=4)
    features = _rows(method, programs, table)
    labels = table["oracle"].to_numpy().astype(str)
    test = np.flatnonzero(table["dataset"].to_numpy() == 0)
    train = np.setdiff1d(np.arange(len(table)), test)

    head = method.make_head(0).fit(features[train], labels[train])
    predicted = head.predict(features[test])
    assert predicted.shape == (len(test),) and set(predicted) <= {"CPU", "GPU"}
    assert len(head.losses) == 4 and len(head.step_losses) == 4 * 2  # 6 programs, 4 per step
    # the label is a function of the program: the head learns it on the training rows
    np.testing.assert_array_equal(head.predict(features[train]), labels[train])
    assert head.probe_loss is not None and head.probe_loss < 0.1

    original = _weights(load_encoder_package(embedder.package_dir)[0])
    tuned = _weights(head.encoder)
    assert original.keys() == tuned.keys()
    changed = [k for k in original if not np.array_equal(original[k], tuned[k])]
    assert changed, "fine-tuning left every encoder weight unchanged"
    # both modalities feed the fused embedding, so both encoders learn
    assert any(k.startswith("token_encoder") for k in changed)
    assert any(k.startswith("graph_encoder") for k in changed)

    again = method.make_head(0).fit(features[train], labels[train])
    np.testing.assert_array_equal(again.predict(features[test]), predicted)
    assert again.losses == head.losses
    assert all(np.array_equal(tuned[k], v) for k, v in _weights(again.encoder).items())

    other = method.make_head(1).fit(features[train], labels[train])
    assert other.losses != head.losses


def test_encoder_frozen_lr_zero_keeps_weights_and_one_class_is_constant(embedder, programs):
    table = _table(len(programs))
    method = _method(embedder, epochs=1, encoder_lr=0.0, weight_decay=0.0)
    features = _rows(method, programs, table)
    labels = table["oracle"].to_numpy().astype(str)
    head = method.make_head(0).fit(features, labels)
    original = _weights(embedder.model)
    assert all(np.array_equal(original[k], v) for k, v in _weights(head.encoder).items())

    single = method.make_head(0).fit(features[:4], np.array(["GPU"] * 4))
    assert single.encoder is None
    assert list(single.predict(features)) == ["GPU"] * len(features)


def test_devmap_rows_report_encoder_finetune(embedder, programs, tmp_path):
    table = _table(len(programs))
    method = _method(embedder, epochs=1)
    data = DevMapData(name="devmap-test", programs=programs, tables={"amd": table})
    features, info = featurize_programs(programs, [method], progress=False)
    assert info[FINETUNE_METHOD]["failures"] == {}
    config = DevMapConfig(data_dir=tmp_path, cache_dir=tmp_path, platforms=("amd",),
                          protocols=("literature",), split_seeds=(104,), seeds=1, n_splits=2)
    results = evaluate_devmap_rows(data, features, config, progress=False,
                                   own_heads=own_head_factories([method]))
    row = results["literature-rs104"]["amd"][FINETUNE_METHOD]
    assert row["n_rows"] == len(table) and 0 <= row["accuracy_mean"] <= 100
    # the frozen heads are not trained on the program-index column
    assert set(results["literature-rs104"]["amd"]) == {FINETUNE_METHOD, "static", "oracle"}


def test_failed_program_is_a_nan_row_and_identical_files_share_a_record(embedder, tmp_path):
    broken = tmp_path / "broken.ll"
    broken.write_text("define i32 @f( {\n")
    copy = tmp_path / "copy.ll"
    copy.write_bytes(SOURCES[0].read_bytes())
    method = _method(embedder)
    column = method.featurize([EvalProgram(key="ok", kernel="ok", path=SOURCES[0]),
                               EvalProgram(key="broken", kernel="b", path=broken),
                               EvalProgram(key="copy", kernel="c", path=copy)])
    assert column[0, 0] == 0 and np.isnan(column[1, 0]) and column[2, 0] == 0
    assert set(method.errors) == {"broken"}


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="epochs"):
        FineTuneConfig(epochs=0)
    with pytest.raises(ConfigError, match="modality"):
        FineTuneConfig(modality="pixels")


def test_cli_rejects_finetune_without_model(tmp_path: Path, capsys) -> None:
    code = main(["eval", "devmap", "--finetune", "--features", "kernel-identity",
                 "--data-dir", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path),
                 "--out-dir", str(tmp_path), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--finetune fine-tunes the encoder given by --model" in err


def test_cli_help_mentions_finetune(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "devmap", "--help"])
    text = capsys.readouterr().out
    assert "--finetune-epochs" in text and "thread coarsening" in text


def test_finetune_with_a_twin_fine_tunes_the_twin_the_same_way(embedder, tmp_path) -> None:
    """A fine-tuned encoder's row comes with its untrained twin fine-tuned alike."""
    from mirencoder.training.evaluation.command_support import build_featurizers
    from mirencoder.training.evaluation.eval_config import (
        DevMapEvalConfig,
        DevMapMethodsConfig,
    )
    from mirencoder.training.registry.random_package import random_encoder_package

    texts = [p.read_text() for p in sorted((DEMO / "ir").glob("*.ll"))]
    twin = random_encoder_package(tmp_path / "twin", texts, vocab_size=300, seed=4,
                                  overrides=SMALL)
    settings = FineTuneConfig(epochs=2, encoder_lr=1e-4)
    config = DevMapEvalConfig(
        methods=DevMapMethodsConfig(model=str(embedder.package_dir), untrained_model=str(twin),
                                    modalities=["fused"], features=[], finetune=True),
        finetune=settings)
    featurizers, encoder = build_featurizers(config, progress=False)
    by_name = {f.name: f for f in featurizers}
    assert set(by_name) == {"encoder", "encoder-untrained", FINETUNE_METHOD,
                            UNTRAINED_FINETUNE_METHOD}
    assert by_name[FINETUNE_METHOD].package_dir == Path(embedder.package_dir)
    assert by_name[UNTRAINED_FINETUNE_METHOD].package_dir == Path(twin)
    assert by_name[UNTRAINED_FINETUNE_METHOD].config == settings
    assert encoder is not None and encoder["untrained_uri"] == str(twin)
    without_twin = DevMapEvalConfig(methods=DevMapMethodsConfig(
        model=str(embedder.package_dir), modalities=["fused"], features=[], finetune=True))
    names = [f.name for f in build_featurizers(without_twin, progress=False)[0]]
    assert names == ["encoder", FINETUNE_METHOD]
    with_readout = DevMapEvalConfig(methods=config.methods,
                                    finetune=FineTuneConfig(xgboost_readout=True))
    names = [f.name for f in build_featurizers(with_readout, progress=False)[0]]
    assert names == ["encoder", FINETUNE_METHOD, FINETUNE_METHOD + XGBOOST_READOUT_SUFFIX,
                     "encoder-untrained", UNTRAINED_FINETUNE_METHOD,
                     UNTRAINED_FINETUNE_METHOD + XGBOOST_READOUT_SUFFIX]


def _trees(seed: int):
    return make_head("xgboost", "devmap", seed)


def test_xgboost_readout_reads_the_same_fine_tuning_as_the_mlp(embedder, programs):
    table = _table(len(programs))
    method = _method(embedder, epochs=2, encoder_lr=1e-4, xgboost_readout=True)
    readout = FineTunedReadout(method, _trees)
    features = _rows(method, programs, table)
    assert np.array_equal(readout.featurize(programs), method.featurize(programs)[:, :])
    labels = table["oracle"].to_numpy().astype(str)
    test = np.flatnonzero(table["dataset"].to_numpy() == 0)
    train = np.setdiff1d(np.arange(len(table)), test)

    mlp = method.make_head(0).fit(features[train], labels[train])
    trees = readout.make_head(0).fit(features[train], labels[train])
    assert trees.tuned is mlp.tuned  # one fine-tuning serves both rows
    assert method._fitted == {}  # handed to both, then forgotten
    tuned = mlp.tuned.embeddings(features[test])
    frozen = method.frozen_embeddings()[features[test, 0].astype(int)]
    assert tuned.shape == frozen.shape and not np.allclose(tuned, frozen)
    # the trees read [fine-tuned embedding ; transfer, wgsize], as the frozen rows do
    direct = _trees(0).fit(np.hstack([mlp.tuned.embeddings(features[train]),
                                      features[train, 1:]]), labels[train])
    np.testing.assert_array_equal(
        trees.predict(features[test]),
        direct.predict(np.hstack([tuned, features[test, 1:]])))
    # the MLP row predicts as an unshared fine-tuning does
    alone = _method(embedder, epochs=2, encoder_lr=1e-4)
    _rows(alone, programs, table)
    np.testing.assert_array_equal(
        mlp.predict(features[test]),
        alone.make_head(0).fit(features[train], labels[train]).predict(features[test]))

    single = readout.make_head(0).fit(features[:4], np.array(["GPU"] * 4))
    assert list(single.predict(features[:6])) == ["GPU"] * 6
    with pytest.raises(ConfigError, match="xgboost_readout"):
        FineTunedReadout(alone, _trees)


def test_devmap_rows_report_the_xgboost_readout(embedder, programs, tmp_path):
    table = _table(len(programs))
    method = _method(embedder, epochs=1, xgboost_readout=True)
    readout = FineTunedReadout(method, _trees)
    data = DevMapData(name="devmap-test", programs=programs, tables={"amd": table})
    features, _ = featurize_programs(programs, [method, readout], progress=False)
    config = DevMapConfig(data_dir=tmp_path, cache_dir=tmp_path, platforms=("amd",),
                          protocols=("leakage-free",), seeds=2, n_splits=2)
    results = evaluate_devmap_rows(data, features, config, progress=False,
                                   own_heads=own_head_factories([method, readout]))
    rows = results["leakage-free"]["amd"]
    assert set(rows) == {FINETUNE_METHOD, readout.name, "static", "oracle"}
    assert rows[readout.name]["n_rows"] == len(table)
    assert len(rows[readout.name]["per_seed"]) == 2
    assert method._fitted == {}  # every fold's fine-tuning was read by both rows
    assert readout.settings()["readout"] == "xgboost"


def test_stacked_head_adds_the_run_time_trees_and_learns_their_scale(embedder, programs):
    """``runtime_base``: the label here is a rule on ``wgsize`` alone (no program content), so
    the stacked head follows the trees on an unseen program; the trees' weight is learned
    from 1, and an unstacked head has no trees."""
    table = _table(len(programs))
    table["wgsize"] = np.tile([8, 16, 200, 250], len(programs))
    table["oracle"] = np.where(table["wgsize"] > 128, "GPU", "CPU")
    labels = table["oracle"].to_numpy().astype(str)
    stacked = _method(embedder, epochs=1, runtime_base=True, runtime_base_folds=3)
    features = _rows(stacked, programs, table)
    test = np.flatnonzero(table["program"].to_numpy() == 0)  # an unseen program
    train = np.setdiff1d(np.arange(len(table)), test)
    head = stacked.make_head(0).fit(features[train], labels[train])
    assert head.base is not None and head.base.train_margins.shape == (len(train), 2)
    np.testing.assert_array_equal(head.predict(features[test]), labels[test])
    scale = float(head.classifier.base_scale.detach())
    assert scale != 1.0 and np.isfinite(scale)  # learned, from 1
    assert "stacked on the protocol's XGBoost" in stacked.description
    plain_method = _method(embedder, epochs=1)
    _rows(plain_method, programs, table)
    plain = plain_method.make_head(0).fit(features[train], labels[train])
    assert plain.base is None and float(plain.classifier.base_scale.detach()) == 1.0
    with pytest.raises(ConfigError, match="runtime_base_folds"):
        FineTuneConfig(runtime_base_folds=1)


def test_head_only_readout_is_the_head_before_the_end_to_end_epochs(embedder, programs):
    """``head_only_readout``: one fitting per fold serves the MLP, the trees and the head-only
    row; with both learning rates at 0 the end-to-end epochs change nothing, so the two MLP
    rows agree; stacked, the head-only row carries the trees' margin too."""
    table = _table(len(programs))
    labels = table["oracle"].to_numpy().astype(str)
    test = np.flatnonzero(table["dataset"].to_numpy() == 0)
    train = np.setdiff1d(np.arange(len(table)), test)
    method = _method(embedder, epochs=1, encoder_lr=1e-3, xgboost_readout=True,
                     head_only_readout=True, runtime_base=True, runtime_base_folds=2)
    features = _rows(method, programs, table)
    rows = _finetune_rows_of(method)
    assert [r.name for r in rows] == [FINETUNE_METHOD, FINETUNE_METHOD + XGBOOST_READOUT_SUFFIX,
                                      FINETUNE_METHOD + HEAD_ONLY_READOUT_SUFFIX]
    heads = [r.make_head(0).fit(features[train], labels[train]) for r in rows]
    assert heads[0].tuned is heads[1].tuned is heads[2].tuned and method._fitted == {}
    before = heads[2].predict(features[test])
    assert before.shape == (len(test),) and set(before) <= {"CPU", "GPU"}
    assert heads[0].tuned.head_only is not heads[0].tuned.classifier

    still = _method(embedder, epochs=1, encoder_lr=0.0, head_lr=0.0, head_only_readout=True)
    _rows(still, programs, table)
    head = still.make_head(0).fit(features[train], labels[train]).tuned
    np.testing.assert_array_equal(head.predict_head_only(features), head.predict(features))
    with pytest.raises(ConfigError, match="head_only_readout needs probe_epochs"):
        FineTuneConfig(head_only_readout=True, probe_epochs=0)
    with pytest.raises(ConfigError, match="head_only_readout: true"):
        HeadOnlyReadout(_method(embedder))


def _finetune_rows_of(method: FineTuneMethod) -> list:
    from mirencoder.training.evaluation.command_support import _finetune_rows
    from mirencoder.training.evaluation.eval_config import DevMapEvalConfig

    return _finetune_rows(DevMapEvalConfig(finetune=method.config), method)
