"""The one configuration engine: dict -> typed config, YAML, overrides, errors, dry run."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    config_from_dict,
    config_to_dict,
    config_to_yaml,
    field_help,
    help_field,
    load_config,
    print_if_dry_run,
)
from mirencoder.infra.errors import ConfigError


@dataclass(kw_only=True, slots=True)
class Inner:
    """A nested section."""

    rate: float = help_field(0.5, "a rate in [0, 1]")
    names: list[str] = field(default_factory=lambda: ["a"])
    """Names, documented by the docstring under the field."""
    seeds: tuple[int, ...] = (1, 2)
    where: Path = Path("/tmp")
    label: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ConfigError("inner.rate must be in [0, 1]")


@dataclass(kw_only=True, slots=True)
class Outer:
    """A config with one section."""

    name: str = help_field("x", "the name")
    steps: int = help_field(10, "how many steps")
    enabled: bool = help_field(False, "a switch")
    inner: Inner = field(default_factory=Inner)


def test_overrides_are_converted_by_the_field_annotation():
    config = load_config(Outer, None, ["steps=3", "enabled=yes", "inner.rate=1e-1", "name=007",
                                       "inner.names=b, c", "inner.seeds=[4, 5]",
                                       "inner.where=/data", "inner.label=null"])
    assert config.steps == 3 and config.enabled is True and config.name == "007"
    assert config.inner.rate == 0.1 and config.inner.names == ["b", "c"]
    assert config.inner.seeds == (4, 5) and config.inner.where == Path("/data")
    assert config.inner.label is None
    assert load_config(Outer, None, ["inner.label=text"]).inner.label == "text"
    # An integral number in a float field stays an int, as YAML reads it (stable hashes).
    assert load_config(Outer, None, ["inner.rate=1"]).inner.rate == 1


def test_merge_order_defaults_base_yaml_overrides(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 20\ninner: {rate: 0.25}\n")
    config = load_config(Outer, path, ["steps=30"], base={"steps": 5, "name": "base"})
    assert (config.steps, config.name, config.inner.rate) == (30, "base", 0.25)
    assert load_config(Outer, path).steps == 20
    empty = tmp_path / "empty.yaml"
    empty.write_text("inner:\n")  # an empty section: the defaults
    assert load_config(Outer, empty).inner == Inner()


def test_every_problem_is_reported_at_once(tmp_path: Path):
    with pytest.raises(ConfigError) as error:
        load_config(Outer, None, ["stepz=1", "inner.nope=2", "steps=many", "enabled=maybe",
                                  "inner.rate=2", "name.deeper=1", "no-equals-sign",
                                  "inner=3"])
    problems = error.value.problems
    assert any(p.startswith("stepz: unknown key (valid: name, steps, enabled, inner)")
               for p in problems)
    assert any("inner.nope: unknown key (valid: rate, names, seeds, where, label)" in p
               for p in problems)
    assert any("steps: expected int" in p for p in problems)
    assert any("enabled: expected true or false" in p for p in problems)
    assert any("name is a setting, not a section" in p for p in problems)
    assert any("no-equals-sign" in p for p in problems)
    assert any("inner is a section" in p for p in problems)
    with pytest.raises(ConfigError, match=r"inner.rate must be in \[0, 1\]"):
        load_config(Outer, None, ["inner.rate=2"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Outer, tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="steps: expected int, got '3'"):
        config_from_dict(Outer, {"steps": "3"})  # YAML values are not re-parsed


def test_yaml_round_trip():
    config = load_config(Outer, None, ["inner.names=p,q", "inner.label=l", "enabled=true"])
    text = config_to_yaml(config)
    data = yaml.safe_load(text)
    assert data["inner"]["seeds"] == [1, 2] and data["inner"]["where"] == "/tmp"
    assert list(data) == [f.name for f in dataclasses.fields(Outer)]  # declaration order
    assert config_from_dict(Outer, data) == config
    assert config_to_dict(config_from_dict(Outer, data)) == data


def test_field_help_reads_metadata_and_field_docstrings():
    helps = field_help(Outer)
    assert list(helps) == ["name", "steps", "enabled", "inner.rate", "inner.names", "inner.seeds",
                           "inner.where", "inner.label"]
    assert helps["steps"] == ("how many steps", 10)
    assert helps["inner.names"] == ("Names, documented by the docstring under the field.", ["a"])


def test_command_line_dry_run_and_shorthands_in_order(tmp_path: Path, capsys):
    parser = argparse.ArgumentParser(prog="x")
    add_config_arguments(parser, Outer)
    add_shorthand(parser, Outer, "steps", "--steps")
    add_shorthand(parser, Outer, "enabled", "--on", const="true")
    path = tmp_path / "c.yaml"
    path.write_text("name: from-file\nsteps: 2\n")
    args = parser.parse_args(["--config", str(path), "--set", "steps=4", "--steps", "5", "--on",
                              "--set", "inner.rate=0", "--dry-run"])
    assert args.overrides == ["steps=4", "steps=5", "enabled=true", "inner.rate=0"]
    config = config_from_args(Outer, args)
    assert (config.name, config.steps, config.enabled, config.inner.rate) == ("from-file", 5, True, 0)
    assert print_if_dry_run(config, args, "resolved")
    out = capsys.readouterr().out
    assert out.startswith("# resolved\nname: from-file\nsteps: 5\nenabled: true\ninner:\n")
    assert yaml.safe_load(out) == config_to_dict(config)
    assert not print_if_dry_run(config, parser.parse_args([]))
    assert "inner.names = ['a']" in parser.format_help()  # every setting listed in --help
