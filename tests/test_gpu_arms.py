"""benchmarks/gpu_arms.sh, run here on the CPU as the GPU machine runs it: arms x seeds as
concurrent pre-training runs from the source tree, each returned as a run folder without
checkpoints; one seed gives every arm the same start, so equal data gives the same weights."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_arms_train_concurrently_and_return_their_packages(tmp_path, demo_dataset):
    out = tmp_path / "out"
    out.mkdir()
    names = ("armtest-a-s0", "armtest-b-s0")
    env = {**os.environ, "OUT": str(out), "SEEDS": "0", "STEPS": "3", "WORKERS": "0",
           "DEADLINE_S": "300", "CONFIG": "tiny",
           "ARMS": f"armtest-a={demo_dataset} armtest-b={demo_dataset}",
           "EXTRA_SETS": "--set optim.warmup_steps=1 --set data.batch_size=4 "
                         "--set trainer.checkpoint_every_n_steps=3 --set trainer.val_every_n_steps=3",
           "PREPARE": "echo prepared"}
    try:
        done = subprocess.run(["bash", "benchmarks/gpu_arms.sh"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=560)
        log = (out / "session.log").read_text()
        assert done.returncode == 0, log + done.stderr
        assert "prepared" in log and "started 2 runs" in log
        weights = {}
        for name in names:
            with tarfile.open(out / f"run-{name}.tar.gz") as archive:
                members = archive.getnames()
                assert not [m for m in members if "/checkpoints" in m]
                archive.extractall(tmp_path / "back", filter="data")
            package = tmp_path / "back" / "runs" / "pretrain" / name / "encoder"
            assert (package / "encoder_config.json").exists()
            weights[name] = load_file(package / "encoder.safetensors")
        first, second = (weights[n] for n in names)
        assert first.keys() == second.keys()
        # same seed, same data: the same weights up to float summation order (~1e-7 seen)
        assert all(torch.allclose(first[k].float(), second[k].float(), atol=1e-5) for k in first)

        # a run whose result.json is unfinished gets its last checkpoint exported instead
        # (benchmarks/gpu_lib.sh, shared with gpu_session.sh), replacing the earlier package
        run = REPO_ROOT / "runs" / "pretrain" / names[0]
        result = json.loads((run / "result.json").read_text())
        assert (run / "encoder" / "principal_basis.npz").exists()  # the finished run's package
        (run / "result.json").write_text(json.dumps({**result, "finished": False}))
        export = subprocess.run(
            ["bash", "-c", f"source benchmarks/gpu_lib.sh; export_if_unfinished {run}"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert export.returncode == 0, export.stderr
        assert f"{names[0]} stopped early: exporting its last checkpoint" in export.stdout
        assert (run / "encoder" / "encoder_config.json").exists()
        assert not (run / "encoder" / "principal_basis.npz").exists()  # a fresh export
    finally:
        for name in names:
            subprocess.run(["rm", "-rf", str(REPO_ROOT / "runs" / "pretrain" / name)], check=False)


def test_throughput_is_read_from_the_progress_lines_until_each_run_stops():
    spec = importlib.util.spec_from_file_location(
        "report_gpu_arms_under_test", REPO_ROOT / "benchmarks" / "report_gpu_arms.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log = "\n".join([
        "[gpu_arms 18:00:00] started 2 runs: a b (100 steps each, deadline 400 s)",
        "[gpu_arms 18:01:00] 2 running; steps: a=10 b=20 ",
        "43 %, 11174 MiB",
        "[gpu_arms 18:02:00] 2 running; steps: a=70 b=100 ",
        "[gpu_arms 18:03:00] 1 running; steps: a=100 b=100 "])
    points = module.progress(log)
    assert [t for t, _ in points] == [18 * 3600 + 60,
                                      18 * 3600 + 120, 18 * 3600 + 180]
    assert module.rates(points) == {"a": (90, 120.0), "b": (80, 60.0)}
    body = module.section_body({"one": log, "none": "no progress"}, "what ran")
    assert "| one | a | 90 | 120 | 0.75 |" in body and "| one | b | 80 | 60 | 1.33 |" in body
    assert "**all 2 together** | | | **2.08** |" in body
    assert "| none | (fewer than two progress lines) |" in body
