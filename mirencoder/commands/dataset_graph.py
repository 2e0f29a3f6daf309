"""``mirencoder dataset graph FILE --out graph.png``: draws one program's graph."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    help_field,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.errors import ConfigError, InputError
from mirencoder.infra.files import output_file_problem
from mirencoder.pipelines.compile import CompileConfig

__all__ = ["add_arguments", "run", "GraphConfig"]


@dataclass(kw_only=True, slots=True)
class GraphConfig:
    """How one program's graph is drawn."""

    max_nodes: int = help_field(400, "larger graphs are cut to about this many nodes")
    compile: CompileConfig = field(default_factory=CompileConfig)

    def __post_init__(self) -> None:
        if self.max_nodes < 1:
            raise ConfigError(f"max_nodes must be >= 1, got {self.max_nodes}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path,
                        help="a .ll/.bc file, or a C, C++, OpenCL or CUDA source (compiled first)")
    parser.add_argument("--out", type=Path, default=Path("graph.png"), help="the PNG to write")
    add_config_arguments(parser, GraphConfig, config_help="YAML file of drawing settings")
    add_shorthand(parser, GraphConfig, "max_nodes", "--max-nodes", metavar="N")
    add_shorthand(parser, GraphConfig, "compile.opt_level", "--opt-level", metavar="LEVEL",
                  help="optimisation level when FILE is a source (O0..O3, Os, Oz)")
    parser.add_argument("-I", "--include-dir", action="append", default=[], type=Path,
                        help="include folder for a source FILE (repeatable)")


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.frontend.loader import FrontEnd
    from mirencoder.pipelines.frontend.views import graph_view
    from mirencoder.pipelines.ir.draw_graph import draw_graph

    config = config_from_args(GraphConfig, args)
    if print_if_dry_run(config, args, "resolved drawing configuration"):
        return 0
    if not args.file.is_file():
        raise ConfigError(f"{args.file}: no such file")
    refuse_unusable_outputs(("--out", output_file_problem(args.out, (".png",))))
    frontend = FrontEnd(config.compile)
    try:
        ir = frontend.program(args.file, include_dirs=tuple(args.include_dir))
        graph = graph_view(ir)
    except InputError as error:
        print(f"mirencoder: {args.file}: {error.reason}: {error}")
        return 1
    out = draw_graph(graph, args.out, title=args.file.name, max_nodes=config.max_nodes)
    print(f"{args.file}: {ir.num_functions} functions, {ir.num_instructions} instructions, "
          f"{graph.num_nodes} nodes, {graph.num_edges} edges -> {out}")
    return 0
