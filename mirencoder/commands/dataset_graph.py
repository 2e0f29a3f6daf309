"""``mirencoder dataset graph FILE --out graph.png``: draws one program's graph."""

from __future__ import annotations

import argparse
from pathlib import Path

from mirencoder.infra.errors import ConfigError, InputError

__all__ = ["add_arguments", "run", "file_to_bitcode_or_text"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path,
                        help="a .ll/.bc file, or a C, C++, OpenCL or CUDA source (compiled first)")
    parser.add_argument("--out", type=Path, default=Path("graph.png"), help="the PNG to write")
    parser.add_argument("--max-nodes", type=int, default=400,
                        help="larger graphs are cut to about this many nodes")
    parser.add_argument("--opt-level", default="O2",
                        help="optimisation level when FILE is a source (O0..O3, Os, Oz)")
    parser.add_argument("-I", "--include-dir", action="append", default=[], type=Path,
                        help="include folder for a source FILE (repeatable)")


def file_to_bitcode_or_text(path: Path, *, opt_level: str = "O2",
                            include_dirs: tuple[Path, ...] = ()) -> tuple[bytes, str | None]:
    """Reads IR as is, or compiles a source file to bitcode with the build's compile stage.

    Returns:
        ``(data, llvm_as)``: the bytes for :func:`normalize_ir` and the llvm-as to use.
    """
    from mirencoder.pipelines.compile import (
        CompileConfig,
        Toolchain,
        compile_to_bitcode,
        detect_language,
    )

    language = detect_language(path)
    if language is None:
        raise InputError("unsupported_language",
                         f"{path}: unknown file type (use .ll, .bc, .c, .cpp, .cl, .cu)")
    if language == "ir":
        return path.read_bytes(), None
    config = CompileConfig(opt_level=opt_level)
    toolchain = Toolchain.probe(config)
    return (compile_to_bitcode(path, language, toolchain, config, include_dirs),
            toolchain.llvm_as)


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.ir.draw_graph import draw_graph
    from mirencoder.pipelines.ir.graph import build_graph
    from mirencoder.pipelines.ir.normalize import normalize_ir

    if args.max_nodes < 1:
        raise ConfigError(f"--max-nodes must be >= 1, got {args.max_nodes}")
    if not args.file.is_file():
        raise ConfigError(f"{args.file}: no such file")
    try:
        data, llvm_as = file_to_bitcode_or_text(args.file, opt_level=args.opt_level,
                                                include_dirs=tuple(args.include_dir))
        ir = normalize_ir(data, llvm_as=llvm_as)
        graph = build_graph(ir)
    except InputError as error:
        print(f"mirencoder: {args.file}: {error.reason}: {error}")
        return 1
    out = draw_graph(graph, args.out, title=args.file.name, max_nodes=args.max_nodes)
    print(f"{args.file}: {ir.num_functions} functions, {ir.num_instructions} instructions, "
          f"{graph.num_nodes} nodes, {graph.num_edges} edges -> {out}")
    return 0
