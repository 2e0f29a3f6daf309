"""Bag of node codes: an encoder's GNN node states counted by their nearest codebook entry.

A count readout of a frozen encoder, the "bag of visual words" of local descriptors: K
centroids (spherical k-means) are fitted on the node states of programs of the encoder's
pre-training corpus (unlabelled, train split); a program is then ``log1p`` of how many of its
nodes fall nearest each centroid (cosine). Every column counts one kind of node-in-context, as
every column of the opcode histogram counts one opcode, so a head that splits on one column at
a time reads it as it reads the histogram, whatever basis the network's own vectors come in.
An untrained twin gets the same treatment from its own node states on the same programs: with
random weights, message passing hashes each node's neighbourhood (a Weisfeiler-Lehman-like
code), so the comparison asks what pre-training adds to the node states beyond that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ....infra.errors import ConfigError, InputError, MirError
from ..programs import EvalProgram

__all__ = ["LoopProbe", "NodeCodesFeaturizer", "code_histograms", "fit_loop_probe",
           "fit_node_codebook", "node_loop_facts", "node_states"]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _graph_batches(embedder: Any, records: Sequence[dict], batch_size: int
                   ) -> Iterator[tuple[int, Any]]:
    """``(first record index, PyG batch)`` of ``records``, graphs cut as the embedder cuts."""
    from ...core.data.collate import collate_graphs

    for start in range(0, len(records), batch_size):
        yield start, collate_graphs(records[start:start + batch_size],
                                    node_vocab_size=embedder.tokenizer_ids.node_vocab_size,
                                    max_graph_nodes=embedder.max_graph_nodes)


def _encode_nodes(embedder: Any, graph: Any) -> np.ndarray:
    """``[N, H]`` float32 output states of the graph encoder for one PyG batch."""
    import torch

    with torch.inference_mode():
        out = embedder.model.graph_encoder(graph.node_text, graph.node_type, graph.edge_index,
                                           graph.edge_flow, graph.edge_position)
    return out.float().cpu().numpy()


def _is_instruction(graph: Any) -> np.ndarray:
    from ....pipelines.ir.program_graph import NODE_INSTRUCTION

    return graph.node_type.cpu().numpy() == NODE_INSTRUCTION


def _in_loop(graph: Any) -> np.ndarray:
    """``[N]`` bool: instructions on a control-flow cycle (the loop-membership target)."""
    from ...pretraining.tasks.loops import loop_membership

    return loop_membership(graph.edge_index, graph.edge_flow, graph.node_type).numpy() == 1


def node_states(embedder: Any, records: Sequence[dict], batch_size: int = 16
                ) -> tuple[np.ndarray, np.ndarray]:
    """The graph encoder's output states of every node of ``records`` (prepared programs,
    graphs cut to the embedder's ``max_graph_nodes``): ``([N, H] float32, [N] record index)``."""
    states, owners = [], []
    for start, graph in _graph_batches(embedder, records, batch_size):
        states.append(_encode_nodes(embedder, graph))
        owners.append(graph.batch.cpu().numpy() + start)
    return np.concatenate(states), np.concatenate(owners)


def node_loop_facts(embedder: Any, records: Sequence[dict], batch_size: int = 16
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``([N] bool instruction, [N] bool in a loop)`` of the nodes :func:`node_states` returns
    for ``records`` (same order and cut): the pre-training loop-membership labels."""
    instruction, in_loop = [], []
    for _, graph in _graph_batches(embedder, records, batch_size):
        instruction.append(_is_instruction(graph))
        in_loop.append(_in_loop(graph))
    return np.concatenate(instruction), np.concatenate(in_loop)


class LoopProbe:
    """A logistic probe over frozen node states: is this instruction in a loop?"""

    def __init__(self, weight: np.ndarray, bias: float, held_out: dict[str, float]):
        self.weight, self.bias, self.held_out = weight, bias, held_out

    def in_loop(self, states: np.ndarray) -> np.ndarray:
        return states @ self.weight + self.bias > 0


def fit_loop_probe(states: np.ndarray, owners: np.ndarray, in_loop: np.ndarray, *,
                   seed: int = 0) -> LoopProbe:
    """A :class:`LoopProbe` fitted on the instruction states of 80 % of the programs
    (``owners``); its accuracy and in-loop F1 on the other 20 % in ``held_out``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    programs = np.unique(owners)
    test = np.isin(owners, np.random.default_rng(seed).choice(
        programs, size=max(1, len(programs) // 5), replace=False))
    probe = LogisticRegression(max_iter=2000, C=1.0)
    probe.fit(states[~test], in_loop[~test])
    predicted = probe.predict(states[test])
    held_out = {"accuracy": float(accuracy_score(in_loop[test], predicted)),
                "f1_in_loop": float(f1_score(in_loop[test], predicted, zero_division=0)),
                "in_loop_share": float(in_loop[test].mean())}
    return LoopProbe(probe.coef_[0].astype(np.float32), float(probe.intercept_[0]), held_out)


def fit_node_codebook(states: np.ndarray, codes: int, *, seed: int = 0,
                      sample: int = 60_000) -> np.ndarray:
    """``[codes, H]`` unit-length centroids: k-means on the unit-length states (at most
    ``sample`` of them, drawn with ``seed``), so nearest by cosine.

    Raises:
        ConfigError: fewer states than codes, or codes < 2.
    """
    from sklearn.cluster import KMeans

    if codes < 2 or len(states) < codes:
        raise ConfigError(f"a codebook of {codes} codes needs codes >= 2 and at least as many "
                          f"node states, got {len(states)}")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(states), size=min(sample, len(states)), replace=False)
    kmeans = KMeans(n_clusters=codes, n_init=1, max_iter=100, random_state=seed)
    kmeans.fit(_unit_rows(np.asarray(states, dtype=np.float64)[picked]))
    return _unit_rows(kmeans.cluster_centers_).astype(np.float32)


def code_histograms(states: np.ndarray, owners: np.ndarray, codebook: np.ndarray,
                    programs: int) -> np.ndarray:
    """``[programs, K]`` ``log1p`` of each program's node count per nearest code."""
    nearest = np.argmax(_unit_rows(states) @ codebook.T, axis=1)
    counts = np.zeros((programs, len(codebook)), dtype=np.float64)
    np.add.at(counts, (owners, nearest), 1.0)
    return np.log1p(counts).astype(np.float32)


class NodeCodesFeaturizer:
    """Programs as bags of node codes of one encoder and one codebook.

    Args:
        name: the method's name in reports.
        embedder: a loaded :class:`~mirencoder.training.embedding.embedder.Embedder`.
        codebook: ``[K, H]`` from :func:`fit_node_codebook` on this encoder's node states.
        state_cache: ``program path -> ([n, H] node states, [n] instruction, [n] on a
            control-flow cycle)``, shared between featurizers of the same encoder (another
            codebook need not run the network again).
        loop_probe: count only the instructions it places in a loop (the node-state analogue
            of the loop-opcode histogram); None counts every node.
        exact_loops: count only the instructions the pipeline's loop analysis places in loops
            (``pipelines/ir/loops.py``, as the loop-opcode histogram does): what a perfect
            loop probe would give the readout. Not with ``loop_probe``.
    """

    def __init__(self, name: str, embedder: Any, codebook: np.ndarray,
                 state_cache: dict[str, tuple[np.ndarray, ...]] | None = None,
                 loop_probe: LoopProbe | None = None, exact_loops: bool = False):
        if loop_probe is not None and exact_loops:
            raise ConfigError("give a loop probe or exact_loops, not both")
        self.name, self.embedder, self.codebook = name, embedder, codebook
        self.state_cache = {} if state_cache is None else state_cache
        self.loop_probe, self.exact_loops = loop_probe, exact_loops
        counted = ("in-loop instruction (loop analysis)" if exact_loops else "node"
                   if loop_probe is None else "in-loop instruction (linear probe)")
        self.description = (f"log1p counts of {len(codebook)} {counted} codes of "
                            f"{embedder.source}'s GNN node states")
        self.errors: dict[str, str] = {}

    def _states(self, path: str) -> np.ndarray:
        if path not in self.state_cache:
            record = self.embedder.prepare_file(path, max_tokens=1)  # the graph is all we read
            _, graph = next(_graph_batches(self.embedder, [record], 1))
            self.state_cache[path] = (_encode_nodes(self.embedder, graph),
                                      _is_instruction(graph), _in_loop(graph))
        states, instruction, in_loop = self.state_cache[path]
        if self.exact_loops:
            return states[instruction & in_loop]
        if self.loop_probe is None:
            return states
        return states[instruction & self.loop_probe.in_loop(states)]

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        out = np.full((len(programs), len(self.codebook)), np.nan, dtype=np.float32)
        self.errors = {}
        for row, program in enumerate(programs):
            try:
                states = self._states(str(program.path))
            except (InputError, MirError, OSError) as error:
                self.errors[program.key] = f"{getattr(error, 'reason', 'unreadable')}: {error}"
                continue
            out[row] = (code_histograms(states, np.zeros(len(states), dtype=np.int64),
                                        self.codebook, 1)[0] if len(states) else 0.0)
        return out
