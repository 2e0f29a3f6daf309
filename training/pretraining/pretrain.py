"""Pre-training, top to bottom: setup → build → fit → save.

``pretrain(config)`` runs :func:`~.fit.run_training` in the current process (Lightning starts
the other DDP processes by re-running the command); ``pretrain(config, ray_address=...)`` runs
the same function in Ray Train workers (``ray_launch.py``). Registering the saved package
(``tracking.register``) is the registry's step:
:func:`mirencoder.training.registry.pretrain_register.pretrain_and_register`.
"""

from __future__ import annotations

from contextlib import nullcontext

from ...infra.files import exclusive_lock
from ...infra.ray_runtime import check_cluster
from .config import PretrainConfig
from .fit import PretrainResult, run_training
from .run_context import describe_run, first_process, setup_run

__all__ = ["pretrain"]


def pretrain(config: PretrainConfig, *, resume: bool = False,
             ray_address: str | None = None) -> PretrainResult | None:
    """Pre-trains the encoder and saves its package.

    Args:
        config: the resolved configuration.
        resume: continue from ``<output_dir>/checkpoints/last.ckpt`` when it exists.
        ray_address: run under Ray Train on this cluster (``auto``, ``ray://host:port``, or
            ``local`` for an embedded local Ray).

    Returns:
        The result on global rank 0; ``None`` on the other DDP ranks.
    """
    # 1. setup: dataset facts, run folder, resolved config saved beside the checkpoints.
    if ray_address not in (None, "local"):
        check_cluster(ray_address)  # Ray would retry a dead address for minutes
    # One process trains a run folder at a time (two would overwrite each other's
    # checkpoints); Lightning's other DDP ranks belong to the first one's run. The settings
    # are checked before the folder (and its lock file) is made.
    described, owner = describe_run(config), first_process()
    with (exclusive_lock(described.output_dir / "run.lock", "pretrain") if owner
          else nullcontext()):
        run = setup_run(config, resume=resume, fresh_check=owner, run=described)
        if ray_address is not None:
            from .datamodule import load_dataset_index, verify_split_shards
            from .ray_launch import fit_on_ray

            # The workers check again; this gives a damaged shard its line before any launch.
            c = config.data
            verify_split_shards(run.dataset_dir, load_dataset_index(run.dataset_dir),
                                [c.train_split, c.val_split], c.format)

            return fit_on_ray(config, run, resume=resume, address=ray_address)
        return run_training(config, run, resume=resume)
