"""Records a finished pre-training run (curves and key metrics) in BENCHMARKS.md.

Usage: python -m benchmarks.report_pretrain RUN_DIR [--note TEXT] [--machine TEXT --measured TEXT]
Reads RUN_DIR/metrics.jsonl and RUN_DIR/result.json (written by ``mirencoder pretrain``),
draws the curves to benchmarks/figures/<run>.png and writes the ``pretrain-<run>`` section.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.report import BENCHMARKS_MD, write_section
from mirencoder.training.pretraining.loss_curves import plot_loss_curves

_COLUMNS = (("mlm_loss", "MLM loss"), ("mlm_accuracy", "MLM acc."),
            ("mlm_unigram_accuracy", "unigram acc."), ("gae_loss", "GAE loss"),
            ("gae_link_accuracy", "edge acc."), ("node_text_accuracy", "node-text acc."),
            ("match_loss", "match loss"), ("match_accuracy", "match acc."),
            ("contrastive_accuracy", "IR-graph contrast acc."),
            ("variant_accuracy", "variant acc."), ("outcome_loss", "outcome KL"))


def _row(prefix: str, row: dict) -> str:
    return " | ".join(f"{row[f'{prefix}/{key}']:.3f}" if f"{prefix}/{key}" in row else "-"
                      for key, _ in _COLUMNS)


def pretrain_section(run_dir: Path, note: str) -> tuple[str, str]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    result = json.loads((run_dir / "result.json").read_text())
    figure = BENCHMARKS_MD.parent / "benchmarks" / "figures" / f"pretrain-{run_dir.name}.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    plot_loss_curves(rows, figure, title=f"{run_dir.name}: pre-training curves")
    header = " | ".join(label for _, label in _COLUMNS)
    lines = [f"Run `{run_dir.name}`: {result['final_step']} steps in {result['wall_seconds'] / 60:.1f}"
             f" min, {result['num_parameters']:,} encoder parameters, registered version "
             f"{result.get('registered_version')} (MLflow run {result.get('mlflow_run_id')})."
             + (f" {note}" if note else ""), "",
             f"| step | split | {header} |", "|---|---|" + "---|" * len(_COLUMNS)]
    train = [r for r in rows if any(k.startswith("train/") for k in r)]
    marks = {train[0]["step"], train[-1]["step"]} if train else set()
    marks |= {r["step"] for r in rows if any(k.startswith("val/") for k in r)}
    for row in rows:
        if row["step"] not in marks:
            continue
        for prefix in ("train", "val"):
            if any(k.startswith(prefix + "/") for k in row):
                lines.append(f"| {row['step']} | {prefix} | {_row(prefix, row)} |")
    lines += ["", f"![curves]({figure.relative_to(BENCHMARKS_MD.parent)})"]
    return f"pretrain-{run_dir.name}", "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--note", default="")
    parser.add_argument("--machine", default=None,
                        help="where the run was trained, when not here (e.g. the GPU machine "
                             "line of its bench.json)")
    parser.add_argument("--measured", default=None, help="when, with --machine")
    args = parser.parse_args()
    name, body = pretrain_section(args.run_dir, args.note)
    write_section(name, f"Pre-training run: {args.run_dir.name}", body, machine=args.machine,
                  measured=args.measured)
    print(body)


if __name__ == "__main__":
    main()
