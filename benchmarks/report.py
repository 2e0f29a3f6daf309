"""Writes one benchmark's section of BENCHMARKS.md, leaving the other sections as they are."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["BENCHMARKS_MD", "machine_description", "write_section"]

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
_HEADER = ("# Benchmarks\n\nWritten by the scripts in `benchmarks/` (each owns one section; "
           "rerun a script to refresh its section). Figures are measurements, not targets.\n")


def machine_description() -> str:
    """One line naming the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = ""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            gpu = ", GPU: " + out.stdout.strip().replace("\n", " + ")
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}{gpu}, Python {platform.python_version()}"


def runs_cell(first: list[float], second: list[float]) -> str:
    """Every run of two settings, ``a, b / c, d`` (one decimal), for a table cell."""
    return " / ".join(", ".join(f"{v:.1f}" for v in runs) for runs in (first, second))


def write_section(name: str, title: str, body: str, *, machine: str | None = None,
                  measured: str | None = None) -> Path:
    """Replaces (or appends) the section ``name`` of BENCHMARKS.md.

    Args:
        name: a stable id, e.g. ``views``; the section sits between HTML comment markers.
        title: the section heading.
        body: Markdown; the machine and date are prepended.
        machine, measured: where and when it was measured, when that was another machine
            (a GPU run written up here afterwards); default this machine, now.
    """
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else _HEADER
    stamp = measured or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- bench:{name} -->\n## {title}\n\n_Measured {stamp} on "
               f"{machine or machine_description()}._"
               f"\n\n{body.strip()}\n<!-- /bench:{name} -->")
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->",
                         re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    BENCHMARKS_MD.write_text(text)
    return BENCHMARKS_MD
