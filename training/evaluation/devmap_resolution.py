"""How finely does DevMap's leakage-free protocol tell two encoders apart?

The pre-training target asks for the encoder's leakage-free accuracy at least 2 points above
its untrained twin's, and the report scores every representation at 3 fold/head seeds. This
scores pre-trained encoders, their untrained twins and the controls at many fold/head seeds
(the protocol's folds and XGBoost head; seeds 0, 1, 2 are the protocol's own) and splits what
separates two encoders into the protocol's seed noise and real differences between encoders::

    python -m mirencoder.training.evaluation.devmap_resolution runs/pretrain/NAME/encoder \\
        --twins runs/twins/twin0 ... runs/twins/twin7 --also seed3=DIR --jobs 2 --report-dir .

Each command adds (or replaces) one family -- pre-trained runs of one architecture and
vocabulary with their twins -- to ``results/summary.json`` (key ``devmap_resolution``); the
controls are scored with every family and kept from the last. Writes the STUDIES.md section,
its Targets line and a figure (``results/devmap_resolution.png``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .devmap_resolution_table import devmap_resolution_markdown, draw_devmap_resolution
from .devmap_sweep import (
    add_rows_arguments,
    add_sweep_arguments,
    check_sweep_arguments,
    rows_from_args,
    run_devmap_sweep,
    sweep_settings,
)
from .label_efficiency import score_fraction
from .report_files import recorded_section, show_and_publish

__all__ = ["KEY", "family_name", "merge_family", "kept_controls", "rerun_command", "main"]

KEY = "devmap_resolution"
FULL = "all"
"""The sweep's one value: every training kernel of each fold (the protocol)."""


def family_name(package: Path) -> str:
    """The pre-training config's name in a package's lineage (the folder's name without it)."""
    lineage = package / "lineage.json"
    if lineage.is_file():
        name = json.loads(lineage.read_text()).get("config_name")
        if name:
            return str(name)
    return package.parent.name if package.name == "encoder" else package.name


def merge_family(previous: dict[str, Any], family: str, scored: dict[str, Any],
                 controls: dict[str, dict[str, list[float]]], seeds: int) -> dict[str, Any]:
    """The section with ``family`` added (last) or replaced (in its place); families scored at
    another number of seeds are dropped (their means would not compare), and the controls are
    the new ones.

    Args:
        previous: the section as recorded ({} when none).
        scored: the family's ``runs``, ``twins``, ``packages`` and ``scores``.
        controls: ``setting -> control -> accuracy % per fold seed``.
    """
    kept = previous.get("families", {}) if previous.get("seeds") == seeds else {}
    families = {name: scored if name == family else value for name, value in kept.items()}
    families.setdefault(family, scored)  # a new family comes last; a rescored one keeps its place
    settings = sorted({s for value in families.values() for s in value["scores"]})
    return {"seeds": seeds, "settings": settings, "families": families, "controls": controls}


def kept_controls(previous: dict[str, Any], settings: list[str], seeds: int
                  ) -> dict[str, dict[str, list[float]]]:
    """The recorded controls' scores that a new family can keep instead of scoring them again:
    every control recorded on each of ``settings`` at the same number of seeds ({} when the
    section was scored at other seeds or lacks a setting). A control has no encoder, so its
    scores repeat to the digit (the tokens family's rescoring checked it), and the 300-d ones
    cost most of a family's time."""
    recorded = previous.get("controls") or {}
    if previous.get("seeds") != seeds or not all(s in recorded for s in settings):
        return {}
    common = set.intersection(*(set(recorded[s]) for s in settings)) if settings else set()
    return {s: {c: v for c, v in recorded[s].items() if c in common} for s in settings}


def rerun_command(args: argparse.Namespace) -> str:
    """The command that scores a family again (its note left out: it changes no number)."""
    parts = ["python", "-m", "mirencoder.training.evaluation.devmap_resolution", str(args.model),
             "--twins", *map(str, args.twins)]
    if args.also:
        parts += ["--also", *args.also]
    parts += ["--controls", args.controls, "--embedding", args.embedding,
              "--seeds", str(args.seeds), "--row-sets", args.row_sets,
              "--platforms", args.platforms, "--jobs", str(args.jobs)]
    if args.family:
        parts += ["--family", args.family]
    if getattr(args, "keep_controls", False):
        parts.append("--keep-controls")
    if args.data_dir is not None:
        parts += ["--data-dir", str(args.data_dir)]
    if args.report_dir is not None:
        parts += ["--report-dir", str(args.report_dir)]
    return " ".join(map(shlex.quote, parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rows_arguments(parser, controls="runtime-only,program-size,opcode-histogram,"
                       "loop-opcode-histogram,ir2vec-fa")
    add_sweep_arguments(parser, seeds=20, seeds_help="fold and head seeds (default 20; seeds "
                        "0-2 are the protocol's)")
    parser.add_argument("--family", default="",
                        help="the family's name (default: the encoder's pre-training config)")
    parser.add_argument("--keep-controls", action="store_true",
                        help="keep every control the section holds at these seeds (IR2Vec's "
                        "twins included) and score only the --controls it lacks")
    args = parser.parse_args(argv)
    rows = rows_from_args(parser, args)
    check_sweep_arguments(parser, args, max_seeds=100)
    if args.seeds < 4:
        parser.error("--seeds must be at least 4 (seeds 0-2 are the protocol's own)")
    if len(rows.twins) < 3:
        parser.error("--twins needs at least 3 packages (the twins' spread, and each twin "
                     "against its siblings)")
    previous = recorded_section(args.report_dir, KEY) if args.report_dir else {}
    kept: dict[str, dict[str, list[float]]] = {}
    if args.keep_controls:
        kept = kept_controls(previous, sweep_settings(args), args.seeds)
        if not kept:
            parser.error("--keep-controls: the recorded section holds no controls at "
                         f"{args.seeds} seeds on every setting asked for")
        held = set(next(iter(kept.values())))
        rows = replace(rows, controls=[c for c in rows.controls if c not in held])
        print(f"keeping {len(held)} recorded controls; scoring {rows.controls or 'none'}")
    start = time.perf_counter()
    settings, scores = run_devmap_sweep(rows, args, {FULL: 1.0}, score_fraction,
                                        "devmap resolution")
    per_setting = scores[FULL]
    runs = ["encoder", *rows.extras]
    members = [*runs, *rows.twins]
    encoder = family_name(Path(rows.packages["encoder"]))
    family = {"runs": runs, "twins": rows.twins, "embedding": rows.embedding,
              "command": rerun_command(args),
              "labels": {"encoder": encoder, **{name: name for name in rows.extras}},
              "packages": {name: rows.packages[name] for name in members},
              "scores": {s: {m: per_setting[s][m] for m in members} for s in settings},
              "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    controls = {s: {**kept.get(s, {}), **{c: per_setting[s][c] for c in rows.controls}}
                for s in settings}
    section = merge_family(previous,
                           args.family or encoder,
                           family, controls, args.seeds)
    show_and_publish(args.report_dir, KEY, section, devmap_resolution_markdown, draw_devmap_resolution)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
