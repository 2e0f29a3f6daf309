"""The principal-basis study's tables (pure functions; the command is ``basis_study.py``):
DevMap leakage-free against the share of the corpus variance kept, pre-trained encoders beside
their untrained twins.

Reads the folders of ``infra/evaluate_basis.sh`` (``ROOT/NAME/v<share>/{devmap,
thread-coarsening}`` and ``ROOT/bases/NAME.npz``) and, with ``--as-is``, the same encoders
scored in their own coordinates (``AS_IS/NAME/{devmap,thread-coarsening}``, the folders of
``infra/evaluate_outputs.sh``)::

    python -m mirencoder.training.evaluation.basis_study runs/eval/principal \\
        --group "pre-trained=spread2,cont" --group "untrained twins=rtwin0,rtwin1" \\
        --as-is runs/eval/outputs-residual --report-dir .

Writes the table and a figure (``results/principal_basis.png``) into
``results/summary.json`` (key ``principal_basis``) and RESULTS.md; the first group is the one
compared with the second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..embedding.principal_basis import PrincipalBasis

__all__ = ["AS_IS", "SETTINGS", "basis_markdown", "basis_statements", "collect_basis_study",
           "share_name"]

SETTINGS = ("devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd", "devmap-680 nvidia")
AS_IS = "as is"
"""The share label of the encoders in their own coordinates (no basis)."""
_OUTPUT_METHOD = "encoder"  # the fused output's row


def _devmap_scores(folder: Path) -> dict[str, float] | None:
    path = folder / "results" / "summary.json"
    if not path.is_file():
        return None
    results = json.loads(path.read_text())["results"]
    out = {}
    for setting in SETTINGS:
        task, platform = setting.split()
        row = results.get(task, {}).get("leakage-free", {}).get(platform, {}).get(_OUTPUT_METHOD)
        if row is not None:
            out[setting] = float(row["accuracy_mean"])
    return out


def _coarsening_speedup(folder: Path) -> float | None:
    path = folder / "results" / "summary.json"
    if not path.is_file():
        return None
    rows = json.loads(path.read_text())["results"]["thread-coarsening"]["leakage-free"]
    row = rows.get("average", {}).get(_OUTPUT_METHOD)
    return None if row is None else float(row["speedup_mean"])


def _share_label(folder_name: str) -> str:
    return folder_name[1:] if folder_name.startswith("v") else folder_name


def _kept(basis: PrincipalBasis, share: str) -> int:
    """Directions of the fused output kept at ``share`` (a share of variance, or ``dN``)."""
    if share.startswith("d"):
        return basis.dims("fused", 1.0, int(share[1:]))
    return basis.dims("fused", float(share))


def _share_order(share: str) -> tuple[int, float]:
    """Own coordinates, then shares of variance falling, then fixed counts rising."""
    if share == AS_IS:
        return (0, 0.0)
    return (2, float(share[1:])) if share.startswith("d") else (1, -float(share))


def collect_basis_study(root: Path, groups: dict[str, list[str]],
                        as_is: Path | None = None) -> dict[str, Any]:
    """``shares`` (``as is`` first, then falling), per group and share the DevMap accuracies
    (``scores[group][share][setting]``: one value per member), the directions kept
    (``dims[group][share]``) and thread coarsening (``coarsening[group][share]``).

    Raises:
        ValueError: a member without any scored share.
    """
    shares: set[str] = set()
    scores: dict[str, dict[str, dict[str, list[float]]]] = {}
    dims: dict[str, dict[str, list[int]]] = {}
    coarsening: dict[str, dict[str, list[float]]] = {}
    for label, members in groups.items():
        scores[label], dims[label], coarsening[label] = {}, {}, {}
        for name in members:
            folders = {_share_label(f.name): f for f in sorted((root / name).glob("v*"))}
            if as_is is not None:
                folders[AS_IS] = as_is / name
            basis_file = root / "bases" / f"{name}.npz"
            basis = PrincipalBasis.load(basis_file) if basis_file.is_file() else None
            found = False
            for share, folder in folders.items():
                devmap = _devmap_scores(folder / "devmap")
                if not devmap:
                    continue
                found = True
                shares.add(share)
                for setting, value in devmap.items():
                    scores[label].setdefault(share, {}).setdefault(setting, []).append(value)
                if basis is not None and share != AS_IS:
                    dims[label].setdefault(share, []).append(_kept(basis, share))
                speedup = _coarsening_speedup(folder / "thread-coarsening")
                if speedup is not None:
                    coarsening[label].setdefault(share, []).append(speedup)
            if not found:
                raise ValueError(f"{name}: no DevMap leakage-free summary under {root / name} "
                                 "(run infra/evaluate_basis.sh)")
    return {"groups": {k: list(v) for k, v in groups.items()},
            "shares": sorted(shares, key=_share_order), "settings": list(SETTINGS),
            "scores": scores, "dims": dims, "coarsening": coarsening}


def _cell(values: list[float] | None, digits: int = 1) -> str:
    if not values:
        return "–"
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return (f"{mean:.{digits}f} ± {float(np.std(values, ddof=1)):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def share_name(share: str) -> str:
    if share == AS_IS:
        return "own coordinates (the protocol)"
    if share.startswith("d"):
        return f"first {share[1:]} directions (every encoder)"
    return "all directions, turned" if float(share) >= 1.0 else f"{float(share):.0%} of variance"


def basis_markdown(section: dict[str, Any]) -> str:
    """The RESULTS.md section: one row per share and group, and the first group's lead over
    the second's mean per share."""
    labels = list(section["groups"])
    lines = ["## Encoders in the principal basis of their pre-training corpus", ""]
    if section.get("note"):
        lines += [section["note"], ""]
    members = "; ".join(f"{label}: {', '.join(names)} ({len(names)})"
                        for label, names in section["groups"].items())
    lines += [f"Encoders: {members}. Cells: mean ± sample std (range) over the group's "
              "encoders; DevMap: leakage-free accuracy %, fused output, 3 fold/head seeds "
              "each; thread coarsening: leakage-free mean speedup.", ""]
    header = ["basis", "encoders", "directions kept", *section["settings"],
              "thread coarsening LF"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for share in section["shares"]:
        for label in labels:
            cells = section["scores"][label].get(share, {})
            kept = section["dims"][label].get(share)
            lines.append("| " + " | ".join([
                share_name(share), label, _cell(kept, 0) if kept else "all",
                *(_cell(cells.get(s)) for s in section["settings"]),
                _cell(section["coarsening"][label].get(share), 3)]) + " |")
        leads = _leads(section, share) if len(labels) >= 2 else None
        if leads is not None:
            lead = [f"{v:+.1f}" for v in leads]
            lines.append(f"| {share_name(share)} | **{labels[0]} − {labels[1]}** | | "
                         + " | ".join(lead) + " | |")
    lines += ["", "![DevMap leakage-free against the share of variance kept]"
                  "(results/principal_basis.png)", ""]
    return "\n".join(lines)


def _leads(section: dict[str, Any], share: str) -> list[float] | None:
    """The first group's mean minus the second's, per setting (None when one is missing)."""
    labels = list(section["groups"])
    out = []
    for setting in section["settings"]:
        a = section["scores"][labels[0]].get(share, {}).get(setting)
        b = section["scores"][labels[1]].get(share, {}).get(setting)
        if not a or not b:
            return None
        out.append(float(np.mean(a) - np.mean(b)))
    return out


def basis_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per share, the pre-trained group's lead over its twins on the four
    DevMap settings, against the pre-training target (+2 points on every one)."""
    if not section or len(section.get("groups", {})) < 2:
        return []
    labels = list(section["groups"])
    parts, reached = [], []
    for share in section["shares"]:
        leads = _leads(section, share)
        if leads is None:
            continue
        parts.append(f"{share_name(share)} " + " / ".join(f"{v:+.1f}" for v in leads))
        if min(leads) >= 2.0:
            reached.append(share_name(share))
    if not parts:
        return []
    verdict = (f"reached at {', '.join(reached)}" if reached else "NOT reached at any share")
    return [f"**principal basis of the pre-training corpus** ({labels[0]} minus {labels[1]}, "
            f"DevMap leakage-free {' / '.join(section['settings'])}, points): "
            + "; ".join(parts) + f". Pre-training target (+2 on all four): {verdict}."]
