"""Global decisions over all compiled inputs: de-duplication, exclusion and the split.

Pure functions over the metadata of every input, so that the outcome does not depend on the
order in which distributed tasks finished: ties always go to the input that sorts first.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SplitConfig

__all__ = ["Decision", "split_of", "record_key", "decide"]

_KEY_LENGTH = 24


@dataclass(frozen=True, slots=True)
class Decision:
    """The final fate of one input."""

    status: str  # ok | failed | duplicate | excluded
    reason: str | None
    message: str | None
    key: str | None  # record key (for duplicates: the kept record's key)
    split: str | None  # only for ok


def record_key(ir_sha256: str) -> str:
    """The record key (WebDataset ``__key__``) of a normalised-IR hash."""
    return ir_sha256[:_KEY_LENGTH]


def split_of(ir_sha256: str, config: SplitConfig) -> str:
    """Deterministic split from the hash: the same program lands in the same split in every build."""
    unit = int(ir_sha256[:12], 16) / float(16**12)
    if unit < config.test_fraction:
        return "test"
    if unit < config.test_fraction + config.validation_fraction:
        return "validation"
    return "train"


def decide(rows: list[dict], excluded: dict[str, str], split: SplitConfig) -> dict[int, Decision]:
    """Decides every input's status.

    Args:
        rows: one dict per input with ``order``, ``path``, ``status``, ``reason``, ``message``,
            ``ir_sha256`` and ``num_instructions`` (as written by the IR stage).
        excluded: normalised-IR hash -> name of the evaluation kernel it equals.
        split: the split fractions.

    Returns:
        ``order`` -> :class:`Decision`.
    """
    decisions: dict[int, Decision] = {}
    first_path: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r["order"]):
        order, digest = row["order"], row["ir_sha256"]
        if row["status"] != "ok":
            decisions[order] = Decision("failed", row["reason"], row["message"], None, None)
        elif not row.get("num_instructions", 1):
            # Declarations or data only: no instruction to learn from, and an empty graph.
            decisions[order] = Decision("failed", "no_code",
                                        "the module defines no function with a body", None, None)
        elif digest in excluded:
            decisions[order] = Decision(
                "excluded", "evaluation_kernel",
                f"normalised IR equals evaluation kernel {excluded[digest]}", None, None)
        elif digest in first_path:
            decisions[order] = Decision("duplicate", "duplicate_ir",
                                        f"same normalised IR as {first_path[digest]}",
                                        record_key(digest), None)
        else:
            first_path[digest] = row["path"]
            decisions[order] = Decision("ok", None, row["message"], record_key(digest),
                                        split_of(digest, split))
    return decisions
