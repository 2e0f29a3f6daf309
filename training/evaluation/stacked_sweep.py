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
(key ``stacked_sweep``) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.errors import ConfigError
from .devmap_data import DevMapData
from .devmap_eval import DevMapConfig, evaluate_devmap_rows
from .devmap_sweep import (
    add_rows_arguments,
    add_sweep_arguments,
    check_sweep_arguments,
    rows_from_args,
    run_devmap_sweep,
)
from .finetune_config import FineTuneConfig
from .report_files import show_and_publish
from .stacked_head import StackedMLPHead
from .stacked_sweep_table import (
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rows_arguments(parser, controls="runtime-only,opcode-histogram,loop-opcode-histogram")
    parser.add_argument("--head-settings", default=DEFAULT_HEAD_SETTINGS,
                        help="EPOCHS:WEIGHT_DECAY:HIDDEN,... (default %(default)s)")
    add_sweep_arguments(parser, seeds=2, seeds_help="fold seeds (default 2)")
    args = parser.parse_args(argv)
    try:
        head_settings = parse_head_settings(args.head_settings)
    except ValueError as error:
        parser.error(str(error))
    rows = rows_from_args(parser, args)
    check_sweep_arguments(parser, args, max_seeds=20)
    start = time.perf_counter()
    settings, scores = run_devmap_sweep(
        rows, args, {head_setting_label(s): s for s in head_settings}, score_head_setting,
        "stacked sweep")
    section = {"head_settings": head_settings, "settings": settings, **rows.section(),
               "seeds": args.seeds, "scores": scores,
               "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    show_and_publish(args.report_dir, "stacked_sweep", section, stacked_sweep_markdown,
                     draw_stacked_sweep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
