"""Pilot: how many message-passing hops does loop membership need?

Trains only the GNN (``GraphEncoder``) and a linear loop head on the loop-membership target
(``tasks/loops.py``) for a few hundred steps, for several depths, and scores held-out programs
(other variant groups; one variant per group, drawn at random). ``layers=3 frozen`` is the untrained twin with a trained linear probe.
Prints a markdown table and writes it to BENCHMARKS.md (section ``loop-depth``); runs in
minutes on 2 cores.

    python -m benchmarks.loop_depth_pilot --dataset runs/datasets/pretrain-variants-2cpu-v1 \
        --depths 3,6,10 --probe-depths 3,6 --steps 300
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.report import write_section
from mirencoder.training.core.data.collate import collate_graphs
from mirencoder.training.core.models.graph_encoder import GraphEncoder
from mirencoder.training.embedding.principal_basis import corpus_records
from mirencoder.training.pretraining.tasks.loops import IGNORE, LoopHead, loop_membership


def load_records(dataset: Path, split: str, limit: int) -> list[dict]:
    """Up to ``limit`` programs of ``split`` drawn at random, one variant per source group."""
    return corpus_records(dataset, split=split, programs=limit, seed=0)


def batches(records: list[dict], size: int, vocab: int, max_nodes: int):
    for start in range(0, len(records), size):
        graph = collate_graphs(records[start:start + size], node_vocab_size=vocab,
                               max_graph_nodes=max_nodes)
        yield graph, loop_membership(graph.edge_index, graph.edge_flow, graph.node_type)


def score(encoder: GraphEncoder, head: LoopHead, data: list) -> dict[str, float]:
    encoder.eval()
    hits = total = tp = fp = fn = 0
    with torch.no_grad():
        for graph, targets in data:
            states = encoder(graph.node_text, graph.node_type, graph.edge_index,
                             graph.edge_flow, graph.edge_position)
            scored = targets != IGNORE
            pred = head(states[scored]).argmax(-1)
            gold = targets[scored]
            hits += int((pred == gold).sum())
            total += int(scored.sum())
            tp += int(((pred == 1) & (gold == 1)).sum())
            fp += int(((pred == 1) & (gold == 0)).sum())
            fn += int(((pred == 0) & (gold == 1)).sum())
    encoder.train()
    return {"accuracy": hits / max(total, 1), "f1_in_loop": 2 * tp / max(2 * tp + fp + fn, 1)}


def train_loop_head(depth: int, frozen: bool, train: list, vocab: int, steps: int, seed: int,
                    block_pooling: bool = False) -> tuple[GraphEncoder, LoopHead, float]:
    """A GNN of ``depth`` layers and a loop head trained on loop membership alone for
    ``steps`` batches of ``train`` (only the head when ``frozen``), and the seconds it took."""
    torch.manual_seed(seed)
    encoder = GraphEncoder(node_vocab_size=vocab, hidden=128, layers=depth, num_positions=32,
                           dropout=0.0, block_pooling=block_pooling)
    head = LoopHead(128)
    params = list(head.parameters()) + ([] if frozen else list(encoder.parameters()))
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    started = time.perf_counter()
    for step in range(steps):
        graph, targets = train[step % len(train)]
        states = encoder(graph.node_text, graph.node_type, graph.edge_index, graph.edge_flow,
                         graph.edge_position)
        scored = targets != IGNORE
        loss = torch.nn.functional.cross_entropy(head(states[scored]), targets[scored])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return encoder, head, time.perf_counter() - started


def run(depth: int, frozen: bool, train: list, test: list, vocab: int, steps: int,
        seed: int) -> dict:
    encoder, head, seconds = train_loop_head(depth, frozen, train, vocab, steps, seed)
    return {"depth": depth, "frozen": frozen, "steps": steps, "seconds": round(seconds, 1),
            **score(encoder, head, test)}


def from_checkpoint(path: Path) -> tuple[GraphEncoder, LoopHead, int]:
    """The GNN and loop head of a pre-training checkpoint (``task.loop_weight > 0``)."""
    state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    prefix, head_prefix = "model.encoder.graph_encoder.", "model.loop_head."
    depth = len({key.split(".")[4] for key in state if key.startswith(prefix + "convs.")})
    vocab = state[prefix + "node_text.weight"].shape[0] - 1  # the last row is [MASK]
    encoder = GraphEncoder(node_vocab_size=vocab, hidden=128, layers=depth, num_positions=32,
                           dropout=0.0)
    head = LoopHead(128)
    encoder.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                             if k.startswith(prefix)})
    head.load_state_dict({k[len(head_prefix):]: v for k, v in state.items()
                          if k.startswith(head_prefix)})
    return encoder, head, depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--depths", default="3,6,10", help="GNN depths trained with the head")
    parser.add_argument("--probe-depths", default="3,6",
                        help="untrained GNN depths, only a linear head trained (the twins)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train-programs", type=int, default=3000)
    parser.add_argument("--test-programs", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-nodes", type=int, default=2048)
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        help="also score a pre-training checkpoint's GNN and loop head as is")
    args = parser.parse_args()
    vocab = int(json.loads((args.dataset / "index.json").read_text())["node_vocab_size"])
    train_records = load_records(args.dataset, "train", args.train_programs)
    test_records = load_records(args.dataset, "test", args.test_programs)
    train = list(batches(train_records, args.batch, vocab, args.max_nodes))
    test = list(batches(test_records, args.batch, vocab, args.max_nodes))
    scored = sum(int((t != IGNORE).sum()) for _, t in test)
    in_loop = sum(int((t == 1).sum()) for _, t in test)
    lines = [f"Loop membership of the instructions of {len(test_records)} held-out programs "
             f"(test split, one variant per group, drawn at random): {scored} instructions, "
             f"{in_loop / scored:.3f} in loops. Trained rows: {args.steps} steps of "
             f"{args.batch} programs from {len(train_records)} train-split programs, AdamW "
             "1e-3, seed 0; checkpoint rows: a pre-training run's own GNN and loop head, "
             "as trained. `python -m benchmarks.loop_depth_pilot`.", "",
             "| GNN layers | trained | accuracy | F1 (in loop) | seconds |", "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    for path in args.checkpoint:
        encoder, head, depth = from_checkpoint(path)
        row = score(encoder, head, test)
        emit(f"| {depth} | pre-training checkpoint {path.parent.parent.name}/{path.stem} | "
             f"{row['accuracy']:.3f} | {row['f1_in_loop']:.3f} | - |")
    runs = ([(int(d), True) for d in args.probe_depths.split(",") if d]
            + [(int(d), False) for d in args.depths.split(",") if d])
    for depth, frozen in runs:
        row = run(depth, frozen, train, test, vocab, args.steps, seed=0)
        emit(f"| {depth} | {'linear probe only' if frozen else 'GNN + head'} | "
             f"{row['accuracy']:.3f} | {row['f1_in_loop']:.3f} | {row['seconds']} |")
    write_section("loop-depth", "Loop membership: GNN depth, untrained twins, pre-trained "
                  "loop heads", "\n".join(lines))

if __name__ == "__main__":
    main()
