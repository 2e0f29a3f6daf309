"""Runs the same Lightning pre-training under Ray Train (``mirencoder pretrain --ray-address``).

Each Ray Train worker runs :func:`run_training` with Ray's DDP strategy and cluster
environment; ``trainer.devices × trainer.num_nodes`` workers in all, one GPU each on a GPU
cluster. The run folder (checkpoints, encoder package, metrics) must be on storage every node
sees (a shared file system) for ``--resume`` and for the package written by rank 0.
"""

from __future__ import annotations

from typing import Any

from ...infra.errors import FatalError
from .config import PretrainConfig
from .run_context import RunContext

__all__ = ["fit_on_ray", "train_loop_per_worker"]


def train_loop_per_worker(loop_config: dict[str, Any]) -> None:
    """The Ray Train worker body: rebuild the config and run the Lightning training."""
    from ...infra.config import config_from_dict
    from .config import PretrainConfig
    from .fit import run_training
    from .run_context import setup_run

    config = config_from_dict(PretrainConfig, loop_config["config"])
    run_training(config, setup_run(config), resume=loop_config["resume"], ray_worker=True)


def fit_on_ray(config: PretrainConfig, run: RunContext, *, resume: bool, address: str):
    """Starts a Ray Train ``TorchTrainer`` and returns rank 0's :class:`PretrainResult`.

    Args:
        config: the resolved run config.
        run: the run context (its output folder receives ``result.json``).
        resume: continue from the last checkpoint.
        address: ``auto`` / ``ray://host:port`` for a cluster, ``local`` for an embedded Ray
            (used when Ray is already initialised in this process too).
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from .fit import PretrainResult, resolve_hardware

    accelerator, _, _ = resolve_hardware(config)
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, log_to_driver=True)
    t = config.trainer
    use_gpu = accelerator == "gpu"
    resources = {"CPU": t.ray_cpus_per_worker, **({"GPU": 1} if use_gpu else {})}
    # The config crosses to the workers as plain data; the output folder is made absolute so
    # that every worker writes to the same place.
    data = config.to_dict()
    data["trainer"]["output_dir"] = str(run.output_dir)
    data["data"]["dataset_dir"] = str(run.dataset_dir)
    trainer = TorchTrainer(
        train_loop_per_worker, train_loop_config={"config": data, "resume": resume},
        scaling_config=ScalingConfig(num_workers=t.devices * t.num_nodes, use_gpu=use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(name=f"mirencoder-{config.name}",
                             storage_path=str(run.output_dir / "ray")))
    result_path = run.output_dir / "result.json"
    result_path.unlink(missing_ok=True)  # a stale one must not pass for this run's result
    outcome = trainer.fit()
    if getattr(outcome, "error", None):
        raise FatalError(f"Ray Train run failed: {outcome.error}")
    if not result_path.exists():
        raise FatalError(f"Ray Train run ended without {result_path}")
    return PretrainResult.read(result_path)
