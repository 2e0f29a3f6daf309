"""The encoder registry: versions of a registered MLflow model, their lineage, metrics and aliases.

An encoder package folder (``encoder.safetensors`` + ``encoder_config.json`` +
``tokenizer.json`` + ``node_vocab.json`` + ``lineage.json``) is logged as an MLflow pyfunc
"model from code" (the code is ``mirencoder/pyfunc_model.py``, the package folder is
its only artifact: no pickled Python object is needed to load it), registered as a new version
of a registered model (default ``mirencoder``), tagged with its lineage and given the alias
``candidate``. A Markdown model card is logged beside it in the run (``model_card/``) and
copied into the version's description. Pulling a version (or a run's model) into the local
cache is :mod:`mirencoder.training.registry.model_cache`.

Tags on every version (plain strings): ``dataset_index_sha256``, ``dataset_content_sha256``,
``dataset_name``, ``tokenizer_sha256``, ``node_vocab_sha256``, ``config_sha256``, ``code_version``,
``num_parameters``, ``embedding_dim``, ``weights_sha256``, ``weights_bytes``, ``size_bytes``,
``training_run_id``, ``training_steps`` (when known), ``package_sha256`` and ``package_files``
(the package digest and the JSON ``{file: sha256}`` of every package file: the outside
reference a ``models:/`` load verifies the downloaded files against, see
:mod:`~mirencoder.training.core.package_verify`) and one ``metric.<name>`` per evaluation
metric.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...infra.errors import ConfigError, FatalError
from ...infra.files import sha256_file, sha256_json
from ...infra.tracking import (
    check_store,
    code_version,
    ensure_experiment,
    resolve_tracking_uri,
    using_tracking_uri,
)
from ..core.package_verify import package_digest, package_file_hashes
from .model_card import (
    METRIC_TAG_PREFIX,
    plot_training_curves,
    render_model_card,
    version_metrics,
)
from .pyfunc_spec import PYFUNC_CODE_PATH, pyfunc_requirements, pyfunc_signature

__all__ = [
    "DEFAULT_MODEL_NAME", "CANDIDATE_ALIAS", "CHAMPION_ALIAS", "PACKAGE_FILES", "PYFUNC_CODE_PATH",
    "ModelVersionInfo", "check_alias", "register_encoder", "promote", "list_versions",
    "set_version_metrics", "get_version", "registry_client", "package_lineage_tags",
    "registry_errors", "quiet_mlflow",
]

_REGISTER_HINT = ("; register one with `bash infra/demo.sh` (alias candidate) or "
                  "`bash infra/reproduce.sh` (the run of record, alias champion)")
"""What to do when the registry holds no encoder at all."""

DEFAULT_MODEL_NAME = "mirencoder"
CANDIDATE_ALIAS = "candidate"
CHAMPION_ALIAS = "champion"
# The files an encoder package must hold; the first is the weights.
PACKAGE_FILES = ("encoder.safetensors", "encoder_config.json", "tokenizer.json",
                 "node_vocab.json", "lineage.json")
# The name of the logged model inside its run, and of the pyfunc artifact holding the package.
MODEL_ARTIFACT_NAME = "encoder"
_MLFLOW_ADVICE = re.compile(r".*(type hints|input_example)")  # logging advice, not problems
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,254}")
CARD_DIR = "model_card"


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """One registered encoder version.

    Attributes:
        name: registered model name.
        version: version number.
        run_id: the MLflow run the model was logged in.
        aliases: aliases pointing at this version.
        tags: lineage, size and ``metric.*`` tags.
        source: the logged model's URI (``models:/m-...``).
        created_ms: creation time (ms since the epoch).
    """

    name: str
    version: int
    run_id: str | None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    source: str = ""
    created_ms: int = 0

    @property
    def model_uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    @property
    def metrics(self) -> dict[str, str]:
        """The evaluation metrics attached to this version (``metric.*`` and numeric ``eval.*``
        tags, prefix removed)."""
        return version_metrics(self.tags)


def registry_client(tracking_uri: str | None = None):
    """An ``MlflowClient`` for the tracking store and registry at ``tracking_uri``.

    Raises:
        FatalError: the registry cannot be reached (server down, missing SQLite file).
    """
    from mlflow import MlflowClient

    uri = check_store(resolve_tracking_uri(tracking_uri))
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def registry_errors(uri: str, what: str) -> Iterator[None]:
    """Turns connection failures into one clear FatalError naming the registry."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (ConfigError, FatalError):
        raise
    except MlflowException as error:
        text = str(error)
        if any(hint in text for hint in ("Max retries", "Connection", "connection", "timed out",
                                         "API request to")):
            raise FatalError(f"cannot reach the MLflow registry at {uri} while {what}: "
                             f"{text.splitlines()[0][:300]} (start it with `python -m "
                             "mirencoder.infra.mlflow_server` or set MLFLOW_TRACKING_URI)"
                             ) from error
        raise
    except OSError as error:
        raise FatalError(f"cannot reach the MLflow registry at {uri} while {what}: {error}"
                         ) from error


def _count_parameters(weights: Path) -> int:
    """Sums the tensor sizes in a safetensors file, from its header (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(weights), framework="np") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
            shape = handle.get_slice(key).get_shape()
            count = 1
            for dim in shape:
                count *= int(dim)
            total += count
    return total


def _lookup(mapping: Mapping[str, Any], *paths: str) -> Any:
    """The first value found among dotted ``paths`` (``dataset.index_sha256``)."""
    for path in paths:
        node: Any = mapping
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                node = None
                break
            node = node[part]
        if node not in (None, ""):
            return node
    return None


def _check_package(package_dir: Path) -> None:
    if not package_dir.is_dir():
        raise ConfigError(f"encoder package {package_dir} is not a folder")
    missing = [name for name in PACKAGE_FILES if not (package_dir / name).is_file()]
    if missing:
        raise ConfigError(f"encoder package {package_dir} lacks {', '.join(missing)} "
                          "(write it with training.package.save_encoder_package)")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: unreadable JSON ({error})") from error


def package_lineage_tags(package_dir: str | Path) -> dict[str, str]:
    """The lineage and size tags of an encoder package folder (read from its files).

    Hashes given in ``lineage.json`` win; missing ones are computed from the files.
    """
    package_dir = Path(package_dir)
    _check_package(package_dir)
    lineage = _read_json(package_dir / "lineage.json")
    config = _read_json(package_dir / "encoder_config.json")
    weights = package_dir / PACKAGE_FILES[0]
    model_config = config.get("model", config)
    files = package_file_hashes(package_dir)
    tags: dict[str, Any] = {
        "dataset_index_sha256": _lookup(lineage, "dataset_index_sha256", "index_sha256",
                                        "dataset.index_sha256", "dataset_sha256"),
        "dataset_content_sha256": _lookup(lineage, "dataset_content_sha256"),
        "dataset_name": _lookup(lineage, "dataset_name", "recipe", "dataset.name",
                                "dataset.recipe", "dataset_dir"),
        "tokenizer_sha256": _lookup(lineage, "tokenizer_sha256", "tokenizer.sha256")
        or sha256_file(package_dir / "tokenizer.json"),
        "node_vocab_sha256": _lookup(lineage, "node_vocab_sha256", "node_vocab.sha256")
        or sha256_file(package_dir / "node_vocab.json"),
        "config_sha256": _lookup(lineage, "config_sha256", "config_hash")
        or sha256_json(config),
        "code_version": _lookup(lineage, "code_version", "git_sha", "git_commit")
        or code_version(),
        "num_parameters": _lookup(lineage, "num_parameters", "parameters")
        or _lookup(config, "num_parameters") or _count_parameters(weights),
        "embedding_dim": _lookup(model_config, "fusion_dim", "embedding_dim")
        or _lookup(config, "embedding_dim"),
        "mixed_datasets": ",".join(str(d.get("dataset_name", "")) for d in
                                   lineage.get("mixed_datasets") or []) or None,
        "training_run_id": _lookup(lineage, "mlflow_run_id", "run_id", "training_run_id"),
        "untrained": "true" if lineage.get("untrained") else None,
        "training_steps": _lookup(lineage, "steps", "global_step", "max_steps", "training_steps"),
        "weights_sha256": sha256_file(weights),
        "weights_bytes": weights.stat().st_size,
        "size_bytes": sum(p.stat().st_size for p in package_dir.rglob("*") if p.is_file()),
        "model_config": json.dumps({k: v for k, v in model_config.items()
                                    if not isinstance(v, (dict, list))}, sort_keys=True),
        "package_sha256": package_digest(files),
        "package_files": json.dumps(files, sort_keys=True),
    }
    return {key: str(value) for key, value in tags.items() if value is not None}


def _metric_tags(metrics: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        out[f"{METRIC_TAG_PREFIX}{key}"] = str(value)
    return out


def _version_info(client, model_version,
                  alias_map: Mapping[str, str] | None = None) -> ModelVersionInfo:
    """Wraps an MLflow ModelVersion; ``alias_map`` (alias -> version) fills in the aliases that
    ``search_model_versions`` leaves out."""
    aliases = tuple(getattr(model_version, "aliases", None) or ())
    if alias_map is not None and not aliases:
        aliases = tuple(sorted(a for a, v in alias_map.items()
                               if str(v) == str(model_version.version)))
    return ModelVersionInfo(name=model_version.name, version=int(model_version.version),
                            run_id=model_version.run_id or None, aliases=aliases,
                            tags=dict(model_version.tags or {}),
                            source=model_version.source or "",
                            created_ms=int(model_version.creation_timestamp or 0))


def _known_versions(client, name: str) -> str:
    """``1, 2 (candidate), 3 (champion)`` for error messages."""
    try:
        aliases = dict(getattr(client.get_registered_model(name), "aliases", None) or {})
        versions = client.search_model_versions(f"name='{name}'")
    except Exception:  # noqa: BLE001 - only used to enrich an error message
        return "none (no registered model of that name)"
    if not versions:
        return "none"
    parts = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        names = sorted(a for a, v in aliases.items() if str(v) == str(mv.version))
        parts.append(f"{mv.version} ({', '.join(names)})" if names else str(mv.version))
    return ", ".join(parts)


def get_version(version: int | str, *, name: str = DEFAULT_MODEL_NAME,
                tracking_uri: str | None = None) -> ModelVersionInfo:
    """One version, by number or alias.

    Raises:
        ConfigError: an unknown model, version or alias (the message lists the known ones).
        FatalError: the registry cannot be reached.
    """
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    client = registry_client(uri)
    with registry_errors(uri, f"looking up {name}/{version}"):
        try:
            if str(version).isdigit():
                mv = client.get_model_version(name, str(version))
            else:
                mv = client.get_model_version_by_alias(name, str(version))
        except MlflowException as error:
            if "RESOURCE_DOES_NOT_EXIST" in str(error.error_code) or "not found" in str(error):
                known = _known_versions(client, name)
                if known.startswith("none"):
                    hint = f"{_REGISTER_HINT}, or give a package folder instead of the models:/ URI"
                elif not str(version).isdigit():
                    hint = (f"; point the alias at a version with `mirencoder registry promote "
                            f"VERSION --alias {version}`, or ask for a version by number")
                else:
                    hint = ""
                raise ConfigError(
                    f"registered model {name!r} has no version or alias {str(version)!r} in "
                    f"{uri}; known versions: {known}{hint}") from error
            raise
    return _version_info(client, mv)


def _run_curves(client, run_id: str | None) -> dict[str, list[tuple[int, float]]]:
    if not run_id:
        return {}
    run = client.get_run(run_id)
    curves = {}
    for key in run.data.metrics:
        history = client.get_metric_history(run_id, key)
        curves[key] = [(int(m.step), float(m.value)) for m in history]
    return curves


def _write_card(client, info: ModelVersionInfo) -> str:
    """Renders the card, logs it (and the curves) to the version's run, sets the description."""
    curves = _run_curves(client, info.run_id)
    try:
        config = json.loads(info.tags.get("model_config", "{}"))
    except ValueError:
        config = {}
    with tempfile.TemporaryDirectory(prefix="mirencoder-card-") as tmp:
        png = plot_training_curves(curves, Path(tmp) / "training_curves.png")
        card = render_model_card(name=info.name, version=str(info.version), tags=info.tags,
                                 aliases=info.aliases, config=config, curves=curves,
                                 curves_png=png.name if png else None)
        card_path = Path(tmp) / f"{info.name}-v{info.version}.md"
        card_path.write_text(card)
        if info.run_id:
            client.log_artifact(info.run_id, str(card_path), CARD_DIR)
            if png is not None:
                client.log_artifact(info.run_id, str(png), CARD_DIR)
    client.update_model_version(info.name, str(info.version), description=card)
    return card


def register_encoder(package_dir: str | Path, *, run_id: str | None = None,
                     name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                     metrics: Mapping[str, Any] | None = None,
                     alias: str = CANDIDATE_ALIAS) -> ModelVersionInfo:
    """Logs an encoder package as a pyfunc, registers a new version and aliases it ``candidate``.

    Args:
        package_dir: an encoder package folder (see :data:`PACKAGE_FILES`).
        run_id: the pre-training run to log the model into (its metric history becomes the
            card's training curves). ``None``: the active run if any, else a new run in the
            ``mirencoder`` experiment.
        name: registered model name.
        tracking_uri: tracking store and registry (default: ``MLFLOW_TRACKING_URI`` or
            ``sqlite:///<repo>/runs/mlflow.db``).
        metrics: evaluation metrics to attach as ``metric.<name>`` tags.
        alias: the alias given to the new version.

    Returns:
        The new version.

    Raises:
        ConfigError: a package folder with missing files, an unknown ``run_id`` or a bad alias.
        FatalError: the registry cannot be reached.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    check_alias(alias)
    package_dir = Path(package_dir).resolve()
    tags = package_lineage_tags(package_dir)
    tags.update(_metric_tags(metrics))
    uri = resolve_tracking_uri(tracking_uri)
    with using_tracking_uri(uri), registry_errors(uri, f"registering {name}"), quiet_mlflow():
        client = registry_client(uri)
        active = mlflow.active_run()
        if run_id is None and active is not None:
            run_id = active.info.run_id
        own_run = active is None or active.info.run_id != run_id
        prior_status = None
        if run_id is not None:
            try:
                prior_status = client.get_run(run_id).info.status
            except MlflowException as error:
                raise ConfigError(f"no MLflow run {run_id!r} in {uri}") from error
        if own_run:
            experiment_id = ensure_experiment(tracking_uri=uri) if run_id is None else None
            mlflow.start_run(run_id=run_id, experiment_id=experiment_id,
                             run_name=None if run_id else f"register-{name}",
                             nested=active is not None)
        try:
            run = mlflow.active_run()
            if prior_status is None:  # a run of our own: record what it registers
                mlflow.log_params({f"package.{k}": v for k, v in tags.items()
                                   if not k.startswith(METRIC_TAG_PREFIX)})
            tags.setdefault("training_run_id", run.info.run_id)
            model_info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT_NAME, python_model=str(PYFUNC_CODE_PATH),
                artifacts={"encoder": str(package_dir)}, pip_requirements=pyfunc_requirements(),
                signature=pyfunc_signature(),
                metadata={"mirencoder": {k: v for k, v in tags.items()
                                         if not k.startswith(METRIC_TAG_PREFIX)}})
            _ensure_registered_model(client, name)
            mv = client.create_model_version(name=name, source=model_info.model_uri,
                                             run_id=run.info.run_id, tags=tags,
                                             model_id=model_info.model_id)
            client.set_registered_model_alias(name, alias, mv.version)
            info = _version_info(client, client.get_model_version(name, mv.version))
            _write_card(client, info)
        finally:
            if own_run:
                mlflow.end_run()
                if prior_status not in (None, "FINISHED"):
                    client.update_run(run_id, status=prior_status)
    return info


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """No artifact progress bars and no type-hint advice while logging the pyfunc."""
    import os
    import warnings

    previous = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    # MLflow's log_model shows UserWarnings "once" under a filter of its own, ahead of any
    # "ignore" set here; its advice is dropped where warnings are shown instead.
    shown = warnings.showwarning

    def show_all_but_advice(message, category, filename, lineno, file=None, line=None):
        if not _MLFLOW_ADVICE.search(str(message)):
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show_all_but_advice
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_MLFLOW_ADVICE.pattern)
            yield
    finally:
        warnings.showwarning = shown
        if previous is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = previous


def _ensure_registered_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(
                name, description="Multi-modal LLVM-IR encoder versions (mirencoder).")
        except MlflowException:  # created concurrently
            client.get_registered_model(name)


def check_alias(alias: str) -> None:
    """Raises ConfigError unless ``alias`` is a word MLflow accepts as an alias."""
    if not _ALIAS.fullmatch(alias or ""):
        raise ConfigError(f"alias {alias!r} must be a word such as champion or candidate "
                          "(letters, digits, '_' or '-', starting with a letter)")


def promote(version: int | str, alias: str = CHAMPION_ALIAS, *, name: str = DEFAULT_MODEL_NAME,
            tracking_uri: str | None = None) -> ModelVersionInfo:
    """Moves ``alias`` to ``version`` (a number, or another alias such as ``candidate``).

    Raises:
        ConfigError: an unknown version (the message lists the known ones) or a bad alias.
        FatalError: the registry cannot be reached.
    """
    check_alias(alias)
    uri = resolve_tracking_uri(tracking_uri)
    target = get_version(version, name=name, tracking_uri=uri)
    client = registry_client(uri)
    with registry_errors(uri, f"promoting {name}/{version}"):
        client.set_registered_model_alias(name, alias, str(target.version))
        info = _version_info(client, client.get_model_version(name, str(target.version)))
    return info


def list_versions(name: str = DEFAULT_MODEL_NAME, *,
                  tracking_uri: str | None = None) -> list[ModelVersionInfo]:
    """Every version of ``name``, newest first, with aliases, lineage and metric tags.

    Raises:
        ConfigError: no registered model of that name (the message lists the known ones).
        FatalError: the registry cannot be reached.
    """
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    client = registry_client(uri)
    with registry_errors(uri, f"listing {name}"):
        try:
            model = client.get_registered_model(name)
        except MlflowException as error:
            known = [m.name for m in client.search_registered_models()]
            raise ConfigError(f"no registered model {name!r} in {uri}; known: "
                              f"{', '.join(known) or 'none'}"
                              + ("" if known else _REGISTER_HINT)) from error
        alias_map = dict(getattr(model, "aliases", None) or {})
        versions = client.search_model_versions(f"name='{name}'")
    return sorted((_version_info(client, mv, alias_map) for mv in versions),
                  key=lambda v: -v.version)


def set_version_metrics(name: str, version: int | str, metrics: Mapping[str, Any], *,
                        tracking_uri: str | None = None,
                        refresh_card: bool = True) -> ModelVersionInfo:
    """Attaches evaluation metrics (``metric.<key>`` tags) to a version and refreshes its card.

    Args:
        name: registered model name.
        version: version number or alias.
        metrics: flat ``{name: value}``; nested dicts are flattened with dots.
        tracking_uri: the registry.
        refresh_card: re-render the model card with the new evaluation table.
    """
    flat: dict[str, Any] = {}

    def _flatten(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = value

    _flatten("", dict(metrics))
    uri = resolve_tracking_uri(tracking_uri)
    target = get_version(version, name=name, tracking_uri=uri)
    client = registry_client(uri)
    with registry_errors(uri, f"tagging {name}/{version}"):
        for key, value in _metric_tags(flat).items():
            client.set_model_version_tag(name, str(target.version), key, value)
        info = _version_info(client, client.get_model_version(name, str(target.version)))
        if refresh_card:
            _write_card(client, info)
    return info
