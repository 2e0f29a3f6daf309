"""How well does a run's compiler-decision head answer, and from which optimisation level?

A run with ``task.decision_weight`` trains a linear head on its fused vector to predict what
clang -O3's loop vectoriser decides for each source. This scores that head itself (vectorised
vs scalar; the no-loop class left out of the argmax) on the compiler-decision probe's held-out
programs (-O0 IR) and on up to 400 neurovectorizer-loops records of the dataset's train and
test splits, per optimisation level: whether it learned the decision from -O0 IR or only where
the optimised IR already shows vector code::

    python -m benchmarks.decision_head --run runs/pretrain/cont-anchor-size-decisions \
        --dataset runs/datasets/pretrain-variants-2cpu-v1
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmarks.report import write_section
from mirencoder.pipelines.ir.program_graph import ENCODER_COLUMNS
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.evaluation.probes import ProbeConfig, prepare_probe_programs
from mirencoder.training.pretraining.export import read_checkpoint
from mirencoder.training.pretraining.tasks.decisions import DECISION_LABELS_FILE

LEVELS = ("O0", "O1", "O2", "O3", "Oz")


def vector_votes(vectors: np.ndarray, weight: torch.Tensor, bias: torch.Tensor) -> np.ndarray:
    """``[N]`` bool: the head's vectorised class scores above its scalar class."""
    logits = torch.as_tensor(vectors, dtype=torch.float32) @ weight.T + bias
    return (logits[:, 2] > logits[:, 1]).numpy()


def split_records(dataset: Path, split: str, labels: dict[str, bool], count: int
                  ) -> list[dict]:
    """Up to ``count`` records (every level) of labelled neurovectorizer sources of a split."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = ["key", "group", "opt_level", "tokens", *ENCODER_COLUMNS]
    files = sorted((dataset / "parquet" / split).glob("*.parquet"))
    rows = [r for r in pa.concat_tables([pq.read_table(f, columns=columns) for f in files])
            .to_pylist() if r["group"] in labels]
    order = np.random.default_rng(0).permutation(len(rows))[:count]
    return [rows[i] for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, action="append", required=True,
                        help="a pre-training run folder (checkpoints/last.ckpt, encoder/)")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--records", type=int, default=400)
    args = parser.parse_args()
    import pyarrow.parquet as pq

    labels = {r["group"]: r["vectorised"] == 2
              for r in pq.read_table(args.dataset / DECISION_LABELS_FILE).to_pylist()
              if r["corpus"] == "neurovectorizer-loops" and r["vectorised"] in (1, 2)}
    probe = prepare_probe_programs(ProbeConfig(dataset=args.dataset)).decisions
    probe_yes = np.array([label == "yes" for label in probe.labels["vectorized"]])
    lines = ["The compiler-decision head of each run (linear, on the fused vector), vectorised "
             "vs scalar accuracy: on the probe's held-out labelled programs (-O0), and on "
             f"up to {args.records} neurovectorizer-loops records of the dataset's train / test "
             "splits by optimisation level. `python -m benchmarks.decision_head`.", "",
             f"| run | probe programs (n = {len(probe_yes)}, majority "
             f"{max(probe_yes.mean(), 1 - probe_yes.mean()):.3f}) | split | "
             + " | ".join(LEVELS) + " |", "|---|---|---|" + "---|" * len(LEVELS)]
    for run in args.run:
        state = read_checkpoint(run / "checkpoints" / "last.ckpt")["state_dict"]
        weight = state["model.decision_heads.fused.linear.weight"].float()
        bias = state["model.decision_heads.fused.linear.bias"].float()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            embedder = Embedder.from_package(run / "encoder")
        result = embedder.embed_files([str(p.path) for p in probe.programs], modality="fused")
        vectors = np.asarray(getattr(result, "vectors", result))
        probe_accuracy = (vector_votes(vectors, weight, bias) == probe_yes).mean()
        for split in ("train", "test"):
            records = split_records(args.dataset, split, labels, args.records)
            votes = vector_votes(embedder.encode_records(records, modality="fused"), weight,
                                 bias)
            truth = np.array([labels[r["group"]] for r in records])
            level = np.array([r["opt_level"] for r in records])
            cells = [f"{(votes[level == lv] == truth[level == lv]).mean():.2f}"
                     if (level == lv).any() else "–" for lv in LEVELS]
            lines.append(f"| {run.name} | {probe_accuracy:.3f} | {split} ({len(records)}) | "
                         + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("decision-head", "Compiler-decision head: from which level it answers", table)


if __name__ == "__main__":
    main()
