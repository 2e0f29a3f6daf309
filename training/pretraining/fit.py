"""Build → fit → save in one training process (one DDP rank, or one Ray Train worker).

:func:`run_training` is what :func:`~.pretrain.pretrain` runs locally and what each Ray Train
worker runs (``ray_launch.py``); rank 0 saves the encoder package and ``result.json``.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch

from .callbacks import MetricsHistory, StopAtStep
from .config import PretrainConfig
from .datamodule import ProgramDataModule
from .init_from import initial_weights_lineage, load_initial_weights
from .lit_module import PretrainingModule
from .run_context import RunContext, save_run_package
from .tasks.vectorisation import dataset_vector_lanes

__all__ = ["PretrainResult", "run_training", "build_trainer", "cpu_threads", "resolve_hardware"]


@dataclass(slots=True)
class PretrainResult:
    """What a finished (or stopped) run produced; also written to ``<output_dir>/result.json``."""

    output_dir: str
    final_step: int
    finished: bool  # reached max_steps (a stop_at_step run is not finished)
    start_step: int = 0  # the step this invocation started from (> 0 after --resume)
    package_dir: str | None = None
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None
    registered_version: str | None = None
    wall_seconds: float = 0.0
    num_parameters: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))

    @classmethod
    def read(cls, path: Path) -> PretrainResult:
        return cls(**json.loads(path.read_text()))


def _fit(trainer, module, datamodule, ckpt_path) -> None:
    """``trainer.fit``; Ctrl-C stays a KeyboardInterrupt. Lightning turns it into
    ``sys.exit(1)`` after its own shutdown (and leaves SIGINT ignored), which hid the CLI's
    exit status 130 and its hint that ``--resume`` continues from the last checkpoint."""
    import signal
    import threading

    # Only the main thread may set handlers (Ray Train runs this in a worker thread).
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main else None
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit as exit_:
        if not trainer.interrupted:
            raise
        raise KeyboardInterrupt from exit_
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)


def run_training(config: PretrainConfig, run: RunContext, *, resume: bool,
                 ray_worker: bool = False) -> PretrainResult | None:
    """Build → fit → save, in one training process (one DDP rank)."""
    started = time.perf_counter()
    # 2. build
    # Lightning's notes on our own batch transfer hooks are expected, not problems.
    warnings.filterwarnings("ignore", message="You have overridden `(on_before_batch_transfer|"
                            "transfer_batch_to_device)`")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")
    if resolve_hardware(config)[0] == "cpu":
        torch.set_num_threads(cpu_threads(config))
    L.seed_everything(config.data.seed, workers=False, verbose=False)
    lanes = (dataset_vector_lanes(run.dataset_dir) if config.task.vectorisation_weight > 0
             else None)
    module = PretrainingModule(config.to_dict(), run.tokenizer_ids.to_dict(), lanes)
    datamodule = ProgramDataModule(config.data, context_length=config.model.context_length)
    logger = _mlflow_logger(config, run, resume)
    history = MetricsHistory(run.output_dir / "metrics.jsonl", config.trainer.log_every)
    trainer = build_trainer(config, run, logger=logger, history=history, ray_worker=ray_worker)
    # 3. fit
    ckpt_path = run.last_checkpoint if resume and run.last_checkpoint.exists() else None
    if resume and ckpt_path is None and trainer.is_global_zero:
        print(f"[pretrain] --resume: no checkpoint in {run.checkpoint_dir}; starting afresh")
    init_lineage = {}
    if config.init_from and ckpt_path is None:
        init_lineage = load_initial_weights(module, config.init_from,
                                            tokenizer_sha256=run.tokenizer_sha256,
                                            node_vocab_sha256=run.node_vocab_sha256)
    elif config.init_from:  # a resumed run has the weights in its checkpoint
        init_lineage = initial_weights_lineage(config.init_from)
    _fit(trainer, module, datamodule, ckpt_path)
    finished = trainer.global_step >= config.trainer.max_steps
    if finished:
        # Every rank calls it (it holds a barrier); the full state, so --resume works too.
        trainer.save_checkpoint(run.last_checkpoint, weights_only=False)
    if not trainer.is_global_zero:
        return None
    # 4. save
    result = PretrainResult(output_dir=str(run.output_dir), final_step=trainer.global_step,
                            finished=finished, start_step=history.start_step,
                            wall_seconds=time.perf_counter() - started,
                            num_parameters=module.encoder.num_parameters(),
                            metrics=dict(history.rows[-1]) if history.rows else {})
    if logger is not None:
        result.mlflow_run_id, result.tracking_uri = logger.run_id, logger._tracking_uri
    if finished:
        result.package_dir = str(_save_package(config, run, module, result, init_lineage))
    _finish_tracking(logger, run, history, config)
    result.write(run.output_dir / "result.json")
    return result


def cpu_threads(config: PretrainConfig) -> int:
    """torch intra-op threads of one CPU training process: ``trainer.threads`` when set, else
    the usable cores (CPU affinity: taskset, cgroups) shared between the local processes, so
    CPU DDP does not oversubscribe."""
    if config.trainer.threads:
        return config.trainer.threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // config.trainer.devices)


def resolve_hardware(config: PretrainConfig) -> tuple[str, str, str]:
    """``(accelerator, precision, strategy)`` with the ``auto`` values decided."""
    t = config.trainer
    accelerator = {"cuda": "gpu"}.get(t.accelerator, t.accelerator)
    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    precision = t.precision if t.precision != "auto" else (
        "bf16-mixed" if accelerator == "gpu" else "32-true")
    precision = {"32": "32-true"}.get(precision, precision)
    strategy = t.strategy if t.strategy != "auto" else (
        "ddp" if t.devices * t.num_nodes > 1 else "auto")
    return accelerator, precision, strategy


def build_trainer(config: PretrainConfig, run: RunContext, *, logger: Any,
                  history: MetricsHistory, ray_worker: bool = False) -> L.Trainer:
    """The Lightning trainer: checkpoints, clipping, precision, DDP (or Ray's DDP)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    t = config.trainer
    accelerator, precision, strategy = resolve_hardware(config)
    checkpoint = ModelCheckpoint(dirpath=run.checkpoint_dir, filename="step-{step:07d}",
                                 every_n_train_steps=t.checkpoint_every_n_steps,
                                 save_top_k=-1 if t.keep_checkpoints else 0,
                                 save_last=True, monitor=None, auto_insert_metric_name=False)
    callbacks = [history, StopAtStep(t.stop_at_step), checkpoint]
    has_val = t.val_every_n_steps > 0 and bool(config.data.val_split)
    kwargs: dict[str, Any] = dict(
        max_steps=t.max_steps, accelerator=accelerator, precision=precision,
        gradient_clip_val=config.optim.grad_clip or None, log_every_n_steps=t.log_every,
        callbacks=callbacks, logger=logger if logger is not None else False,
        num_sanity_val_steps=0, use_distributed_sampler=False,
        val_check_interval=t.val_every_n_steps if has_val else None,
        check_val_every_n_epoch=None, limit_val_batches=t.limit_val_batches if has_val else 0,
        default_root_dir=str(run.output_dir), enable_model_summary=False,
        enable_progress_bar=True)
    if ray_worker:
        from ray.train.lightning import RayDDPStrategy, RayLightningEnvironment, prepare_trainer

        kwargs.update(devices="auto", strategy=RayDDPStrategy(find_unused_parameters=False),
                      plugins=[RayLightningEnvironment()])
        return prepare_trainer(L.Trainer(**kwargs))
    if strategy in ("ddp", "ddp_spawn"):
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(find_unused_parameters=False,
                               start_method="spawn" if strategy == "ddp_spawn" else "popen")
    kwargs.update(devices=t.devices, num_nodes=t.num_nodes, strategy=strategy)
    return L.Trainer(**kwargs)


# --- tracking and saving ---------------------------------------------------------------------

def _mlflow_logger(config: PretrainConfig, run: RunContext, resume: bool):
    if not config.tracking.enabled:
        return None
    from lightning.pytorch.loggers import MLFlowLogger

    from ...infra.tracking import ensure_experiment, resolve_tracking_uri

    uri = resolve_tracking_uri(config.tracking.tracking_uri or None)
    ensure_experiment(config.tracking.experiment, uri)
    run_file = run.output_dir / "mlflow_run.json"
    run_id = None
    if resume and run_file.exists():
        previous = json.loads(run_file.read_text())
        run_id = previous["run_id"] if previous.get("tracking_uri") == uri else None
    tags = {**{key: value if isinstance(value, str) else json.dumps(value)
               for key, value in run.lineage().items()}, "mirencoder.config_name": config.name,
            "mirencoder.output_dir": str(run.output_dir)}
    logger_class = MLFlowLogger if run_id is None else _resuming_logger_class()
    return logger_class(experiment_name=config.tracking.experiment, tracking_uri=uri,
                        run_name=config.tracking.run_name or config.name, tags=tags,
                        run_id=run_id, log_model=False)


def _resuming_logger_class() -> type:
    """An MLFlowLogger for a resumed run: MLflow refuses to change a logged parameter, and a
    resume may change how the run executes (workers, threads, its stop step; what it learns
    is checked before, :func:`run_context.check_resumable`). It logs the parameters the run
    does not hold yet and records the changed ones in the tag ``mirencoder.resumed_with``."""
    from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
    from lightning.pytorch.loggers import MLFlowLogger
    from lightning.pytorch.utilities import rank_zero_only
    from mlflow.entities import Param

    class ResumingMLFlowLogger(MLFlowLogger):
        @rank_zero_only
        def log_hyperparams(self, params: Any) -> None:
            flat = {key: str(value)[:250]
                    for key, value in _flatten_dict(_convert_params(params)).items()}
            held = self.experiment.get_run(self.run_id).data.params
            new = [Param(key, value) for key, value in flat.items() if key not in held]
            for start in range(0, len(new), 100):  # MLflow's limit per batch
                self.experiment.log_batch(run_id=self.run_id, params=new[start:start + 100])
            changed = {key: value for key, value in flat.items()
                       if key in held and held[key] != value}
            if changed:
                self.experiment.set_tag(self.run_id, "mirencoder.resumed_with",
                                        json.dumps(changed, sort_keys=True)[:5000])

    return ResumingMLFlowLogger


def _finish_tracking(logger: Any, run: RunContext, history: MetricsHistory,
                     config: PretrainConfig) -> None:
    from .loss_curves import plot_loss_curves

    rows = _read_history(run.output_dir / "metrics.jsonl")
    png = None
    if rows:
        png = plot_loss_curves(rows, run.output_dir / "loss_curves.png",
                               title=f"{config.name} ({run.dataset_name})")
    if logger is None:
        return
    (run.output_dir / "mlflow_run.json").write_text(json.dumps(
        {"run_id": logger.run_id, "tracking_uri": logger._tracking_uri}))
    client, run_id = logger.experiment, logger.run_id
    for path in (run.output_dir / "config.yaml", run.output_dir / "metrics.jsonl", png):
        if path is not None and Path(path).exists():
            client.log_artifact(run_id, str(path))
    client.log_text(run_id, json.dumps(run.lineage(), indent=2), "lineage.json")


def _read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _save_package(config: PretrainConfig, run: RunContext, module: PretrainingModule,
                  result: PretrainResult, init_lineage: dict) -> Path:
    return save_run_package(config, run, module.encoder, run.package_dir,
                            steps=result.final_step, mlflow_run_id=result.mlflow_run_id,
                            tracking_uri=result.tracking_uri, metrics=result.metrics,
                            **init_lineage)

