"""Encoders in the principal basis of their pre-training corpus: DevMap leakage-free against the
share of the corpus variance kept, pre-trained encoders beside their untrained twins.

Reads the folders of ``infra/evaluate_basis.sh`` (see ``basis_table.py``)::

    python -m mirencoder.training.evaluation.basis_study runs/eval/principal \\
        --group "pre-trained=spread2,cont" --group "untrained twins=rtwin0,rtwin1" \\
        --as-is runs/eval/outputs-residual --report-dir .

Writes the table and a figure (``results/principal_basis.png``) into
``results/summary.json`` (key ``principal_basis``) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .basis_table import AS_IS, BASIS_SECTIONS, basis_markdown, collect_basis_study
from .figures import save_figure
from .report_files import add_report_dir_argument, parse_group, show_and_publish

__all__ = ["draw_basis_study", "main"]


def _tick(share: str) -> str:
    if share.startswith("d"):
        return f"{share[1:]} dirs"
    return "all" if float(share) >= 1.0 else f"{float(share):.0%}"


def draw_basis_study(section: dict[str, Any], png: Path) -> Path:
    """One panel per DevMap setting: accuracy against the share of variance kept, each group's
    mean with its range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [s for s in section["shares"] if s != AS_IS]
    x = np.arange(len(shares))
    fig, axes = plt.subplots(1, len(section["settings"]), figsize=(13, 3.4), sharey=False)
    for ax, setting in zip(np.atleast_1d(axes), section["settings"], strict=False):
        for label in section["groups"]:
            values = [section["scores"][label].get(s, {}).get(setting, []) for s in shares]
            mean = [np.mean(v) if v else np.nan for v in values]
            line = ax.plot(x, mean, marker="o", label=label)[0]
            ax.fill_between(x, [min(v) if v else np.nan for v in values],
                            [max(v) if v else np.nan for v in values],
                            color=line.get_color(), alpha=0.15)
            own = section["scores"][label].get(AS_IS, {}).get(setting)
            if own:
                ax.axhline(np.mean(own), color=line.get_color(), linestyle=":", linewidth=1)
        ax.set_title(setting, fontsize=9)
        ax.set_xticks(x, [_tick(s) for s in shares], fontsize=7)
        ax.set_ylabel("accuracy %", fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    basis = ("principal basis" if section.get("kind", "principal") == "principal"
             else "independent components")
    fig.suptitle(f"DevMap leakage-free, fused output in the corpus {basis}: share of "
                 "variance kept, or a fixed number of directions (dotted: own coordinates)",
                 fontsize=9)
    return save_figure(fig, png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the OUT folder of infra/evaluate_basis.sh")
    parser.add_argument("--group", action="append", default=[], required=True,
                        help="LABEL=NAME,NAME (repeat; the first is compared with the second)")
    parser.add_argument("--as-is", type=Path, default=None,
                        help="folder of infra/evaluate_outputs.sh runs of the same names")
    parser.add_argument("--kind", choices=tuple(BASIS_SECTIONS), default="principal",
                        help="the kind of basis the folders were scored in (its own section)")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    try:
        groups = dict(parse_group(g) for g in args.group)
        section = collect_basis_study(args.root, groups, args.as_is)
    except ValueError as error:
        parser.error(str(error))
    section["note"] = args.note
    if args.kind != "principal":  # a principal section keeps the schema it was written with
        section["kind"] = args.kind
    show_and_publish(args.report_dir, BASIS_SECTIONS[args.kind], section, basis_markdown,
                     draw_basis_study)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
