"""Bag of node codes, pre-trained encoders beside their untrained twins: DevMap and thread
coarsening with each encoder's node states read as code counts (``features/node_codes.py``).

A diagnostic of what limits the tree-headed protocols. The opcode histogram, whose every
column counts one opcode, beats every dense vector on DevMap leakage-free and loses that lead
when its counts come rotated (STUDIES.md, "How many program dimensions the DevMap head can
use"). A count readout of an encoder's own node states gives its representation that form; if
pre-training taught the node states what device mapping needs, the pre-trained codes should
then pull ahead of the twins' codes. Same folds and heads as the protocols; each codebook is
fitted on the same pre-training programs (train split), at several k-means seeds::

    python -m mirencoder.training.evaluation.codebook_study \\
        --group "pre-trained=runs/pretrain/RUN/encoder" \\
        --group "untrained twins=runs/pretrain/RUN/untrained-encoder,..." \\
        --dataset runs/datasets/pretrain-variants-2cpu-v1 --out-dir runs/eval/node-codes \\
        --report-dir .

Each (encoder, seed) is written to ``OUT/<group>-<member>-seed<S>.json`` and skipped on a
rerun. The table goes into ``results/summary.json`` (key ``node_codes``) and STUDIES.md
(indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .codebook_table import SETTINGS, codebook_markdown
from .report_files import add_report_dir_argument, parse_group, show_and_publish

__all__ = ["collect_scores", "score_control", "score_encoder", "score_featurizer", "main"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _scores(devmap: dict[str, Any], coarsening: dict[str, Any], method: str) -> dict[str, float]:
    """The :data:`SETTINGS` values of ``method`` in the runners' results."""
    out: dict[str, float] = {}
    for task, run in devmap.items():
        for protocol, platforms in run["results"].items():
            for platform, methods in platforms.items():
                if method in methods:
                    out[f"{task} {protocol} {platform}"] = methods[method]["accuracy_mean"]
    for protocol, platforms in coarsening["thread-coarsening"]["results"].items():
        values = [m[method]["speedup_mean"] for m in platforms.values() if method in m]
        if values:
            out[f"thread-coarsening {protocol}"] = float(np.mean(values))
    return {s: out[s] for s in SETTINGS if s in out}


def score_featurizer(featurizer: Any) -> dict[str, float]:
    """The :data:`SETTINGS` values of one feature set: DevMap (both row sets and protocols)
    and thread coarsening, with the protocols' default folds and heads."""
    from .coarsening_eval import CoarseningConfig, run_thread_coarsening
    from .devmap_eval import DevMapConfig, run_devmap

    devmap = run_devmap(DevMapConfig(), [featurizer], progress=False)
    coarsening = run_thread_coarsening(CoarseningConfig(), [featurizer], progress=False)
    return _scores(devmap, coarsening, featurizer.name)


def score_encoder(package: str, dataset: str, *, codes: int, seeds: list[int], programs: int,
                  out_dir: Path, stem: str, loop_readout: bool = False) -> list[dict[str, Any]]:
    """Each k-means seed's record of one encoder's node codes (``scores``; with
    ``loop_readout`` only the instructions a linear probe on the node states places in loops
    are counted, and ``loop_probe`` holds the probe's held-out accuracy and F1), written to
    ``out_dir/<stem>-seed<S>.json`` per seed and read back when present."""
    files = {s: out_dir / f"{stem}-seed{s}.json" for s in seeds}
    todo = [s for s in seeds if not files[s].is_file()]
    if todo:
        from ..embedding.embedder import Embedder
        from ..embedding.principal_basis import corpus_records
        from .features.node_codes import (
            NodeCodesFeaturizer,
            fit_loop_probe,
            fit_node_codebook,
            node_loop_facts,
            node_states,
        )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a local package folder nothing vouches for
            embedder = Embedder.from_package(package)
        records = corpus_records(dataset, programs=programs, seed=0, max_tokens=1)
        corpus, owners = node_states(embedder, records)
        probe = None
        if loop_readout:
            instruction, in_loop = node_loop_facts(embedder, records)
            probe = fit_loop_probe(corpus[instruction], owners[instruction],
                                   in_loop[instruction])
        cache: dict = {}
        for seed in todo:
            start = time.perf_counter()
            codebook = fit_node_codebook(corpus, codes, seed=seed)
            scores = score_featurizer(NodeCodesFeaturizer("node-codes", embedder, codebook,
                                                           cache, loop_probe=probe))
            files[seed].parent.mkdir(parents=True, exist_ok=True)
            files[seed].write_text(json.dumps({"package": package, "codes": codes, "seed": seed,
                                               "corpus_programs": programs,
                                               "corpus_nodes": int(len(corpus)),
                                               "loop_probe": probe and probe.held_out,
                                               "scores": scores}, indent=1))
            print(f"[node codes] {stem} seed {seed}: "
                  + " / ".join(f"{scores.get(s, float('nan')):.3f}" for s in SETTINGS)
                  + f" ({time.perf_counter() - start:.0f} s)", flush=True)
    return [json.loads(files[s].read_text()) for s in seeds]


def score_control(name: str, out_dir: Path) -> dict[str, float]:
    """Scores of a built-in feature set (``features/registry.py``) in the same settings
    (``out_dir/control-<name>.json``, read back when present)."""
    file = out_dir / f"control-{name}.json"
    if not file.is_file():
        from .features.registry import build_featurizer

        scores = score_featurizer(build_featurizer(name))
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps({"control": name, "scores": scores}, indent=1))
    return json.loads(file.read_text())["scores"]


def collect_scores(groups: dict[str, list[str]], dataset: str, *, codes: int, seeds: list[int],
                   programs: int, out_dir: Path, controls: Sequence[str] = (),
                   loop_groups: Sequence[str] = ()) -> dict[str, Any]:
    """The section: per group, per setting, one value per (member, seed); then one row per
    control feature set (its own representation, no encoder). Groups named in
    ``loop_groups`` count only the instructions their linear loop probe places in loops."""
    scores: dict[str, dict[str, list[float]]] = {}
    probes: dict[str, list[dict[str, float]]] = {}
    for label, members in groups.items():
        per = {s: [] for s in SETTINGS}
        loop = label in loop_groups
        for i, package in enumerate(members):
            runs = score_encoder(package, dataset, codes=codes, seeds=seeds, programs=programs,
                                 out_dir=out_dir, loop_readout=loop,
                                 stem=f"{_slug(label)}-{i}" + ("-loop" if loop else ""))
            for run in runs:
                for setting, value in run["scores"].items():
                    per[setting].append(value)
            if loop:
                probes.setdefault(label, []).append(runs[0]["loop_probe"])
        scores[label] = per
    for name in controls:
        label = f"{name} (control)"
        scores[label] = {s: [v] for s, v in score_control(name, out_dir).items()}
        groups = {**groups, label: [name]}
    return {"groups": groups, "codes": codes, "seeds": seeds, "corpus_programs": programs,
            "dataset": str(dataset), "settings": list(SETTINGS), "scores": scores,
            **({"loop_probes": probes} if probes else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", dest="groups", default=[],
                        type=lambda spec: ("all", spec),
                        help="LABEL=PACKAGE,PACKAGE (repeat; the first group given, of either "
                             "kind, is compared with the second)")
    parser.add_argument("--loop-group", action="append", dest="groups",
                        type=lambda spec: ("loop", spec),
                        help="LABEL=PACKAGE,PACKAGE read with the loop readout: only the "
                             "instructions a linear probe on the node states (fitted on the "
                             "corpus programs' loop labels) places in loops are counted")
    parser.add_argument("--dataset", required=True, help="the pre-training dataset folder")
    parser.add_argument("--out-dir", type=Path, required=True,
                        help="per-encoder, per-seed scores (kept for reruns)")
    parser.add_argument("--codes", type=int, default=64, help="codebook size K")
    parser.add_argument("--seeds", default="0,1,2", help="k-means seeds, comma-separated")
    parser.add_argument("--programs", type=int, default=600,
                        help="train-split programs whose node states fit each codebook")
    parser.add_argument("--controls", default="opcode-histogram,loop-opcode-histogram",
                        help="built-in feature sets scored beside the encoders (comma list)")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    try:
        groups = dict(parse_group(spec) for _, spec in args.groups)
        loop_groups = [parse_group(spec)[0] for kind, spec in args.groups if kind == "loop"]
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError as error:
        parser.error(str(error))
    if not groups:
        parser.error("give at least one --group or --loop-group")
    missing = [p for members in groups.values() for p in members
               if not (Path(p) / "encoder_config.json").is_file()]
    if missing:
        parser.error(f"not encoder package folders: {', '.join(missing)}")
    section = collect_scores(groups, args.dataset, codes=args.codes, seeds=seeds,
                             programs=args.programs, out_dir=args.out_dir,
                             controls=[c for c in args.controls.split(",") if c],
                             loop_groups=loop_groups)
    section["note"] = args.note
    show_and_publish(args.report_dir, "node_codes", section, codebook_markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
