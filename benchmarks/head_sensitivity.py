"""Is the DevMap head what keeps pre-training from showing? The same vectors under a smooth head.

The protocol's head (IR2Vec's XGBoost: depth 10, 70 trees, learning rate 0.5) splits on each
coordinate's order; BENCHMARKS.md noise-tolerance shows it needs exact, tied features. This
scores the fused vectors of pre-trained encoders and of their untrained twins under that head
and under the platform's other head, a one-hidden-layer MLP on standardised signed-log
features (``heads.MLPHead``: reads magnitudes, smooth in its inputs), beside the exact
features the loop anchors ask for and the opcode-histogram control. Diagnostic, not the
published protocol (the issue's targets keep the XGBoost head)::

    python -m benchmarks.head_sensitivity --trained runs/pretrain/A/encoder ... \\
        --twins runs/pretrain/A/twin0 ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.loop_ceiling import exact_features, varying
from benchmarks.report import write_section
from mirencoder.training.embedding.embedder import Embedder
from mirencoder.training.evaluation.devmap_data import DevMapData, load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.features.loop_histogram import LoopOpcodeHistogramFeaturizer
from mirencoder.training.evaluation.features.opcode_histogram import OpcodeHistogramFeaturizer
from mirencoder.training.evaluation.features.program_size import ProgramSizeFeaturizer

HEADS = ("xgboost", "mlp")
ROW_SETS = ("669", "680")


def package_name(package: str) -> str:
    """``RUN/encoder`` or ``RUN/twinN``: the run folder and the package folder."""
    path = Path(package)
    return f"{path.parent.name}/{path.name}"


def control_features(data: DevMapData) -> dict[str, np.ndarray]:
    """The exact feature sets: the opcode histogram, and the log node count with the loop
    opcode counts (what the loop anchors ask for)."""
    found = exact_features(data, (OpcodeHistogramFeaturizer(), LoopOpcodeHistogramFeaturizer(),
                                  ProgramSizeFeaturizer()))
    return {"opcode-histogram": found["opcode-histogram"],
            "size + loop counts": np.concatenate(
                [found["program-size"], varying(found["loop-opcode-histogram"])], axis=1)}


def fused_vectors(embedders: dict[str, Embedder], data: DevMapData) -> dict[str, np.ndarray]:
    """``{package name: [programs, D] float64}``: each package's fused vectors of the DevMap
    programs."""
    vectors = {}
    for name, embedder in embedders.items():
        records = [embedder.prepare_file(p.path) for p in data.programs]
        vectors[name] = embedder.encode_records(records, modality="fused").astype(np.float64)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", nargs="+", required=True, help="pre-trained packages")
    parser.add_argument("--twins", nargs="+", required=True, help="their untrained twins")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds, heads=HEADS)
    embedders = {package_name(p): Embedder.from_package(p) for p in args.trained + args.twins}
    scores: dict[tuple[str, str, str, str], float] = {}
    for row_set in ROW_SETS:
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        features = control_features(data) | fused_vectors(embedders, data)
        results = evaluate_devmap_rows(data, features, config, progress=False)["leakage-free"]
        for platform in ("amd", "nvidia"):
            for name in features:
                for head in HEADS:
                    method = name if head == "xgboost" else f"{name}+{head}"
                    scores[(row_set, platform, name, head)] = \
                        results[platform][method]["accuracy_mean"]
        print(f"devmap-{row_set} done", flush=True)
    settings = [(rs, plat) for rs in ROW_SETS for plat in ("amd", "nvidia")]
    header = " | ".join(f"{rs} {plat.upper()}" for rs, plat in settings)
    lines = ["Fused vectors and exact feature sets under the protocol's head (XGBoost, IR2Vec's "
             "settings) and under a one-hidden-layer MLP (heads.MLPHead): DevMap leakage-free "
             f"accuracy % ({args.seeds} fold/head seeds). Diagnostic: the targets keep the "
             "XGBoost head. `python -m benchmarks.head_sensitivity --trained ... --twins ...`.",
             "", f"| features | head | {header} |", "|---|---|" + "---|" * len(settings)]
    trained = [package_name(p) for p in args.trained]
    twins = [package_name(p) for p in args.twins]
    rows = ["opcode-histogram", "size + loop counts", *trained, *twins]
    for head in HEADS:
        for name in rows:
            cells = [f"{scores[(rs, plat, name, head)]:.1f}" for rs, plat in settings]
            lines.append(f"| {name} | {head} | " + " | ".join(cells) + " |")
        twin_mean = [np.mean([scores[(rs, plat, t, head)] for t in twins])
                     for rs, plat in settings]
        lines.append(f"| untrained twins, mean | {head} | "
                     + " | ".join(f"{m:.1f}" for m in twin_mean) + " |")
        for name in trained:
            gaps = [scores[(rs, plat, name, head)] - m
                    for (rs, plat), m in zip(settings, twin_mean, strict=True)]
            lines.append(f"| {name} minus the twins' mean | {head} | "
                         + " | ".join(f"{g:+.1f}" for g in gaps) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("head-sensitivity", "DevMap: the same vectors under a smooth head", table)


if __name__ == "__main__":
    main()
