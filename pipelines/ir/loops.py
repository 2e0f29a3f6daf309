"""Which nodes of a program graph lie in a loop: on a cycle of its control-flow edges."""

from __future__ import annotations

import numpy as np

from .program_graph import FLOW_CONTROL

__all__ = ["on_control_cycle"]


def on_control_cycle(edge_src: np.ndarray, edge_dst: np.ndarray, edge_flow: np.ndarray,
                     num_nodes: int) -> np.ndarray:
    """``[num_nodes]`` bool: True for a node in a strongly connected component of the control
    edges with more than one node, or with a control self-edge (a one-instruction loop).

    Works on a batch of disjoint graphs as on one graph (no cycle crosses two of them).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    control = np.asarray(edge_flow) == FLOW_CONTROL
    src = np.asarray(edge_src, dtype=np.int64)[control]
    dst = np.asarray(edge_dst, dtype=np.int64)[control]
    in_loop = np.zeros(num_nodes, dtype=bool)
    if num_nodes and src.size:
        adjacency = csr_matrix((np.ones(src.size), (src, dst)), shape=(num_nodes, num_nodes))
        _, component = connected_components(adjacency, directed=True, connection="strong")
        in_loop = np.bincount(component, minlength=num_nodes)[component] > 1
        in_loop[src[src == dst]] = True
    return in_loop
