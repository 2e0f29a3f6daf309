"""The ``mirencoder`` command line: one table of commands, each a thin module.

Every command module exposes ``add_arguments(parser)`` and ``run(args) -> int``; it only
parses, builds the typed config and calls a library function. Modules are imported lazily
so that ``mirencoder --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mirencoder import __version__
from mirencoder.infra.errors import ConfigError, FatalError, MirError

__all__ = ["COMMANDS", "main", "build_parser"]

# (command words) -> (module, one-line help). The README's command list is checked against
# this table by tests/test_cli.py.
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("dataset", "build"): ("mirencoder.commands.dataset_build",
                           "compile inputs to IR and write token + graph shards"),
    ("dataset", "inspect"): ("mirencoder.commands.dataset_inspect",
                             "summarise a built dataset folder"),
    ("dataset", "graph"): ("mirencoder.commands.dataset_graph",
                           "draw one program's ProGraML-style graph to a PNG"),
    ("dataset", "decision-labels"): ("mirencoder.commands.dataset_decision_labels",
                                     "label a dataset's sources with clang -O3's loop "
                                     "vectoriser decisions"),
    ("pretrain",): ("mirencoder.commands.pretrain",
                    "pre-train the multi-modal encoder on a built dataset"),
    ("pretrain", "export"): ("mirencoder.commands.pretrain_export",
                             "write a pre-training checkpoint's encoder as a package"),
    ("pretrain", "twin"): ("mirencoder.commands.pretrain_twin",
                           "write an encoder's untrained twin (random weights) as a package"),
    ("registry", "list"): ("mirencoder.commands.registry_list",
                           "list registered encoder versions with lineage and metrics"),
    ("registry", "register"): ("mirencoder.commands.registry_register",
                               "register a finished run (or an encoder package) as a new version"),
    ("registry", "promote"): ("mirencoder.commands.registry_promote",
                              "move an alias (e.g. champion) to an encoder version"),
    ("embed",): ("mirencoder.commands.embed",
                 "embed source or IR files with a registered or local encoder"),
    ("embed", "basis"): ("mirencoder.commands.embed_basis",
                         "fit an encoder's principal basis on its pre-training corpus"),
    ("eval", "devmap"): ("mirencoder.commands.eval_devmap",
                         "heterogeneous device mapping (CGO'17) evaluation"),
    ("eval", "thread-coarsening"): ("mirencoder.commands.eval_thread_coarsening",
                                    "thread coarsening factor (PACT'14) evaluation"),
    ("eval", "probes"): ("mirencoder.commands.eval_probes",
                         "probes of representation quality on held-out programs "
                         "(optimisation-invariance retrieval, compiler decisions)"),
    ("demo",): ("mirencoder.commands.demo",
                "the whole path on the bundled demo corpus: build, pretrain, register, "
                "embed, evaluate"),
}


# What an interrupted command keeps, so that its hint is true: these resume when rerun.
_RESUMES = {("dataset", "build"): "finished parts are kept",
            ("embed",): "finished segments are kept in the output's .partial folder",
            ("dataset", "decision-labels"): "clang's outputs are cached",
            ("demo",): "its build and pre-training are kept"}


def interrupted_hint(words: tuple[str, ...], argv: list[str]) -> str:
    """What to do after Ctrl-C, true for the command that was running."""
    if words in _RESUMES:
        return f"rerun the same command to resume ({_RESUMES[words]})"
    if words == ("pretrain",):
        return ("rerun the same command to continue from the last checkpoint" if "--resume" in argv
                else "add --resume to the same command to continue from the last checkpoint")
    return "nothing of this run was kept; rerun the command to start it again"


def _command_words(argv: list[str]) -> tuple[str, ...] | None:
    for words in sorted(COMMANDS, key=len, reverse=True):
        if tuple(argv[: len(words)]) == words:
            return words
    return None


def build_parser(words: tuple[str, ...]) -> argparse.ArgumentParser:
    """Builds the parser of one command, importing only that command's module."""
    module_name, help_text = COMMANDS[words]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog="mirencoder " + " ".join(words), description=help_text,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)
    return parser


def _usage() -> str:
    lines = [f"mirencoder {__version__}", "", "usage: mirencoder COMMAND [options]", "",
             "commands:"]
    for words, (_, help_text) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<28} {help_text}")
    lines.append("\nRun `mirencoder COMMAND --help` for the options of one command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(__version__)
        return 0
    words = _command_words(argv)
    if words is None:
        print(f"mirencoder: unknown command {' '.join(argv[:2])!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    args = build_parser(words).parse_args(argv[len(words):])
    try:
        return int(args._run(args) or 0)
    except ConfigError as error:
        print(f"mirencoder: configuration error: {error}", file=sys.stderr)
        return 2
    except (FatalError, MirError) as error:
        print(f"mirencoder: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mirencoder: interrupted; {interrupted_hint(words, argv)}", file=sys.stderr)
        return 130
