"""How much unrelated content can a DevMap feature set carry before the head loses it?

The gated-fusion run (STUDIES.md "Loop-count anchors") cut the part of the fused vector that
is not the loop map's term to a third of the term's spread (per-coordinate std 0.12 against
0.30 on the 669 kernels), and the fused vector still scored like that rest alone, not like the
term. The protocol's head is a tree ensemble: it splits on each coordinate's order, not its
scale, so any added content that reorders programs whose loop counts are close (or equal: many
kernels share their loop counts) competes with the counts, however small. This measures that
directly, without training: the exact log node count and loop-opcode counts (what the loop
anchors ask for), each column plus independent Gaussian noise per program at ``sigma`` times
the column's std, and the same through a random 53-wide mixing (the untrained twin's readout),
scored with the protocols' own folds and head (XGBoost, 3 fold/head seeds). The noise is
drawn once per kernel, as an encoder's output is one vector per kernel: a deterministic
function of the program that is unrelated to the label::

    python -m benchmarks.noise_tolerance
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.loop_ceiling import exact_features, record_leakage_free, varying
from benchmarks.report import write_section
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.features.loop_histogram import LoopOpcodeHistogramFeaturizer
from mirencoder.training.evaluation.features.program_size import ProgramSizeFeaturizer

SIGMAS = (0.0, 0.03, 0.1, 0.3, 1.0)


def with_noise(x: np.ndarray, kernel: np.ndarray, sigma: float, rng: np.random.Generator
               ) -> np.ndarray:
    """``x`` plus Gaussian noise at ``sigma`` times each column's std, one draw per kernel
    (``kernel``: ``[N]`` kernel index of each program) and column."""
    noise = rng.standard_normal((int(kernel.max()) + 1, x.shape[1]))[kernel]
    return x + sigma * x.std(axis=0) * noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--noise-seeds", type=int, default=3, help="noise draws (mean over them)")
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    row_sets = ("669", "680")
    settings = [(rs, plat) for rs in row_sets for plat in ("amd", "nvidia")]
    scores: dict[tuple[str, str, str], list[float]] = {}
    distinct: dict[str, str] = {}
    for row_set in row_sets:
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        found = exact_features(data, (ProgramSizeFeaturizer(), LoopOpcodeHistogramFeaturizer()))
        size, loop = found["program-size"], varying(found["loop-opcode-histogram"])
        exact = np.concatenate([size, loop], axis=1)
        kernel = np.unique([p.kernel for p in data.programs], return_inverse=True)[1]
        distinct[row_set] = (f"{len(np.unique(loop, axis=0))} distinct loop-count rows and "
                             f"{len(np.unique(exact, axis=0))} distinct rows with the size, "
                             f"among {len(loop)} programs of {int(kernel.max()) + 1} kernels "
                             f"({int((loop.sum(1) == 0).sum())} programs without a loop)")
        for draw in range(args.noise_seeds):
            rng = np.random.default_rng(draw)
            mixing = rng.standard_normal((exact.shape[1], 53)) / np.sqrt(exact.shape[1])
            features = {}
            for sigma in SIGMAS:
                features[f"exact, sigma {sigma}"] = with_noise(exact, kernel, sigma, rng)
                features[f"random53, sigma {sigma}"] = with_noise(exact @ mixing, kernel, sigma,
                                                                  rng)
            results = evaluate_devmap_rows(data, features, config, progress=False)
            record_leakage_free(scores, row_set, results, features)
        print(f"devmap-{row_set} done", flush=True)
    header = " | ".join(f"{rs} LF {plat.upper()}" for rs, plat in settings)
    lines = ["The log node count and the loop-opcode log counts (exact, or through a random "
             "53-wide mixing as an untrained encoder's readout gives them), each column plus "
             "Gaussian noise per kernel at sigma x its std: DevMap leakage-free accuracy % "
             f"(XGBoost, {args.seeds} fold/head seeds; mean over {args.noise_seeds} noise "
             "draws). " + "; ".join(f"devmap-{rs}: {d}" for rs, d in distinct.items())
             + ". `python -m benchmarks.noise_tolerance`.", "",
             f"| features | sigma | {header} |", "|---|---|" + "---|" * len(settings)]
    for kind in ("exact", "random53"):
        for sigma in SIGMAS:
            name = f"{kind}, sigma {sigma}"
            cells = [f"{np.mean(scores[(rs, plat, name)]):.1f}" for rs, plat in settings]
            lines.append(f"| {kind} | {sigma} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("noise-tolerance", "DevMap: how much added content the head tolerates",
                  table)


if __name__ == "__main__":
    main()
