"""Rescore stored probe results under the current protocol, with the models they scored.

``python -m mirencoder.training.evaluation.probes.rescore FOLDER...`` reads each folder's
``probes.json``, rebuilds its ``ProbeConfig`` (settings the file predates take today's
defaults, e.g. ``fold_repeats``), runs the suite again and writes ``probes.json``,
``PROBES.md`` and ``probes.png`` back; the previous ``probes.json`` is kept as
``probes.previous.json``. A registry alias (``models:/name@alias``) is pinned to the version
the file recorded, since the alias may have moved since. Features are memoised across
folders by method description and package weights, so twins copied into several folders
are embedded once.

``--settings FILE --model PACKAGE --out DIR`` scores one more model on the settings a
``probes.json`` (or a report's ``results/summary.json``, key ``probes``) was made with, the
same programs and folds, without controls: how untrained twins drawn at more seeds join a
recorded probe. ``--untrained-model TWIN`` scores the model's twin beside it, as
``infra/evaluate_run.sh`` does for a new run of record (``PROBE_SETTINGS=``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ....infra.errors import MirError
from ....infra.files import sha256_file
from ..features.base import Featurizer
from ..programs import EvalProgram
from .config import CorpusSource, ProbeConfig
from .controls import build_probe_featurizers
from .data import prepare_probe_programs
from .outputs import write_probe_outputs
from .results import ProbeResults
from .suite import run_probes

__all__ = ["stored_probe_config", "rescore_folder", "score_with_recorded_settings", "main"]


def _pinned(uri: str | None, version: Any) -> str | None:
    if uri and uri.startswith("models:/") and "@" in uri:
        if version is None:
            raise MirError(f"{uri} is an alias and the stored results name no version to pin")
        return f"models:/{uri[len('models:/'):].split('@')[0]}/{version}"
    return uri


def stored_probe_config(stored: dict[str, Any], rewrites: Sequence[tuple[str, str]] = (),
                        **overrides: Any) -> ProbeConfig:
    """The ``ProbeConfig`` a ``probes.json`` was made with (unknown keys dropped, aliases
    pinned, model paths starting with a ``rewrites`` prefix moved), with ``overrides``."""
    names = {f.name for f in dataclasses.fields(ProbeConfig)}
    settings = {k: v for k, v in stored["config"].items() if k in names}
    settings["corpora"] = tuple(CorpusSource(**c) for c in settings.get("corpora", ()))
    for key in ("opt_levels", "modalities", "untrained_modalities", "controls",
                "exclude_functions", "decision_group_by"):
        if key in settings:
            settings[key] = tuple(settings[key])
    settings["model"] = _pinned(settings.get("model"), stored.get("encoder", {}).get("version"))
    for key in ("model", "untrained_model"):
        for old, new in rewrites:
            if settings.get(key) and settings[key].startswith(old):
                settings[key] = new + settings[key][len(old):]
                break
    settings.update(overrides)
    return ProbeConfig(**settings)


class _Memo:
    """A featurizer whose vectors are kept by key, for folders that score the same model."""

    def __init__(self, featurizer: Featurizer, key: str, store: dict[str, Any]):
        self.inner, self.key, self.store = featurizer, key, store
        self.name, self.description = featurizer.name, featurizer.description
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        key = self.key + "|" + hashlib.sha256(
            "\n".join(p.key for p in programs).encode()).hexdigest()
        if key not in self.store:
            self.store[key] = (self.inner.featurize(programs), dict(self.inner.errors))
        features, self.errors = self.store[key]
        return features


def _weights_digest(uri: str, cache: dict[str, str]) -> str:
    weights = Path(uri) / "encoder.safetensors"
    if not weights.is_file():
        return uri  # a pinned registry version never changes
    if uri not in cache:
        cache[uri] = sha256_file(weights)
    return cache[uri]


def rescore_folder(folder: Path, store: dict[str, Any], digests: dict[str, str],
                   rewrites: Sequence[tuple[str, str]] = (), **overrides: Any) -> ProbeResults:
    """Reruns the probes of ``folder/probes.json`` and writes the outputs back."""
    stored = json.loads((folder / "probes.json").read_text())
    config = stored_probe_config(stored, rewrites, **overrides)
    featurizers, skipped, encoder = build_probe_featurizers(config)
    memos = []
    for featurizer in featurizers:
        key = featurizer.description
        uri = (config.untrained_model if featurizer.name.startswith("encoder-untrained")
               else config.model if featurizer.name.startswith("encoder") else None)
        if uri:
            key = key.replace(uri, _weights_digest(uri, digests))
        memos.append(_Memo(featurizer, f"{featurizer.name}|{key}", store))
    results = run_probes(config, memos, data=prepare_probe_programs(config), skipped=skipped,
                         encoder=encoder)
    shutil.copyfile(folder / "probes.json", folder / "probes.previous.json")
    write_probe_outputs(results, folder)
    return results


def score_with_recorded_settings(stored: dict[str, Any], model: str, out: Path,
                                 untrained_model: str = "", **overrides: Any) -> ProbeResults:
    """Scores ``model`` (and ``untrained_model``, its twin, where given; no other control) on
    the probe settings ``stored`` (a ``probes.json``'s content) was made with, and writes the
    outputs into ``out``: a new run scored on the report's probe, comparable with its runs."""
    config = stored_probe_config(stored, model=model, untrained_model=untrained_model,
                                 controls=("untrained",) if untrained_model else (),
                                 **overrides)
    featurizers, skipped, encoder = build_probe_featurizers(config)
    results = run_probes(config, featurizers, data=prepare_probe_programs(config),
                         skipped=skipped, encoder=encoder)
    write_probe_outputs(results, out)
    return results


def _recorded_settings(path: Path) -> dict[str, Any]:
    """A ``probes.json``'s content, or the ``probes`` section of a report summary."""
    data = json.loads(path.read_text())
    stored = data if "config" in data else data.get("probes", {})
    if "config" not in stored:
        raise ValueError(f"{path} holds no probe settings (a probes.json or a summary.json "
                         "with a 'probes' section)")
    return stored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders holding probes.json")
    parser.add_argument("--settings", type=Path, default=None, metavar="FILE",
                        help="score --model on these recorded settings instead (a probes.json "
                             "or a summary.json with a 'probes' section)")
    parser.add_argument("--model", default=None, help="with --settings: the package to score")
    parser.add_argument("--out", type=Path, default=None, help="with --settings: the folder")
    parser.add_argument("--untrained-model", default="",
                        help="with --settings: the model's untrained twin, scored beside it")
    parser.add_argument("--fold-repeats", type=int, default=None,
                        help="override probes.fold_repeats (default: today's default)")
    parser.add_argument("--rewrite", action="append", default=[], metavar="OLD=NEW",
                        help="a stored model or twin path starting with OLD now starts with NEW "
                             "(run folders that moved); repeatable, the first match applies")
    args = parser.parse_args(argv)
    rewrites = [tuple(r.split("=", 1)) for r in args.rewrite]
    if any(len(r) != 2 or not r[0] for r in rewrites):
        parser.error("--rewrite takes OLD=NEW with a non-empty OLD")
    overrides: dict[str, Any] = {"progress": False}
    if args.fold_repeats is not None:
        overrides["fold_repeats"] = args.fold_repeats
    if args.settings is not None:
        if args.folders or not args.model or args.out is None:
            parser.error("--settings FILE takes --model PACKAGE and --out DIR, and no folders")
        try:
            score_with_recorded_settings(_recorded_settings(args.settings), args.model,
                                         args.out, untrained_model=args.untrained_model,
                                         **overrides)
        except (MirError, OSError, ValueError) as error:
            print(f"{args.model}: not scored: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)
            return 1
        print(f"scored {args.model} on the settings of {args.settings} -> {args.out}")
        return 0
    if args.untrained_model:
        parser.error("--untrained-model goes with --settings (rescored folders keep their twin)")
    if not args.folders:
        parser.error("give folders holding probes.json, or --settings FILE --model --out")
    store: dict[str, Any] = {}
    digests: dict[str, str] = {}
    failed = 0
    for number, folder in enumerate(args.folders, 1):
        try:
            rescore_folder(folder, store, digests, rewrites, **overrides)
            print(f"[{number}/{len(args.folders)}] rescored {folder}", flush=True)
        except (MirError, OSError, KeyError, ValueError) as error:
            failed += 1
            print(f"[{number}/{len(args.folders)}] {folder}: not rescored: "
                  f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
