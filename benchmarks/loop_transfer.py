"""Does loop membership learned on the pre-training corpus carry to the DevMap kernels?

Scores loop heads on the instructions of held-out corpus programs (test split, one variant per
group) and of the DevMap kernels (the 669 ready IR files and the 680 set's OpenCL compiled
here), against the pipeline's loop analysis (``pipelines/ir/loops.py``):

- ``--checkpoint``: a pre-training run's own GNN and loop head (``task.loop_weight > 0``);
- ``--train``: a 3-layer GNN and a loop head trained on loop membership alone for ``--steps``
  steps of 16 programs, on the named datasets' train splits (``+`` mixes them), with and
  without block pooling (``model.gnn_block_pooling``).

Writes a markdown table to BENCHMARKS.md (section ``loop-transfer``)::

    python -m benchmarks.loop_transfer --dataset corpus=runs/datasets/pretrain-variants-2cpu-v1 \
        --dataset lscat=runs/datasets/dapt-ls-cat-v1 --train corpus,lscat,corpus+lscat \
        --checkpoint runs/pretrain/record-2cpu-residual-spread-loops/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import json
import random
import warnings
from pathlib import Path

from benchmarks.loop_depth_pilot import batches, from_checkpoint, score, train_loop_head
from benchmarks.report import write_section
from mirencoder.training.embedding.principal_basis import corpus_records
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.paths import default_cache_dir, default_data_dir
from mirencoder.training.pretraining.tasks.loops import IGNORE

BATCH, MAX_NODES = 16, 2048


def devmap_records(package: Path) -> dict[str, list[dict]]:
    """The DevMap kernels of each row set, prepared by ``package``'s embedder."""
    from mirencoder.training.embedding.embedder import Embedder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a local package folder nothing vouches for
        embedder = Embedder.from_package(package)
    out = {}
    for row_set in ("669", "680"):
        data = load_devmap(row_set, default_data_dir(), default_cache_dir())
        out[f"devmap-{row_set}"] = [embedder.prepare_file(str(p.path), max_tokens=1)
                                    for p in data.programs]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", required=True,
                        help="NAME=FOLDER of a built dataset (repeat; the first one's "
                             "vocabulary is used)")
    parser.add_argument("--train", default="", help="comma list of NAME or NAME+NAME")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[])
    parser.add_argument("--package", type=Path,
                        default=Path("runs/pretrain/record-2cpu-residual-spread-loops/encoder"),
                        help="an encoder package with the datasets' vocabularies (prepares "
                             "the DevMap kernels)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--train-programs", type=int, default=2400)
    parser.add_argument("--test-programs", type=int, default=150)
    args = parser.parse_args()
    datasets = dict(spec.split("=", 1) for spec in args.dataset)
    first = Path(next(iter(datasets.values())))
    vocab = int(json.loads((first / "index.json").read_text())["node_vocab_size"])
    tests = {f"{name} test": corpus_records(folder, split="test", programs=args.test_programs,
                                            seed=1) for name, folder in datasets.items()}
    tests |= devmap_records(args.package)
    scored = {name: list(batches(records, BATCH, vocab, MAX_NODES))
              for name, records in tests.items()}
    shares = {name: sum(int((t == 1).sum()) for _, t in data)
              / max(sum(int((t != IGNORE).sum()) for _, t in data), 1)
              for name, data in scored.items()}
    lines = [f"Loop membership (accuracy / F1 of the in-loop class) of the instructions of "
             f"held-out corpus programs ({args.test_programs} per dataset, test split, one "
             "variant per group) and of the DevMap kernels; share of instructions in loops: "
             + ", ".join(f"{name} {share:.3f}" for name, share in shares.items())
             + f". Trained rows: 3-layer GNN + loop head, loop membership alone, {args.steps} "
             f"steps of {BATCH} programs (AdamW 1e-3, seed 0) from up to "
             f"{args.train_programs} train-split programs per dataset. "
             "`python -m benchmarks.loop_transfer`.", "",
             "| loop head | block pooling | " + " | ".join(scored) + " | seconds |",
             "|---|---|" + "---|" * len(scored) + "---|"]
    print("\n".join(lines), flush=True)

    def emit(label: str, pooling: str, encoder, head, seconds: str) -> None:
        cells = [score(encoder, head, data) for data in scored.values()]
        lines.append(f"| {label} | {pooling} | " + " | ".join(
            f"{c['accuracy']:.3f} / {c['f1_in_loop']:.3f}" for c in cells) + f" | {seconds} |")
        print(lines[-1], flush=True)

    for path in args.checkpoint:
        encoder, head, depth = from_checkpoint(path)
        emit(f"pre-training run {path.parent.parent.name} ({path.stem}, {depth} layers)", "no",
             encoder, head, "-")
    pools = {name: corpus_records(folder, split="train", programs=args.train_programs, seed=0)
             for name, folder in datasets.items()}
    for mix in [m for m in args.train.split(",") if m]:
        records = [r for name in mix.split("+") for r in pools[name]]
        random.Random(0).shuffle(records)
        train = list(batches(records, BATCH, vocab, MAX_NODES))
        for pooling in (False, True):
            encoder, head, seconds = train_loop_head(3, False, train, vocab, args.steps, seed=0,
                                                     block_pooling=pooling)
            emit(f"trained on {mix} ({len(records)} programs)", "yes" if pooling else "no",
                 encoder, head, f"{seconds:.0f}")
    write_section("loop-transfer", "Loop membership: from the corpus to the DevMap kernels",
                  "\n".join(lines))


if __name__ == "__main__":
    main()
