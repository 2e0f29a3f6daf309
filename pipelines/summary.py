"""Counts of a build (per status, reason and corpus) and their table for people."""

from __future__ import annotations

from collections import Counter, defaultdict

__all__ = ["build_counts", "format_summary"]

_STATUSES = ("ok", "failed", "duplicate", "excluded")


def build_counts(meta: list[dict], decisions: dict) -> dict:
    """Counts inputs by status, failure reason and corpus.

    Args:
        meta: one dict per input with ``order`` and ``corpus``.
        decisions: ``order`` -> an object with ``status`` and ``reason``.
    """
    per_corpus: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    reasons_per_corpus: dict[str, Counter] = defaultdict(Counter)
    for row in meta:
        decision = decisions[row["order"]]
        per_corpus[row["corpus"]][decision.status] += 1
        if decision.status == "failed":
            reasons[decision.reason or "unknown"] += 1
            reasons_per_corpus[row["corpus"]][decision.reason or "unknown"] += 1
    total = Counter()
    for counter in per_corpus.values():
        total.update(counter)
    return {
        "inputs": len(meta),
        **{status: total[status] for status in _STATUSES},
        "failed_by_reason": dict(reasons.most_common()),
        "per_corpus": {corpus: {"inputs": sum(c.values()),
                                **{status: c[status] for status in _STATUSES},
                                "failed_by_reason": dict(reasons_per_corpus[corpus].most_common())}
                       for corpus, c in sorted(per_corpus.items())},
    }


def format_summary(counts: dict) -> str:
    """A plain-text table: one row per corpus, a total, then failures by reason."""
    header = f"{'corpus':<28}{'inputs':>8}" + "".join(f"{s:>11}" for s in _STATUSES)
    lines = [header, "-" * len(header)]
    for corpus, c in counts["per_corpus"].items():
        lines.append(f"{corpus[:27]:<28}{c['inputs']:>8}" + "".join(f"{c[s]:>11}" for s in _STATUSES))
    lines.append("-" * len(header))
    lines.append(f"{'total':<28}{counts['inputs']:>8}"
                 + "".join(f"{counts[s]:>11}" for s in _STATUSES))
    if counts["failed_by_reason"]:
        lines.append("\nfailed by reason:")
        for reason, n in counts["failed_by_reason"].items():
            lines.append(f"  {reason:<26}{n:>8}")
    return "\n".join(lines)
