"""Ends the processes a driver started when the driver dies, even by SIGKILL.

A long-lived helper tree (an embedded local Ray, a tracking server) must not outlive the
process that started it. The driver starts this script (by path, standard library only)::

    python -I process_watchdog.py DRIVER_PID TOKEN

and puts ``MIRENCODER_WATCHDOG=TOKEN`` in the environment of the processes it starts (they
pass it on to theirs); it may also name folders (``folder PATH`` lines on the watchdog's
stdin). The watchdog waits on that pipe and, where the kernel has it, a pidfd of the driver.
``stop`` (a normal end, the driver cleaned up itself) makes it exit without touching anything.
When the driver dies instead (EOF without ``stop``, the pidfd fires, or the parent changes) it
sends SIGTERM to every process it finds, then SIGKILL to those still alive after a grace period,
and reports the count on stderr.

A process is found when its initial environment holds the exact marker, or when a
``--flag=PATH`` argument or a file it has open for writing lies in a named folder (Ray's
``setproctitle`` may blank the environment of ``ray::`` processes; they keep their log files
in the session folder open). A process started by another driver carries another token and
writes into other folders, so it is never touched; a reader such as ``tail -f`` of a log file
is not touched either. Linux only (``/proc``); elsewhere :meth:`Watchdog.start` returns an
inactive watchdog.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["MARKER_ENV", "Watchdog", "marked_pids", "end_marked", "main"]

MARKER_ENV = "MIRENCODER_WATCHDOG"
_GRACE_S = 1.0
_POLL_S = 0.5


class Watchdog:
    """The driver's handle on a watchdog process (see the module docstring).

    Attributes:
        token: the marker value; put :attr:`marker` into the environment of what you start.
        process: the watchdog process (None when inactive: not Linux).
    """

    def __init__(self, token: str, process: subprocess.Popen | None):
        self.token, self.process = token, process

    @classmethod
    def start(cls) -> Watchdog:
        """Starts a watchdog of this process, in its own session (a Ctrl-C or a signal to the
        terminal's process group is the driver's to handle)."""
        token = f"{os.getpid()}-{secrets.token_hex(8)}"
        if not (sys.platform.startswith("linux") and Path("/proc/self/environ").exists()):
            return cls(token, None)
        env = {k: v for k, v in os.environ.items() if k != MARKER_ENV}
        process = subprocess.Popen([sys.executable, "-I", str(Path(__file__)), str(os.getpid()),
                                    token], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   env=env, start_new_session=True, close_fds=True)
        return cls(token, process)

    @property
    def marker(self) -> dict[str, str]:
        """``{MARKER_ENV: token}``."""
        return {MARKER_ENV: self.token}

    def add_folder(self, folder: str | Path) -> None:
        """Processes writing into ``folder`` are also ended when the driver dies.

        Raises:
            ValueError: a folder as wide as ``/`` or ``/tmp`` (it would catch strangers).
        """
        path = Path(folder).resolve()
        if len(path.parts) < 3 or path == Path.home():
            raise ValueError(f"{path} is too wide a folder to watch")
        self._send(f"folder {path}\n".encode())

    def stop(self) -> None:
        """Ends the watchdog without it touching anything (call after a normal clean-up)."""
        if self.process is None:
            return
        self._send(b"stop\n")
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _send(self, line: bytes) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.write(line)
                self.process.stdin.flush()


# ---------------------------------------------------------------- the watchdog process


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
                    return (int(line.split()[1], 8) & 0o3) in (1, 2)  # O_WRONLY, O_RDWR
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


def marked_pids(token: str, folders: list[str], exclude: set[int]) -> list[int]:
    """Live processes whose raw ``/proc/PID/environ`` holds ``MIRENCODER_WATCHDOG=token``
    (searched, not parsed: ``setproctitle`` may overwrite part of it), or that write into one
    of ``folders``."""
    needle = f"\0{MARKER_ENV}={token}\0".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        pid = int(name)
        if not _alive(pid):
            continue
        if needle in b"\0" + _environ(pid) or any(_uses_folder(pid, d) for d in folders):
            found.append(pid)
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def end_marked(token: str, folders: list[str], grace_s: float = _GRACE_S) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``, to every marked process; returns how many.

    Scans again after each round, so a worker that was starting during the first one is caught.
    """
    exclude = {os.getpid()}
    ended: set[int] = set()
    for _ in range(3):
        pids = marked_pids(token, folders, exclude)
        if not pids:
            break
        ended.update(pids)
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        _signal_all(marked_pids(token, folders, exclude), signal.SIGKILL)
        time.sleep(0.05)
    return len(ended)


def _wait_for_driver(driver_pid: int, folders: list[str]) -> bool:
    """Blocks until told ``stop`` (returns True) or until the driver is gone (False); appends
    the paths of ``folder PATH`` lines to ``folders``."""
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
                if line.startswith(b"folder /"):
                    folders.append(os.fsdecode(line[len(b"folder "):]))
            if not chunk:  # the pipe closed without "stop": the driver died
                return False
        elif ready:
            return False


def main(argv: list[str] | None = None) -> int:
    """``process_watchdog.py DRIVER_PID TOKEN``."""
    driver_pid, token = argv or sys.argv[1:]
    # Ctrl-C is the driver's to handle; the watchdog acts only on the driver's end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    folders: list[str] = []
    if _wait_for_driver(int(driver_pid), folders):
        return 0
    started = time.monotonic()
    count = end_marked(token, folders)
    if count:
        print(f"[mirencoder] process {driver_pid} died; its watchdog ended {count} processes it "
              f"had started in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
