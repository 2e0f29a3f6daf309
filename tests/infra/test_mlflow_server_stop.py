"""The tracking-server command with real processes: a signal to the launcher stops the whole
server tree (``mlflow server`` and uvicorn), and a non-loopback host needs ``--allow-remote``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from process_helpers import alive

REPO = Path(__file__).resolve().parents[2]
# Seconds the server tree may take to be gone after the launcher got its signal.
STOP_BOUND_S = 20.0


def _as_from_a_terminal() -> None:
    """SIGINT as a terminal gives it (default: Python raises KeyboardInterrupt). A shell
    without job control starts background jobs with SIGINT ignored, and the ignored
    disposition is inherited: a suite started with ``&`` would test a launcher deaf to Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _launch(root: Path) -> tuple[subprocess.Popen, str, list[tuple[int, float, str]]]:
    """Starts the command; returns it, the tracking URI and its process tree once serving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mirencoder.infra.mlflow_server", "--port", "0", "--root",
         str(root)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_from_a_terminal)
    uri = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not uri:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("export MLFLOW_TRACKING_URI="):
            uri = line.strip().split("=", 1)[1]
    assert uri, process.stderr.read()[-2000:] if process.poll() is not None else "no URI"
    tree = [(p.pid, p.create_time(), " ".join(p.cmdline()))
            for p in psutil.Process(process.pid).children(recursive=True)]
    assert any("mlflow server" in cmd for *_, cmd in tree)
    assert any("uvicorn" in cmd for *_, cmd in tree), tree
    return process, uri, tree


def _serving(uri: str) -> bool:
    try:
        with urllib.request.urlopen(uri + "/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_gone(tree: list[tuple[int, float, str]]) -> float:
    start = time.monotonic()
    while any(alive(pid, created) for pid, created, _ in tree):
        if time.monotonic() - start > STOP_BOUND_S:
            left = [cmd[:80] for pid, created, cmd in tree if alive(pid, created)]
            pytest.fail(f"still running {STOP_BOUND_S:.0f} s after the signal: {left}")
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_to_the_launcher_stops_the_whole_server(tmp_path: Path, signum: int):
    process, uri, tree = _launch(tmp_path / "server")
    try:
        assert _serving(uri)
        signalled = time.monotonic()
        os.kill(process.pid, signum)
        assert process.wait(timeout=STOP_BOUND_S) == 0
        elapsed = time.monotonic() - signalled + _wait_gone(tree)
        assert not _serving(uri)
        print(f"server tree gone {elapsed:.1f} s after {signal.Signals(signum).name} to the "
              "launcher")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_sigkilled_launcher_takes_the_server_down(tmp_path: Path):
    process, uri, tree = _launch(tmp_path / "server")
    try:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        elapsed = _wait_gone(tree)
        assert not _serving(uri)
        assert "its watchdog ended" in process.stderr.read()
        print(f"server tree gone {elapsed:.1f} s after SIGKILL of the launcher")
    finally:
        for pid, created, _ in tree:
            if alive(pid, created):
                os.kill(pid, signal.SIGKILL)


def test_a_non_loopback_host_needs_allow_remote_and_warns(tmp_path: Path, capsys):
    from mirencoder.infra.errors import ConfigError
    from mirencoder.infra.mlflow_server import ServerConfig, is_loopback, main

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    with pytest.raises(ConfigError, match="allow-remote"):
        ServerConfig(host="0.0.0.0")
    assert main(["--host", "0.0.0.0", "--dry-run"]) == 1
    assert "not loopback" in capsys.readouterr().err
    assert main(["--host", "0.0.0.0", "--allow-remote", "--dry-run"]) == 0
    assert "allow_remote: true" in capsys.readouterr().out
    # A real start with the flag warns before anything listens (a start time-out that is
    # too short to answer keeps the exposure to a moment).
    result = subprocess.run(
        [sys.executable, "-m", "mirencoder.infra.mlflow_server", "--host", "0.0.0.0",
         "--allow-remote", "--port", "0", "--root", str(tmp_path / "s"),
         "--start-timeout-s", "0.01", "--stop-timeout-s", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "warning: listening on 0.0.0.0" in result.stderr
