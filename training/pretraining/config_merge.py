"""Resolves a PretrainConfig: dataclass defaults → YAML recipe → ``--section.key=value`` overrides.

This is the only place that merges configuration. Every problem (unknown section or key, a
value of the wrong type) is collected first and raised as one :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml

from ...infra.errors import ConfigError
from .config import SECTIONS, PretrainConfig

__all__ = ["resolve_config", "config_from_dict", "config_to_yaml", "parse_override",
           "field_help"]


def parse_override(text: str) -> tuple[str, Any]:
    """Splits ``section.key=value`` (value parsed as YAML, so ``3`` is an int, ``true`` a bool)."""
    key, sep, value = text.lstrip("-").partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} is not of the form --section.key=value")
    return key, yaml.safe_load(value) if value != "" else ""


def _coerce(value: Any, annotation: Any, where: str, problems: list[str]) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads "3e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    problems.append(f"{where}: expected {annotation.__name__}, got {value!r}")
    return None


def config_from_dict(data: dict, *, base: PretrainConfig | None = None) -> PretrainConfig:
    """Builds a PretrainConfig from a nested dict laid over ``base`` (default: the defaults).

    Raises:
        ConfigError: listing every unknown key and every wrongly typed value.
    """
    merged = (base or PretrainConfig()).to_dict()
    problems: list[str] = []
    for key, value in (data or {}).items():
        if key == "name":
            merged["name"] = str(value)
        elif key in SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(f"{key}: expected a mapping, got {value!r}")
                continue
            hints = typing.get_type_hints(SECTIONS[key])
            for name, item in value.items():
                if name not in hints:
                    known = ", ".join(f.name for f in dataclasses.fields(SECTIONS[key]))
                    problems.append(f"unknown key {key}.{name} (known: {known})")
                    continue
                coerced = _coerce(item, hints[name], f"{key}.{name}", problems)
                if coerced is not None:
                    merged[key][name] = coerced
        else:
            problems.append(f"unknown section {key!r} (known: name, {', '.join(SECTIONS)})")
    # Build every section even after a problem, so that one error lists all of them.
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        try:
            sections[name] = cls(**merged[name])
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    try:
        return PretrainConfig(name=merged["name"], **sections)
    except ConfigError as error:
        raise ConfigError(problems + error.problems) from None


def resolve_config(yaml_path: str | Path | None, overrides: list[str] | dict[str, Any] = ()
                   ) -> PretrainConfig:
    """Defaults, then the YAML file, then the overrides (``["model.d_model=64", ...]``)."""
    data: dict = {}
    if yaml_path is not None:
        path = Path(yaml_path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of sections")
    config = config_from_dict(data)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    layered: dict[str, Any] = {}
    for key, value in items:
        if key == "name":
            layered["name"] = value
            continue
        section, _, name = key.partition(".")
        if not name:
            raise ConfigError(f"override {key!r} must name section.key")
        layered.setdefault(section, {})[name] = value
    return config_from_dict(layered, base=config) if layered else config


def config_to_yaml(config: PretrainConfig) -> str:
    """The resolved config as YAML (saved next to checkpoints and logged to MLflow)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def field_help() -> dict[str, tuple[str, Any]]:
    """``{"section.key": (help, default)}`` for every field (the CLI's ``--help``)."""
    out: dict[str, tuple[str, Any]] = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            out[f"{section}.{f.name}"] = (f.metadata.get("help", ""), default)
    return out
