"""What the ``registry`` commands share: the registry and registered-model settings
(:class:`RegistryConfig`) as options, and their resolution."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.registry.registry_config import RegistryConfig

__all__ = ["add_registry_arguments", "resolve_registry_config"]


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``/``--set`` for the registry settings, with ``--name`` and ``--tracking-uri``."""
    add_config_arguments(parser, RegistryConfig, config_help="YAML file of registry settings")
    add_shorthand(parser, RegistryConfig, "name", "--name", metavar="NAME")
    add_shorthand(parser, RegistryConfig, "tracking_uri", "--tracking-uri", metavar="URI")


def resolve_registry_config(args: argparse.Namespace) -> RegistryConfig | None:
    """The resolved settings; ``None`` when ``--dry-run`` printed them (the command is done)."""
    config = config_from_args(RegistryConfig, args)
    if print_if_dry_run(config, args, "resolved registry configuration"):
        return None
    return config
