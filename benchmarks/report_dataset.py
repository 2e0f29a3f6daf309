"""Records a finished dataset build (counts, wall time, shard sizes) in BENCHMARKS.md.

Usage: python -m benchmarks.report_dataset DIR [--note TEXT]
The figures come from the build's own index.json; the wall time is the build's (a resumed
build reports the last run's time, so pass --note to say how it was run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.report import write_section
from mirencoder.pipelines.dataset import load_index
from mirencoder.pipelines.shards.schema import SPLITS


def dataset_section(dataset: Path, note: str) -> str:
    index = load_index(dataset)
    counts = index["counts"]
    lines = [f"Recipe `{index['recipe']}` -> `{dataset.name}`; clang {index['toolchain']['clang']}, "
             f"tokenizer {index['vocab_size']} tokens, node vocabulary {index['node_vocab_size']}."
             + (f" {note}" if note else ""), "",
             "| corpus | inputs | ok | failed | duplicate | excluded | failed by reason |",
             "|---|---|---|---|---|---|---|"]
    for corpus, c in counts["per_corpus"].items():
        reasons = ", ".join(f"{r} {n}" for r, n in c["failed_by_reason"].items()) or "-"
        lines.append(f"| {corpus} | {c['inputs']} | {c['ok']} | {c['failed']} | "
                     f"{c['duplicate']} | {c['excluded']} | {reasons} |")
    lines.append(f"| **total** | {counts['inputs']} | {counts['ok']} | {counts['failed']} | "
                 f"{counts['duplicate']} | {counts['excluded']} | |")
    lines += ["", "| split | records | WebDataset shards | WebDataset MiB | Parquet shards | "
                  "Parquet MiB |", "|---|---|---|---|---|---|"]
    for split in SPLITS:
        info = index["splits"][split]
        lines.append(f"| {split} | {info['records']} | {len(info['wds'])} | "
                     f"{sum(s['bytes'] for s in info['wds']) / 2**20:.1f} | "
                     f"{len(info['parquet'])} | "
                     f"{sum(s['bytes'] for s in info['parquet']) / 2**20:.1f} |")
    exclusion = index["exclusion"]
    lines += ["", f"Evaluation-kernel exclusion applied: {exclusion.get('applied')} "
                  f"({exclusion.get('distinct_ir', 0)} distinct evaluation kernels checked).",
              f"Build wall time of the last run: {index['build']['wall_seconds']:.0f} s on "
              f"{index['build']['ray'].get('cpus')} Ray CPUs."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    index = load_index(args.dataset)
    body = dataset_section(args.dataset, args.note)
    write_section(f"dataset-{index['recipe']}", f"Dataset build: {index['recipe']}", body)
    print(body)


if __name__ == "__main__":
    main()
