"""Would a perfect loop detector let pre-trained node codes beat their untrained twins'?

The codebook study's loop readout counts only the instructions a linear probe on the node
states places in loops, and gave the pre-trained encoder no lead over its twins. This asks
the question with the probe taken out of the way: the same node codes (64, spherical k-means
on 600 train-split programs, k-means seeds 0, 1, 2), counted over every node, or over the
instructions that the pipeline's loop analysis places in loops (``exact_loops``, what the
loop-opcode histogram counts), for a run and each of its untrained twins, with the protocols'
own folds and heads. Every row is computed by this script under the current code::

    python -m benchmarks.exact_loop_codes --run runs/pretrain/record-2cpu-residual-spread-loops \
        --dataset runs/datasets/pretrain-variants-2cpu-v1
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.report import write_section
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.embedding.principal_basis import corpus_records
from mirencoder.training.evaluation.codebook_study import score_featurizer
from mirencoder.training.evaluation.codebook_table import SETTINGS
from mirencoder.training.evaluation.features.node_codes import (
    NodeCodesFeaturizer,
    fit_node_codebook,
    node_states,
)

TWINS = ("untrained-encoder", "untrained-encoder-seed1", "untrained-encoder-seed2")
READOUTS = {"every node": False, "instructions in loops (loop analysis)": True}


def encoder_rows(package: Path, dataset: str, seeds: list[int], codes: int
                 ) -> dict[str, list[list[float]]]:
    """``readout -> one row of SETTINGS values per k-means seed`` for one encoder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a local package folder nothing vouches for
        embedder = Embedder.from_package(package)
    corpus, _ = node_states(embedder, corpus_records(dataset, programs=600, seed=0,
                                                     max_tokens=1))
    cache: dict = {}
    rows: dict[str, list[list[float]]] = {name: [] for name in READOUTS}
    for seed in seeds:
        codebook = fit_node_codebook(corpus, codes, seed=seed)
        for name, exact in READOUTS.items():
            started = time.perf_counter()
            scores = score_featurizer(NodeCodesFeaturizer("node-codes", embedder, codebook,
                                                           cache, exact_loops=exact))
            rows[name].append([scores.get(s, float("nan")) for s in SETTINGS])
            print(f"{package.name} seed {seed} {name}: "
                  + " / ".join(f"{v:.3f}" for v in rows[name][-1])
                  + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows


def _cell(setting: str, values: np.ndarray) -> str:
    digits = 3 if setting.startswith("thread") else 1
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f} "
            f"({values.min():.{digits}f}–{values.max():.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True,
                        help="a pre-training run folder with encoder/ and the twins "
                             + ", ".join(TWINS))
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--codes", type=int, default=64)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    missing = [name for name in ("encoder", *TWINS)
               if not (args.run / name / "encoder_config.json").is_file()]
    if missing:
        parser.error(f"{args.run} lacks the encoder packages {', '.join(missing)}")
    pre = encoder_rows(args.run / "encoder", args.dataset, seeds, args.codes)
    twins = [encoder_rows(args.run / name, args.dataset, seeds, args.codes) for name in TWINS]
    shown = SETTINGS[:5]
    lines = [f"Node codes ({args.codes}, k-means seeds {args.seeds}) of `{args.run.name}` "
             "and of its untrained twins (seeds 0, 1, 2), counted over every node or over "
             "the instructions the loop analysis places in loops; cells: mean ± std (range) "
             "over encoders x k-means seeds; the protocols' folds and heads (leakage-free). "
             "`python -m benchmarks.exact_loop_codes`.", "",
             "| readout | encoders | " + " | ".join(shown) + " |",
             "|---|---|" + "---|" * len(shown)]
    for name in READOUTS:
        mine = np.array(pre[name])
        theirs = np.array([row for twin in twins for row in twin[name]])
        for label, values in (("pre-trained", mine), ("untrained twins (3)", theirs)):
            lines.append(f"| {name} | {label} | " + " | ".join(
                _cell(s, values[:, i]) for i, s in enumerate(shown)) + " |")
        lead = mine.mean(0) - theirs.mean(0)
        lines.append(f"| {name} | **pre-trained − twins** | " + " | ".join(
            f"{lead[i]:+.3f}" if s.startswith("thread") else f"{lead[i]:+.1f}"
            for i, s in enumerate(shown)) + " |")
    table = "\n".join(lines)
    print(table)
    write_section(f"exact-loop-codes-{args.run.name}", "Node codes over the instructions "
                  f"in loops (loop analysis): {args.run.name}", table)


if __name__ == "__main__":
    main()
