"""The encoder registry on a real SQLite MLflow store: versions, aliases, lineage, model card,
pulling with a cache, a fresh-process pyfunc load and a real `mlflow models serve`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError, FatalError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo-corpus"
C_PROGRAM = "int add_one(int x) { return x + 1; }\n"


@pytest.fixture(scope="module")
def package(random_package, tmp_path_factory) -> Path:
    """The shared random package, plus the principal basis a finished run ships."""
    from mirencoder.training.core.package import add_package_file
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.principal_basis import (
        PACKAGE_BASIS_FILE,
        fit_principal_basis,
    )

    path = tmp_path_factory.mktemp("package") / "encoder"
    shutil.copytree(random_package, path)
    embedder = Embedder.from_uri(str(path))
    basis = fit_principal_basis(embedder, [embedder.prepare_file(p)
                                           for p in sorted((DEMO / "ir").glob("*.ll"))])
    add_package_file(path, PACKAGE_BASIS_FILE, basis.to_bytes())
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def registered(package, store):
    """Two versions: v1 logged into a 'training' run with loss curves, v2 on its own."""
    import mlflow

    from mirencoder.infra.tracking import ensure_experiment
    from mirencoder.training.registry.model_registry import register_encoder

    client = mlflow.MlflowClient(tracking_uri=store)
    run = client.create_run(ensure_experiment("pretrain-test", tracking_uri=store))
    for step in range(6):
        client.log_metric(run.info.run_id, "train/loss", 5.0 / (1 + step), step=step)
        client.log_metric(run.info.run_id, "train/mlm_acc", 0.1 * step, step=step)
    client.set_terminated(run.info.run_id)
    v1 = register_encoder(package, run_id=run.info.run_id, tracking_uri=store,
                          metrics={"devmap.amd.accuracy": 0.75})
    v2 = register_encoder(package, tracking_uri=store)
    client.set_registered_model_alias("mirencoder", "champion", "1")
    return {"run_id": run.info.run_id, "v1": v1, "v2": v2, "client": client}


def test_register_tags_lineage_aliases_and_card(registered, package, store):
    from mirencoder.training.registry.model_registry import list_versions

    v1, v2, client = registered["v1"], registered["v2"], registered["client"]
    assert (v1.version, v2.version) == (1, 2)
    config = json.loads((package / "encoder_config.json").read_text())
    lineage = json.loads((package / "lineage.json").read_text())
    for key in ("tokenizer_sha256", "node_vocab_sha256", "config_sha256", "code_version",
                "weights_sha256"):
        assert v1.tags[key], key
    assert v1.tags["tokenizer_sha256"] == lineage["tokenizer_sha256"]
    assert int(v1.tags["num_parameters"]) == config["num_parameters"]
    assert v1.tags["embedding_dim"] == "128" and v1.tags["untrained"] == "true"
    assert v1.metrics == {"devmap.amd.accuracy": "0.75"}
    assert v1.run_id == registered["run_id"]
    # The training run keeps its status; it now holds the model card and its curves.
    assert client.get_run(v1.run_id).info.status == "FINISHED"
    card_files = {f.path for f in client.list_artifacts(v1.run_id, "model_card")}
    assert card_files == {"model_card/mirencoder-v1.md", "model_card/training_curves.png"}
    card = client.get_model_version("mirencoder", "1").description
    for section in ("## Data and lineage", "## Size", "## Training curves", "## Evaluation",
                    "training_curves.png", "train/loss", "devmap.amd.accuracy", "932,608"
                    if config["num_parameters"] == 932608 else f"{config['num_parameters']:,}"):
        assert section in card, section
    # The candidate alias follows the newest version.
    assert v1.aliases == ("candidate",) and v2.aliases == ("candidate",)
    versions = list_versions(tracking_uri=store)
    assert [v.version for v in versions] == [2, 1]
    assert "candidate" in versions[0].aliases and "candidate" not in versions[1].aliases


def test_promote_list_metrics_and_cli(registered, store, capsys):
    from mirencoder.cli import main
    from mirencoder.training.registry.model_registry import (
        get_version,
        promote,
        set_version_metrics,
    )

    info = promote(1, "champion", tracking_uri=store)
    assert info.version == 1 and "champion" in info.aliases
    with pytest.raises(ConfigError, match=r"known versions: 1 \(champion\), 2 \(candidate\)"):
        promote(7, tracking_uri=store)
    with pytest.raises(ConfigError, match="must be a word"):
        promote(1, "9lives", tracking_uri=store)
    with pytest.raises(ConfigError, match="no version or alias 'gold'"):
        get_version("gold", tracking_uri=store)
    updated = set_version_metrics("mirencoder", "champion",
                                  {"devmap": {"nvidia": {"accuracy": 0.5}}}, tracking_uri=store)
    assert updated.metrics["devmap.nvidia.accuracy"] == "0.5"
    assert "devmap.nvidia.accuracy" in registered["client"].get_model_version(
        "mirencoder", "1").description
    # Numeric eval.* tags (the evaluation report's) count as metrics; other eval.* tags do not.
    registered["client"].set_model_version_tag("mirencoder", "1", "eval.tc.speedup_mean", "1.1")
    registered["client"].set_model_version_tag("mirencoder", "1", "eval.run_id", "abc")
    metrics = get_version(1, tracking_uri=store).metrics
    assert metrics["tc.speedup_mean"] == "1.1" and "run_id" not in metrics
    assert main(["registry", "promote", "2", "--alias", "candidate", "--tracking-uri", store]) == 0
    assert main(["registry", "list", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert "2 version(s)" in out and "champion" in out and "devmap.nvidia.accuracy=0.5" in out
    assert main(["registry", "list", "--name", "nope", "--tracking-uri", store]) == 2


def test_pull_by_alias_uses_a_cache_and_repairs_it(registered, package, store, tmp_path):
    from mirencoder.training.embedding.embedder import Embedder

    cache = tmp_path / "cache"
    pulled = Embedder.from_uri("models:/mirencoder@champion", tracking_uri=store, cache_dir=cache)
    assert (pulled.name, pulled.version, pulled.run_id) == ("mirencoder", "1",
                                                           registered["run_id"])
    entries = list(cache.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("mirencoder-1-")
    marker = entries[0] / ".mirencoder-complete"
    stamp = marker.stat().st_mtime_ns
    again = Embedder.from_uri("models:/mirencoder/1", tracking_uri=store, cache_dir=cache)
    assert marker.stat().st_mtime_ns == stamp  # served from the cache, not downloaded again
    local = Embedder.from_uri(package)
    vectors = [e.embed_texts([C_PROGRAM]).vectors for e in (pulled, again, local)]
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    np.testing.assert_allclose(vectors[1], vectors[2], atol=1e-6)
    # A corrupted cached copy is detected (sha256 in encoder_config.json) and pulled again.
    weights = again.package_dir / "encoder.safetensors"
    weights.write_bytes(b"\0" * 64)
    repaired = Embedder.from_uri("models:/mirencoder@champion", tracking_uri=store,
                                 cache_dir=cache)
    np.testing.assert_allclose(repaired.embed_texts([C_PROGRAM]).vectors, vectors[2], atol=1e-6)


def test_a_registered_version_ships_its_principal_basis(registered, store, tmp_path):
    from mirencoder.training.embedding.embedder import Embedder

    assert "principal_basis.npz" in json.loads(registered["v1"].tags["package_files"])
    plain = Embedder.from_uri("models:/mirencoder@champion", tracking_uri=store,
                              cache_dir=tmp_path)
    turned = Embedder.from_uri("models:/mirencoder@champion", tracking_uri=store,
                               cache_dir=tmp_path, basis="package", basis_dims=4)
    texts = [(DEMO / "ir" / "collatz.ll").read_text()]
    assert turned.embed_texts(texts, ["ir"]).vectors.shape == (1, 4)
    assert plain.embed_texts(texts, ["ir"]).vectors.shape == (1, 128)


def test_pull_errors_are_clear(registered, store, tmp_path):
    from mirencoder.infra.mlflow_server import free_port
    from mirencoder.training.embedding.embedder import Embedder

    with pytest.raises(ConfigError, match=r"no version or alias 'bronze'.*known versions: 1.*"
                       r"registry promote VERSION --alias bronze"):
        Embedder.from_uri("models:/mirencoder@bronze", tracking_uri=store, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"known versions: none.*bash infra/demo.sh"):
        Embedder.from_uri("models:/unknown-model@champion", tracking_uri=store,
                          cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="no version or alias '9'"):
        Embedder.from_uri("models:/mirencoder/9", tracking_uri=store, cache_dir=tmp_path)
    from mirencoder.training.registry.model_registry import list_versions

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(ConfigError, match=r"known: none; register one with `bash infra/demo.sh`"):
        list_versions(tracking_uri=empty)
    with pytest.raises(FatalError, match="does not exist"):
        Embedder.from_uri("models:/mirencoder@champion",
                          tracking_uri=f"sqlite:///{tmp_path / 'absent.db'}", cache_dir=tmp_path)
    start = time.monotonic()
    with pytest.raises(FatalError, match="cannot reach the MLflow registry"):
        Embedder.from_uri("models:/mirencoder@champion",
                          tracking_uri=f"http://127.0.0.1:{free_port()}", cache_dir=tmp_path)
    assert time.monotonic() - start < 15
    with pytest.raises(ConfigError, match="bad model URI"):
        Embedder.from_uri("models:/mirencoder", tracking_uri=store, cache_dir=tmp_path)


def _bin_env(store: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "MLFLOW_TRACKING_URI": store,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def _fresh_process_script() -> str:
    ir_path = str(DEMO / "ir" / "collatz.ll")
    return (
        "import json, mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model('models:/mirencoder@champion')\n"
        f"texts = [{C_PROGRAM!r}, open({ir_path!r}).read(), 'int x = ;']\n"
        "out = m.predict(pd.DataFrame({'text': texts, 'language': ['c', None, None]}))\n"
        f"listed = m.predict([{C_PROGRAM!r}])\n"
        f"turned = m.predict([{C_PROGRAM!r}], params={{'basis': 'package', 'basis_dims': 4}})\n"
        "diff = max(abs(a - b) for a, b in zip(listed['embedding'][0], out['embedding'][0]))\n"
        "print(json.dumps({'dims': [None if e is None else len(e) for e in out['embedding']],"
        " 'reasons': list(out['reason']), 'diff': diff,"
        " 'basis_dims': len(turned['embedding'][0])}))\n")


def _wait_for_ping(server: subprocess.Popen, port: int, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert server.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no /ping in {timeout_s} s:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)


def test_fresh_process_load_and_mlflow_models_serve(registered, store, tmp_path, require_clang):
    """`mlflow.pyfunc.load_model` in a new process, and a real HTTP POST to `mlflow models
    serve` (both start at once: the server boots while the fresh process embeds)."""
    from mirencoder.infra.mlflow_server import free_port

    port = free_port()
    log = tmp_path / "serve.log"
    command = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m",
               "models:/mirencoder@champion", "--env-manager", "local", "-h", "127.0.0.1",
               "-p", str(port)]
    with open(log, "wb") as sink:
        server = subprocess.Popen(command, env=_bin_env(store), cwd=tmp_path, stdout=sink,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        proc = subprocess.run([sys.executable, "-c", _fresh_process_script()],
                              env=_bin_env(store), cwd=tmp_path, capture_output=True, text=True,
                              timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["dims"] == [128, 128, None]
        assert result["reasons"] == ["", "", "compile_error"]
        assert result["diff"] < 1e-5  # a list of strings embeds like the DataFrame rows
        assert result["basis_dims"] == 4  # params reach the model (its signature declares them)

        _wait_for_ping(server, port, log, timeout_s=120)
        records = [{"text": C_PROGRAM},
                   {"text": (DEMO / "ir" / "clamp_scale.ll").read_text(), "language": "ir"},
                   {"text": "definitely not a program {", "language": "cpp"}]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"dataframe_records": records}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
            predictions = json.loads(response.read())["predictions"]
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=10)
    assert len(predictions) == 3
    assert [len(p["embedding"]) for p in predictions[:2]] == [128, 128]
    assert all(np.isfinite(p["embedding"]).all() for p in predictions[:2])
    assert predictions[2]["embedding"] is None and predictions[2]["reason"] == "compile_error"


def test_register_rejects_incomplete_packages(package, store, tmp_path):
    from mirencoder.training.registry.model_registry import register_encoder

    partial = tmp_path / "partial"
    shutil.copytree(package, partial)
    (partial / "tokenizer.json").unlink()
    with pytest.raises(ConfigError, match="lacks tokenizer.json"):
        register_encoder(partial, tracking_uri=store)
    with pytest.raises(ConfigError, match="no MLflow run"):
        register_encoder(package, run_id="0" * 32, tracking_uri=store)


def test_pyfunc_requirements_are_the_project_pins():
    import tomllib

    from mirencoder.training.registry.pyfunc_spec import PYFUNC_CODE_PATH, pyfunc_requirements

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = pyfunc_requirements()
    assert [r.split("==")[0] for r in requirements] == [
        "mlflow", "torch", "torch-geometric", "safetensors", "tokenizers", "llvmlite", "numpy",
        "pyarrow"]
    assert set(requirements) <= set(declared)
    # MLflow runs the model-from-code file as a script: it must import the package absolutely.
    assert PYFUNC_CODE_PATH == REPO / "mirencoder" / "pyfunc_model.py"
    assert "from mirencoder.training.embedding.embedder import Embedder" in (
        PYFUNC_CODE_PATH.read_text())


def test_register_a_finished_run_after_the_fact(package, tmp_path, capsys):
    """A run trained with tracking.register=false is registered later into its own MLflow run;
    its result.json records the version; unfinished, already registered and unknown folders
    are refused with what to do."""
    import mlflow

    from mirencoder.cli import main
    from mirencoder.infra.tracking import ensure_experiment
    from mirencoder.training.pretraining.fit import PretrainResult
    from mirencoder.training.registry.model_registry import get_version
    from mirencoder.training.registry.pretrain_register import register_run_folder

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store)
    run = client.create_run(ensure_experiment("pretrain-test", tracking_uri=store))
    client.log_metric(run.info.run_id, "train/loss", 2.0, step=1)
    client.set_terminated(run.info.run_id)
    folder = tmp_path / "runs" / "late"
    shutil.copytree(package, folder / "encoder")
    # package_dir as recorded on another machine: the folder's own encoder/ is used.
    result = PretrainResult(output_dir="/elsewhere/late", final_step=10, finished=True,
                            package_dir="/elsewhere/late/encoder",
                            mlflow_run_id=run.info.run_id, tracking_uri=store)
    result.write(folder / "result.json")

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(["registry", "register", str(folder), "--alias", "level-robust"]) == 0
    assert not [w for w in shown if "type hints" in str(w.message)]  # MLflow's advice, hidden
    assert "pull it as models:/mirencoder@level-robust" in capsys.readouterr().out
    assert PretrainResult.read(folder / "result.json").registered_version == "1"
    version = get_version("level-robust", tracking_uri=store)
    assert version.version == 1 and version.run_id == run.info.run_id
    with pytest.raises(ConfigError, match="already registered as version 1.*registry promote 1"):
        register_run_folder(folder, tracking_uri=store)

    result.finished, result.final_step, result.registered_version = False, 4, None
    result.write(folder / "result.json")
    with pytest.raises(ConfigError, match="stopped at step 4.*--resume"):
        register_run_folder(folder, tracking_uri=store)
    with pytest.raises(ConfigError, match="must be a word"):
        register_run_folder(folder, tracking_uri=store, alias="9lives")
    with pytest.raises(ConfigError, match="neither a pre-training run folder"):
        register_run_folder(tmp_path, tracking_uri=store)
    bare = register_run_folder(folder / "encoder", tracking_uri=store)
    assert bare.version == 2 and "candidate" in bare.aliases
    assert main(["registry", "register", str(tmp_path), "--tracking-uri", store]) == 2


def test_list_shows_the_headline_scores_of_an_evaluated_version_in_one_short_cell():
    from mirencoder.commands.registry_list import format_metrics

    report = {f"devmap-669.{protocol}.{platform}.{method}.{metric}": "80.5"
              for protocol in ("literature-rs104", "leakage-free") for platform in ("amd", "nvidia")
              for method in ("encoder", "encoder-graph") for metric in ("accuracy_mean",
                                                                       "speedup_mean")}
    report["devmap-669.leakage-free.nvidia.encoder.accuracy_mean"] = "81.76"
    report["thread-coarsening.leakage-free.average.encoder.speedup_mean"] = "1.0861"
    report["thread-coarsening.literature.average.encoder.speedup_mean"] = "1.24"
    cell = format_metrics({**report, "devmap.amd.accuracy": "0.75"})
    assert cell == ("devmap-669 LF amd 80.5 / nvidia 81.8 %; coarsening LF 1.086x; "
                    "devmap.amd.accuracy=0.75; 19 in all (--json)")
    assert format_metrics({"a": "1", "b": "2"}) == "a=1; b=2"
    assert format_metrics({}) == "-"
