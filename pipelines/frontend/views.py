"""Both views of one normalised program: the token ids and the graph with node-text ids.

The dataset build derives them in two phases (the graph in its compile tasks, the ids at shard
time, once the vocabularies exist): :func:`graph_view`, then :func:`id_views`. The embedder
does both at once with :func:`build_views`, which is exactly those two calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ir.graph import build_graph
from ..ir.node_vocab import NodeTextVocabulary
from ..ir.normalize import NormalizedIR
from ..ir.program_graph import ProgramGraph
from ..ir.tokenizer import IRTokenizer

__all__ = ["graph_view", "id_views", "build_views"]


def graph_view(ir: NormalizedIR) -> ProgramGraph:
    """The graph view, node texts as strings (``node_text`` unset).

    Raises:
        InputError: reason ``graph_error`` when the graph cannot be built.
    """
    return build_graph(ir)


def id_views(text: str, node_texts: Sequence[str], tokenizer: IRTokenizer,
             node_vocab: NodeTextVocabulary, *, max_tokens: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of a canonical text and the node-text ids of its graph's nodes.

    Args:
        text: the canonical IR text (``NormalizedIR.text``).
        node_texts: the graph view's ``node_texts``.
        tokenizer: the dataset's IR tokenizer.
        node_vocab: the dataset's node-text vocabulary.
        max_tokens: keep only the first ``max_tokens`` token ids (the embedder, which
            encodes the first windows only); default: all of them.

    Returns:
        ``(tokens, node_text)``: int32 arrays (token ids, node-text ids), no special tokens.
    """
    tokens = np.asarray(tokenizer.encode(text, max_tokens), dtype=np.int32)
    return tokens, node_vocab.encode(node_texts)


def build_views(ir: NormalizedIR, tokenizer: IRTokenizer, node_vocab: NodeTextVocabulary,
                *, max_tokens: int | None = None) -> tuple[np.ndarray, ProgramGraph]:
    """Derives the token view and the graph view from one canonical text.

    The same two steps as the dataset build (:func:`graph_view`, then :func:`id_views`), so
    training and serving see identical views.

    Returns:
        ``(tokens, graph)``: int32 token ids (full length unless ``max_tokens`` is given) and
        the graph with ``node_text`` set.

    Raises:
        InputError: reason ``graph_error`` when the graph cannot be built.
    """
    graph = graph_view(ir)
    tokens, graph.node_text = id_views(ir.text, graph.node_texts, tokenizer, node_vocab,
                                       max_tokens=max_tokens)
    return tokens, graph
