"""Typed settings of the registry commands: which MLflow registry and which registered model."""

from __future__ import annotations

from dataclasses import dataclass

from ...infra.config import help_field

__all__ = ["RegistryConfig"]


@dataclass(kw_only=True, slots=True)
class RegistryConfig:
    """The registry and the registered model (``mirencoder registry list|promote``)."""

    name: str = help_field("mirencoder", "registered model name")
    tracking_uri: str | None = help_field(
        None, "MLflow registry (null: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/runs/mlflow.db)")
