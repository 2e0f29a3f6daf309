"""Both views of one normalised program: the token ids and the graph with node-text ids."""

from __future__ import annotations

import numpy as np

from .graph import build_graph
from .node_vocab import NodeTextVocabulary
from .normalize import NormalizedIR
from .program_graph import ProgramGraph
from .tokenizer import IRTokenizer

__all__ = ["build_views"]


def build_views(ir: NormalizedIR, tokenizer: IRTokenizer, node_vocab: NodeTextVocabulary,
                *, max_tokens: int | None = None) -> tuple[np.ndarray, ProgramGraph]:
    """Derives the token view and the graph view from one canonical text.

    Used by the dataset build and by the embedder, so both see identical views.

    Args:
        ir: the normalised program.
        tokenizer: the dataset's IR tokenizer.
        node_vocab: the dataset's node-text vocabulary.
        max_tokens: keep only the first ``max_tokens`` token ids (the embedder, which
            encodes the first window only); default: all of them.

    Returns:
        ``(tokens, graph)``: int32 token ids (full length unless ``max_tokens`` is given, no
        special tokens) and the graph with ``node_text_ids`` set.

    Raises:
        InputError: reason ``graph_error`` when the graph cannot be built.
    """
    tokens = tokenizer.encode(ir.text, max_tokens)
    graph = build_graph(ir)
    graph.node_text_ids = node_vocab.encode(graph.node_texts)
    return tokens, graph
