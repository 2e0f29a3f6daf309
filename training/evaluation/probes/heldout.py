"""Which sources pre-training never saw, read from a built dataset's manifest and splits.

A source is *held out* when its manifest row points at a record of the ``test`` split (an
``ok`` row, or a ``duplicate`` whose kept record is a test record: the same normalised IR).
With ``include_unseen``, sources absent from the manifest and sources that failed or were
excluded there count too: no split ever held their IR.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....infra.errors import ConfigError
from ....pipelines.dataset import verify_dataset_files
from .sources import SourceFile, source_identity

__all__ = ["ManifestView", "HeldOutSelection", "read_manifest_view", "select_held_out",
           "unchecked_selection"]

_UNSEEN_STATUSES = ("failed", "excluded")


@dataclass(frozen=True, slots=True)
class ManifestView:
    """What held-out selection needs from a dataset.

    Attributes:
        rows: ``identity -> [(status, key), ...]``: every manifest row of a source (a build
            with optimisation-level variants writes one row per input and level).
        split_of_key: record key -> split.
        dataset: the dataset folder, and ``index_sha256`` its lineage hash.
    """

    rows: dict[tuple[str, str], list[tuple[str, str | None]]]
    split_of_key: dict[str, str]
    dataset: str = ""
    index_sha256: str = ""


@dataclass(slots=True)
class HeldOutSelection:
    """The eligible sources per corpus and how they were chosen."""

    sources: dict[str, list[SourceFile]]
    checked: bool
    statement: str
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    dataset: str | None = None
    index_sha256: str | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description for the results."""
        return {"checked": self.checked, "statement": self.statement, "dataset": self.dataset,
                "index_sha256": self.index_sha256, "reasons": self.reasons,
                "eligible": {c: len(s) for c, s in self.sources.items()}}


def _keys_from_parquet(paths: Iterable[Path]) -> set[str]:
    import pyarrow.parquet as pq

    keys: set[str] = set()
    for path in paths:
        keys.update(pq.read_table(path, columns=["key"]).column("key").to_pylist())
    return keys


def _keys_from_wds(paths: Iterable[Path]) -> set[str]:
    keys: set[str] = set()
    for path in paths:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".meta.json"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        keys.add(json.loads(handle.read())["key"])
    return keys


def read_manifest_view(dataset_dir: str | Path) -> ManifestView:
    """Reads ``manifest.parquet`` and the record keys of each split (Parquet shards, else the
    WebDataset ``meta.json`` members).

    Raises:
        ConfigError: when the folder is not a finished dataset.
        FatalError: a shard or the manifest differs from the sums in ``index.json``.
    """
    import pyarrow.parquet as pq

    folder = Path(dataset_dir)
    index_path, manifest_path = folder / "index.json", folder / "manifest.parquet"
    if not index_path.is_file() or not manifest_path.is_file():
        raise ConfigError(f"{folder} is not a built dataset (needs index.json and "
                          "manifest.parquet)")
    raw = index_path.read_bytes()
    index = json.loads(raw)
    # The shards read (Parquet, else WebDataset) and the manifest, checked before any is read.
    chosen = {split: entry.get("parquet") or entry.get("wds", [])
              for split, entry in index.get("splits", {}).items()}
    verify_dataset_files(folder, index, [s for shards in chosen.values() for s in shards],
                         side_files=("manifest.parquet",))
    split_of_key: dict[str, str] = {}
    for split, entry in index.get("splits", {}).items():
        parquet = [folder / s["path"] for s in entry.get("parquet", [])]
        wds = [folder / s["path"] for s in entry.get("wds", [])]
        keys = _keys_from_parquet(parquet) if parquet else _keys_from_wds(wds)
        split_of_key.update(dict.fromkeys(keys, split))
    table = pq.read_table(manifest_path, columns=["path", "status", "key"]).to_pylist()
    rows: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for r in table:
        rows.setdefault(source_identity(r["path"]), []).append((r["status"], r["key"]))
    return ManifestView(rows, split_of_key, str(folder), hashlib.sha256(raw).hexdigest())


def select_held_out(sources: dict[str, Sequence[SourceFile]], view: ManifestView, *,
                    include_unseen: bool) -> HeldOutSelection:
    """Keeps the sources pre-training never saw (pure; see the module docstring).

    Returns:
        The selection, with per-corpus counts of each reason (``test_split``, ``absent``,
        ``failed``, ``excluded``, and the dropped ``train``/``validation``).
    """
    kept: dict[str, list[SourceFile]] = {}
    reasons: dict[str, dict[str, int]] = {}
    for corpus, items in sources.items():
        counts: Counter[str] = Counter()
        kept[corpus] = []
        for source in items:
            reason = _reason(source, view)
            counts[reason] += 1
            if reason == "test_split" or (include_unseen and reason in
                                          ("absent", *_UNSEEN_STATUSES)):
                kept[corpus].append(source)
        reasons[corpus] = dict(sorted(counts.items()))
    extra = (", plus sources absent from its manifest or that failed to compile there"
             if include_unseen else "")
    statement = (f"Held out, checked: only sources whose record is in the test split of the "
                 f"dataset {view.dataset} (index.json sha256 {view.index_sha256[:12]}){extra}; "
                 "pre-training never saw their IR.")
    return HeldOutSelection(kept, True, statement, reasons, view.dataset, view.index_sha256)


# When a source has several rows (one per optimisation level), the most "seen" one decides:
# any variant trained on makes the whole source seen.
_PRECEDENCE = ("train", "validation", "no_record", "test_split", "excluded", "failed")


def _reason(source: SourceFile, view: ManifestView) -> str:
    rows = view.rows.get(source.identity)
    if not rows:
        return "absent"
    return min((_row_reason(status, key, view) for status, key in rows),
               key=lambda r: _PRECEDENCE.index(r) if r in _PRECEDENCE else -1)


def _row_reason(status: str, key: str | None, view: ManifestView) -> str:
    if status in _UNSEEN_STATUSES:
        return status
    split = view.split_of_key.get(key or "")
    if split is None:
        return "no_record"  # a key whose record is not in any shard: do not trust it
    return "test_split" if split == "test" else split


def unchecked_selection(sources: dict[str, Sequence[SourceFile]], seed: int) -> HeldOutSelection:
    """Every source is eligible; the statement says held-out status was not checked."""
    statement = (f"Held-out status UNCHECKED: no dataset was given, so sources were sampled "
                 f"(seed {seed}) from the corpus archives without checking whether pre-training "
                 "saw them.")
    return HeldOutSelection({c: list(s) for c, s in sources.items()}, False, statement,
                            {c: {"unchecked": len(s)} for c, s in sources.items()})
