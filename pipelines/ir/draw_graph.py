"""Draws one program graph to a PNG: instructions in program order, data and calls around them.

Layout: each function's instructions run top to bottom in program order, in lanes of at most
``lane_length`` instructions (a long function continues in the next lane to the right). A
result variable sits just right of and below the instruction that produces it, arguments at
the top of their function's lane; constants and globals sit left of their first user;
external callees get a lane of their own on the far right. Sequential control flow is a short
straight arrow, jumps and calls are arcs. Graphs above ``max_nodes`` nodes are cut (whole
instructions with their operands, in program order) and the title says so.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .program_graph import (
    FLOW_CALL,
    FLOW_CONTROL,
    FLOW_DATA,
    NODE_CONSTANT,
    NODE_INSTRUCTION,
    NODE_VARIABLE,
    ProgramGraph,
)

__all__ = ["draw_graph"]

NODE_STYLE = {  # fill colour, box style, legend label
    NODE_INSTRUCTION: ("#9ecae1", "round,pad=0.25", "instruction"),
    NODE_VARIABLE: ("#fcae91", "round4,pad=0.2", "variable"),
    NODE_CONSTANT: ("#fee391", "square,pad=0.2", "constant"),
}
EDGE_STYLE = {  # colour, line width, line style, legend label
    FLOW_CONTROL: ("#08519c", 1.2, "-", "control"),
    FLOW_DATA: ("#cb181d", 0.7, "-", "data"),
    FLOW_CALL: ("#238b45", 1.3, "--", "call"),
}
_LANE_WIDTH = 4.0
_ROW_HEIGHT = 1.0


def _select(graph: ProgramGraph, max_nodes: int) -> np.ndarray:
    """Nodes to draw: whole instructions with their data neighbours, in program order."""
    if graph.num_nodes <= max_nodes:
        return np.arange(graph.num_nodes)
    neighbours: dict[int, list[int]] = {}
    for src, dst, flow in zip(graph.edge_src.tolist(), graph.edge_dst.tolist(),
                              graph.edge_flow.tolist(), strict=True):
        if flow == FLOW_DATA:
            instruction, other = (dst, src) if graph.node_type[dst] == NODE_INSTRUCTION \
                else (src, dst)
            neighbours.setdefault(instruction, []).append(other)
    chosen: dict[int, None] = {}
    for node in np.flatnonzero(graph.node_type == NODE_INSTRUCTION).tolist():
        new = [n for n in (node, *neighbours.get(node, ())) if n not in chosen]
        if len(chosen) + len(new) > max_nodes:
            break
        chosen.update(dict.fromkeys(new))
    return np.asarray(sorted(chosen), dtype=np.int64)


def _layout(graph: ProgramGraph, nodes: np.ndarray, lane_length: int
            ) -> tuple[dict[int, tuple[float, float]], list[tuple[float, str]]]:
    keep = set(nodes.tolist())
    types, functions = graph.node_type, graph.node_function
    position: dict[int, tuple[float, float]] = {}
    lane, row, current_function = -1, 0, None
    lanes_of_function: dict[int, int] = {}
    lane_titles: list[tuple[float, str]] = []
    externals: list[int] = []
    for node in nodes.tolist():
        if types[node] != NODE_INSTRUCTION:
            continue
        if functions[node] < 0:
            externals.append(node)
            continue
        if functions[node] != current_function or row >= lane_length:
            continued = functions[node] == current_function
            lane, row = lane + 1, 1
            current_function = functions[node]
            lanes_of_function.setdefault(current_function, lane)
            lane_titles.append((lane * _LANE_WIDTH, f"function {current_function}"
                                + (" (cont.)" if continued else "")))
        position[node] = (lane * _LANE_WIDTH, -row * _ROW_HEIGHT)
        row += 1
    for index, node in enumerate(externals):
        position[node] = ((lane + 1) * _LANE_WIDTH, -(index + 1) * 2 * _ROW_HEIGHT)
    if externals:
        lane_titles.append(((lane + 1) * _LANE_WIDTH, "external callees"))
    users: dict[int, list[int]] = {}
    producer: dict[int, int] = {}
    for src, dst, flow in zip(graph.edge_src.tolist(), graph.edge_dst.tolist(),
                              graph.edge_flow.tolist(), strict=True):
        if flow != FLOW_DATA or src not in keep or dst not in keep:
            continue
        if types[src] == NODE_INSTRUCTION:
            producer[dst] = src
        else:
            users.setdefault(src, []).append(dst)
    arguments_seen: dict[int, int] = {}
    left_slots: dict[tuple[float, float], int] = {}
    for node in nodes.tolist():
        if node in position:
            continue
        if node in producer:
            x, y = position[producer[node]]
            position[node] = (x + 1.3, y - 0.5)
        elif types[node] == NODE_VARIABLE and functions[node] >= 0:  # an argument
            x = lanes_of_function.get(int(functions[node]), 0) * _LANE_WIDTH
            k = arguments_seen[int(functions[node])] = arguments_seen.get(
                int(functions[node]), -1) + 1
            position[node] = (x - 1.2 + 0.9 * k, 0.3)
        else:  # a constant or global: left of its first user
            first = min(users.get(node, [nodes[0]]), key=lambda u: position.get(u, (0, 0))[1]
                        * -1)
            x, y = position.get(first, (0.0, 0.0))
            slot = left_slots[(x, y)] = left_slots.get((x, y), -1) + 1
            position[node] = (x - 1.3 - 0.8 * (slot % 2), y + 0.3 - 0.35 * slot)
    return position, lane_titles


def draw_graph(graph: ProgramGraph, out_png: Path, *, title: str = "",
               max_nodes: int = 400, lane_length: int = 40, dpi: int = 110) -> Path:
    """Draws ``graph`` to ``out_png``.

    Args:
        graph: the program graph.
        out_png: the PNG to write (folders are created).
        title: a title line (e.g. the file name).
        max_nodes: larger graphs are cut to about this many nodes (noted in the title).
        lane_length: instructions per lane before a function wraps to the next lane.
        dpi: resolution.

    Returns:
        ``out_png``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch

    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    nodes = _select(graph, max(1, max_nodes))
    position, lane_titles = _layout(graph, nodes, max(5, lane_length))
    keep = set(position)
    xs = [p[0] for p in position.values()] or [0.0]
    ys = [p[1] for p in position.values()] or [0.0]
    width = min(60.0, max(8.0, (max(xs) - min(xs) + 4) * 0.95))
    height = min(60.0, max(5.0, (max(ys) - min(ys) + 3) * 0.42))
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.01, 0.01, 0.98, 0.92))
    ax.set_xlim(min(xs) - 2.2, max(xs) + 2.2)
    ax.set_ylim(min(ys) - 1.2, max(ys) + 1.4)
    ax.axis("off")
    for x, lane_title in lane_titles:
        ax.text(x, max(ys) + 0.9, lane_title, ha="center", va="center", fontsize=8,
                fontweight="bold", color="#303030")

    for src, dst, flow in zip(graph.edge_src.tolist(), graph.edge_dst.tolist(),
                              graph.edge_flow.tolist(), strict=True):
        if src not in keep or dst not in keep:
            continue
        (x0, y0), (x1, y1) = position[src], position[dst]
        colour, line_width, line_style, _ = EDGE_STYLE[flow]
        sequential = flow == FLOW_CONTROL and x0 == x1 and -1.01 <= y1 - y0 <= -0.99
        if sequential or flow == FLOW_DATA:
            radius = 0.0
        elif flow == FLOW_CALL:
            radius = 0.08
        else:
            radius = 0.35 if y1 > y0 else -0.25
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), connectionstyle=f"arc3,rad={radius}", arrowstyle="-|>",
            mutation_scale=8, color=colour, linewidth=line_width, linestyle=line_style,
            alpha=0.55 if flow == FLOW_DATA else 0.85, shrinkA=9, shrinkB=9, zorder=1))
    for node, (x, y) in position.items():
        fill, box, _ = NODE_STYLE[int(graph.node_type[node])]
        text = graph.node_texts[node]
        if len(text) > 22:
            text = text[:20] + "…"
        ax.text(x, y, text, ha="center", va="center", fontsize=7, zorder=3,
                bbox={"boxstyle": box, "facecolor": fill, "edgecolor": "#404040",
                      "linewidth": 0.6})

    counts = np.bincount(graph.node_type.astype(np.int64), minlength=3)
    summary = (f"{graph.num_nodes} nodes ({counts[0]} instruction, {counts[1]} variable, "
               f"{counts[2]} constant), {graph.num_edges} edges")
    if len(position) < graph.num_nodes:
        summary += f" — showing the first {len(position)} nodes"
    figure.suptitle((title + "\n" if title else "") + summary, fontsize=10, y=0.995,
                    va="top")
    handles = [Patch(facecolor=fill, edgecolor="#404040", label=label)
               for fill, _, label in NODE_STYLE.values()]
    handles += [Line2D([0], [0], color=colour, linewidth=lw + 0.6, linestyle=ls, label=label)
                for colour, lw, ls, label in EDGE_STYLE.values()]
    figure.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9, ncols=6)
    figure.savefig(out_png, dpi=dpi)
    return out_png
