"""Global decisions over all compiled variants: de-duplication, exclusion and the split.

Pure functions over the metadata of every variant (one row per input and optimisation level),
so that the outcome does not depend on the order in which distributed tasks finished: ties
always go to the variant that sorts first.

The unit of the split and of the exclusion is a *component*: the groups (source inputs, see
:func:`~mirencoder.pipelines.inputs.source_group`) linked by a normalised IR they share. All
variants of a source, and every source that shares a program with it, land in one split, so
no program is in two splits; a component with any variant equal to an evaluation kernel is
excluded whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SplitConfig

__all__ = ["Decision", "split_of", "record_key", "decide"]

_KEY_LENGTH = 24


@dataclass(frozen=True, slots=True)
class Decision:
    """The final fate of one variant."""

    status: str  # ok | failed | duplicate | excluded
    reason: str | None
    message: str | None
    key: str | None  # record key (for duplicates: the kept record's key)
    split: str | None  # only for ok


def record_key(ir_sha256: str) -> str:
    """The record key (WebDataset ``__key__``) of a normalised-IR hash."""
    return ir_sha256[:_KEY_LENGTH]


def split_of(digest: str, config: SplitConfig) -> str:
    """Deterministic split from a hex hash: the same hash lands in the same split in every build."""
    unit = int(digest[:12], 16) / float(16**12)
    if unit < config.test_fraction:
        return "test"
    if unit < config.test_fraction + config.validation_fraction:
        return "validation"
    return "train"


class _Components:
    """Union-find over group names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = self.parent.setdefault(name, name)
        while root != self.parent[root]:
            root = self.parent[root]
        while name != root:  # path compression
            self.parent[name], name = root, self.parent[name]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _level(row: dict) -> str:
    return f"-{row['opt_level']}" if row.get("opt_level") else "the ready IR"


def decide(rows: list[dict], excluded: dict[str, str], split: SplitConfig, *,
           split_by_group: bool = False) -> dict[int, Decision]:
    """Decides every variant's status.

    Args:
        rows: one dict per variant with ``order``, ``path``, ``status``, ``reason``,
            ``message``, ``ir_sha256``, ``num_instructions`` and (optional) ``group`` and
            ``opt_level``, as written by the IR stage; a row without a group is its own group.
        excluded: normalised-IR hash -> name of the evaluation kernel it equals.
        split: the split fractions.
        split_by_group: split a component by the smallest hash of its groups (builds with
            several optimisation levels); otherwise by the smallest normalised-IR hash of its
            programs, which for one variant per source is the split by IR of earlier builds.

    Returns:
        ``order`` -> :class:`Decision`. Reasons beyond the IR stage's: ``no_code``,
        ``evaluation_kernel`` (this variant equals an evaluation kernel),
        ``evaluation_group`` (another variant of its component does), ``duplicate_ir``
        (another source's variant has this IR) and ``duplicate_variant`` (another level of
        the same source has it).
    """
    rows = sorted(rows, key=lambda r: r["order"])
    group = {row["order"]: row.get("group") or f"order:{row['order']}" for row in rows}
    usable = [row for row in rows
              if row["status"] == "ok" and row.get("num_instructions", 1)]
    components = _Components()
    holder: dict[str, dict] = {}  # IR hash -> the first usable row with it
    for row in usable:
        first = holder.setdefault(row["ir_sha256"], row)
        components.union(group[first["order"]], group[row["order"]])
    split_key: dict[str, str] = {}
    tainted: dict[str, str] = {}  # component -> why it is excluded
    for row in usable:
        root = components.find(group[row["order"]])
        key = group[row["order"]] if split_by_group else row["ir_sha256"]
        split_key[root] = min(split_key.get(root, key), key)
        if row["ir_sha256"] in excluded and root not in tainted:
            tainted[root] = (f"{_level(row)} of {row['path']} equals evaluation kernel "
                             f"{excluded[row['ir_sha256']]}")

    decisions: dict[int, Decision] = {}
    for row in rows:
        order, digest = row["order"], row["ir_sha256"]
        if row["status"] != "ok":
            decisions[order] = Decision("failed", row["reason"], row["message"], None, None)
            continue
        if not row.get("num_instructions", 1):
            # Declarations or data only: no instruction to learn from, and an empty graph.
            decisions[order] = Decision("failed", "no_code",
                                        "the module defines no function with a body", None, None)
            continue
        root = components.find(group[order])
        first = holder[digest]
        if digest in excluded:
            decisions[order] = Decision(
                "excluded", "evaluation_kernel",
                f"normalised IR equals evaluation kernel {excluded[digest]}", None, None)
        elif root in tainted:
            decisions[order] = Decision("excluded", "evaluation_group",
                                        f"a variant of the same sources: {tainted[root]}",
                                        None, None)
        elif first is not row and group[first["order"]] == group[order]:
            decisions[order] = Decision("duplicate", "duplicate_variant",
                                        f"same normalised IR as {_level(first)} of this source",
                                        record_key(digest), None)
        elif first is not row:
            decisions[order] = Decision("duplicate", "duplicate_ir",
                                        f"same normalised IR as {first['path']}",
                                        record_key(digest), None)
        else:
            decisions[order] = Decision("ok", None, row["message"], record_key(digest),
                                        split_of(split_key[root], split))
    return decisions
