"""What the registered MLflow pyfunc is made of besides the package: the model-from-code file,
its inference parameters (signature) and its pinned pip requirements."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from ...infra.errors import FatalError
from ..core.package_verify import DEFAULT_BASIS_VARIANCE

__all__ = ["PYFUNC_CODE_PATH", "pyfunc_signature", "pyfunc_requirements"]

# The MLflow "model from code" file. MLflow runs it as a script, so it lives beside the CLI
# (absolute imports, above every library layer); it is named here, never imported.
PYFUNC_CODE_PATH = Path(importlib.util.find_spec("mirencoder.pyfunc_model").origin)
# Loading the pyfunc needs the mirencoder package itself (not on PyPI) plus these of its
# dependencies, pinned as the project declares them (see `pyfunc_requirements`).
_PYFUNC_DEPENDENCIES = ("mlflow", "torch", "torch-geometric", "safetensors", "tokenizers",
                        "llvmlite", "numpy", "pyarrow")
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _declared_dependencies() -> list[str]:
    """The project's dependency specifiers: ``pyproject.toml`` when running from the source
    tree, else the installed distribution's metadata."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.exists():
        import tomllib

        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == "mirencoder":
            return list(project.get("dependencies", []))
    from importlib.metadata import PackageNotFoundError, requires

    try:
        return list(requires("mirencoder") or [])
    except PackageNotFoundError:
        return []


def pyfunc_signature() -> Any:
    """The served model's inference parameters (no input schema: the pyfunc takes several
    input forms, ``mirencoder/pyfunc_model.py``): which output, and the principal basis the
    package ships (``basis="package"``) with how many of its directions are kept. MLflow drops
    params a signature does not declare."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ModelSignature(params=ParamSchema([
        ParamSpec("modality", "string", "fused"), ParamSpec("basis", "string", ""),
        ParamSpec("basis_variance", "double", DEFAULT_BASIS_VARIANCE), ParamSpec("basis_dims", "long", 0)]))


def pyfunc_requirements() -> list[str]:
    """The pip requirements of a logged pyfunc (besides ``mirencoder`` itself): the pins of
    ``_PYFUNC_DEPENDENCIES`` as the project declares them (``torch==2.13.0``, ...).

    Raises:
        FatalError: when the project declares one of them nowhere.
    """
    pins = {}
    for spec in _declared_dependencies():
        if ";" in spec:  # optional extras and platform-specific requirements
            continue
        name = _REQUIREMENT_NAME.match(spec)
        if name is not None:
            pins[re.sub(r"[-_.]+", "-", name[1]).lower()] = spec.strip()
    missing = [name for name in _PYFUNC_DEPENDENCIES if name not in pins]
    if missing:
        raise FatalError(f"cannot pin the pyfunc's requirements: the mirencoder project "
                         f"declares no dependency on {', '.join(missing)}")
    return [pins[name] for name in _PYFUNC_DEPENDENCIES]
