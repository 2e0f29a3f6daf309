"""IR–graph matching: does this token sequence come from the same program as this graph?

Each program's token vector is paired with its own graph vector (positive) and with another
program's graph vector from the batch (negative). A ``hard_fraction`` of the negatives are
hard: the program nearest in graph size, or one from the same corpus.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...core.models.matching_head import MatchingHead

__all__ = ["matching_partners", "matching_metrics"]


def matching_partners(num_nodes: torch.Tensor, corpora: list[str], *, hard_fraction: float,
                      mode: str, generator: torch.Generator) -> torch.Tensor | None:
    """For each program, the index of another program of the batch whose graph it is paired with.

    Args:
        num_nodes: ``[B]`` graph sizes (CPU).
        corpora: source corpus of each program.
        hard_fraction: share of hard partners.
        mode: ``size`` (nearest node count), ``corpus`` (same corpus, else nearest size) or
            ``size_or_corpus`` (each hard partner picks one of the two at random).

    Returns:
        ``[B]`` long partner indices, never the program itself; ``None`` when ``B < 2``.
    """
    size = num_nodes.numel()
    if size < 2:
        return None
    partners = (torch.arange(size) + torch.randint(1, size, (size,), generator=generator)) % size
    hard = torch.rand(size, generator=generator) < hard_fraction
    if not hard.any():
        return partners
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
    return partners


def matching_metrics(head: MatchingHead, tokens: torch.Tensor, graph: torch.Tensor,
                     partners: torch.Tensor) -> dict[str, torch.Tensor]:
    """BCE over B positives and B negatives, and the matching accuracy."""
    partners = partners.to(tokens.device)
    logits = head(torch.cat([tokens, tokens]), torch.cat([graph, graph[partners]]))
    labels = torch.cat([torch.ones(tokens.size(0)), torch.zeros(tokens.size(0))]).to(
        logits.device)
    loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
    accuracy = ((logits > 0).float() == labels).float().mean()
    return {"loss": loss, "accuracy": accuracy.detach()}
