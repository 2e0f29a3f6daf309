"""The embedded local Ray of a real ``mirencoder dataset build``: loopback only, and gone
with its driver (SIGKILL included)."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from process_helpers import alive

REPO = Path(__file__).resolve().parents[2]
# Seconds the processes of a killed driver's session may take to be gone (measured: ~1.2 s).
CLEANUP_BOUND_S = 15.0


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class RunningBuild:
    """A ``mirencoder dataset build`` subprocess whose local Ray is up; ``seen`` holds every
    descendant met so far (pid -> (name, create time))."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log = process, log
        self.driver = psutil.Process(process.pid)
        self.seen: dict[int, tuple[str, float]] = {}

    def snapshot(self) -> list[psutil.Process]:
        children = self.driver.children(recursive=True)
        for child in children:
            try:
                self.seen[child.pid] = (child.name(), child.create_time())
            except psutil.Error:
                pass
        return children

    def ray_is_up(self) -> bool:
        names = {name for name, _ in self.seen.values()}
        return {"raylet", "ray::DashboardAgent", "ray::RuntimeEnvAgent"} <= names and any(
            name.startswith("ray::") and "Agent" not in name for name in names)

    def alive(self) -> list[str]:
        return sorted(name for pid, (name, created) in self.seen.items()
                      if alive(pid, created))


@pytest.fixture(scope="module")
def running_build(tmp_path_factory: pytest.TempPathFactory, require_clang: str
                  ) -> Iterator[RunningBuild]:
    """A build of 300 small C files on one CPU (minutes of work), caught once Ray is up."""
    root = tmp_path_factory.mktemp("ray-build")
    corpus = root / "corpus"
    corpus.mkdir()
    for i in range(300):
        (corpus / f"f{i}.c").write_text(
            f"int f{i}(int *a, int n) {{ int s = {i}; for (int i = 0; i < n; i++) "
            f"s += a[i] * {i}; return s; }}\n")
    log = root / "build.err"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mirencoder", "dataset", "build", str(corpus), "--out",
             str(root / "out"), "--num-cpus", "1", "--quiet"],
            cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.DEVNULL,
            stderr=stderr)
    build = RunningBuild(process, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None and not build.ray_is_up():
        build.snapshot()
        time.sleep(0.1)
    try:
        assert build.ray_is_up(), (process.poll(), sorted(n for n, _ in build.seen.values()))
        yield build
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_local_ray_listens_on_loopback_only(running_build: RunningBuild):
    time.sleep(1.0)  # let the agents open their servers
    listening = {}
    for process in [running_build.driver, *running_build.snapshot()]:
        try:
            sockets = process.net_connections(kind="inet")
            name = process.name()
        except psutil.Error:
            continue
        for sock in sockets:
            if sock.status == psutil.CONN_LISTEN:
                listening.setdefault(f"{name}[{process.pid}]", []).append(sock.laddr.ip)
    assert {"gcs_server", "raylet", "ray::DashboardAgent"} <= {
        key.split("[")[0] for key in listening}, listening
    exposed = {key: ips for key, ips in listening.items() if not all(map(_loopback, ips))}
    assert not exposed, f"listening beyond loopback: {exposed}"


def test_sigkilled_build_leaves_no_ray_process(running_build: RunningBuild):
    running_build.snapshot()
    assert running_build.process.poll() is None, "the build finished before it was killed"
    os.kill(running_build.process.pid, signal.SIGKILL)  # the driver alone, not its group
    running_build.process.wait()
    killed = time.monotonic()
    while running_build.alive() and time.monotonic() - killed < CLEANUP_BOUND_S:
        time.sleep(0.1)
    elapsed = time.monotonic() - killed
    assert not running_build.alive(), f"still running {elapsed:.0f} s after the driver's death"
    time.sleep(0.2)  # the watchdog's report follows its last kill
    stderr = running_build.log.read_text(errors="replace")
    assert "its watchdog ended" in stderr, stderr[-2000:]
    print(f"session processes gone {elapsed:.1f} s after SIGKILL of the driver")


def test_local_ray_is_its_own_even_beside_a_stale_cluster_file(tmp_path: Path, capfd):
    """`ray start` leaves the machine's latest cluster address in a file that a bare
    ray.init() joins; the embedded Ray starts its own instance whatever that file says. It
    keeps Ray's token authentication without Ray's warning about it on every start."""
    import ray
    from ray._common.utils import get_ray_address_file

    from mirencoder.infra.ray_runtime import ray_session

    current = Path(get_ray_address_file(None))
    saved = current.read_bytes() if current.is_file() else None
    current.parent.mkdir(parents=True, exist_ok=True)
    current.write_text("127.0.0.1:9")  # a cluster that is gone (discard port)
    try:
        with ray_session(num_cpus=1) as info:
            assert info["started_locally"] and info["cpus"] == 1.0
            auth_mode = ray.get(ray.remote(lambda: os.environ.get("RAY_AUTH_MODE")).remote())
        assert auth_mode == "token"
        assert "Token authentication" not in capfd.readouterr().err
    finally:
        if saved is None:
            current.unlink(missing_ok=True)
        else:
            current.write_bytes(saved)


def test_an_address_no_cluster_answers_is_named_at_once(tmp_path: Path, capsys, monkeypatch):
    """Ray retries a dead cluster address for minutes with its own warnings; the build and
    pre-training say at once that nothing answers there, before any work."""
    import socket

    from mirencoder.cli import main
    from mirencoder.infra.ray_runtime import unreachable

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        open_port = listening.getsockname()[1]
        assert unreachable(f"127.0.0.1:{open_port}") is None
        assert unreachable(f"ray://127.0.0.1:{open_port}") is None
    closed = f"127.0.0.1:{open_port}"  # closed again when the block ends
    assert "no Ray cluster answers at 127.0.0.1" in unreachable(closed)
    assert unreachable("auto") is None and unreachable("local") is None
    source = tmp_path / "f.c"
    source.write_text("int f(int x) { return x + 1; }\n")
    out = tmp_path / "ds"
    assert main(["dataset", "build", str(source), "--out", str(out), "--address", closed]) == 2
    assert "no Ray cluster answers" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("RAY_ADDRESS", closed)  # as under `ray job submit`: checked as early
    assert main(["dataset", "build", str(source), "--out", str(out)]) == 2
    assert "no Ray cluster answers" in capsys.readouterr().err and not out.exists()
    monkeypatch.delenv("RAY_ADDRESS")
    assert main(["dataset", "build", str(source), "--out", str(out), "--num-cpus", "0"]) == 2
    assert "--num-cpus sizes the embedded local Ray" in capsys.readouterr().err
    assert main(["pretrain", "--config", "tiny", "--set", f"data.dataset_dir={tmp_path}",
                 "--ray-address", closed]) == 2
    assert "no Ray cluster answers" in capsys.readouterr().err
