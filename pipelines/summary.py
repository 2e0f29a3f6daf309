"""Counts of a build (per status, reason and corpus) and their table for people."""

from __future__ import annotations

from collections import Counter, defaultdict

__all__ = ["build_counts", "format_build_time", "format_summary"]

_STATUSES = ("ok", "failed", "duplicate", "excluded")


def build_counts(meta: list[dict], decisions: dict) -> dict:
    """Counts variants by status, failure reason and corpus, and groups by split.

    Status counts are per variant (one per input and optimisation level; one per input in a
    build with one level); ``inputs`` counts inputs, ``variants`` rows.

    Args:
        meta: one dict per variant with ``order``, ``corpus`` and (optional) ``input``,
            ``group`` and ``opt_level``.
        decisions: ``order`` -> an object with ``status``, ``reason`` and ``split``.
    """
    per_corpus: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    reasons_per_corpus: dict[str, Counter] = defaultdict(Counter)
    inputs_per_corpus: dict[str, set] = defaultdict(set)
    per_level: dict[str, Counter] = defaultdict(Counter)
    group_splits: dict[str, set] = defaultdict(set)
    duplicates: Counter[str] = Counter()
    for row in meta:
        decision = decisions[row["order"]]
        inputs_per_corpus[row["corpus"]].add(row.get("input", row["order"]))
        per_level[row.get("opt_level") or ""][decision.status] += 1
        splits = group_splits[row.get("group") or f"order:{row['order']}"]
        if decision.status == "ok":
            splits.add(decision.split)
        elif decision.status == "duplicate":
            duplicates[decision.reason or "unknown"] += 1
        per_corpus[row["corpus"]][decision.status] += 1
        if decision.status == "failed":
            reasons[decision.reason or "unknown"] += 1
            reasons_per_corpus[row["corpus"]][decision.reason or "unknown"] += 1
    total = Counter()
    for counter in per_corpus.values():
        total.update(counter)
    kept_groups = [splits for splits in group_splits.values() if splits]
    return {
        "inputs": sum(len(inputs) for inputs in inputs_per_corpus.values()),
        "variants": len(meta),
        **{status: total[status] for status in _STATUSES},
        "failed_by_reason": dict(reasons.most_common()),
        "duplicates_by_reason": dict(sorted(duplicates.items())),
        "groups": {"total": len(group_splits), "with_records": len(kept_groups),
                   "per_split": {split: sum(split in s for s in kept_groups)
                                 for split in ("train", "validation", "test")},
                   "in_several_splits": sum(len(s) > 1 for s in kept_groups)},
        "per_opt_level": {level: {status: c[status] for status in _STATUSES}
                          for level, c in sorted(per_level.items())},
        "per_corpus": {corpus: {"inputs": len(inputs_per_corpus[corpus]),
                                "variants": sum(c.values()),
                                **{status: c[status] for status in _STATUSES},
                                "failed_by_reason": dict(reasons_per_corpus[corpus].most_common())}
                       for corpus, c in sorted(per_corpus.items())},
    }


def format_summary(counts: dict) -> str:
    """A plain-text table: one row per corpus, a total, then failures by reason.

    Builds with several variants per input get a ``variants`` column (the status columns
    count variants) and a line on groups and duplicates."""
    variants = counts.get("variants", counts["inputs"]) != counts["inputs"]
    header = (f"{'corpus':<28}{'inputs':>8}" + (f"{'variants':>10}" if variants else "")
              + "".join(f"{s:>11}" for s in _STATUSES))
    lines = [header, "-" * len(header)]

    def line(name: str, c: dict) -> str:
        return (f"{name[:27]:<28}{c['inputs']:>8}"
                + (f"{c.get('variants', c['inputs']):>10}" if variants else "")
                + "".join(f"{c[s]:>11}" for s in _STATUSES))

    for corpus, c in counts["per_corpus"].items():
        lines.append(line(corpus, c))
    lines.append("-" * len(header))
    lines.append(line("total", counts))
    if variants and "groups" in counts:
        groups = counts["groups"]
        lines.append(f"\ngroups (sources) with records: {groups['with_records']} of "
                     f"{groups['total']} ({', '.join(f'{k} {v}' for k, v in groups['per_split'].items())}); "
                     "duplicates: " + (", ".join(f"{k} {v}" for k, v in
                                                 counts.get("duplicates_by_reason", {}).items())
                                       or "none"))
    if counts["failed_by_reason"]:
        lines.append("\nfailed by reason:")
        for reason, n in counts["failed_by_reason"].items():
            lines.append(f"  {reason:<26}{n:>8}")
    return "\n".join(lines)


def format_build_time(build: dict) -> str:
    """``index.json``'s ``build`` as one line: wall time, Ray CPUs and, where the build
    recorded them (``phase_seconds``), the phases in the order they ran."""
    if "wall_seconds" not in build:
        return "build time not recorded"
    line = f"built in {build['wall_seconds']:.1f} s"
    cpus = build.get("ray", {}).get("cpus")
    if cpus:
        line += f" on {cpus:g} Ray CPUs"
    phases = build.get("phase_seconds")
    if phases:
        line += " (" + ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in phases) + ")"
    return line
