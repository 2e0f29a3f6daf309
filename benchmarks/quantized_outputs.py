"""Would coarse, tied outputs let the DevMap head use what pre-training adds?

BENCHMARKS.md noise-tolerance shows the protocol's head needs exact, tied features: a little
per-kernel content beside them lets its deep trees memorise the training kernels. This scores
the fused vectors of pre-trained encoders and of their untrained twins with every coordinate
cut into ``k`` equal-count bins (edges from all programs' values of that coordinate, no labels
used), so that programs tie again, under the protocol's folds and head (XGBoost, 3 fold/head
seeds). A diagnostic for a discrete output, not a protocol::

    python -m benchmarks.quantized_outputs --trained runs/pretrain/A/encoder ... \\
        --twins runs/pretrain/A/twin0 ...
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.head_sensitivity import ROW_SETS, fused_vectors, package_name
from benchmarks.report import write_section
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows

BINS = (0, 16, 4, 2)  # 0: the vector as it is


def quantize(x: np.ndarray, bins: int) -> np.ndarray:
    """Each column of ``x`` replaced by its bin index among ``bins`` equal-count bins."""
    if not bins:
        return x
    edges = np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1], axis=0)
    return np.stack([np.searchsorted(edges[:, j], x[:, j], side="right")
                     for j in range(x.shape[1])], axis=1).astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", nargs="+", required=True, help="pre-trained packages")
    parser.add_argument("--twins", nargs="+", required=True, help="their untrained twins")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    embedders = {package_name(p): Embedder.from_package(p) for p in args.trained + args.twins}
    scores: dict[tuple[str, str, str, int], float] = {}
    for row_set in ROW_SETS:
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        features = {f"{name}|{bins}": quantize(fused, bins)
                    for name, fused in fused_vectors(embedders, data).items() for bins in BINS}
        results = evaluate_devmap_rows(data, features, config, progress=False)["leakage-free"]
        for platform in ("amd", "nvidia"):
            for key in features:
                name, bins = key.split("|")
                scores[(row_set, platform, name, int(bins))] = \
                    results[platform][key]["accuracy_mean"]
        print(f"devmap-{row_set} done", flush=True)
    settings = [(rs, plat) for rs in ROW_SETS for plat in ("amd", "nvidia")]
    header = " | ".join(f"{rs} {plat.upper()}" for rs, plat in settings)
    lines = ["Fused vectors with every coordinate cut into k equal-count bins (k = 0: as they "
             f"are): DevMap leakage-free accuracy % (XGBoost, {args.seeds} fold/head seeds). "
             "Diagnostic, not a protocol. `python -m benchmarks.quantized_outputs --trained ... "
             "--twins ...`.", "", f"| features | bins | {header} |",
             "|---|---|" + "---|" * len(settings)]
    trained = [package_name(p) for p in args.trained]
    twins = [package_name(p) for p in args.twins]
    for bins in BINS:
        twin_mean = [np.mean([scores[(rs, plat, t, bins)] for t in twins])
                     for rs, plat in settings]
        for name in trained:
            ours = [scores[(rs, plat, name, bins)] for rs, plat in settings]
            cells = [f"{a:.1f} ({a - m:+.1f})" for a, m in zip(ours, twin_mean, strict=True)]
            lines.append(f"| {name} (against the twins' mean) | {bins} | "
                         + " | ".join(cells) + " |")
        lines.append(f"| untrained twins, mean of {len(twins)} | {bins} | "
                     + " | ".join(f"{m:.1f}" for m in twin_mean) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("quantized-outputs", "DevMap: fused vectors cut into bins", table)


if __name__ == "__main__":
    main()
