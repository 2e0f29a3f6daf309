"""How much does a final LayerNorm cost the DevMap head, before any training?

Every encoder here ends in a LayerNorm (``ModalityFusion``: ``LN(tokens + graph + MLP)``),
which standardises each program's vector across its own coordinates. Anchoring asks single
coordinates to follow properties (log counts of node texts, the log node count); after a
row-wise standardisation a coordinate can only follow a property up to that program's own
mean and spread, which carry size. This scores the opcode histogram (the strongest program
control) as it is, row-standardised, row-standardised with the two removed statistics put
back as columns, and through a random 128-wide mixing (what an untrained encoder's
coordinates look like) with and without the standardisation, with the protocols' own folds
and head (XGBoost, 3 fold/head seeds)::

    python -m benchmarks.layernorm_ceiling
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.report import write_section
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.features.opcode_histogram import OpcodeHistogramFeaturizer


def row_standardise(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm without its affine part: each row to mean 0, variance 1 over its columns."""
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def row_statistics(x: np.ndarray) -> np.ndarray:
    """The two numbers per row that :func:`row_standardise` removes."""
    return np.stack([x.mean(axis=1), x.std(axis=1)], axis=1)


def feature_sets(histogram: np.ndarray, width: int, seed: int) -> dict[str, np.ndarray]:
    """The opcode histogram as it is, standardised per row, and through a random mixing."""
    mixing = np.random.default_rng(seed).standard_normal((histogram.shape[1], width))
    mixed = histogram @ mixing / np.sqrt(histogram.shape[1])
    standardised = row_standardise(histogram)
    return {
        "histogram": histogram,
        "histogram-rowLN": standardised,
        "histogram-rowLN+stats": np.concatenate([standardised, row_statistics(histogram)], 1),
        f"random{width}": mixed,
        f"random{width}-rowLN": row_standardise(mixed),
    }


METHODS = {
    "histogram": "log1p opcode counts (the opcode-histogram control)",
    "histogram-rowLN": "the same, each row standardised over its columns (LayerNorm, no affine)",
    "histogram-rowLN+stats": "the same plus the row's mean and std as two columns",
    "random128": "log1p opcode counts through a fixed random 128-wide mixing",
    "random128-rowLN": "that mixing, each row standardised (an untrained encoder's last step)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mixing-seeds", type=int, default=3,
                        help="random mixings drawn (mean over them)")
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    settings = [(rs, plat) for rs in ("669", "680") for plat in ("amd", "nvidia")]
    scores: dict[tuple[str, str, str], list[float]] = {}
    featurizer = OpcodeHistogramFeaturizer()
    for row_set in ("669", "680"):
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        histogram = featurizer.featurize(data.programs).astype(np.float64)
        if not np.isfinite(histogram).all():
            raise SystemExit(f"devmap-{row_set}: the opcode histogram failed on "
                             f"{len(featurizer.errors)} programs: {featurizer.errors}")
        for mixing_seed in range(args.mixing_seeds):
            features = feature_sets(histogram, 128, mixing_seed)
            if mixing_seed:
                features = {k: v for k, v in features.items() if k.startswith("random")}
            results = evaluate_devmap_rows(data, features, config, progress=False)
            for platform in ("amd", "nvidia"):
                for name in features:
                    metrics = results["leakage-free"][platform][name]
                    scores.setdefault((row_set, platform, name), []).append(
                        metrics["accuracy_mean"])
        print(f"devmap-{row_set} done", flush=True)
    header = " | ".join(f"{rs} LF {plat.upper()}" for rs, plat in settings)
    lines = ["The opcode histogram through a final LayerNorm's row-wise standardisation: DevMap "
             f"leakage-free accuracy % (XGBoost, {args.seeds} fold/head seeds; random rows: "
             f"mean over {args.mixing_seeds} mixings). `python -m benchmarks.layernorm_ceiling`.",
             "", f"| features | what | {header} |", "|---|---|" + "---|" * len(settings)]
    for name, what in METHODS.items():
        cells = [f"{np.mean(scores[(rs, plat, name)]):.1f}" for rs, plat in settings]
        lines.append(f"| {name} | {what} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("layernorm-ceiling", "DevMap: what a final LayerNorm takes from the opcode "
                  "histogram", table)


if __name__ == "__main__":
    main()
