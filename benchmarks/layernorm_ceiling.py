"""How much does a final LayerNorm cost the DevMap head, before any training?

Every encoder here ends in a LayerNorm (``ModalityFusion``: ``LN(tokens + graph + MLP)``),
which standardises each program's vector across its own coordinates. Anchoring asks single
coordinates to follow properties (log counts of node texts, the log node count); after a
row-wise standardisation a coordinate can only follow a property up to that program's own
mean and spread, which carry size. This scores the opcode histogram (the strongest program
control) as it is, row-standardised, row-standardised with the two removed statistics put
back as columns, and through a random 128-wide mixing (what an untrained encoder's
coordinates look like) with and without the standardisation, with the protocols' own folds
and head (XGBoost, 3 fold/head seeds). With ``--package`` it also scores the anchoring
targets themselves (what perfect anchoring of every coordinate would hand the head: the log
node count and each node text's fraction or log count, ``task.anchor_scale``), as they are
and row-standardised, and the package's own fused output split into its anchored columns (the
log node count and the opcode texts, ``task.anchor_texts: opcodes``) and the free columns
past them, with the perfect opcode anchors beside those free columns: what the columns no
objective anchors cost the head::

    python -m benchmarks.layernorm_ceiling [--package runs/pretrain/<run>/encoder]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.report import write_section
from mirencoder.training.evaluation.anchor_fidelity import record_properties
from mirencoder.training.evaluation.devmap_data import load_devmap
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.features.encoder_embedding import EncoderFeaturizer
from mirencoder.training.evaluation.features.opcode_histogram import OpcodeHistogramFeaturizer
from mirencoder.training.pretraining.tasks.anchor import anchor_text_ids


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
ANCHOR_METHODS = {
    "anchors-fraction": "perfect anchoring, task.anchor_scale fraction (the recipes' targets)",
    "anchors-fraction-rowLN": "the same, each row standardised",
    "anchors-log_count": "perfect anchoring, task.anchor_scale log_count",
    "anchors-log_count-rowLN": "the same, each row standardised",
    "anchors-log_count-opcodes": "perfect anchoring, log_count, only the log node count and the "
                                 "node texts that are LLVM opcodes (no type nodes)",
    "package": "the package's fused output, every column (what the protocol scores)",
    "package-anchored": "its anchored columns only: the log node count and the opcode texts "
                        "(task.anchor_texts opcodes)",
    "package-free": "its columns past the anchored ones (no anchoring target)",
    "anchors-opcodes+package-free": "perfect opcode anchoring beside the package's free columns",
}


def anchor_feature_sets(package: str, programs: list, columns: int) -> dict[str, np.ndarray]:
    """The anchoring targets of ``programs`` (read with ``package``'s graph view and node
    vocabulary) on both scales, as they are and row-standardised."""
    from mirencoder.training.embedding.embedder import Embedder

    embedder = Embedder.from_package(package)
    records = [embedder.prepare_file(program.path) for program in programs]
    vocab = embedder.node_vocab

    def targets(scale: str, texts: str = "frequent") -> np.ndarray:
        """The columns that vary (the ones past the vocabulary's texts have no target)."""
        ids = anchor_text_ids(vocab.texts, columns, texts)
        found = record_properties(records, columns, len(vocab), scale, ids)
        return found[:, found.std(axis=0) > 0].astype(np.float64)

    out: dict[str, np.ndarray] = {}
    for scale in ("fraction", "log_count"):
        out[f"anchors-{scale}"] = targets(scale)
        out[f"anchors-{scale}-rowLN"] = row_standardise(out[f"anchors-{scale}"])
    out["anchors-log_count-opcodes"] = targets("log_count", "opcodes")
    fused = EncoderFeaturizer.from_embedder("package", embedder).featurize(programs)
    fused = fused.astype(np.float64)
    anchored = 1 + len(anchor_text_ids(vocab.texts, columns, "opcodes"))
    free = fused[:, anchored:]
    out["package"] = fused
    out["package-anchored"] = fused[:, :anchored]
    if free.shape[1]:
        out["package-free"] = free
        out["anchors-opcodes+package-free"] = np.concatenate(
            [out["anchors-log_count-opcodes"], free], axis=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mixing-seeds", type=int, default=3,
                        help="random mixings drawn (mean over them)")
    parser.add_argument("--package", default="",
                        help="an encoder package whose graph view and node vocabulary give the "
                        "anchoring targets (rows anchors-*); none: those rows are left out")
    parser.add_argument("--columns", type=int, default=128, help="task.anchor_columns")
    args = parser.parse_args()
    methods = METHODS | (ANCHOR_METHODS if args.package else {})
    config = DevMapConfig(protocols=("leakage-free",), seeds=args.seeds)
    row_sets = ("669", "680")
    settings = [(rs, plat) for rs in row_sets for plat in ("amd", "nvidia")]
    scores: dict[tuple[str, str, str], list[float]] = {}
    featurizer = OpcodeHistogramFeaturizer()
    for row_set in row_sets:
        data = load_devmap(row_set, config.data_dir, config.cache_dir)
        histogram = featurizer.featurize(data.programs).astype(np.float64)
        if not np.isfinite(histogram).all():
            raise SystemExit(f"devmap-{row_set}: the opcode histogram failed on "
                             f"{len(featurizer.errors)} programs: {featurizer.errors}")
        for mixing_seed in range(args.mixing_seeds):
            features = feature_sets(histogram, 128, mixing_seed)
            if mixing_seed:
                features = {k: v for k, v in features.items() if k.startswith("random")}
            elif args.package:
                features |= anchor_feature_sets(args.package, data.programs, args.columns)
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
    for name, what in methods.items():
        if (row_sets[0], "amd", name) not in scores:  # a package without free columns
            continue
        cells = [f"{np.mean(scores[(rs, plat, name)]):.1f}" for rs, plat in settings]
        lines.append(f"| {name} | {what} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    write_section("layernorm-ceiling", "DevMap: what a final LayerNorm takes from the opcode "
                  "histogram", table)


if __name__ == "__main__":
    main()
