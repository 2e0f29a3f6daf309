"""How finely can thread coarsening's leakage-free protocol tell two representations apart?

The pre-training target there is absolute (the encoder's mean speedup at least 1.10x) and
judged on 17 kernels, and the untrained twins of one architecture span about 0.1x over three
seeds. This measures the protocol's resolution without any encoder: its folds and head on
exact feature sets (with a 95 % interval over the kernels) and on random feature sets at many
seeds (random mixings of the opcode histogram; content-free random vectors)::

    python -m mirencoder.training.evaluation.coarsening_resolution --report-dir .

Writes ``results/summary.json`` (key ``coarsening_resolution``), its STUDIES.md section and
Targets line, and a figure (``results/coarsening_resolution.png``).
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.errors import MirError
from .coarsening_data import COARSENING_PLATFORMS, CoarseningData, load_thread_coarsening
from .coarsening_eval import CoarseningConfig, coarsening_features, evaluate_coarsening_rows
from .coarsening_resolution_table import resolution_markdown
from .crossval import cross_val_predict
from .figures import save_figure
from .folds import leave_group_out
from .head_factory import make_head
from .metrics import cap_factor, coarsening_speedups
from .report_files import add_report_dir_argument, show_and_publish

__all__ = ["TARGET", "exact_feature_sets", "kernel_interval", "loo_kernel_speedups",
           "coarsening_resolution", "main"]

TARGET = 1.10
"""The issue's pre-training target for thread coarsening leakage-free."""
RANDOM_WIDTH = 128


def exact_feature_sets(data: CoarseningData) -> dict[str, np.ndarray]:
    """``{name: [kernels, D]}``: program size, the opcode histogram, the loop-opcode histogram
    and size plus the loop counts that vary.

    Raises:
        ValueError: a featurizer failed on a kernel (each set needs every kernel).
    """
    from .features.loop_histogram import LoopOpcodeHistogramFeaturizer
    from .features.opcode_histogram import OpcodeHistogramFeaturizer
    from .features.program_size import ProgramSizeFeaturizer

    found = {}
    for featurizer in (ProgramSizeFeaturizer(), OpcodeHistogramFeaturizer(),
                       LoopOpcodeHistogramFeaturizer()):
        x = featurizer.featurize(data.programs).astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"{featurizer.name} failed on {featurizer.errors}")
        found[featurizer.name] = x
    loop = found["loop-opcode-histogram"]
    found["program-size + loop-opcode-histogram"] = np.concatenate(
        [found["program-size"], loop[:, loop.std(axis=0) > 0]], axis=1)
    return found


def loo_kernel_speedups(data: CoarseningData, program_features: np.ndarray,
                        seed: int = 0) -> np.ndarray:
    """``[kernels, platforms]`` speedups over factor 1 under leave-one-kernel-out, the
    protocol's head at ``seed``, predictions capped as in the protocol."""
    rows = data.rows
    factory = partial(make_head, "xgboost", "coarsening", seed, "hist")
    predicted = cross_val_predict(coarsening_features(data, program_features),
                                  rows["oracle_cf"].to_numpy(),
                                  leave_group_out(rows["kernel"].to_numpy()), factory)
    capped = np.asarray([cap_factor(int(f), data.runtimes[(k, p)]) for k, p, f in
                         zip(rows["kernel"], rows["platform"], predicted, strict=True)])
    speedups = coarsening_speedups(rows, capped, data.runtimes)
    index = {(k, p): i for i, (k, p) in enumerate(zip(rows["kernel"], rows["platform"],
                                                      strict=True))}
    return np.asarray([[speedups[index[(k, p)]] for p in COARSENING_PLATFORMS]
                       for k in data.kernels])


def kernel_interval(table: np.ndarray, draws: int = 10_000, seed: int = 0
                    ) -> tuple[float, float]:
    """95 % bootstrap interval of the mean of ``table`` (``[kernels, platforms]``; the
    protocol's average of per-platform means), kernels drawn with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(table), size=(draws, len(table)))
    means = table[picks].mean(axis=(1, 2))
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def coarsening_resolution(data: CoarseningData, draws: int = 20, boot_draws: int = 10_000
                          ) -> dict[str, Any]:
    """The section: exact sets (speedup, columns, kernels' interval) and the random sets'
    speedups at seeds ``0..draws-1``."""
    config = CoarseningConfig(protocols=("leakage-free",), seeds=1)
    exact = exact_feature_sets(data)
    histogram = exact["opcode-histogram"]
    features = {}
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        features[f"mix{seed}"] = (histogram @ rng.standard_normal(
            (histogram.shape[1], RANDOM_WIDTH)) / np.sqrt(histogram.shape[1]))
        features[f"random{seed}"] = rng.standard_normal((len(data.programs), RANDOM_WIDTH))
    average = evaluate_coarsening_rows(data, features, config,
                                       progress=False)["leakage-free"]["average"]
    section: dict[str, Any] = {
        "kernels": len(data.programs), "target": TARGET, "draws": draws,
        "boot_draws": boot_draws, "oracle": average["oracle"]["speedup_mean"], "exact": {},
        "random": {
            "mix": {"label": f"opcode histogram through a random {RANDOM_WIDTH}-wide mixing",
                    "columns": RANDOM_WIDTH,
                    "values": [average[f"mix{s}"]["speedup_mean"] for s in range(draws)]},
            "random": {"label": f"random vectors, no content ({RANDOM_WIDTH}-d)",
                       "columns": RANDOM_WIDTH,
                       "values": [average[f"random{s}"]["speedup_mean"] for s in range(draws)]}}}
    for name, x in exact.items():
        table = loo_kernel_speedups(data, x)  # its mean is the protocol's average speedup
        section["exact"][name] = {"columns": int(x.shape[1]), "speedup": float(table.mean()),
                                  "interval": list(kernel_interval(table, boot_draws))}
    return section


def _recorded_encoders(report_dir: Path | None) -> dict[str, float]:
    """The report's encoder and untrained-twin leakage-free speedups, where recorded."""
    path = report_dir / "results" / "summary.json" if report_dir else None
    if path is None or not path.exists():
        return {}
    average = (json.loads(path.read_text()).get("results", {}).get("thread-coarsening", {})
               .get("leakage-free", {}).get("average", {}))
    return {m: average[m]["speedup_mean"] for m in ("encoder", "encoder-untrained")
            if m in average}


def draw_resolution(section: dict[str, Any], png: Path,
                    encoders: dict[str, float] | None = None) -> Path:
    """Each random set's seeds as dots, each exact set with its kernels' interval, the
    target as a line (and the report's encoder and twin where given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ([(row["label"], row["values"], None) for row in section["random"].values()]
            + [(name, [row["speedup"]], row["interval"])
               for name, row in section["exact"].items()])
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.4))
    for y, (_, values, interval) in enumerate(rows):
        if interval is not None:
            ax.errorbar(values[0], y, xerr=[[values[0] - interval[0]], [interval[1] - values[0]]],
                        fmt="o", color="tab:blue", capsize=3)
        else:
            jitter = np.random.default_rng(y).uniform(-0.15, 0.15, len(values))
            ax.scatter(values, y + jitter, s=14, color="tab:gray")
    names = {"encoder": "the report's encoder", "encoder-untrained": "its untrained twin"}
    for name, value in (encoders or {}).items():
        ax.axvline(value, color="tab:green" if name == "encoder" else "tab:olive",
                   linestyle=":", label=f"{names[name]} {value:.3f}x")
    ax.axvline(section["target"], color="tab:red", label=f"target {section['target']:.2f}x")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("thread coarsening leakage-free: mean speedup over factor 1")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20, help="seeds of each random set")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data root holding thread-coarsening/ (default ../shared/data)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where the IR archive is extracted (default runs/cache/eval)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    if args.draws < 2:
        parser.error("--draws must be at least 2")
    config = CoarseningConfig(**{k: v for k, v in (("data_dir", args.data_dir),
                                                   ("cache_dir", args.cache_dir)) if v})
    try:
        data = load_thread_coarsening(config.data_dir, config.cache_dir)
    except MirError as error:
        parser.error(str(error))
    section = coarsening_resolution(data, draws=args.draws)
    section["command"] = ("python -m mirencoder.training.evaluation.coarsening_resolution"
                          + (f" --draws {args.draws}" if args.draws != 20 else "")
                          + " --report-dir .")
    encoders = _recorded_encoders(args.report_dir)
    show_and_publish(args.report_dir, "coarsening_resolution", section, resolution_markdown,
                     lambda s, png: draw_resolution(s, png, encoders))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
