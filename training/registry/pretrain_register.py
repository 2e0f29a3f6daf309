"""Pre-training followed by registration: the ``tracking.register`` step of a run.

Between the two runs the caller's ``package_step`` (the CLI passes
``training/embedding/package_basis.ship_run_basis``: the package's principal basis), so that
the registered version ships what it adds. Registration lives here, above the pre-training layer, so that pre-training never imports the
registry: :func:`pretrain_and_register` runs :func:`~..pretraining.pretrain.pretrain` and then
registers the saved package with :func:`~.model_registry.register_encoder`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..pretraining.config import PretrainConfig
from ..pretraining.fit import PretrainResult
from ..pretraining.pretrain import pretrain
from .model_registry import register_encoder

__all__ = ["pretrain_and_register", "register_result"]


def register_result(config: PretrainConfig, result: PretrainResult) -> str:
    """Registers a finished run's package in its MLflow run; records the version in
    ``result`` and in ``<output_dir>/result.json``.

    Returns:
        The new version number (as text).
    """
    version = register_encoder(result.package_dir, run_id=result.mlflow_run_id,
                               name=config.tracking.registered_model_name,
                               tracking_uri=result.tracking_uri)
    result.registered_version = str(version.version)
    result.write(Path(result.output_dir) / "result.json")
    return result.registered_version


def pretrain_and_register(config: PretrainConfig, *, resume: bool = False,
                          ray_address: str | None = None,
                          package_step: Callable[[PretrainConfig, PretrainResult], None]
                          | None = None) -> PretrainResult | None:
    """:func:`pretrain`, then ``package_step`` on a finished run's package (it may add files
    to it), then, with ``tracking.register``, registration.

    A run with ``tracking.enabled`` off is not registered (a version needs its tracked run for
    lineage; switching tracking off means no writes to the registry), and says so.

    Arguments and result as :func:`pretrain` (``None`` on the other DDP ranks, which never
    register).
    """
    result = pretrain(config, resume=resume, ray_address=ray_address)
    if result is None or not result.finished:
        return result
    if package_step is not None and result.package_dir:
        package_step(config, result)
    if not config.tracking.register:
        return result
    if not config.tracking.enabled:
        print("[pretrain] not registered: tracking.register needs tracking.enabled; the "
              f"package stays in {result.package_dir}", flush=True)
        return result
    register_result(config, result)
    return result
