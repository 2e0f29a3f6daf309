"""Ends the processes of an embedded local Ray session when its driver dies.

Ray kills ``gcs_server`` and ``raylet`` with the driver (``PR_SET_PDEATHSIG``), but the
raylet's own children (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) are re-parented to
init and stay up for a minute or more after a driver is SIGKILLed (they try to report the
raylet's death to the dead GCS). :func:`~mirencoder.infra.ray_runtime.ray_session` therefore
starts this script (by path, standard library only) before ``ray.init``::

    python -I ray_watchdog.py DRIVER_PID TOKEN

puts ``MIRENCODER_RAY_SESSION=TOKEN`` in the environment every process of the session
inherits, and writes ``session SESSION_DIR`` to the watchdog's stdin once ``ray.init`` has
returned. The watchdog waits on that pipe and, where the kernel has it, a pidfd of the driver.
``stop`` (a normal end) makes it exit without touching anything. When the driver dies instead
(EOF without ``stop``, the pidfd fires, or the parent changes) it sends SIGTERM to every
process of the session, then SIGKILL to those still alive after a grace period.

A process belongs to the session when its initial environment holds the exact marker, or when
a ``--flag=PATH`` argument or a file it has open for writing lies in the session folder
(Ray's ``setproctitle`` may blank the environment of ``ray::`` processes; they keep their log
files in the session folder open). Processes of other sessions match neither, so they are never
touched. A driver killed during ``ray.init``, before it reports the session folder, leaves
only what the marker finds.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

__all__ = ["MARKER_ENV", "session_pids", "end_session", "main"]

MARKER_ENV = "MIRENCODER_RAY_SESSION"
_GRACE_S = 2.0
_POLL_S = 0.5


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read()
    except OSError:  # gone, or another user's process
        return b""


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (dead, waiting for its parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X")


def _writes_into(pid: int, fd: str) -> bool:
    """True when the open file ``fd`` of ``pid`` was opened for writing."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as handle:
            for line in handle:
                if line.startswith(b"flags:"):
                    return int(line.split()[1], 8) & 0o3 in (1, 2)  # O_WRONLY, O_RDWR
    except (OSError, ValueError, IndexError):
        pass
    return False


def _uses_folder(pid: int, folder: str) -> bool:
    """True when a ``--flag=PATH`` argument names ``folder`` or a path in it, or a file in it
    is open for writing (Ray's processes keep their logs open); a reader such as
    ``tail -f`` of a log file does not count."""
    prefix = folder.rstrip("/") + "/"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for arg in args:
        if arg.startswith(b"--") and b"=" in arg and (
                arg.partition(b"=")[2] + b"/").startswith(prefix.encode()):
            return True
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(prefix) and _writes_into(pid, fd):
            return True
    return False


def session_pids(token: str, session_dirs: list[str], exclude: set[int]) -> list[int]:
    """Live processes of the session: the raw ``/proc/PID/environ`` holds
    ``MIRENCODER_RAY_SESSION=token``, or a path of the process lies in ``session_dirs``."""
    needle = f"\0{MARKER_ENV}={token}\0".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        pid = int(name)
        if not _alive(pid):
            continue
        if needle in b"\0" + _environ(pid) or any(_uses_folder(pid, d) for d in session_dirs):
            found.append(pid)
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def end_session(token: str, session_dirs: list[str], grace_s: float = _GRACE_S) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``, to every process of the session; returns how
    many.

    Scans again after each round, so a worker that was starting during the first one is caught.
    """
    exclude = {os.getpid()}
    ended: set[int] = set()
    for _ in range(3):
        pids = session_pids(token, session_dirs, exclude)
        if not pids:
            break
        ended.update(pids)
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        _signal_all(session_pids(token, session_dirs, exclude), signal.SIGKILL)
        time.sleep(0.05)
    return len(ended)


def _wait_for_driver(driver_pid: int, session_dirs: list[str]) -> bool:
    """Blocks until told ``stop`` (returns True) or until the driver is gone (False); appends
    the folders of ``session DIR`` lines to ``session_dirs``."""
    stdin = sys.stdin.fileno()
    watched = [stdin]
    try:
        watched.append(os.pidfd_open(driver_pid))  # readable when the driver exits
    except (AttributeError, OSError):
        pass  # no pidfd (old kernel): the parent check below still notices, within _POLL_S
    received = b""
    while True:
        if os.getppid() != driver_pid:
            return False
        ready, _, _ = select.select(watched, [], [], _POLL_S)
        if stdin in ready:
            chunk = os.read(stdin, 4096)
            received += chunk
            *lines, received = received.split(b"\n")
            for line in lines:
                if line == b"stop":
                    return True
                if line.startswith(b"session /"):
                    session_dirs.append(os.fsdecode(line[len(b"session "):]))
            if not chunk:  # the pipe closed without "stop": the driver died
                return False
        elif ready:
            return False


def main(argv: list[str] | None = None) -> int:
    """``ray_watchdog.py DRIVER_PID TOKEN``."""
    driver_pid, token = argv or sys.argv[1:]
    # Ctrl-C and a SIGTERM to the terminal's process group are the driver's to handle; the
    # watchdog runs in its own session, ignores SIGINT and acts only on the driver's end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    session_dirs: list[str] = []
    if _wait_for_driver(int(driver_pid), session_dirs):
        return 0
    started = time.monotonic()
    count = end_session(token, session_dirs)
    if count:
        print(f"[mirencoder] Ray driver {driver_pid} died; ended {count} processes of its local "
              f"Ray session in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
