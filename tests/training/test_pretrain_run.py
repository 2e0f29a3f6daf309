"""End-to-end pre-training: DDP learns, MLflow tracks, --resume repeats, Ray Train runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mirencoder.infra.errors import ConfigError
from mirencoder.training.pretraining.config import load_pretrain_config
from mirencoder.training.pretraining.pretrain import pretrain

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def _history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _mean(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if key in row]
    return sum(values) / len(values)


def _ddp_run(dataset: Path, run_dir: Path, steps: int, db: Path,
             model: dict) -> subprocess.CompletedProcess:
    args = {**model, "data.dataset_dir": dataset, "data.batch_size": 16,
            "data.num_workers": 0, "data.shuffle_buffer": 64, "trainer.devices": 2,
            "trainer.accelerator": "cpu", "trainer.max_steps": steps,
            "trainer.log_every": 10, "trainer.val_every_n_steps": 80,
            "trainer.limit_val_batches": 2,
            "trainer.checkpoint_every_n_steps": steps, "trainer.output_dir": run_dir,
            "optim.lr": "3.0e-3", "optim.warmup_steps": 10,
            "task.hard_negative_fraction": 0.25,
            "tracking.tracking_uri": f"sqlite:///{db}", "tracking.experiment": "test-pretrain"}
    command = [sys.executable, "-m", "mirencoder", "pretrain", "--config", "tiny"]
    for key, value in args.items():
        command += ["--set", f"{key}={value}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])


def _assert_learns(rows: list[dict], match_floor: float) -> None:
    early, late = rows[:3], rows[-4:]
    for loss in ("train/mlm_loss", "train/gae_loss", "train/match_loss"):
        assert _mean(late, loss) < _mean(early, loss) - 0.02, loss
    assert _mean(late, "train/mlm_accuracy") > _mean(late, "train/mlm_unigram_accuracy") + 0.1
    assert _mean(late, "train/match_accuracy") > match_floor


@pytest.fixture()
def learn_dataset(request, synthetic_dataset) -> Path:
    """The bundled demo shards (built with clang once per session), else the synthetic set."""
    try:
        return request.getfixturevalue("demo_dataset")
    except pytest.skip.Exception:
        return synthetic_dataset


@pytest.mark.slow
def test_ddp_two_cpu_processes_learn_and_log_to_mlflow(learn_dataset, small_model, tmp_path):
    run_dir, db = tmp_path / "run", tmp_path / "mlflow.db"
    out = _ddp_run(learn_dataset, run_dir, 160, db, small_model)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Starting with 2 processes" in out.stdout + out.stderr
    rows = _history(run_dir)
    assert rows[-1]["step"] == 160
    _assert_learns([row for row in rows if "train/loss" in row], match_floor=0.6)
    validated = [row for row in rows if "val/loss" in row]  # both ranks reduced every name
    assert [row["step"] for row in validated] == [80, 160], validated
    assert all(0.0 <= row["val/mlm_accuracy"] <= 1.0 for row in validated)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["finished"] and Path(result["package_dir"], "encoder.safetensors").exists()

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.params["config/model/d_model"] == "64"
    lineage = json.loads(Path(result["package_dir"], "lineage.json").read_text())
    assert run.data.tags["dataset_index_sha256"] == lineage["dataset_index_sha256"]
    assert run.data.tags["dataset_content_sha256"] == lineage["dataset_content_sha256"]
    assert run.data.tags["tokenizer_sha256"] == lineage["tokenizer_sha256"]
    assert run.data.tags["code_version"]
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert len(history) >= 10 and history[-1].step > history[0].step
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "loss_curves.png", "metrics.jsonl"} <= artifacts


def test_resume_ends_where_an_uninterrupted_run_ends(small_overrides, tmp_path):
    common = {**small_overrides, "trainer.max_steps": 8, "trainer.checkpoint_every_n_steps": 4,
              "model.dropout": 0.1,  # dropout on: its randomness must repeat too
              "trainer.threads": 1}  # one intra-op thread: the two runs repeat bit for bit
    straight = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **common, "trainer.output_dir": str(tmp_path / "straight")}))
    killed_dir = str(tmp_path / "killed")
    common["trainer.keep_checkpoints"] = True  # not hashed: the resume still matches
    stopped = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **common, "trainer.output_dir": killed_dir, "trainer.stop_at_step": 4}))
    assert stopped.final_step == 4 and not stopped.finished and stopped.package_dir is None
    assert Path(killed_dir, "checkpoints", "last.ckpt").exists()
    resumed = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **common, "trainer.output_dir": killed_dir}), resume=True)
    assert resumed.final_step == straight.final_step == 8 and resumed.finished
    assert resumed.start_step == 4 and straight.start_step == 0  # it did continue
    for key in ("train/loss", "train/mlm_loss", "train/gae_loss", "train/match_loss"):
        assert resumed.metrics[key] == straight.metrics[key]
    steps = [row["step"] for row in _history(Path(killed_dir))]
    assert steps == sorted(set(steps)) and steps[-1] == 8  # no duplicated history rows
    kept = sorted(p.name for p in Path(killed_dir, "checkpoints").glob("*.ckpt"))
    assert kept == ["last.ckpt", "step-0000004.ckpt", "step-0000008.ckpt"]  # a learning curve
    assert [p.name for p in Path(tmp_path, "straight", "checkpoints").glob("*.ckpt")] == [
        "last.ckpt"]  # by default the last only
    # The last checkpoint exported as a package holds the finished run's encoder.
    from safetensors.torch import load_file

    from mirencoder.training.pretraining.export import export_checkpoint

    exported = export_checkpoint(Path(killed_dir, "checkpoints", "last.ckpt"), tmp_path / "exp")
    lineage = json.loads((exported / "lineage.json").read_text())
    assert lineage["steps"] == 8 and lineage["exported_from_checkpoint"].endswith("last.ckpt")
    ours, theirs, straight_weights = (load_file(Path(p, "encoder.safetensors")) for p in (
        exported, resumed.package_dir, straight.package_dir))
    assert ours.keys() == theirs.keys() and all(bool((ours[k] == theirs[k]).all()) for k in ours)
    # Killed, resumed and uninterrupted: the same weights to the last bit (one thread each).
    assert all(bool((straight_weights[k] == theirs[k]).all()) for k in theirs)
    # Kept checkpoints averaged (weight averaging along the run) into one package.
    from mirencoder.infra.errors import ConfigError

    kept_dir = Path(killed_dir, "checkpoints")
    middle = load_file(export_checkpoint(kept_dir / "step-0000004.ckpt", tmp_path / "mid")
                       / "encoder.safetensors")
    averaged_dir = export_checkpoint(kept_dir / "step-0000008.ckpt", tmp_path / "avg",
                                     average_with=[kept_dir / "step-0000004.ckpt"])
    averaged = load_file(averaged_dir / "encoder.safetensors")
    lineage = json.loads((averaged_dir / "lineage.json").read_text())
    assert lineage["steps"] == 8 and len(lineage["averaged_checkpoints"]) == 2
    name = next(k for k in averaged if averaged[k].is_floating_point()
                and not bool((middle[k] == theirs[k]).all()))  # a weight that moved
    assert torch.allclose(averaged[name], (middle[name] + theirs[name]) / 2, atol=1e-6)
    other_seed = torch.load(kept_dir / "step-0000004.ckpt", weights_only=True)
    other_seed["hyper_parameters"]["config"]["data"]["seed"] += 1  # another run's checkpoint
    torch.save(other_seed, tmp_path / "other-seed.ckpt")
    with pytest.raises(ConfigError, match="different runs"):
        export_checkpoint(kept_dir / "step-0000008.ckpt", tmp_path / "bad",
                          average_with=[tmp_path / "other-seed.ckpt"])


def test_a_decoding_worker_from_the_fork_server_feeds_the_same_batches(small_overrides,
                                                                       tmp_path):
    """One DataLoader worker (``data.worker_start``'s default, the fork server) is one slot, as
    decoding in the training process is: the two runs repeat each other bit for bit."""
    from safetensors.torch import load_file

    common = {**small_overrides, "trainer.max_steps": 4, "trainer.threads": 1}
    runs = {workers: pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **common, "data.num_workers": workers, "trainer.output_dir": str(tmp_path / f"w{workers}")}))
        for workers in (0, 1)}
    assert all(run.finished and run.final_step == 4 for run in runs.values())
    for key in ("train/loss", "train/mlm_loss", "train/gae_loss", "train/match_loss"):
        assert runs[1].metrics[key] == runs[0].metrics[key]
    in_process, from_worker = (load_file(Path(runs[w].package_dir, "encoder.safetensors"))
                               for w in (0, 1))
    assert all(bool((in_process[k] == from_worker[k]).all()) for k in in_process)


@pytest.mark.slow
def test_ray_train_runs_the_same_training(small_overrides, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = load_pretrain_config(CONFIGS / "tiny.yaml", {
            **small_overrides, "trainer.max_steps": 3, "trainer.ray_cpus_per_worker": 0.5,
            "trainer.checkpoint_every_n_steps": 3,
            "data.num_workers": 1})  # a decoding worker from the fork server, inside an actor
        result = pretrain(config, ray_address="local")
    finally:
        ray.shutdown()
    assert result.finished and result.final_step == 3
    assert Path(result.package_dir, "encoder.safetensors").exists()


def test_register_without_tracking_writes_nothing_to_the_registry(small_overrides, tmp_path,
                                                                 monkeypatch, capsys):
    """``tracking.register`` with ``tracking.enabled`` off: the run finishes and keeps its
    package, but no registry (and no MLflow store) is touched."""
    from mirencoder.training.registry.pretrain_register import pretrain_and_register

    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    from mirencoder.training.embedding.package_basis import ship_run_basis

    result = pretrain_and_register(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **small_overrides, "trainer.max_steps": 2, "tracking.register": True}),
        package_step=ship_run_basis)
    assert result.finished and result.registered_version is None
    assert Path(result.package_dir, "encoder.safetensors").exists()
    assert not db.exists()
    out = capsys.readouterr().out
    assert "not registered: tracking.register needs tracking.enabled" in out
    # The synthetic set has no tokenizer, so no embedder and no basis: said, and nothing lost.
    assert "no principal basis shipped" in out
    assert not Path(result.package_dir, "principal_basis.npz").exists()


def test_a_finished_run_ships_its_principal_basis(demo_dataset, small_model, tmp_path):
    """A finished run's package ships its principal basis (listed in its own file list, so it
    still verifies), ``basis="package"`` uses it, and the run's untrained twin ships its own,
    fitted on the same programs."""
    import numpy as np

    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.package_basis import (
        ship_run_basis,
        untrained_twin_with_basis,
    )
    from mirencoder.training.embedding.principal_basis import (
        PACKAGE_BASIS_FILE,
        PrincipalBasis,
        corpus_records,
    )
    from mirencoder.training.registry.pretrain_register import pretrain_and_register

    result = pretrain_and_register(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **small_model, "data.dataset_dir": str(demo_dataset), "data.batch_size": 4,
        "data.num_workers": 0, "trainer.output_dir": str(tmp_path / "run"),
        "trainer.max_steps": 2, "optim.warmup_steps": 1, "tracking.enabled": False}),
        package_step=ship_run_basis)
    package, dataset = Path(result.package_dir), demo_dataset
    assert PACKAGE_BASIS_FILE in json.loads((package / "encoder_config.json").read_text())["files"]
    basis = PrincipalBasis.load(package / PACKAGE_BASIS_FILE)
    assert basis.meta["split"] == "train" and basis.meta["programs"] >= 2
    plain = Embedder.from_uri(str(package))  # verifies every file against the package's list
    turned = Embedder.from_uri(str(package), basis="package", basis_variance=1.0)
    records = corpus_records(dataset, programs=basis.meta["programs"], seed=basis.meta["seed"],
                             max_tokens=plain.context_length)
    in_basis = turned.encode_records(records)
    assert in_basis.shape == plain.encode_records(records).shape
    np.testing.assert_allclose(in_basis.mean(axis=0), 0, atol=1e-4)  # the fitting programs
    twin = untrained_twin_with_basis(package, tmp_path / "twin")
    twin_basis = PrincipalBasis.load(twin / PACKAGE_BASIS_FILE)
    assert twin_basis.meta["programs"] == basis.meta["programs"]
    assert twin_basis.meta["weights_sha256"] != basis.meta["weights_sha256"]
    assert Embedder.from_uri(str(twin), basis="package").modality_dim("fused") >= 1
    # the command the scripts use makes the same kind of twin, at another seed
    from mirencoder.cli import main

    assert main(["pretrain", "twin", "--model", str(package), "--out",
                 str(tmp_path / "twin1"), "--seed", "1"]) == 0
    other = PrincipalBasis.load(tmp_path / "twin1" / PACKAGE_BASIS_FILE)
    assert other.meta["programs"] == basis.meta["programs"]
    assert other.meta["weights_sha256"] not in (basis.meta["weights_sha256"],
                                                twin_basis.meta["weights_sha256"])
    assert main(["pretrain", "twin", "--out", str(tmp_path / "twin2")]) == 2  # no --model


def test_resume_with_tracking_and_registration(demo_dataset, small_model, tmp_path,
                                               monkeypatch, capsys):
    """With MLflow tracking (the default): a resume may change how the run executes (here its
    stop step; MLflow refused to change the logged parameter, a traceback); a finished,
    registered run resumed with the same learning settings returns its result (metrics kept)
    instead of registering the same weights again, as a second `mirencoder demo` did; a change
    of what it learns is refused by name before any work; a registry that no longer holds the
    version gets the run again."""
    import mlflow

    from mirencoder.training.registry.model_registry import list_versions
    from mirencoder.training.registry.pretrain_register import pretrain_and_register

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)

    def run(steps: int, **more):
        return pretrain_and_register(load_pretrain_config(CONFIGS / "tiny.yaml", {
            **small_model, "data.dataset_dir": str(demo_dataset), "data.batch_size": 4,
            "data.num_workers": 0, "trainer.output_dir": str(tmp_path / "run"),
            "trainer.max_steps": steps, "optim.warmup_steps": 1, "tracking.register": True,
            **more}), resume=True)

    stopped = run(2, **{"trainer.stop_at_step": 1})
    assert not stopped.finished and stopped.registered_version is None
    first = run(2)
    assert first.finished and first.registered_version == "1" and first.metrics
    tags = mlflow.MlflowClient(store).get_run(first.mlflow_run_id).data.tags
    assert json.loads(tags["mirencoder.resumed_with"]) == {"config/trainer/stop_at_step": "0"}
    capsys.readouterr()
    again = run(2, **{"trainer.log_every": 7})  # how it runs may differ
    assert ("finished at step 2 with these settings and registered as version 1: nothing to "
            "redo") in capsys.readouterr().out
    assert again.registered_version == "1" and again.metrics == first.metrics
    assert [v.version for v in list_versions(tracking_uri=store)] == [1]
    with pytest.raises(ConfigError, match=r"(?s)other settings of what it learns.*"
                                          r"trainer.max_steps: 2 -> 3"):
        run(3)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert run(2).registered_version == "1"  # a fresh registry gets the run again
    # Without trainer.output_dir the run folder is runs/pretrain/<name>: looked for there too.
    from mirencoder.training.pretraining import run_context

    monkeypatch.setattr(run_context, "default_output_dir", lambda config: tmp_path / "run")
    capsys.readouterr()
    assert run(2, **{"trainer.output_dir": ""}).registered_version == "1"
    assert "nothing to redo" in capsys.readouterr().out


def test_a_damaged_last_checkpoint_is_named_before_resuming(small_overrides, tmp_path):
    """A last.ckpt cut short (a partial copy) was a miniz traceback from deep in torch.load."""
    config = load_pretrain_config(CONFIGS / "tiny.yaml", {**small_overrides,
                                                          "trainer.max_steps": 2,
                                                          "trainer.stop_at_step": 1})
    stopped = pretrain(config)
    last = Path(stopped.output_dir) / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    resumed = load_pretrain_config(CONFIGS / "tiny.yaml", {**small_overrides,
                                                           "trainer.max_steps": 2})
    with pytest.raises(ConfigError, match="last.ckpt is damaged.*move it aside"):
        pretrain(resumed, resume=True)


def test_a_new_run_never_overwrites_a_run_folder(small_overrides, tmp_path):
    """Without --resume a second run into the same folder started at step 0 and overwrote the
    first run's checkpoints at its first save (a forgotten --resume lost the training)."""
    stopped = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **small_overrides, "trainer.max_steps": 2, "trainer.stop_at_step": 1}))
    last = Path(stopped.output_dir) / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    again = load_pretrain_config(CONFIGS / "tiny.yaml", {**small_overrides,
                                                         "trainer.max_steps": 2})
    with pytest.raises(ConfigError, match=r"already holds a run \(a run's result.*last.ckpt.*"
                                          r"--resume.*--set name=OTHER.*move the folder aside"):
        pretrain(again)
    assert last.read_bytes() == before
    finished = pretrain(again, resume=True)  # what the message offers first
    assert finished.finished and finished.start_step == 1
    with pytest.raises(ConfigError, match="already holds a run"):
        pretrain(again)
    fresh = load_pretrain_config(CONFIGS / "tiny.yaml", {
        **small_overrides, "trainer.max_steps": 2,
        "trainer.output_dir": str(tmp_path / "elsewhere")})
    assert pretrain(fresh).finished  # an empty or new folder starts as before


def test_one_process_trains_a_run_folder_at_a_time(small_overrides, tmp_path):
    """Two runs started together into one folder both trained and overwrote each other's
    checkpoints; the second now stops before any work, naming the first."""
    import subprocess
    import sys

    run_dir = Path(small_overrides["trainer.output_dir"])
    run_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; f = open(sys.argv[1], 'a+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); f.write(f'{os.getpid()}\\n'); f.flush(); "
         "print('held', flush=True); time.sleep(60)", str(run_dir / "run.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        config = load_pretrain_config(CONFIGS / "tiny.yaml", {**small_overrides,
                                                              "trainer.max_steps": 2})
        with pytest.raises(ConfigError, match=rf"pretrain: another process \(pid {holder.pid}\)"):
            pretrain(config)
        assert sorted(p.name for p in run_dir.iterdir()) == ["run.lock"]  # nothing written
    finally:
        holder.kill()
        holder.wait()
    assert pretrain(config).finished  # the lock went with its process
    missing = load_pretrain_config(CONFIGS / "tiny.yaml", {
        **small_overrides, "data.dataset_dir": str(tmp_path / "no-dataset"),
        "trainer.output_dir": str(tmp_path / "typo-run")})
    with pytest.raises(ConfigError):
        pretrain(missing)
    assert not (tmp_path / "typo-run").exists()  # a bad setting makes no folder


def test_ctrl_c_says_how_to_continue_and_resume_does(small_overrides):
    """Lightning turned Ctrl-C into exit status 1 after its own shutdown: the CLI's hint never
    showed. Now it is 130 with the hint, and --resume continues from the last checkpoint."""
    import signal
    import subprocess
    import sys
    import time

    run_dir = Path(small_overrides["trainer.output_dir"])
    sets = {**small_overrides, "trainer.max_steps": 5000, "trainer.checkpoint_every_n_steps": 2,
            "trainer.log_every": 50}
    command = [sys.executable, "-m", "mirencoder", "pretrain", "--config", "tiny"]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    # faulthandler: a child that hangs after Ctrl-C is made to print every thread's stack
    # (SIGABRT) before the test fails, so a rare hang says where it hangs.
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2],
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    while not (run_dir / "checkpoints" / "last.ckpt").exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint in 180 s"
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"pretrain did not stop within 180 s of Ctrl-C; its threads:\n{err[-6000:]}")
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted; add --resume to the same command to continue" in err
    import torch

    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                       weights_only=False)["global_step"]
    assert saved >= 2
    # The same settings with --resume (stop_at_step is how it runs, not what it learns).
    stopped = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **sets, "trainer.stop_at_step": saved + 2}), resume=True)
    assert stopped.start_step == saved and stopped.final_step == saved + 2
