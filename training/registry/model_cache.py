"""Pulling encoders from the registry into a local cache (``models:/``, ``runs:/``, folders).

A pulled model is downloaded once into ``<cache>/<name>-<version>-<hash>`` (the hash names the
registry, so that two registries' version 1 never collide) through a temporary sibling folder
renamed when complete, so that a crash never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from ...infra.errors import ConfigError, FatalError
from ...infra.tracking import resolve_tracking_uri, using_tracking_uri
from ..core.package_verify import PackageReference, folder_reference
from .model_registry import (
    ModelVersionInfo,
    get_version,
    quiet_mlflow,
    registry_errors,
)

__all__ = ["fetch_model", "fetch_package", "package_in_model_dir", "package_reference"]


def _check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fails fast (bounded) when the registry cannot answer, instead of MLflow's long retries."""
    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as resp:
                resp.read(64)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise FatalError(f"cannot reach the MLflow registry at {uri}: {error} (is the "
                             "server running? `python -m mirencoder.infra.mlflow_server`)"
                             ) from error
    elif uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):].split("?", 1)[0])
        if not db.exists():
            raise FatalError(f"no MLflow registry at {uri}: the database {db} does not exist "
                             "(register an encoder first, or set MLFLOW_TRACKING_URI)")


def _parse_models_uri(uri: str) -> tuple[str, str]:
    """``models:/name@alias`` -> (name, alias); ``models:/name/3`` -> (name, "3")."""
    body = uri[len("models:/"):].strip("/")
    if "@" in body:
        name, _, ref = body.partition("@")
    else:
        name, _, ref = body.rpartition("/")
    if not name or not ref:
        raise ConfigError(f"bad model URI {uri!r}: expected models:/NAME@ALIAS or "
                          "models:/NAME/VERSION")
    return name, ref


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:10]


def package_in_model_dir(model_dir: str | Path) -> Path:
    """The encoder package folder inside a downloaded MLflow model (or the folder itself).

    Raises:
        ConfigError: neither an encoder package nor an MLflow model of one.
        FatalError: an MLflow model whose encoder artifact is missing.
    """
    model_dir = Path(model_dir)
    if (model_dir / "encoder_config.json").is_file():
        return model_dir
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise ConfigError(f"{model_dir} is neither an encoder package (encoder_config.json) nor "
                          "an MLflow model (MLmodel)")
    import yaml

    try:
        spec = yaml.safe_load(mlmodel.read_text()) or {}
        rel = spec["flavors"]["python_function"]["artifacts"]["encoder"]["path"]
    except (KeyError, TypeError, yaml.YAMLError) as error:
        raise FatalError(f"corrupt model artifact {model_dir}: MLmodel names no encoder "
                         f"artifact ({error})") from error
    package = model_dir / rel
    if not package.is_dir():
        raise FatalError(f"corrupt model artifact {model_dir}: {rel} is missing")
    return package


def _download(artifact_uri: str, dest: Path, uri: str) -> Path:
    """Downloads into a temporary sibling, then renames (a crash never leaves a half cache)."""
    import shutil

    import mlflow

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent))
    try:
        with (using_tracking_uri(uri), registry_errors(uri, f"downloading {artifact_uri}"),
              quiet_mlflow()):
            local = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=artifact_uri, dst_path=str(tmp), tracking_uri=uri,
                registry_uri=uri))
        (local / ".mirencoder-complete").write_text(artifact_uri + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        local.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def fetch_package(uri_or_dir: str, *, tracking_uri: str | None = None,
                  cache_dir: str | Path | None = None, refresh: bool = False) -> Path:
    """The local encoder package folder of a model URI or path (see :func:`fetch_model`)."""
    return fetch_model(uri_or_dir, tracking_uri=tracking_uri, cache_dir=cache_dir,
                       refresh=refresh)[0]


def fetch_model(uri_or_dir: str, *, tracking_uri: str | None = None,
                cache_dir: str | Path | None = None,
                refresh: bool = False) -> tuple[Path, ModelVersionInfo | None]:
    """The local encoder package folder of a model URI or path, downloading it once.

    Args:
        uri_or_dir: ``models:/name@alias``, ``models:/name/version``, ``runs:/id/path``, or a
            local package / MLflow model folder.
        tracking_uri: the registry.
        cache_dir: cache root (default ``<repo>/runs/cache/models``); an entry is
            ``<name>-<version>-<hash>`` (the hash names the registry, so that two registries'
            version 1 never collide).
        refresh: download again even when cached.

    Returns:
        ``(package folder, registered version or None)``.

    Raises:
        ConfigError: unknown model/alias/version (known ones listed) or a bad path.
        FatalError: the registry cannot be reached, or the artifact is corrupt.
    """
    from ...infra.tracking import model_cache_dir

    text = str(uri_or_dir)
    if text.startswith("file://"):
        text = text[len("file://"):]
    if "://" not in text and not text.startswith(("models:/", "runs:/")):
        path = Path(text)
        if not path.exists():
            raise ConfigError(f"no encoder at {path} (give a package folder or a models:/ URI)")
        return package_in_model_dir(path), None
    uri = resolve_tracking_uri(tracking_uri)
    cache = Path(cache_dir) if cache_dir else model_cache_dir()
    _check_reachable(uri)
    info = None
    if text.startswith("models:/m-"):
        dest = cache / f"logged-{text[len('models:/'):]}-{_short_hash(uri)}"
        artifact_uri = text
    elif text.startswith("models:/"):
        name, ref = _parse_models_uri(text)
        info = get_version(ref, name=name, tracking_uri=uri)
        dest = cache / f"{name}-{info.version}-{_short_hash(uri, info.source, info.run_id or '')}"
        artifact_uri = info.model_uri
    elif text.startswith("runs:/"):
        dest = cache / f"run-{_short_hash(uri, text)}"
        artifact_uri = text
    else:
        raise ConfigError(f"unsupported model URI {text!r}: use models:/, runs:/ or a folder")
    if refresh or not (dest / ".mirencoder-complete").exists():
        _download(artifact_uri, dest, uri)
    return package_in_model_dir(dest), info


def package_reference(uri_or_dir: str, package_dir: Path, version: ModelVersionInfo | None, *,
                      sha256: str | None = None, lock_file: str | Path | None = None
                      ) -> PackageReference | None:
    """Where the expected sha256 sums of a fetched package come from, outside the package.

    In order: the caller's package digest (``sha256``) or ``lock_file``; the registered
    version's ``package_sha256``/``package_files`` tags (``models:/NAME@ALIAS`` and
    ``models:/NAME/VERSION``); a ``mirencoder.lock.json`` beside a local folder. None when
    there is none (``runs:/`` URIs, versions registered before the tags existed, bare
    folders): the loader then checks the package against its own list and warns.

    Raises:
        ConfigError: a named lock file that is missing or does not list the package.
        FatalError: unreadable or inconsistent ``package_*`` tags.
    """
    if sha256 or lock_file:
        return folder_reference(package_dir, sha256=sha256, lock_file=lock_file)
    if version is not None and version.tags.get("package_sha256"):
        source = f"registry version {version.name}/{version.version}"
        try:
            files = json.loads(version.tags.get("package_files") or "null")
        except ValueError as error:
            raise FatalError(f"{source}: unreadable package_files tag ({error})") from error
        return PackageReference(source=source, files=files,
                                package_sha256=version.tags["package_sha256"])
    if str(uri_or_dir).startswith(("models:/", "runs:/")):
        return None
    return folder_reference(package_dir)
