"""``mirencoder demo``: the README's main job on the bundled demo corpus.

Build (local Ray) → pre-train ``tiny`` (CPU) → register (SQLite MLflow) → embed → evaluate
(device mapping and thread coarsening when ``../shared/data`` is present) → summary table.
Every step is resumable: a second run reuses what the first finished.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    help_field,
    print_if_dry_run,
)
from mirencoder.infra.errors import ConfigError
from mirencoder.pipelines.config import REPO_ROOT

__all__ = ["add_arguments", "run", "DemoConfig"]


@dataclass(kw_only=True, slots=True)
class DemoConfig:
    """The demo's few settings (the build, pre-training and evaluation use their own configs)."""

    out: Path = field(default_factory=lambda: REPO_ROOT / "runs" / "demo",
                      metadata={"help": "folder for the dataset, the run, embeddings and the "
                                        "report"})
    steps: int = help_field(150, "pre-training steps (tiny)")
    data_dir: Path = field(default_factory=lambda: REPO_ROOT.parent / "shared" / "data",
                           metadata={"help": "real evaluation data; the evaluation step is "
                                             "skipped without it"})
    num_cpus: int | None = help_field(None, "CPUs of the local Ray (null: all)")
    skip_eval: bool = help_field(False, "stop after embedding")

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"steps must be >= 1, got {self.steps}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, DemoConfig, config_help="YAML file of demo settings")
    add_shorthand(parser, DemoConfig, "out", "--out", metavar="DIR")
    add_shorthand(parser, DemoConfig, "steps", "--steps", metavar="N")
    add_shorthand(parser, DemoConfig, "data_dir", "--data-dir", metavar="DIR")
    add_shorthand(parser, DemoConfig, "num_cpus", "--num-cpus", metavar="N")
    add_shorthand(parser, DemoConfig, "skip_eval", "--skip-eval", const="true")


def _step(title: str) -> float:
    print(f"\n=== {title} ===", flush=True)
    return time.perf_counter()


def _evaluation_rows(summary_path: Path) -> list[tuple[str, str]]:
    """One line per task and protocol: the encoder beside the strongest control."""
    import json

    results = json.loads(summary_path.read_text())["results"]
    rows = []
    for task, protocols in results.items():
        for protocol, platforms in protocols.items():
            cells = []
            for platform, methods in platforms.items():
                if "encoder" not in methods or (task == "thread-coarsening"
                                                and platform != "average"):
                    continue
                metric = "speedup_mean" if task == "thread-coarsening" else "accuracy_mean"
                unit = "x" if metric == "speedup_mean" else " %"
                controls = {k: v[metric] for k, v in methods.items()
                            if k not in {"encoder", "oracle", "static"}}
                best = max(controls, key=controls.get) if controls else None
                cells.append(f"{platform} {methods['encoder'][metric]:.3g}{unit}"
                             + (f" (best control {best} {controls[best]:.3g}{unit})" if best else ""))
            if cells:
                rows.append((f"{task} {protocol}", "; ".join(cells)))
    return rows


def run(args: argparse.Namespace) -> int:
    from mirencoder.cli import main as cli_main
    from mirencoder.pipelines.build import build_dataset
    from mirencoder.pipelines.config import load_recipe
    from mirencoder.training.pretraining.config import load_pretrain_config
    from mirencoder.training.pretraining.pretrain import pretrain

    demo = config_from_args(DemoConfig, args)
    if print_if_dry_run(demo, args, "resolved demo configuration"):
        return 0
    out: Path = demo.out.resolve()
    timings: dict[str, float] = {}
    rows: list[tuple[str, str]] = []

    start = _step("1/5 dataset build (demo-v1, local Ray)")
    index = build_dataset(load_recipe("demo-v1"), out / "dataset", num_cpus=demo.num_cpus)
    timings["build"] = time.perf_counter() - start
    counts = index["counts"]
    rows.append(("dataset", f"{counts['ok']} programs ok, {counts['failed']} failed, "
                            f"{counts['duplicate']} duplicates -> {out / 'dataset'}"))

    start = _step(f"2/5 pre-training (tiny, {demo.steps} steps, CPU) and registration")
    config = load_pretrain_config("tiny", [
        f"data.dataset_dir={out / 'dataset'}", f"trainer.output_dir={out / 'pretrain'}",
        f"trainer.max_steps={demo.steps}", "tracking.register=true"])
    result = pretrain(config, resume=True)
    timings["pretrain"] = time.perf_counter() - start
    if result.registered_version is None:
        print("mirencoder demo: the encoder was not registered; see the messages above")
        return 1
    model_uri = f"models:/{config.tracking.registered_model_name}/{result.registered_version}"
    m = result.metrics
    rows.append(("pre-training", f"{result.final_step} steps, {result.num_parameters:,} "
                                 f"parameters; masked-token accuracy "
                                 f"{m.get('train/mlm_accuracy', float('nan')):.2f} (unigram "
                                 f"{m.get('train/mlm_unigram_accuracy', float('nan')):.2f}), "
                                 f"IR-graph matching {m.get('train/match_accuracy', float('nan')):.2f},"
                                 f" edge reconstruction {m.get('train/gae_link_accuracy', float('nan')):.2f}"))
    rows.append(("registry", f"{model_uri} (alias candidate), MLflow {result.tracking_uri}"))

    start = _step("3/5 embeddings of the demo corpus")
    embeddings = out / "embeddings.parquet"
    code = cli_main(["embed", str(REPO_ROOT / "datasets" / "demo-corpus"), "--model", model_uri,
                     "--out", str(embeddings)])
    timings["embed"] = time.perf_counter() - start
    if code != 0:
        return code
    rows.append(("embeddings", str(embeddings)))

    if demo.skip_eval or not (demo.data_dir / "devmap").exists():
        reason = "--skip-eval" if demo.skip_eval else f"no evaluation data at {demo.data_dir}"
        rows.append(("evaluation", f"skipped ({reason})"))
    else:
        start = _step("4/5 evaluation: device mapping (669 IR rows, 1 seed)")
        common = ["--model", model_uri, "--modalities", "fused", "--seeds", "1",
                  "--features", "kernel-identity,opcode-histogram", "--data-dir",
                  str(demo.data_dir), "--out-dir", str(out / "eval"), "--quiet"]
        code = cli_main(["eval", "devmap", "--row-sets", "669", "--split-seeds", "104",
                         *common])
        if code != 0:
            return code
        _step("5/5 evaluation: thread coarsening")
        code = cli_main(["eval", "thread-coarsening", *common])
        timings["evaluate"] = time.perf_counter() - start
        if code != 0:
            return code
        rows += _evaluation_rows(out / "eval" / "results" / "summary.json")
        rows.append(("report", str(out / "eval" / "RESULTS.md")))

    print("\n=== summary ===")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("  time          " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    return 0
