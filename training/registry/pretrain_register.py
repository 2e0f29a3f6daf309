"""Pre-training followed by registration: the ``tracking.register`` step of a run.

Between the two runs the caller's ``package_step`` (the CLI passes
``training/embedding/package_basis.ship_run_basis``: the package's principal basis), so that
the registered version ships what it adds. Registration lives here, above the pre-training layer, so that pre-training never imports the
registry: :func:`pretrain_and_register` runs :func:`~..pretraining.pretrain.pretrain` and then
registers the saved package with :func:`~.model_registry.register_encoder`;
:func:`register_run_folder` registers a run that finished without it (``tracking.register``
off) after the fact, into the same MLflow run (``mirencoder registry register``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...infra.errors import ConfigError
from ..pretraining.config import PretrainConfig
from ..pretraining.fit import PretrainResult
from ..pretraining.pretrain import pretrain
from .model_registry import (
    CANDIDATE_ALIAS,
    DEFAULT_MODEL_NAME,
    ModelVersionInfo,
    check_alias,
    register_encoder,
)

__all__ = ["pretrain_and_register", "register_result", "register_run_folder"]


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
    done = _already_done(config) if resume else None
    if done is not None:
        registered = (f" and registered as version {done.registered_version}"
                      if done.registered_version else "")
        print(f"[pretrain] {done.output_dir} finished at step {done.final_step} with these "
              f"settings{registered}: nothing to redo", flush=True)
        return done
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


def _already_done(config: PretrainConfig) -> PretrainResult | None:
    """The run folder's result when the run reached its last step with these settings of what
    it learns (:func:`~..pretraining.run_context.learning_changes` finds none) and its
    registration (when asked for) is still in the registry with the package's weights: then
    ``--resume`` has nothing to redo (it would otherwise register the same weights again)."""
    from ...infra.files import sha256_file
    from ..pretraining.run_context import learning_changes, run_output_dir
    from .model_registry import get_version

    out = run_output_dir(config)
    if not (out / "result.json").is_file():
        return None
    done = PretrainResult.read(out / "result.json")
    if (not done.finished or done.final_step != config.trainer.max_steps or not done.package_dir
            or learning_changes(config, out) != []):
        return None
    weights = Path(done.package_dir) / "encoder.safetensors"
    if not weights.is_file():
        return None
    if not (config.tracking.register and config.tracking.enabled):
        return done
    if not done.registered_version:
        return None
    try:
        version = get_version(done.registered_version, name=config.tracking.registered_model_name,
                              tracking_uri=done.tracking_uri)
    except ConfigError:  # the registry was reset or is another one: register again
        return None
    return done if version.tags.get("weights_sha256") == sha256_file(weights) else None


def register_run_folder(path: str | Path, *, name: str = DEFAULT_MODEL_NAME,
                        tracking_uri: str | None = None,
                        alias: str = CANDIDATE_ALIAS) -> ModelVersionInfo:
    """Registers a pre-training run folder's package after the fact, into the run's own MLflow
    run (its lineage and loss curves), and records the version in its ``result.json``; or a
    bare encoder package folder, into a run of its own.

    Args:
        path: a run folder (``result.json``, as ``mirencoder pretrain`` writes) or an encoder
            package folder (``encoder_config.json``).
        tracking_uri: the registry; ``None``: the run's own (``result.json``), else the default.
        alias: the alias the new version gets.

    Raises:
        ConfigError: a run that did not finish (resume it first), one already registered
            (promote that version instead), a missing package, an unknown run in the registry,
            a bad alias, or a folder that is neither.
    """
    check_alias(alias)
    path = Path(path)
    result_file = path / "result.json"
    if not result_file.is_file():
        if (path / "encoder_config.json").is_file():
            return register_encoder(path, name=name, tracking_uri=tracking_uri, alias=alias)
        raise ConfigError(f"{path} is neither a pre-training run folder (no result.json) nor "
                          "an encoder package (no encoder_config.json)")
    result = PretrainResult.read(result_file)
    if not result.finished:
        raise ConfigError(
            f"{path} stopped at step {result.final_step} before its last step: resume it "
            f"(`mirencoder pretrain --config {path / 'config.yaml'} --resume`), then register it")
    if result.registered_version:
        raise ConfigError(
            f"{path} is already registered as version {result.registered_version}; "
            f"`mirencoder registry promote {result.registered_version} --alias {alias}` points "
            "an alias at it")
    recorded = Path(result.package_dir or path / "encoder")
    package = recorded if recorded.is_dir() else path / recorded.name  # a moved run folder
    if not (package / "encoder_config.json").is_file():
        raise ConfigError(f"{path} has no encoder package (looked in {package})")
    version = register_encoder(package, run_id=result.mlflow_run_id, name=name,
                               tracking_uri=tracking_uri or result.tracking_uri, alias=alias)
    result.registered_version = str(version.version)
    result.write(result_file)
    return version
