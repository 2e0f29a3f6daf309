"""Does the stacked head's setting decide pre-training's gap? DevMap leakage-free, frozen.

A diagnostic, not a protocol: the stacked head (``--heads stacked``, :mod:`~.stacked_head`)
on the fused vectors of a pre-trained encoder and its untrained twins, and on the controls,
under several head settings (head-only epochs, weight decay, width), on the same kernel-grouped
folds. A pre-training effect that one head setting shows and another hides is the head's, not
the encoder's::

    python -m mirencoder.training.evaluation.stacked_sweep runs/pretrain/NAME/encoder \\
        --twins runs/pretrain/NAME/twin0 runs/pretrain/NAME/twin1 runs/pretrain/NAME/twin2 \\
        --jobs 2 --report-dir .

Writes the table and a figure (``results/stacked_sweep.png``) into ``results/summary.json``
(key ``stacked_sweep``) and RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...infra.errors import ConfigError
from .devmap_data import DevMapData
from .devmap_eval import DevMapConfig, evaluate_devmap_rows
from .finetune_config import FineTuneConfig
from .package_features import check_packages, featurize_packages
from .paths import default_data_dir
from .report_files import add_report_dir_argument, show_and_publish
from .stacked_head import StackedMLPHead
from .stacked_sweep_table import (
    ENCODER,
    draw_stacked_sweep,
    head_setting_label,
    stacked_sweep_markdown,
)

__all__ = ["parse_head_settings", "score_head_setting", "main"]

DEFAULT_HEAD_SETTINGS = "500:0.01:64,100:0.01:64,30:0.01:64,100:0.3:16"
"""The fine-tuning's head-only setting (500 epochs, weight decay 0.01, 64 units), fewer epochs,
and a narrower, more strongly decayed head."""


def parse_head_settings(text: str) -> list[dict[str, Any]]:
    """``"EPOCHS:WEIGHT_DECAY:HIDDEN,..."`` -> head settings, each checked by
    :class:`~.finetune_config.FineTuneConfig`.

    Raises:
        ValueError: a malformed or out-of-range setting (the message names it).
    """
    settings = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            epochs, decay, hidden = item.split(":")
            setting = {"probe_epochs": int(epochs), "weight_decay": float(decay),
                       "hidden": int(hidden)}
        except ValueError:
            raise ValueError(f"head setting {item!r}: expected EPOCHS:WEIGHT_DECAY:HIDDEN, "
                             "e.g. 500:0.01:64") from None
        if setting["probe_epochs"] < 1:
            raise ValueError(f"head setting {item!r}: needs at least 1 epoch")
        try:
            FineTuneConfig(runtime_base=True, **setting)
        except ConfigError as error:
            raise ValueError(f"head setting {item!r}: {error}") from None
        settings.append(setting)
    if not settings:
        raise ValueError("no head setting given")
    return settings


def _head(seed: int, setting: dict[str, Any]) -> StackedMLPHead:
    return StackedMLPHead("devmap", seed=seed,
                          settings=FineTuneConfig(runtime_base=True, **setting))


def score_head_setting(data: DevMapData, features: dict[str, np.ndarray], platform: str,
                       setting: dict[str, Any], seeds: int, n_splits: int = 10
                       ) -> dict[str, list[float]]:
    """Leakage-free accuracy % per fold seed of every feature set under one head setting: the
    device-mapping evaluation (:func:`~.devmap_eval.evaluate_devmap_rows`) with the stacked
    head at ``setting`` as every feature set's own head.

    Args:
        data: the row set (only ``data.tables[platform]`` is read).
        features: ``name -> [len(data.programs), D]`` program features.
    """
    config = DevMapConfig(data_dir=Path("."), cache_dir=Path("."), platforms=(platform,),
                          protocols=("leakage-free",), seeds=seeds, n_splits=n_splits)
    own_heads = {name: partial(_head, setting=setting) for name in features}
    rows = evaluate_devmap_rows(data, features, config, progress=False, own_heads=own_heads)
    return {name: [seed["accuracy"] for seed in rows["leakage-free"][platform][name]["per_seed"]]
            for name in features}


def _job(data: DevMapData, platform: str, label: str, setting: dict[str, Any],
         features: dict[str, np.ndarray], seeds: int) -> tuple:
    return label, f"{data.name} {platform}", score_head_setting(data, features, platform,
                                                                setting, seeds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the pre-trained encoder package")
    parser.add_argument("--twins", type=Path, nargs="+", required=True,
                        help="its untrained twins' packages (`mirencoder pretrain twin`)")
    parser.add_argument("--head-settings", default=DEFAULT_HEAD_SETTINGS,
                        help="EPOCHS:WEIGHT_DECAY:HIDDEN,... (default %(default)s)")
    parser.add_argument("--controls", default="runtime-only,opcode-histogram,"
                        "loop-opcode-histogram", help="control feature sets (comma-separated)")
    parser.add_argument("--row-sets", default="669,680")
    parser.add_argument("--platforms", default="amd,nvidia")
    parser.add_argument("--seeds", type=int, default=2, help="fold seeds (default 2)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (one per job)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    try:
        head_settings = parse_head_settings(args.head_settings)
    except ValueError as error:
        parser.error(str(error))
    for problem in check_packages([args.model, *args.twins]):
        parser.error(problem)
    if not 1 <= args.seeds <= 20 or args.jobs < 1:
        parser.error("--seeds must be in [1, 20] and --jobs at least 1")
    data_dir = args.data_dir or Path(default_data_dir())
    packages = {ENCODER: str(args.model)}
    packages.update({f"twin{i}": str(path) for i, path in enumerate(args.twins)})
    controls = [c for c in args.controls.split(",") if c]
    platforms = [p for p in args.platforms.split(",") if p]
    start = time.perf_counter()
    scores: dict[str, dict[str, dict[str, list[float]]]] = {
        head_setting_label(s): {} for s in head_settings}
    jobs = []
    for row_set in (r for r in args.row_sets.split(",") if r):
        data, features = featurize_packages(row_set, packages, controls, data_dir)
        # each job carries its platform's rows only (the programs stay here)
        jobs += [(DevMapData(name=data.name, programs=[], tables={p: data.tables[p]}), p,
                  head_setting_label(s), s, features, args.seeds)
                 for p in platforms for s in head_settings]
    # spawn: a forked worker inherits the parent's torch thread pool (used to embed) and hangs
    with ProcessPoolExecutor(max_workers=args.jobs,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = [pool.submit(_job, *job) for job in jobs]
        for future in tqdm(as_completed(pending), total=len(pending), desc="stacked sweep",
                           unit="job"):
            label, setting, found = future.result()
            scores[label][setting] = found
    settings = sorted({s for per in scores.values() for s in per})
    section = {"head_settings": head_settings, "settings": settings,
               "twins": [name for name in packages if name != ENCODER],
               "controls": controls, "packages": packages, "seeds": args.seeds,
               "scores": {label: {s: per[s] for s in settings if s in per}
                          for label, per in scores.items()},
               "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    show_and_publish(args.report_dir, "stacked_sweep", section, stacked_sweep_markdown,
                     draw_stacked_sweep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
