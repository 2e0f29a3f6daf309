"""Graph drawing and the `mirencoder dataset graph` command."""

from __future__ import annotations

import struct

from ir_fixtures import C_PROGRAM, LOOP_MODULE, clang_or_skip

from mirencoder.cli import main
from mirencoder.pipelines.ir.draw_graph import draw_graph
from mirencoder.pipelines.ir.graph import build_graph
from mirencoder.pipelines.ir.normalize import normalize_ir


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_draw_writes_a_png(tmp_path):
    graph = build_graph(normalize_ir(LOOP_MODULE.encode()))
    out = draw_graph(graph, tmp_path / "deep" / "g.png", title="loop")
    width, height = _png_size(out)
    assert width >= 800 and height >= 500 and out.stat().st_size > 20_000


def test_draw_cuts_large_graphs(tmp_path):
    graph = build_graph(normalize_ir(LOOP_MODULE.encode()))
    out = draw_graph(graph, tmp_path / "small.png", max_nodes=8)
    assert out.stat().st_size > 5_000


def test_graph_command_on_ir_and_source(tmp_path, capsys):
    ll = tmp_path / "loop.ll"
    ll.write_text(LOOP_MODULE)
    assert main(["dataset", "graph", str(ll), "--out", str(tmp_path / "a.png")]) == 0
    assert "29 nodes, 50 edges" in capsys.readouterr().out
    assert _png_size(tmp_path / "a.png")[0] > 0
    bad = tmp_path / "bad.ll"
    bad.write_text("define oops")
    assert main(["dataset", "graph", str(bad), "--out", str(tmp_path / "b.png")]) == 1
    assert "malformed_ir" in capsys.readouterr().out and not (tmp_path / "b.png").exists()
    clang_or_skip()
    source = tmp_path / "prog.c"
    source.write_text(C_PROGRAM)
    assert main(["dataset", "graph", str(source), "--out", str(tmp_path / "c.png")]) == 0
    assert "functions" in capsys.readouterr().out and (tmp_path / "c.png").stat().st_size > 20_000
