"""IR-graph matching: does this token sequence come from the same program as this graph?

Each program's (token vector, graph vector) pair is a positive; a pair of one program's
token vector and another program's graph vector is a negative. Every pair is scored on its
*fused* vector, ``ModalityFusion.fuse_vectors(tokens, graph)``, so that matching trains the
fusion layer (as ALBEF's image-text matching runs on the multimodal encoder's output); the
positives' fused vectors are the encoder's own ``fused`` output.

Negatives (``hard_negative_fraction`` of them hard, the rest uniform over the batch):

- ``contrastive`` (ALBEF): two per program, one per direction. For token vector ``i`` a graph
  ``j != i`` drawn with probability ``softmax_j(s[i, j])`` over the contrastive logits, and for
  graph ``j`` a token vector drawn from ``softmax_i(s[i, j])``. Drawn on the device, by inverse
  CDF, from uniform numbers drawn on the CPU with the step's generator (reproducible).
- ``size`` / ``corpus`` / ``size_or_corpus``: one per program, the program nearest in graph
  size or one from the same corpus (:func:`matching_partners`, on the CPU).

Copies of a program (its key twice in a batch, common when a small dataset repeats within
the shuffle buffer) are never its negatives in either mode.

The loss weighs positives and negatives equally (mean BCE of each, averaged), so
``match_accuracy`` is a balanced accuracy whose chance level is 0.5 in every mode.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ...core.models.matching_head import MatchingHead

__all__ = ["matching_partners", "sample_negatives", "matching_metrics"]


def matching_partners(num_nodes: torch.Tensor, corpora: list[str], *, hard_fraction: float,
                      mode: str, generator: torch.Generator,
                      keys: list[str] | None = None) -> torch.Tensor | None:
    """For each program, the index of another program of the batch whose graph it is paired with.

    Args:
        num_nodes: ``[B]`` graph sizes (CPU).
        corpora: source corpus of each program.
        hard_fraction: share of hard partners.
        mode: ``size`` (nearest node count), ``corpus`` (same corpus, else nearest size) or
            ``size_or_corpus`` (each hard partner picks one of the two at random).
        keys: program keys; a partner holding the same program (a copy in the batch) is
            redrawn among the other programs, when there are any.

    Returns:
        ``[B]`` long partner indices, never the program itself; ``None`` when ``B < 2``.
    """
    size = num_nodes.numel()
    if size < 2:
        return None
    partners = (torch.arange(size) + torch.randint(1, size, (size,), generator=generator)) % size
    hard = torch.rand(size, generator=generator) < hard_fraction
    if not hard.any():
        return _avoid_copies(partners, keys, generator)
    nodes = num_nodes.float()
    distance = (nodes[:, None] - nodes[None, :]).abs()
    # Random tie-breaking among equally near programs; never oneself.
    distance = distance + torch.rand(size, size, generator=generator) * 0.5
    distance.fill_diagonal_(float("inf"))
    nearest = distance.argmin(1)
    use_corpus = (torch.rand(size, generator=generator) < 0.5 if mode == "size_or_corpus"
                  else torch.full((size,), mode == "corpus"))
    for i in hard.nonzero().squeeze(1).tolist():
        partner = int(nearest[i])
        if use_corpus[i]:
            same = [j for j in range(size) if j != i and corpora[j] == corpora[i]]
            if same:
                partner = same[int(torch.randint(len(same), (1,), generator=generator))]
        partners[i] = partner
    return _avoid_copies(partners, keys, generator)


def _avoid_copies(partners: torch.Tensor, keys: list[str] | None,
                  generator: torch.Generator) -> torch.Tensor:
    if keys is None or len(set(keys)) == len(keys):
        return partners
    for i, partner in enumerate(partners.tolist()):
        if keys[partner] == keys[i]:
            others = [j for j, key in enumerate(keys) if key != keys[i]]
            if others:
                partners[i] = others[int(torch.randint(len(others), (1,), generator=generator))]
    return partners


def sample_negatives(logits: torch.Tensor, draws: torch.Tensor, hard: torch.Tensor,
                     exclude: torch.Tensor | None = None) -> torch.Tensor:
    """For each row ``i``, a column ``j != i``: drawn from ``softmax(logits[i])`` over the
    other columns where ``hard[i]``, uniformly among them otherwise.

    Inverse-CDF sampling with the given uniform numbers, so the choice stays on the device and
    repeats with the draws. Columns in ``exclude`` (copies of the row's own program) are
    skipped too, unless that leaves a row no column.

    Shapes:
        - logits: ``[B, B]`` (``B >= 2``); draws: ``[B]`` in ``[0, 1)``; hard: ``[B]`` bool
        - exclude: ``[B, B]`` bool or None
        - output: ``[B]`` long column indices, never the row's own
    """
    size = logits.size(0)
    skip = torch.eye(size, dtype=torch.bool, device=logits.device)
    if exclude is not None:
        skipped = skip | exclude.to(skip.device)
        skip = torch.where(skipped.all(1, keepdim=True), skip, skipped)
    scores = logits.detach().float().masked_fill(skip, float("-inf"))
    weights = torch.where(hard.to(logits.device)[:, None], scores.softmax(1), (~skip).float())
    cdf = weights.cumsum(1)
    target = draws.to(cdf)[:, None] * cdf[:, -1:]
    # right=True: the first column whose cdf exceeds the target, so never a zero-weight one.
    picked = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=size - 1)
    rows = torch.arange(size, device=logits.device)
    # Rounding can put the target at the very end (the clamp then picks the last column,
    # which may be skipped): take the likeliest column instead.
    return torch.where(weights[rows, picked] > 0, picked, weights.argmax(1))


def matching_metrics(head: MatchingHead, fuse: Callable[[torch.Tensor, torch.Tensor],
                                                        torch.Tensor],
                     fused: torch.Tensor, tokens: torch.Tensor, graph: torch.Tensor,
                     negative_tokens: torch.Tensor, negative_graphs: torch.Tensor
                     ) -> dict[str, torch.Tensor]:
    """Balanced BCE over the B positives and the negatives, and the balanced accuracy.

    Args:
        head: the matching classifier over fused vectors.
        fuse: ``fusion.fuse_vectors``: a (tokens, graph) pair to its fused vector.
        fused: ``[B, D]`` the positives' fused vectors (the encoder's ``fused`` output).
        tokens, graph: ``[B, D]`` the programs' view vectors.
        negative_tokens, negative_graphs: ``[Q]`` program indices of the negative pairs
            (token vector of one, graph vector of another).
    """
    positive = head(fused).float()
    negative = head(fuse(tokens[negative_tokens], graph[negative_graphs])).float()
    loss = 0.5 * (F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive))
                  + F.binary_cross_entropy_with_logits(negative, torch.zeros_like(negative)))
    accuracy = 0.5 * ((positive > 0).float().mean() + (negative <= 0).float().mean())
    return {"loss": loss, "accuracy": accuracy.detach()}
