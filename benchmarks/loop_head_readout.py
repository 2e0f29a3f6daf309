"""Node codes of the instructions a pre-training run's own loop head places in loops.

The codebook study's ``--loop-group`` fits a linear probe on frozen node states (every encoder
and twin alike); this reads a run that trained ``task.loop_weight`` with the loop head it
trained (kept in its checkpoint, not in its package) instead, to see whether a sharper loop
split moves DevMap. Same codebooks (600 train-split programs, k-means seeds), folds and heads::

    python -m benchmarks.loop_head_readout --run runs/pretrain/record-2cpu-residual-spread-loops \
        --dataset runs/datasets/pretrain-variants-2cpu-v1
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmarks.loop_depth_pilot import from_checkpoint
from benchmarks.report import write_section
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.embedding.principal_basis import corpus_records
from mirencoder.training.evaluation.codebook_study import score_featurizer
from mirencoder.training.evaluation.codebook_table import SETTINGS
from mirencoder.training.evaluation.features.node_codes import (
    LoopProbe,
    NodeCodesFeaturizer,
    fit_node_codebook,
    node_states,
)


class LoopHeadProbe(LoopProbe):
    """A :class:`LoopProbe` that asks the run's trained loop head."""

    def __init__(self, head: torch.nn.Module):
        super().__init__(np.zeros(1, dtype=np.float32), 0.0, {})
        self.head = head.eval()

    def in_loop(self, states: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.head(torch.from_numpy(states)).argmax(-1).numpy().astype(bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--codes", type=int, default=64)
    args = parser.parse_args()
    _, head, _ = from_checkpoint(args.run / "checkpoints" / "last.ckpt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder = Embedder.from_package(args.run / "encoder")
    corpus, _ = node_states(embedder, corpus_records(args.dataset, programs=600, seed=0,
                                                     max_tokens=1))
    cache: dict = {}
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        codebook = fit_node_codebook(corpus, args.codes, seed=seed)
        scores = score_featurizer(NodeCodesFeaturizer("node-codes", embedder, codebook, cache,
                                                       loop_probe=LoopHeadProbe(head)))
        rows.append([scores.get(s, float("nan")) for s in SETTINGS])
        print(f"seed {seed}: " + " / ".join(f"{v:.3f}" for v in rows[-1]), flush=True)
    mean = np.mean(rows, axis=0)
    table = "\n".join([
        f"Node codes ({args.codes}, k-means seeds {args.seeds}) of the instructions that "
        f"`{args.run.name}`'s own trained loop head places in loops, scored with the "
        "protocols' folds and heads; mean over the seeds. `python "
        "benchmarks/loop_head_readout.py`. Untrained twins have no trained loop head: compare "
        "with STUDIES.md \"Encoders read as bags of node codes\" (linear-probe loop readout).",
        "", "| " + " | ".join(SETTINGS) + " |", "|" + "---|" * len(SETTINGS),
        "| " + " | ".join(f"{v:.3f}" if s.startswith("thread") else f"{v:.1f}"
                          for s, v in zip(SETTINGS, mean, strict=True)) + " |"])
    print(table)
    write_section(f"loop-head-readout-{args.run.name}", "Node codes read through a trained "
                  f"loop head: {args.run.name}", table)


if __name__ == "__main__":
    main()
