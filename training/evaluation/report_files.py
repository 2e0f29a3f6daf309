"""Writes the report files: ``RESULTS.md``, ``STUDIES.md`` and ``studies/*.md`` (the studies
beyond the protocols, an index and one page per section, when the summary holds any; a
generated folder), ``results/summary.json`` and the figures RESULTS.md shows
(``results/results.png``, ``targets.png``, ``pretraining_effects.png``, ``probes.png``,
``devmap_agreement.png``)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...infra.files import write_text_atomic
from .devmap_agreement import KEY as AGREEMENT_KEY
from .devmap_agreement import agreement_section
from .pretraining_effects import draw_effects, effect_rows
from .probes.plot import plot_probes
from .report_chart import draw_results_chart
from .report_markdown import render_results_md, render_studies
from .study_pages import STUDIES_DIR, STUDIES_FILE
from .summary import SCHEMA_VERSION, load_summary, merge_summary, save_summary
from .target_chart import draw_targets_chart

__all__ = ["ReportPaths", "folder_study_main", "report_paths", "write_report", "update_report", "recorded_section",
           "publish_section", "show_and_publish", "add_report_dir_argument", "parse_group",
           "read_studies"]

ReportPaths = dict[str, Path]


def report_paths(out_dir: Path) -> ReportPaths:
    """``results_md`` = OUT/RESULTS.md, ``studies_md`` = OUT/STUDIES.md (the studies' index),
    ``studies_dir`` = OUT/studies (one page per study section),
    ``summary_json`` = OUT/results/summary.json,
    ``chart_png`` = OUT/results/results.png, ``targets_png`` = OUT/results/targets.png,
    ``probes_png`` = OUT/results/probes.png, ``effects_png`` =
    OUT/results/pretraining_effects.png, ``agreement_png`` = OUT/results/devmap_agreement.png."""
    out_dir = Path(out_dir)
    return {"results_md": out_dir / "RESULTS.md",
            "studies_md": out_dir / STUDIES_FILE,
            "studies_dir": out_dir / STUDIES_DIR,
            "summary_json": out_dir / "results" / "summary.json",
            "chart_png": out_dir / "results" / "results.png",
            "targets_png": out_dir / "results" / "targets.png",
            "probes_png": out_dir / "results" / "probes.png",
            "effects_png": out_dir / "results" / "pretraining_effects.png",
            "agreement_png": out_dir / "results" / "devmap_agreement.png"}


def write_report(task_runs: dict[str, dict[str, Any]], out_dir: Path, *,
                 encoder: dict[str, Any] | None, command: str, add_rows: bool = False
                 ) -> tuple[dict[str, Any], ReportPaths]:
    """Merges this run into ``results/summary.json`` (other tasks kept; with ``add_rows`` its
    methods join each task's recorded rows) and regenerates ``RESULTS.md`` and the chart from
    the merged summary.

    Returns:
        The merged summary and the paths written.
    """
    paths = report_paths(out_dir)
    summary = merge_summary(task_runs, encoder=encoder, command=command,
                            existing=load_summary(paths["summary_json"]), add_rows=add_rows)
    return summary, _render(summary, paths)


def update_report(out_dir: Path, key: str, value: dict[str, Any], *,
                  drop: Sequence[str] = ()) -> ReportPaths:
    """Sets one section of ``results/summary.json`` that is not a downstream task
    (``probes``, ``ablations``), keeping the rest except the sections named in ``drop`` (ones
    ``value`` now holds; their figures are deleted), and regenerates RESULTS.md and the chart."""
    paths = report_paths(out_dir)
    summary = load_summary(paths["summary_json"]) or {"schema_version": SCHEMA_VERSION}
    for gone in drop:
        if gone != key:
            figure = (summary.pop(gone, None) or {}).get("figure")
            if figure and figure != value.get("figure"):
                (Path(out_dir) / figure).unlink(missing_ok=True)
    summary[key] = value
    return _render(summary, paths)


def recorded_section(out_dir: Path, key: str) -> dict[str, Any]:
    """The section ``key`` that the report's ``results/summary.json`` already holds ({} when
    the file or the section is absent): what a command merges its new rows into."""
    summary = load_summary(report_paths(out_dir)["summary_json"]) or {}
    return summary.get(key) or {}


def publish_section(out_dir: Path, key: str, value: dict[str, Any], *,
                    drop: Sequence[str] = ()) -> ReportPaths:
    """:func:`update_report`, then the report commands' last line: which files it wrote."""
    paths = update_report(out_dir, key, value, drop=drop)
    pages = len(list(paths["studies_dir"].glob("*.md")))
    studies = (f", {paths['studies_md']} (+ {pages} pages under {paths['studies_dir']})"
               if paths["studies_md"].exists() else "")
    print(f"wrote {paths['results_md']}{studies} and {paths['summary_json']}")
    return paths


def parse_group(text: str) -> tuple[str, list[str]]:
    """A study command's ``--group LABEL=NAME[,NAME...]``: ``(LABEL, [NAME, ...])``.

    Raises:
        ValueError: no label or no name.
    """
    label, _, names = text.partition("=")
    members = [n for n in names.split(",") if n]
    if not label or not members:
        raise ValueError(f"--group {text!r}: expected LABEL=NAME[,NAME...]")
    return label, members


def add_report_dir_argument(parser: argparse.ArgumentParser) -> None:
    """A report command's ``--report-dir`` (None: the section is only printed)."""
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="holds RESULTS.md and results/summary.json (without it the table "
                        "is only printed)")


def show_and_publish(out_dir: Path | None, key: str, section: dict[str, Any],
                     markdown: Callable[[dict[str, Any]], str],
                     draw: Callable[[dict[str, Any], Path], Path] | None = None, *,
                     drop: Sequence[str] = ()) -> None:
    """A report command's ending: with ``out_dir``, ``draw`` the section's figure into
    ``OUT/results/<key>.png`` (named in the section as ``figure``); print the section's
    markdown; with ``out_dir``, :func:`publish_section` it (``drop``: sections it replaces)."""
    if out_dir is not None and draw is not None:
        try:
            figure = draw(section, out_dir / "results" / f"{key}.png")
        except Exception:
            kept = write_text_atomic(out_dir / "results" / f"{key}.unpublished.json",
                                     json.dumps(section, indent=1))
            print(f"drawing the figure failed; the section is kept in {kept} (nothing "
                  "published)", file=sys.stderr)
            raise
        section["figure"] = str(figure.relative_to(out_dir))
    print(markdown(section))
    if out_dir is not None:
        publish_section(out_dir, key, section, drop=drop)


def folder_study_main(argv: list[str] | None, *, description: str, folders: str, key: str,
                      collect: Callable[[Path], dict[str, Any]],
                      markdown: Callable[[dict[str, Any]], str],
                      draw: Callable[[dict[str, Any], Path], Path]) -> int:
    """The command of a study read from one folder of evaluation runs: ``ROOT [--note TEXT]
    [--report-dir DIR]``; ``collect(ROOT)`` builds the section (a ValueError is the user's
    error), the note is set and :func:`show_and_publish` prints and publishes it under ``key``.

    Args:
        folders: what ROOT holds (its help text).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("root", type=Path, help=f"folder holding the {folders} runs")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"not a folder: {args.root}")
    try:
        section = collect(args.root)
    except ValueError as error:
        parser.error(str(error))
    section["note"] = args.note
    show_and_publish(args.report_dir, key, section, markdown, draw)
    return 0


def _render(summary: dict[str, Any], paths: ReportPaths) -> ReportPaths:
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    drawn = {"targets": draw_targets_chart(summary, paths["targets_png"])}
    if summary.get("results"):  # probes/ablations alone draw no results chart
        drawn["results"] = draw_results_chart(summary, paths["chart_png"])
    if summary.get("probes"):
        drawn["probes"] = plot_probes(summary["probes"], paths["probes_png"])
    if rows := effect_rows(summary):  # the level-shift studies' runs against their twins
        drawn["effects"] = draw_effects(rows, paths["effects_png"])
    # derived from the runs of record and the controls: redrawn whenever either changes
    summary.pop(AGREEMENT_KEY, None)
    if agreement := agreement_section(summary, paths["agreement_png"],
                                      paths["results_md"].parent):
        summary[AGREEMENT_KEY] = agreement
    else:  # no figure stays behind a section the summary no longer holds
        paths["agreement_png"].unlink(missing_ok=True)
    save_summary(summary, paths["summary_json"])
    here = paths["results_md"].parent
    figures = {key: os.path.relpath(png, here) for key, png in drawn.items() if png}
    studies = render_studies(summary)
    write_text_atomic(paths["results_md"], render_results_md(summary, figures=figures,
                                                             studies=studies))
    for name, text in studies.items():
        write_text_atomic(here / name, text)
    # generated files: none stays behind that the summary no longer holds
    if not studies:
        paths["studies_md"].unlink(missing_ok=True)
    for page in paths["studies_dir"].glob("*.md"):
        if f"{STUDIES_DIR}/{page.name}" not in studies:
            page.unlink()
    return paths


def read_studies(out_dir: Path) -> str:
    """The studies a report folder holds as one text: ``STUDIES.md`` (the index), then every
    page under ``studies/`` in the index's order ('' when there is none)."""
    paths = report_paths(out_dir)
    if not paths["studies_md"].is_file():
        return ""
    index = paths["studies_md"].read_text()
    pages = dict.fromkeys(re.findall(rf"\]\(({STUDIES_DIR}/[\w.-]+\.md)", index))
    return "\n".join([index, *((Path(out_dir) / page).read_text() for page in pages)])
