"""How closely an encoder's anchored coordinates follow their properties on unseen programs.

Property anchoring (``training/pretraining/tasks/anchor.py``) trains the first ``K``
coordinates of a vector to follow the log node count and the fractions of the most frequent
node texts. This diagnostic measures, on programs of a downstream protocol (by default the
669 DevMap kernels), the Pearson correlation of each of those coordinates with the property it
was anchored to, computed from the same graph view the encoder reads:

    python -m mirencoder.training.evaluation.anchor_fidelity runs/pretrain/<run>/encoder
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ...pipelines.ir.loops import on_control_cycle
from ..core.model_config import ENCODER_OUTPUTS
from ..core.models.fusion import text_counts
from ..pretraining.config import ANCHOR_TEXTS
from ..pretraining.tasks.anchor import ANCHOR_SCALES, anchor_targets, anchor_text_ids
from ..pretraining.tasks.outcome import node_text_distributions

__all__ = ["record_properties", "column_correlations", "anchor_fidelity", "main"]


def record_properties(records: Sequence[dict], columns: int, node_vocab_size: int,
                      scale: str = "fraction", text_ids: Sequence[int] | None = None,
                      in_loops: bool = False) -> np.ndarray:
    """``[N, columns]`` the anchoring targets of prepared program records (``node_text``
    arrays), each program its own group, on ``scale`` (``task.anchor_scale``), following
    ``text_ids`` (``anchor.anchor_text_ids``; none: the most frequent texts); with
    ``in_loops`` (``task.anchor_texts: loop_opcodes``) the texts are counted only among the
    nodes on a control-flow cycle (the records' ``edge_src``/``edge_dst``/``edge_flow``)."""
    texts = [torch.as_tensor(np.asarray(r["node_text"]), dtype=torch.long) for r in records]
    batch = torch.cat([torch.full((t.numel(),), i, dtype=torch.long) for i, t in enumerate(texts)])
    counts = torch.tensor([t.numel() for t in texts])
    if in_loops:
        loops = torch.cat([torch.from_numpy(on_control_cycle(
            np.asarray(r["edge_src"]), np.asarray(r["edge_dst"]), np.asarray(r["edge_flow"]),
            t.numel())) for r, t in zip(records, texts, strict=True)])
        distributions = text_counts(torch.cat(texts)[loops], batch[loops], len(texts),
                                    node_vocab_size) / counts.clamp(min=1)[:, None]
        return anchor_targets(distributions, counts, columns, scale=scale,
                              text_ids=text_ids).numpy()
    distributions = node_text_distributions(torch.cat(texts), batch, len(texts), node_vocab_size)
    return anchor_targets(distributions, counts, columns, scale=scale, text_ids=text_ids).numpy()


def column_correlations(vectors: np.ndarray, properties: np.ndarray) -> np.ndarray:
    """``[K]`` Pearson r of ``vectors[:, k]`` with ``properties[:, k]``; NaN where either
    column is constant."""
    k = properties.shape[1]
    x = vectors[:, :k].astype(np.float64)
    y = properties.astype(np.float64)
    x, y = x - x.mean(0), y - y.mean(0)
    denominator = np.linalg.norm(x, axis=0) * np.linalg.norm(y, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(0) / denominator
    return np.where(denominator > 1e-12, np.clip(r, -1.0, 1.0), np.nan)


def anchor_fidelity(embedder, paths: Sequence[str | Path], columns: int = 32,
                    modality: str = "fused", scale: str = "fraction",
                    texts: str = "frequent") -> np.ndarray:
    """``[columns]`` correlations of an encoder's first ``columns`` coordinates of
    ``modality`` with their anchoring properties (on ``scale``, of ``texts``:
    ``task.anchor_texts``) over the programs at ``paths``."""
    records = [embedder.prepare_file(path) for path in paths]
    vectors = embedder.encode_records(records, modality=modality)
    vocab = embedder.node_vocab
    text_ids = anchor_text_ids(vocab.texts, columns, texts)
    return column_correlations(vectors, record_properties(records, columns, len(vocab), scale,
                                                          text_ids, texts == "loop_opcodes"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="an encoder package folder")
    parser.add_argument("--row-set", default="669", choices=("669", "680"),
                        help="the DevMap kernels to measure on")
    parser.add_argument("--columns", type=int, default=32, help="task.anchor_columns")
    parser.add_argument("--modality", default="fused", choices=ENCODER_OUTPUTS)
    parser.add_argument("--scale", default="fraction", choices=ANCHOR_SCALES,
                        help="task.anchor_scale")
    parser.add_argument("--texts", default="frequent", choices=ANCHOR_TEXTS,
                        help="task.anchor_texts")
    args = parser.parse_args(argv)
    from ..embedding.embedder import Embedder
    from .devmap_data import load_devmap
    from .paths import default_cache_dir, default_data_dir

    data = load_devmap(args.row_set, Path(default_data_dir()), Path(default_cache_dir()))
    r = anchor_fidelity(Embedder.from_package(args.package),
                        [p.path for p in data.programs], args.columns, args.modality, args.scale,
                        args.texts)
    print(f"{args.package}: {len(data.programs)} programs of devmap-{args.row_set}; "
          f"mean r {np.nanmean(r):.3f}, log node count r {r[0]:.3f}")
    print("per column:", " ".join(f"{v:.2f}" for v in r))


if __name__ == "__main__":
    main()
