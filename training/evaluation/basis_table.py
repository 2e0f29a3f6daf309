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
compared with the second. Bases of independent components (``KIND=independent
infra/evaluate_basis.sh``, ``basis_study --kind independent``) go to their own section (key
``independent_basis``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..embedding.principal_basis import PrincipalBasis
from .record_table import evaluations, method_scores, spread_cell

__all__ = ["AS_IS", "BASIS_SECTIONS", "SETTINGS", "basis_markdown", "basis_statements",
           "collect_basis_study", "share_name"]

SETTINGS = ("devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd", "devmap-680 nvidia")
AS_IS = "as is"
"""The share label of the encoders in their own coordinates (no basis)."""
_OUTPUT_METHOD = "encoder"  # the fused output's row
BASIS_SECTIONS = {"principal": "principal_basis", "independent": "independent_basis"}
"""The summary key (and figure name) of each kind of basis study."""
_TITLES = {"principal": ("Encoders in the principal basis of their pre-training corpus",
                         "principal basis of the pre-training corpus", "directions"),
           "independent": ("Encoders in independent components of their pre-training corpus",
                           "independent components of the pre-training corpus",
                           "components")}
# ``method_scores`` keys of the DevMap settings: "devmap-669 amd" -> "devmap-669_amd"
_SCORE_KEYS = {setting: setting.replace(" ", "_") for setting in SETTINGS}


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
                scored = method_scores(*evaluations(folder), _OUTPUT_METHOD)
                devmap = {setting: scored[key] for setting, key in _SCORE_KEYS.items()
                          if scored[key] is not None}
                if not devmap:
                    continue
                found = True
                shares.add(share)
                for setting, value in devmap.items():
                    scores[label].setdefault(share, {}).setdefault(setting, []).append(value)
                if basis is not None and share != AS_IS:
                    dims[label].setdefault(share, []).append(_kept(basis, share))
                if scored["coarsening"] is not None:
                    coarsening[label].setdefault(share, []).append(scored["coarsening"])
            if not found:
                raise ValueError(f"{name}: no DevMap leakage-free summary under {root / name} "
                                 "(run infra/evaluate_basis.sh)")
    return {"groups": {k: list(v) for k, v in groups.items()},
            "shares": sorted(shares, key=_share_order), "settings": list(SETTINGS),
            "scores": scores, "dims": dims, "coarsening": coarsening}


def share_name(share: str, kind: str = "principal") -> str:
    if share == AS_IS:
        return "own coordinates (the protocol)"
    if share.startswith("d"):
        return f"first {share[1:]} {_TITLES[kind][2]} (every encoder)"
    if float(share) >= 1.0:
        return "all directions, turned" if kind == "principal" else "all components"
    return f"{float(share):.0%} of variance"


def basis_markdown(section: dict[str, Any]) -> str:
    """The STUDIES.md section: one row per share and group, and the first group's lead over
    the second's mean per share."""
    labels = list(section["groups"])
    kind = section.get("kind", "principal")
    lines = [f"## {_TITLES[kind][0]}", ""]
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
                share_name(share, kind), label, spread_cell(kept, 0) if kept else "all",
                *(spread_cell(cells.get(s, []), 1) for s in section["settings"]),
                spread_cell(section["coarsening"][label].get(share, []), 3)]) + " |")
        leads = _leads(section, share) if len(labels) >= 2 else None
        if leads is not None:
            lead = [f"{v:+.1f}" for v in leads]
            lines.append(f"| {share_name(share, kind)} | **{labels[0]} − {labels[1]}** | | "
                         + " | ".join(lead) + " | |")
    lines += ["", "![DevMap leakage-free against the share of variance kept]"
                  f"(results/{BASIS_SECTIONS[kind]}.png)", ""]
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
    kind = section.get("kind", "principal")
    parts, reached = [], []
    for share in section["shares"]:
        leads = _leads(section, share)
        if leads is None:
            continue
        parts.append(f"{share_name(share, kind)} " + " / ".join(f"{v:+.1f}" for v in leads))
        if min(leads) >= 2.0:
            reached.append(share_name(share, kind))
    if not parts:
        return []
    verdict = (f"reached at {', '.join(reached)}" if reached else "NOT reached at any share")
    title = _TITLES[kind][1]
    return [f"**{title}** ({labels[0]} minus {labels[1]}, "
            f"DevMap leakage-free {' / '.join(section['settings'])}, points): "
            + "; ".join(parts) + f". Pre-training target (+2 on all four): {verdict}."]
