"""Masked language modelling on IR tokens: BERT-style masking, loss and accuracies."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...core.data.token_ids import TokenizerIds

__all__ = ["IGNORE_INDEX", "mask_tokens", "mlm_metrics"]

IGNORE_INDEX = -100


def mask_tokens(tokens: torch.Tensor, attention_mask: torch.Tensor, *, ids: TokenizerIds,
                rate: float, mask_fraction: float, random_fraction: float,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Chooses ``rate`` of the real, non-special tokens; of those ``mask_fraction`` become
    [MASK], ``random_fraction`` a random token, the rest stay (BERT's 80/10/10).

    Random numbers come from ``generator`` (on the CPU), so a step's masks are reproducible.
    At least one token is chosen whenever the batch has a maskable token.

    Returns:
        ``(inputs, labels)``: labels hold the original id where chosen, ``IGNORE_INDEX`` elsewhere.
    """
    device = tokens.device
    cpu_tokens, cpu_mask = tokens.cpu(), attention_mask.cpu()
    special = torch.isin(cpu_tokens, torch.tensor(ids.special_ids)) | ~cpu_mask
    chosen = (torch.rand(cpu_tokens.shape, generator=generator) < rate) & ~special
    if not chosen.any() and (~special).any():
        candidates = (~special).flatten().nonzero().squeeze(1)
        pick = candidates[torch.randint(len(candidates), (1,), generator=generator)]
        chosen.view(-1)[pick] = True
    labels = torch.where(chosen, cpu_tokens, torch.full_like(cpu_tokens, IGNORE_INDEX))
    action = torch.rand(cpu_tokens.shape, generator=generator)
    to_mask = chosen & (action < mask_fraction)
    to_random = chosen & (action >= mask_fraction) & (action < mask_fraction + random_fraction)
    random_tokens = torch.randint(ids.vocab_size, cpu_tokens.shape, generator=generator)
    inputs = cpu_tokens.clone()
    inputs[to_mask] = ids.mask_id
    inputs[to_random] = random_tokens[to_random]
    return inputs.to(device), labels.to(device)


def mlm_metrics(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Loss, accuracy and the unigram baseline on the masked positions.

    The baseline is the accuracy of always predicting the most frequent target *of this
    batch*, an upper bound for any fixed single-token guess, so beating it means the model
    uses context.

    Shapes:
        - logits: ``[M, vocab]``; targets: ``[M]``
    """
    loss = F.cross_entropy(logits.float(), targets)
    accuracy = (logits.argmax(-1) == targets).float().mean()
    baseline = torch.bincount(targets).max().float() / max(targets.numel(), 1)
    return {"loss": loss, "accuracy": accuracy.detach(), "unigram_accuracy": baseline.detach()}
