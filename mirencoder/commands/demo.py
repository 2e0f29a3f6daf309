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


def _embed_corpus(embedder, model_uri: str, out: Path) -> tuple[int, int]:
    """Embeds the bundled demo corpus into the Parquet file ``out``; ``(embedded, inputs)``."""
    import tempfile

    from mirencoder.training.embedding.embedding_parquet import write_embeddings
    from mirencoder.training.embedding.program_loader import embed_inputs

    with tempfile.TemporaryDirectory(prefix="mirencoder-embed-") as work:
        result = embed_inputs(embedder, [REPO_ROOT / "datasets" / "demo-corpus"],
                              work_dir=Path(work))
    write_embeddings(result, out, metadata={"mirencoder.model": model_uri,
                                            "mirencoder.windows": embedder.window_policy,
                                            "mirencoder.precision": embedder.config.precision})
    return len(result) - len(result.errors), len(result)


def _evaluate(embedder, model_uri: str, data_dir: Path, out_dir: Path,
              registered: tuple[str, str, str]) -> int:
    """Device mapping (669 IR rows, split seed 104) and thread coarsening, one seed each: the
    encoder's fused embedding beside two controls; writes ``out_dir/RESULTS.md`` and
    ``out_dir/results/``, logs them to MLflow and attaches the encoder's scores to its
    registered version (``registered``: name, version, tracking URI), as ``mirencoder eval
    --mlflow`` does. Returns how many score tags the version got."""
    from mirencoder.training.evaluation.coarsening_eval import (
        CoarseningConfig,
        run_thread_coarsening,
    )
    from mirencoder.training.evaluation.command_support import print_summary_table
    from mirencoder.training.evaluation.devmap_eval import DevMapConfig, run_devmap
    from mirencoder.training.evaluation.features.encoder_embedding import (
        EncoderFeaturizer,
        describe_embedder,
    )
    from mirencoder.training.evaluation.features.registry import build_featurizer
    from mirencoder.training.evaluation.mlflow_logging import log_results_to_mlflow
    from mirencoder.training.evaluation.report_files import write_report
    from mirencoder.training.registry.model_registry import get_version

    def featurizers() -> list:
        return [build_featurizer("kernel-identity"), build_featurizer("opcode-histogram"),
                EncoderFeaturizer.from_embedder("encoder", embedder, "fused",
                                                f"encoder {model_uri}, fused embedding")]

    task_runs = run_devmap(DevMapConfig(data_dir=data_dir, row_sets=("669",), split_seeds=(104,),
                                        seeds=1), featurizers(), progress=False)
    _step("5/5 evaluation: thread coarsening")
    task_runs.update(run_thread_coarsening(CoarseningConfig(data_dir=data_dir, seeds=1),
                                           featurizers(), progress=False))
    summary, _ = write_report(task_runs, out_dir, encoder=describe_embedder(embedder, model_uri),
                              command="mirencoder demo")
    print_summary_table(task_runs)
    name, version, tracking_uri = registered
    log_results_to_mlflow(summary, model_name=name, version=version, tracking_uri=tracking_uri)
    return len(get_version(version, name=name, tracking_uri=tracking_uri).metrics)


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.build import build_dataset
    from mirencoder.pipelines.config import load_recipe
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.package_basis import ship_run_basis
    from mirencoder.training.pretraining.config import load_pretrain_config
    from mirencoder.training.registry.pretrain_register import pretrain_and_register

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
    result = pretrain_and_register(config, resume=True, package_step=ship_run_basis)
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
    embedder = Embedder.from_uri(model_uri)
    embedded, inputs = _embed_corpus(embedder, model_uri, embeddings)
    timings["embed"] = time.perf_counter() - start
    print(f"embedded {embedded}/{inputs} inputs -> {embeddings}")
    if inputs and not embedded:
        print("mirencoder demo: no input could be embedded")
        return 1
    rows.append(("embeddings", str(embeddings)))

    if demo.skip_eval or not (demo.data_dir / "devmap").exists():
        reason = "--skip-eval" if demo.skip_eval else f"no evaluation data at {demo.data_dir}"
        rows.append(("evaluation", f"skipped ({reason})"))
    else:
        start = _step("4/5 evaluation: device mapping (669 IR rows, 1 seed)")
        tagged = _evaluate(embedder, model_uri, demo.data_dir, out / "eval",
                           (config.tracking.registered_model_name,
                            str(result.registered_version), result.tracking_uri))
        timings["evaluate"] = time.perf_counter() - start
        rows += _evaluation_rows(out / "eval" / "results" / "summary.json")
        rows.append(("scores", f"{tagged} evaluation scores attached to {model_uri} "
                               "(`mirencoder registry list`)"))
        rows.append(("report", str(out / "eval" / "RESULTS.md")))

    print("\n=== summary ===")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("  time          " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    return 0
