"""The one configuration engine of every command (build, pre-training, evaluation, embedding,
tracking server).

A configuration is a tree of ``@dataclass(kw_only=True, slots=True)`` classes. Each field
carries a one-line help, in ``metadata["help"]`` (:func:`help_field`) or as the docstring under
the field; ``__post_init__`` collects every problem and raises one :class:`ConfigError`.

Merge order, done only by :func:`load_config`: dataclass defaults, then a command's own
defaults (``base``), then the YAML file (``--config FILE``), then ``--set section.key=value``
overrides in command-line order. Override values are strings, converted by the annotation of
the field they set. Unknown keys, wrongly typed values and failed checks are all collected and
raised as one :class:`ConfigError`. ``--dry-run`` prints the resolved config as YAML
(:func:`config_to_yaml`). :func:`add_config_arguments` gives a command ``--config``, ``--set``
and ``--dry-run``; :func:`add_shorthand` adds a named flag that is sugar for one ``--set``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError

__all__ = ["help_field", "check", "raise_problems", "config_from_dict", "config_to_dict",
           "config_to_yaml", "read_yaml_mapping", "parse_override", "load_config", "field_help",
           "add_config_arguments", "add_shorthand", "config_from_args", "print_if_dry_run",
           "refuse_unusable_outputs"]

T = TypeVar("T")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NULL = {"", "null", "none", "~"}


def help_field(default: Any, help: str) -> Any:  # noqa: A002 - mirrors argparse's name
    """A dataclass field with a default and its one-line help (shown by ``--help``)."""
    return field(default=default, metadata={"help": help})


def check(problems: list[str], ok: bool, message: str) -> None:
    """Appends ``message`` to ``problems`` unless ``ok``."""
    if not ok:
        problems.append(message)


def refuse_unusable_outputs(*checks: tuple[str, str | None]) -> None:
    """Before a command's work: one ConfigError naming every ``(flag, problem)`` whose problem
    (from :func:`infra.files.output_file_problem` / ``output_folder_problem``) is set."""
    problems = [f"{flag} {problem}" for flag, problem in checks if problem]
    if problems:
        raise ConfigError(problems if len(problems) > 1 else problems[0])


def raise_problems(problems: list[str], section: str) -> None:
    """Raises one ConfigError listing every problem, each prefixed with ``section.``."""
    if problems:
        raise ConfigError([f"{section}.{p}" for p in problems])


# ---------------------------------------------------------------- dict -> typed config


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _located(problem: str, where: str) -> str:
    """Prefixes a check's message with its section unless it already names it."""
    if not where or problem.startswith((where + ".", where + ":", where + " ")):
        return problem
    return f"{where}: {problem}"


def _build(cls: type, data: Any, where: str, problems: list[str]) -> Any:
    """One dataclass from a mapping; appends problems and returns None when it cannot."""
    scalar_field = getattr(cls, "_scalar_field", None)
    if scalar_field and isinstance(data, str | Path):
        data = {scalar_field: str(data)}
    if not isinstance(data, Mapping):
        problems.append(f"{where or cls.__name__}: expected a mapping, got {data!r}")
        return None
    fields, hints = _init_fields(cls), _hints(cls)
    for key in data:
        if key not in fields:
            problems.append(f"{_join(where, str(key))}: unknown key (valid: "
                            f"{', '.join(fields)})")
    before = len(problems)
    kwargs = {name: _coerce(value, hints[name], _join(where, name), problems)
              for name, value in data.items() if name in fields}
    missing = [name for name, f in fields.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    problems.extend(f"{_join(where, name)}: required" for name in missing)
    if len(problems) > before:  # unknown keys alone still let the checks below speak
        return None
    try:
        return cls(**kwargs)
    except ConfigError as error:
        problems.extend(_located(p, where) for p in error.problems)
    except (TypeError, ValueError) as error:
        problems.append(_located(str(error), where))
    return None


def _coerce(value: Any, annotation: Any, where: str, problems: list[str]) -> Any:
    """Checks (and, where lossless, converts) a value read from YAML or given in Python."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            attempt: list[str] = []
            result = _coerce(value, option, where, attempt)
            if not attempt:
                return result
        problems.append(f"{where}: expected {_type_name(annotation)}, got {value!r}")
        return None
    if _is_section(annotation):
        if isinstance(value, annotation):
            return value
        # An empty YAML section (every key commented out) reads as None: the defaults.
        return _build(annotation, {} if value is None else value, where, problems)
    if origin in (list, tuple, Sequence):
        if not isinstance(value, list | tuple):
            problems.append(f"{where}: expected a list, got {value!r}")
            return None
        item_type = args[0] if args else Any
        items = [_coerce(v, item_type, f"{where}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            problems.append(f"{where}: expected a mapping, got {value!r}")
            return None
        key_type, value_type = args or (Any, Any)
        return {_coerce(k, key_type, where, problems):
                _coerce(v, value_type, f"{where}.{k}", problems) for k, v in value.items()}
    if origin is typing.Literal:
        if value in args:
            return value
        problems.append(f"{where}: expected one of {list(args)}, got {value!r}")
        return None
    ok, result = _scalar(value, annotation)
    if not ok:
        problems.append(f"{where}: expected {_type_name(annotation)}, got {value!r}")
    return result


def _scalar(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(ok, value) for the scalar annotations; ints stay ints in float fields, as written, so
    that the hash of a recipe does not depend on how its numbers are spelled."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is float:
        if is_number:
            return True, value
        if isinstance(value, str):  # PyYAML reads "3e-3" (no dot) as a string
            try:
                return True, float(value)
            except ValueError:
                return False, None
        return False, None
    if annotation is str:
        return ((True, str(value)) if isinstance(value, str | Path) or is_number
                else (False, None))
    if annotation is Path:
        return (True, Path(value)) if isinstance(value, str | Path) else (False, None)
    if isinstance(annotation, type):
        return isinstance(value, annotation), value
    return True, value


def config_from_dict(cls: type[T], data: Mapping[str, Any] | None, *, where: str = "") -> T:
    """Builds ``cls`` (nested sections included) from a plain nested dict over its defaults.

    Raises:
        ConfigError: listing every unknown key, wrongly typed value and failed check.
    """
    problems: list[str] = []
    config = _build(cls, data or {}, where, problems)
    if problems:
        raise ConfigError(problems)
    return config


# ---------------------------------------------------------------- typed config -> dict / YAML


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain (YAML- and JSON-ready) nested dict: sections as dicts, tuples as lists, paths as
    strings; :func:`config_from_dict` turns it back into the same config."""
    return _plain(config)


def config_to_yaml(config: Any) -> str:
    """The config as YAML, fields in declaration order (``--dry-run``, saved beside runs)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


# ---------------------------------------------------------------- overrides and files


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file (an empty file gives ``{}``).

    Raises:
        ConfigError: a missing file, invalid YAML, or a top level that is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    return data


def parse_override(text: str) -> tuple[str, str]:
    """Splits ``section.key=value`` into ``("section.key", "value")``.

    Raises:
        ConfigError: no ``=`` or no key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form section.key=value")
    return key.strip(), value


def _parse_text(text: str, annotation: Any, where: str, problems: list[str]) -> Any:
    """Converts an override string by the annotation of the field it sets."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    stripped = text.strip()
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and stripped.lower() in _NULL:
            return None
        for option in (a for a in args if a is not type(None)):
            attempt: list[str] = []
            result = _parse_text(text, option, where, attempt)
            if not attempt:
                return result
        problems.append(f"{where}: expected {_type_name(annotation)}, got {text!r}")
        return None
    if annotation is str:
        return text
    if annotation is Path:
        return Path(stripped)
    if annotation is bool:
        if stripped.lower() in _TRUE | _FALSE:
            return stripped.lower() in _TRUE
        problems.append(f"{where}: expected true or false, got {text!r}")
        return None
    if annotation in (int, float):
        # "60" in a float field stays the int 60, as YAML reads it (see _scalar).
        for number in (int, float) if annotation is float else (int,):
            try:
                return number(stripped)
            except ValueError:
                pass
        problems.append(f"{where}: expected {annotation.__name__}, got {text!r}")
        return None
    if origin in (list, tuple, Sequence) and not stripped.startswith("["):
        # "a,b,c" (or "" for an empty list); each item converted by the item type.
        item_type = args[0] if args else str
        items = [_parse_text(part.strip(), item_type, where, problems)
                 for part in stripped.split(",") if part.strip()]
        return tuple(items) if origin is tuple else items
    if _is_section(annotation):
        problems.append(f"{where} is a section: set {where}.KEY=VALUE")
        return None
    try:
        return yaml.safe_load(stripped) if stripped else ""
    except yaml.YAMLError as error:
        problems.append(f"{where}: not valid YAML ({error.__class__.__name__}): {text!r}")
        return None


def _apply_override(cls: type, data: dict[str, Any], dotted: str, value: Any,
                    problems: list[str]) -> None:
    """Sets ``data[a][b]... = value`` after checking the dotted path against ``cls``."""
    keys = dotted.split(".")
    target, section = data, cls
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth + 1])
        fields = _init_fields(section)
        if key not in fields:
            problems.append(f"{where}: unknown key (valid: {', '.join(fields)})")
            return
        annotation = _hints(section)[key]
        if depth == len(keys) - 1:
            if isinstance(value, str):
                before = len(problems)
                value = _parse_text(value, annotation, where, problems)
                if len(problems) > before:
                    return
            target[key] = value
            return
        if not _is_section(annotation):
            problems.append(f"{where} is a setting, not a section")
            return
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target, section = target[key], annotation


def _deep_merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(cls: type[T], yaml_path: str | Path | None = None,
                overrides: Sequence[str] | Mapping[str, Any] = (), *,
                base: Mapping[str, Any] | None = None) -> T:
    """Resolves a config: defaults, ``base``, the YAML file, then the overrides.

    Args:
        cls: the config's dataclass.
        yaml_path: a YAML file of (nested) settings, or None.
        overrides: ``["section.key=value", ...]`` (strings, converted by the field's
            annotation) or ``{"section.key": value}`` (values as they are; strings converted).
        base: a command's own defaults, as a nested dict laid under the YAML file.

    Raises:
        ConfigError: listing every problem (bad file, unknown key, wrong type, failed check).
    """
    data = _deep_merge(base or {}, read_yaml_mapping(yaml_path) if yaml_path else {})
    problems: list[str] = []
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    for item in items:
        try:
            key, value = item if isinstance(overrides, Mapping) else parse_override(item)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        _apply_override(cls, data, key, value, problems)
    try:
        config = config_from_dict(cls, data)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return config


# ---------------------------------------------------------------- help


@functools.cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` of the docstrings written under fields (this class and bases)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:], strict=False):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def field_help(cls: type, prefix: str = "") -> dict[str, tuple[str, Any]]:
    """``{"section.key": (help, default)}`` of every setting, nested sections flattened
    (``default`` is ``dataclasses.MISSING`` for a required one)."""
    out: dict[str, tuple[str, Any]] = {}
    docs, hints = _attribute_docs(cls), _hints(cls)
    for name, f in _init_fields(cls).items():
        key = _join(prefix, name)
        if _is_section(hints[name]):
            out.update(field_help(hints[name], key))
        else:
            out[key] = (f.metadata.get("help") or docs.get(name, ""), _default(f))
    return out


def _settings_epilog(cls: type) -> str:
    lines = ["settings (YAML keys of --config; --set KEY=VALUE):"]
    for key, (text, default) in field_help(cls).items():
        shown = "required" if default is dataclasses.MISSING else repr(_plain(default))
        lines.append(f"  {key} = {shown}")
        if text:
            lines += textwrap.wrap(text, width=92, initial_indent="      ",
                                   subsequent_indent="      ")
    return "\n".join(lines)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Option defaults shown, and the settings list (the epilog) kept as laid out."""


# ---------------------------------------------------------------- command line


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, *,
                         config_flags: Sequence[str] = ("--config",),
                         config_help: str = "YAML file of settings") -> None:
    """Adds ``--config FILE``, ``--set KEY=VALUE`` (repeatable) and ``--dry-run``, and lists
    every setting of ``cls`` with its help and default at the end of ``--help``."""
    parser.add_argument(*config_flags, dest="config", metavar="FILE", default=None,
                        help=config_help)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override one setting (repeatable; applied after --config, in "
                             "command-line order; keys listed below)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved configuration as YAML and exit")
    parser.formatter_class = _HelpFormatter
    parser.epilog = _settings_epilog(cls)


class _SetAction(argparse.Action):
    """Appends ``KEY=VALUE`` to ``--set``'s list, so a shorthand is exactly one override."""

    def __init__(self, option_strings, dest, *, key: str, const_text: str | None = None,
                 **kwargs):
        self.key, self.const_text = key, const_text
        super().__init__(option_strings, "overrides",
                         nargs=0 if const_text is not None else None, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, "overrides", None) or [])
        text = self.const_text if self.const_text is not None else values
        items.append(f"{self.key}={text}")
        namespace.overrides = items


def add_shorthand(parser: argparse.ArgumentParser | Any, cls: type, key: str, *flags: str,
                  const: str | None = None, help: str | None = None,  # noqa: A002
                  **kwargs: Any) -> None:
    """Adds a flag that stands for ``--set key=VALUE`` (or ``--set key=CONST`` with ``const``,
    a flag without a value); its help defaults to the setting's help and default."""
    text, default = field_help(cls)[key]
    shown = ("" if help is not None or default is dataclasses.MISSING
             else f" (default: {_plain(default)!r})")
    help_text = (help or text).replace("%", "%%") + shown + f" [--set {key}=...]"
    parser.add_argument(*flags, action=_SetAction, key=key, const_text=const,
                        default=argparse.SUPPRESS, help=help_text, **kwargs)


def config_from_args(cls: type[T], args: argparse.Namespace, *,
                     find: Callable[[str], Path] | None = None,
                     base: Mapping[str, Any] | None = None) -> T:
    """The config of a command: :func:`load_config` with ``--config`` (looked up by ``find``,
    e.g. a bundled name) and the ``--set`` overrides and shorthands, in order."""
    path = args.config
    if path is not None and find is not None:
        path = find(path)
    return load_config(cls, path, list(args.overrides), base=base)


def print_if_dry_run(config: Any, args: argparse.Namespace, header: str = "") -> bool:
    """With ``--dry-run``: prints ``header`` (as a comment) and the config as YAML; True."""
    if not getattr(args, "dry_run", False):
        return False
    if header:
        print(f"# {header}")
    print(config_to_yaml(config), end="")
    return True
