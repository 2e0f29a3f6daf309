"""A real two-node Ray cluster on loopback running a build submitted with ``ray job submit``."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirencoder.infra.process_watchdog import MARKER_ENV, end_marked
from mirencoder.pipelines.dataset import load_index

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO_ROOT / "datasets" / "demo-corpus"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    ray = str(Path(sys.executable).parent / "ray")
    return subprocess.run([ray, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _forget_cluster(gcs_port: int) -> None:
    """Removes the machine's "latest `ray start` cluster" file when it names this test's
    cluster (as `ray stop` does), so that nothing later tries to join a cluster that is gone."""
    from ray._common.utils import get_ray_address_file  # where `ray start` writes it

    current = Path(get_ray_address_file(None))
    if current.is_file() and current.read_text().strip().endswith(f":{gcs_port}"):
        current.unlink()


@pytest.mark.cluster
@pytest.mark.slow
def test_two_node_cluster_runs_a_build_submitted_as_a_job(tmp_path: Path, require_clang: str):
    if shutil.which("ray", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the ray CLI is not installed next to this Python")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # Token authentication, as on a real cluster: one shared secret for head, worker and client.
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    # Every process of this cluster carries a marker, so that the end stops this cluster
    # alone: `ray stop --force` would also kill other Ray sessions on the machine (a user's
    # build running beside the tests).
    marker = secrets.token_hex(16)
    env[MARKER_ENV] = marker
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    gcs_port, dashboard_port = _free_port(), _free_port()
    head = _ray("start", "--head", "--node-ip-address=127.0.0.1", f"--port={gcs_port}",
                "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
                "--num-cpus=1", "--disable-usage-stats", env=env)
    try:
        assert head.returncode == 0, head.stderr[-3000:]
        worker = _ray("start", f"--address=127.0.0.1:{gcs_port}", "--node-ip-address=127.0.0.1",
                      "--num-cpus=1", env=env)
        assert worker.returncode == 0, worker.stderr[-3000:]
        out = tmp_path / "dataset"
        submit = ("job", "submit", f"--address=http://127.0.0.1:{dashboard_port}",
                  "--entrypoint-num-cpus=0", "--",
                  sys.executable, "-m", "mirencoder", "dataset", "build", str(DEMO_CORPUS),
                  "--corpus", "demo", "--out", str(out), "--quiet",
                  "--set", "exclude_evaluation_kernels=false",
                  "--set", "shards.inputs_per_task=2",
                  "--set", "vocab.tokenizer_vocab_size=256")
        # The head's job agent comes up a few seconds after `ray start` returns (a minute or
        # more on a loaded machine); until then the server answers "No available agent":
        # retry that (bounded), nothing else.
        deadline = time.monotonic() + 240
        while True:
            job = _ray(*submit, env=env, timeout=600)
            if "No available agent" not in job.stdout + job.stderr or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert job.returncode == 0, (job.stdout + job.stderr)[-4000:]
        assert "succeeded" in (job.stdout + job.stderr).lower()
        index = load_index(out)
        ray_info = index["build"]["ray"]
        assert ray_info["started_locally"] is False
        assert ray_info["cpus"] == 2.0
        assert len(ray_info["nodes_used"]) == 2, json.dumps(ray_info)
        assert index["counts"]["ok"] > 0
    finally:
        end_marked(marker, [])
        _forget_cluster(gcs_port)
