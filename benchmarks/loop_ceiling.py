"""What could anchoring on the opcode counts in loops hand the DevMap head, before training?

The exact-counts study (RESULTS.md) found that whole-program opcode log counts, even exact,
lead the untrained counting twins by at most +1.3 to +2.6 points: those twins already read
the exact counts through a random map. The loop-opcode histogram (the opcodes of the
instructions on control-flow cycles, ``features/loop_histogram.py``) is the strongest program
feature measured here. This scores, with the protocols' own folds and head (XGBoost, 3
fold/head seeds), the exact feature sets a loop-anchored encoder could reach and, as stand-ins
for its untrained twins, random mixings of them (an untrained encoder with the loop-counting
readout, ``graph_readout: mean_max_size_loop_counts``, reads the whole and the loop counts
through random maps)::

    python -m benchmarks.loop_ceiling
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

import numpy as np

from benchmarks.report import write_section
from mirencoder.training.evaluation.devmap_data import DevMapData, load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.features.base import Featurizer
from mirencoder.training.evaluation.features.loop_histogram import LoopOpcodeHistogramFeaturizer
from mirencoder.training.evaluation.features.opcode_histogram import OpcodeHistogramFeaturizer
from mirencoder.training.evaluation.features.program_size import ProgramSizeFeaturizer

EXACT = {
    "whole": "log1p opcode counts of the whole program (the opcode-histogram control)",
    "loop": "log1p opcode counts of the instructions in loops (the loop-opcode-histogram control)",
    "whole+loop": "both side by side",
    "size+loop": "the log instruction count beside the loop counts (what "
                 "anchor-loop-counts-ls-cat.yaml anchors: column 0 and the loop columns)",
}
MIXED = {
    "random128(whole)": "the whole counts through a random 128-wide mixing",
    "random128(loop)": "the loop counts through a random 128-wide mixing",
    "random128(whole+loop)": "both through one random 128-wide mixing (an untrained encoder "
                             "with the loop-counting readout)",
    "random53(whole+loop)": "the same at width 53 (the recipe's width)",
    "whole+loop+random75": "both exact beside 75 columns of a random mixing of the whole counts "
                           "(what free columns cost)",
}


def varying(x: np.ndarray) -> np.ndarray:
    """The columns of ``x`` that are not constant."""
    return x[:, x.std(axis=0) > 0]


def record_leakage_free(scores: dict[tuple[str, str, str], list[float]], row_set: str,
                        results: dict, names: Iterable[str]) -> None:
    """Appends each feature set's leakage-free accuracy on both platforms of ``row_set``
    (``results`` from ``evaluate_devmap_rows``) to ``scores[(row_set, platform, name)]``."""
    for platform in ("amd", "nvidia"):
        for name in names:
            scores.setdefault((row_set, platform, name), []).append(
                results["leakage-free"][platform][name]["accuracy_mean"])


def exact_features(data: DevMapData, featurizers: Iterable[Featurizer]
                   ) -> dict[str, np.ndarray]:
    """``{featurizer name: [programs, D] float64}`` of the DevMap programs; exits naming the
    programs a featurizer failed on (every row must have every feature set)."""
    found = {}
    for featurizer in featurizers:
        x = featurizer.featurize(data.programs).astype(np.float64)
        if not np.isfinite(x).all():
            raise SystemExit(f"{data.name}: {featurizer.name} failed on "
                             f"{len(featurizer.errors)} programs: {featurizer.errors}")
        found[featurizer.name] = x
    return found


def mixings(whole: np.ndarray, loop: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The random-mixing feature sets of one mixing seed."""
    rng = np.random.default_rng(seed)

    def mix(x: np.ndarray, width: int) -> np.ndarray:
        return x @ rng.standard_normal((x.shape[1], width)) / np.sqrt(x.shape[1])

    both = np.concatenate([whole, loop], axis=1)
    return {"random128(whole)": mix(whole, 128), "random128(loop)": mix(loop, 128),
            "random128(whole+loop)": mix(both, 128), "random53(whole+loop)": mix(both, 53),
            "whole+loop+random75": np.concatenate([both, mix(whole, 75)], axis=1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mixing-seeds", type=int, default=3,
                        help="random mixings drawn (mean over them)")
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    row_sets = ("669", "680")
    settings = [(rs, plat) for rs in row_sets for plat in ("amd", "nvidia")]
    scores: dict[tuple[str, str, str], list[float]] = {}
    for row_set in row_sets:
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        found = exact_features(data, (OpcodeHistogramFeaturizer(),
                                      LoopOpcodeHistogramFeaturizer(), ProgramSizeFeaturizer()))
        whole = varying(found["opcode-histogram"])
        loop = varying(found["loop-opcode-histogram"])
        exact = {"whole": whole, "loop": loop, "whole+loop": np.concatenate([whole, loop], 1),
                 "size+loop": np.concatenate([found["program-size"], loop], 1)}
        for mixing_seed in range(args.mixing_seeds):
            features = mixings(whole, loop, mixing_seed) | (exact if mixing_seed == 0 else {})
            results = evaluate_devmap_rows(data, features, config, progress=False)
            record_leakage_free(scores, row_set, results, features)
        print(f"devmap-{row_set} done", flush=True)
    header = " | ".join(f"{rs} LF {plat.upper()}" for rs, plat in settings)
    lines = ["Exact opcode counts in loops and random mixings of them: DevMap leakage-free "
             f"accuracy % (XGBoost, {args.seeds} fold/head seeds; random rows: mean over "
             f"{args.mixing_seeds} mixings). `python -m benchmarks.loop_ceiling`.",
             "", f"| features | what | {header} |", "|---|---|" + "---|" * len(settings)]
    for name, what in (EXACT | MIXED).items():
        cells = [f"{np.mean(scores[(rs, plat, name)]):.1f}" for rs, plat in settings]
        lines.append(f"| {name} | {what} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("loop-ceiling", "DevMap: what anchoring on the opcode counts in loops could "
                  "give", table)


if __name__ == "__main__":
    main()
