"""The results of a probe run: a JSON-serialisable record (NaN written as null)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ProbeResults", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(slots=True)
class ProbeResults:
    """Everything a report needs.

    Attributes:
        methods: method -> ``description``, ``featurize_s``, ``failed`` (programs it could
            not featurize), ``geometry`` (``geometry.embedding_geometry`` of its vectors over
            every probe program), in report order.
        skipped: method -> why it has no row.
        retrieval: ``protocol``, ``counts`` and ``methods`` (method -> ``map_at_r``,
            ``precision_at_1``, ``queries``, ``by_corpus``).
        decisions: ``protocol``, ``counts`` and ``groupings`` (fold grouping -> task ->
            ``classes``, ``dropped_classes``, ``n``, ``folds``, ``majority``, ``methods``).
        held_out: whether held-out status was checked, and the statement for the report.
        toolchain, encoder, config, timing: provenance and wall times (seconds).
    """

    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    held_out: dict[str, Any] = field(default_factory=dict)
    toolchain: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A plain-JSON dict."""
        return to_jsonable(dataclasses.asdict(self))

    def write_json(self, path: str | Path) -> Path:
        """Writes ``to_dict()`` as indented JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResults:
        """The inverse of :meth:`to_dict` (NaN comes back as None)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
