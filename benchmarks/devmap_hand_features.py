"""Do the field's hand-made code features beat the run-time inputs on DevMap leakage-free?

The CGO'17 CSVs ship Grewe et al.'s static code features of every kernel (``comp``,
``rational``, ``mem``, ``localmem``, ``coalesced``, ``atomic``: counts from their clang-based
extractor, coalescing analysis included). This scores them with the protocols' own folds and
head (XGBoost, 3 fold/head seeds), beside the run-time inputs alone: as the raw counts, and as
Grewe et al.'s ratios (F1 transfer / (comp + mem), F2 coalesced / mem, F3 localmem / mem x
wgsize, F4 comp / mem). If no hand feature, long-range analyses included, clears the
run-time inputs by 2 points, neither can an encoder that learns them::

    python -m benchmarks.devmap_hand_features
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import write_section
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows

STATIC = ("comp", "rational", "mem", "localmem", "coalesced", "atomic")
CSV = {"669": "devmap/ir2vec-669/cgo17-amd.csv", "680": "devmap/cgo17-amd.csv"}


def static_features(row_set: str, config: DevMapConfig) -> tuple[object, np.ndarray]:
    """The row set's data and ``[programs, 6]`` static counts (the same for every row and
    platform of a kernel)."""
    data = load_devmap(row_set, Path(config.data_dir), Path(config.cache_dir))
    csv = pd.read_csv(Path(config.data_dir) / CSV[row_set])
    by_row = csv.set_index(["benchmark", "dataset"])
    counts = np.full((len(data.programs), len(STATIC)), np.nan)
    for _, row in data.tables["amd"].iterrows():
        counts[int(row.program)] = by_row.loc[(row.benchmark, row.dataset), list(STATIC)]
    if np.isnan(counts).any():
        raise SystemExit(f"devmap-{row_set}: some programs have no CSV row")
    return data, counts


def grewe_ratios(counts: np.ndarray) -> np.ndarray:
    """Grewe et al.'s static ratios F2 coalesced / mem, F3' localmem / mem, F4 comp / mem (the
    parts of F1 and F3 that need transfer and wgsize come from the head's run-time inputs)."""
    comp, _, mem, local, coalesced, _ = counts.T
    mem = np.maximum(mem, 1.0)
    return np.stack([coalesced / mem, local / mem, comp / mem, comp + mem], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = DevMapConfig(protocols=("literature", "leakage-free"), seeds=args.seeds)
    methods = {"runtime-only": "no program features", "grewe-counts": "the six static counts",
               "grewe-ratios": "coalesced/mem, localmem/mem, comp/mem, comp+mem",
               "grewe-coalesced": "coalesced/mem alone"}
    settings = [(rs, p, plat) for rs in ("669", "680")
                for p in ("leakage-free", "literature-rs104") for plat in ("amd", "nvidia")]
    cells: dict[tuple[str, str, str, str], str] = {}
    for row_set in ("669", "680"):
        data, counts = static_features(row_set, config)
        ratios = grewe_ratios(counts)
        features = {"runtime-only": np.zeros((len(counts), 0)), "grewe-counts": counts,
                    "grewe-ratios": ratios, "grewe-coalesced": ratios[:, :1]}
        results = evaluate_devmap_rows(data, features, config, progress=False)
        for protocol in ("leakage-free", "literature-rs104"):
            for platform in ("amd", "nvidia"):
                for name in methods:
                    metrics = results[protocol][platform][name]
                    cells[(row_set, protocol, platform, name)] = (
                        f"{metrics['accuracy_mean']:.1f} ± {metrics['accuracy_std']:.1f}")
    header = " | ".join(f"{rs} {p.split('-rs')[0]} {plat.upper()}" for rs, p, plat in settings)
    lines = ["Grewe et al.'s static code features from the CGO'17 CSVs beside the run-time "
             "inputs alone: accuracy % (mean ± std over "
             f"{args.seeds} fold/head seeds), XGBoost at the published settings, every row with "
             "transfer and wgsize; literature = `random_state` 104. "
             "`python -m benchmarks.devmap_hand_features`.", "",
             f"| features | what | {header} |", "|---|---|" + "---|" * len(settings)]
    for name, what in methods.items():
        lines.append(f"| {name} | {what} | " + " | ".join(
            cells[(rs, p, plat, name)] for rs, p, plat in settings) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("devmap-hand-features", "DevMap: the field's hand-made code features against "
                  "the run-time inputs", table)


if __name__ == "__main__":
    main()
