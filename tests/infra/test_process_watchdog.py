"""The process watchdog with real processes: it ends exactly what its dead driver started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
from process_helpers import alive

REPO = Path(__file__).resolve().parents[2]
CLEANUP_BOUND_S = 15.0


_DRIVER = textwrap.dedent("""
    import os, subprocess, sys, time
    from mirencoder.infra.process_watchdog import Watchdog

    session = sys.argv[1]
    watchdog = Watchdog.start()
    watchdog.add_folder(session)
    # marked: the token in its environment
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                     env={**os.environ, **watchdog.marker})
    # unmarked, but writes into the folder (like a ray:: agent whose environment was blanked)
    subprocess.Popen([sys.executable, "-c", "import sys, time; "
                      "f = open(sys.argv[1], 'a'); time.sleep(120)",
                      os.path.join(session, "logs", "agent.out")])
    print("ready", flush=True)
    time.sleep(120)
""")


def test_watchdog_ends_exactly_what_its_killed_driver_started(tmp_path: Path):
    session = tmp_path / "session_2000-01-01_00-00-00_000000_1"
    (session / "logs").mkdir(parents=True)
    (session / "logs" / "agent.out").write_text("log\n")
    other = tmp_path / "session_other"
    (other / "logs").mkdir(parents=True)
    bystanders = [
        # another session's marker
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         env={**os.environ, "MIRENCODER_WATCHDOG": "another-token"}),
        # a reader of the session's log (tail -f): not part of the session
        subprocess.Popen(["tail", "-f", str(session / "logs" / "agent.out")],
                         stdout=subprocess.DEVNULL),
        # a writer into another session's folder
        subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1], 'a');"
                          " time.sleep(120)", str(other / "logs" / "x.out")]),
    ]
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(session)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert driver.stdout.readline().strip() == b"ready"
        time.sleep(0.5)
        members = [p for p in psutil.Process(driver.pid).children()
                   if "time.sleep(120)" in " ".join(p.cmdline())]
        assert len(members) == 2
        created = [(p.pid, p.create_time()) for p in members]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + CLEANUP_BOUND_S
        while any(alive(*c) for c in created) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(*c) for c in created)
        assert all(b.poll() is None for b in bystanders)
        assert b"ended 2 processes" in driver.stderr.read()
    finally:
        for process in [driver, *bystanders]:
            if process.poll() is None:
                process.kill()
            process.wait()
        for member in psutil.Process().children(recursive=True):
            if "time.sleep(120)" in " ".join(member.cmdline()):
                member.kill()


def test_a_stopped_watchdog_touches_nothing(tmp_path: Path):
    from mirencoder.infra.process_watchdog import Watchdog

    watchdog = Watchdog.start()
    watchdog.add_folder(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             env={**os.environ, **watchdog.marker})
    process = watchdog.process
    watchdog.stop()
    try:
        assert process.returncode == 0
        time.sleep(0.3)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
