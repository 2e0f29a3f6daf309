"""Field helpers shared by every typed configuration (build, pre-training, evaluation,
embedding, tracking server).

A configuration is a tree of ``@dataclass(kw_only=True, slots=True)`` classes whose fields
carry their help text in ``metadata["help"]``; ``__post_init__`` collects every problem and
raises one :class:`ConfigError` naming them all.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from .errors import ConfigError

__all__ = ["help_field", "check", "raise_problems"]


def help_field(default: Any, help: str) -> Any:  # noqa: A002 - mirrors argparse's name
    """A dataclass field with a default and its one-line help (shown by ``--help``)."""
    return field(default=default, metadata={"help": help})


def check(problems: list[str], ok: bool, message: str) -> None:
    """Appends ``message`` to ``problems`` unless ``ok``."""
    if not ok:
        problems.append(message)


def raise_problems(problems: list[str], section: str) -> None:
    """Raises one ConfigError listing every problem, each prefixed with ``section.``."""
    if problems:
        raise ConfigError([f"{section}.{p}" for p in problems])
