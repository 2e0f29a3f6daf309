"""How much of an encoder's fused DevMap score its loop-counting map carries.

With ``graph_readout: mean_max_size_loop_counts`` or ``mean_max_size_loop_only_counts`` the
fused vector is the loop map's term ``W_loop log1p(c_loop) + b`` plus the rest (token view,
GNN readout, whole-count map, fusion MLP); with ``fusion: residual_gated`` the loop term is
scaled by the graph gate as it is in the fused vector; with ``residual_sparse`` it is the
whole counting path, the loop map plus the log-node-count map. This scores, with the
protocol's own folds and head (XGBoost, 3 fold/head seeds), the fused vector, the loop term
alone and the rest alone, beside their mean correlation with the loop anchors
(``task.anchor_texts: loop_opcodes``) and their spread over the kernels (mean per-coordinate
std), for each package given: a pre-trained one and its untrained twin side by side::

    python -m benchmarks.loop_term runs/pretrain/RUN/encoder runs/pretrain/RUN/twin0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from benchmarks.report import write_section
from mirencoder.pipelines.ir.loops import on_control_cycle
from mirencoder.training.core.models.fusion import text_counts
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.evaluation.anchor_fidelity import (
    column_correlations,
    record_properties,
)
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.pretraining.tasks.anchor import anchor_text_ids

PARTS = ("fused", "loop term", "rest")


def loop_term(embedder: Embedder, records: list[dict]) -> np.ndarray:
    """``[N, D]`` the loop map's term ``W_loop log1p(c_loop) + b`` of each record, times the
    graph gate of a gated fusion (its weight in the fused vector); plus the log-node-count
    map of a sparse fusion."""
    fusion = embedder.model.fusion
    projection = getattr(fusion, "loop_count_proj", None)
    if projection is None:
        raise SystemExit("the package has no loop-counting readout (graph_readout "
                         "mean_max_size_loop_counts or mean_max_size_loop_only_counts)")
    texts = [torch.as_tensor(np.asarray(r["node_text"]), dtype=torch.long) for r in records]
    batch = torch.cat([torch.full((t.numel(),), i, dtype=torch.long) for i, t in enumerate(texts)])
    loops = torch.cat([torch.from_numpy(on_control_cycle(
        np.asarray(r["edge_src"]), np.asarray(r["edge_dst"]), np.asarray(r["edge_flow"]),
        t.numel())) for r, t in zip(records, texts, strict=True)])
    counts = text_counts(torch.cat(texts)[loops], batch[loops], len(records),
                         projection.in_features)
    with torch.no_grad():
        term = projection(torch.log1p(counts).to(projection.weight.dtype))
        if fusion.mode == "residual_gated":
            term = term * fusion.gates.graph
        if fusion.mode == "residual_sparse":
            nodes = torch.tensor([[float(t.numel())] for t in texts], dtype=term.dtype)
            term = term + fusion.size_count_proj(torch.log1p(nodes))
        return term.double().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="+", help="encoder package folders")
    parser.add_argument("--row-set", default="669", choices=("669", "680"))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    data = load_devmap(args.row_set, config.data_dir, config.cache_dir)
    lines = [f"The fused vector split into its loop map's term and the rest, on the "
             f"{len(data.programs)} DevMap kernels of devmap-{args.row_set}: leakage-free "
             f"accuracy % (XGBoost, {args.seeds} fold/head seeds), mean r with the loop anchors "
             "and mean per-coordinate std over the kernels. `python -m benchmarks.loop_term "
             "PACKAGE...`.", "",
             "| package | part | LF AMD | LF NVIDIA | mean r | std |", "|---|---|---|---|---|---|"]
    for package in args.packages:
        embedder = Embedder.from_package(package)
        records = [embedder.prepare_file(p.path) for p in data.programs]
        vocab = embedder.node_vocab
        width = embedder.model.embedding_dim
        targets = record_properties(records, width, len(vocab), "log_count",
                                     anchor_text_ids(vocab.texts, width, "loop_opcodes"), True)
        fused = embedder.encode_records(records, modality="fused").astype(np.float64)
        term = loop_term(embedder, records)
        features = dict(zip(PARTS, (fused, term, fused - term), strict=True))
        results = evaluate_devmap_rows(data, features, config, progress=False)["leakage-free"]
        name = Path(package).parent.name + "/" + Path(package).name
        for part, x in features.items():
            accuracy = [results[platform][part]["accuracy_mean"] for platform in ("amd", "nvidia")]
            r = np.nanmean(column_correlations(x, targets))
            lines.append(f"| {name} | {part} | {accuracy[0]:.1f} | {accuracy[1]:.1f} | "
                         f"{r:.3f} | {x.std(0).mean():.3f} |")
        print(lines[-3:], flush=True)
    lines.append(f"| (targets) | the anchors themselves | – | – | 1.000 | "
                 f"{targets.std(0).mean():.3f} |")
    table = "\n".join(lines)
    print(table)
    write_section("loop-term", "DevMap: the loop map's term of the fused vector", table)


if __name__ == "__main__":
    main()
