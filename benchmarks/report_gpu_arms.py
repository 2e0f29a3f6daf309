"""Throughput of concurrent runs on one GPU, from the session logs of ``benchmarks/gpu_arms.sh``.

Each log prints, about once a minute, every run's latest logged step; this takes, per run and
log, the steps between the first of those lines and the last at which the run still advanced,
over the seconds between them (start-up and what follows the last step are outside that
window), and the sum over runs: what the runs made together. Writes the BENCHMARKS.md section ``gpu-arms-NAME``.

    python benchmarks/report_gpu_arms.py /work/.device/1/session.log /work/.device/2/session.log \\
        --name toolchains --machine "NVIDIA H200 ..." --measured "2026-12-04 18:42-18:55 UTC"
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.report import write_section  # noqa: E402

_PROGRESS = re.compile(r"^\[gpu_arms (\d\d:\d\d:\d\d)\] \d+ running; steps: (.*)$")


def progress(log: str) -> list[tuple[float, dict[str, int]]]:
    """``(seconds of the day, {run: step})`` per progress line of one session log."""
    points = []
    for line in log.splitlines():
        match = _PROGRESS.match(line.strip())
        if match:
            clock = datetime.strptime(match.group(1), "%H:%M:%S")
            seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
            steps = dict(pair.split("=", 1) for pair in match.group(2).split())
            points.append((float(seconds), {run: int(step) for run, step in steps.items()}))
    return points


def rates(points: list[tuple[float, dict[str, int]]]) -> dict[str, tuple[int, float]]:
    """Per run: ``(steps, seconds)`` from its first progress line to the last one at which its
    step still grew (a run that reached its last step stops counting)."""
    out = {}
    for run in points[0][1] if points else ():
        seen = [(t, steps[run]) for t, steps in points if run in steps]
        grew = [i for i in range(1, len(seen)) if seen[i][1] > seen[i - 1][1]]
        if grew:
            (t0, s0), (t1, s1) = seen[0], seen[grew[-1]]
            out[run] = (s1 - s0, t1 - t0)
    return out


def section_body(logs: dict[str, str], note: str) -> str:
    lines = [note, "", "| log | run | steps | seconds | steps/s |", "|---|---|---|---|---|"]
    for name, log in logs.items():
        measured = rates(progress(log))
        if not measured:
            lines.append(f"| {name} | (fewer than two progress lines) | | | |")
            continue
        for run, (steps, seconds) in measured.items():
            lines.append(f"| {name} | {run} | {steps} | {seconds:.0f} | {steps / seconds:.2f} |")
        together = sum(s / t for s, t in measured.values())
        lines.append(f"| {name} | **all {len(measured)} together** | | | **{together:.2f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", type=Path, nargs="+", help="gpu_arms.sh session.log files")
    parser.add_argument("--name", required=True, help="the section's id: gpu-arms-NAME")
    parser.add_argument("--note", default="", help="what ran (under the heading)")
    parser.add_argument("--machine", default=None, help="the GPU machine, when not here")
    parser.add_argument("--measured", default=None, help="when, with --machine")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.logs if not p.exists()]
    if missing:
        parser.error(f"no such log: {', '.join(missing)}")
    body = section_body({p.parent.name + "/" + p.name: p.read_text() for p in args.logs},
                        args.note)
    write_section(f"gpu-arms-{args.name}", f"Concurrent pre-training runs on one GPU: "
                  f"{args.name}", body, machine=args.machine, measured=args.measured)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
