"""How the DevMap resolution study judges the target (pure functions): the controls judged
as a run is, the chance that a run meets the target as the report judges it, and controls
scored beside untrained twins of their own (``X@DIR``).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from .devmap_agreement_table import LEAD
from .devmap_resolution_stats import (
    PEER_MARK,
    PROTOCOL_SEEDS,
    all_controls,
    family_table,
    lead_text,
    listed_controls,
    setting_title,
    signed,
)

__all__ = ["CHANCE_LEADS", "NO_RUN_LUCK", "control_leads", "control_lines", "control_reading",
           "target_chance", "chances_by_family", "chance_lines", "chance_summary",
           "chance_reading", "peer_families", "peer_table", "peer_lines", "peer_summary"]

CHANCE_LEADS = (0.0, 1.0, 2.0, 3.0, 4.0)
"""The recipe leads (points over random encoders, every setting) the chance table shows."""
NO_RUN_LUCK = "no run luck"
"""The key, beside the seed counts, of the chance for a run with no luck of its own."""


def control_leads(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]]
                  ) -> dict[str, dict[str, dict[str, float]]]:
    """``control -> family -> setting -> lead``: each control's mean at all seeds minus the
    family's twins' mean, as a run is judged. ``runtime-only`` is what a constant vector
    gives: the head cannot split on a column that never changes."""
    return {control: {name: {s: float(np.mean(section["controls"][s][control])
                                      - st["twin_mean"])
                             for s, st in per_setting.items()
                             if control in section["controls"].get(s, {})}
                      for name, per_setting in table.items()}
            for control in listed_controls(section)}


def control_lines(section: dict[str, Any], leads_by_control: dict[str, dict[str, dict[str,
                                                                                   float]]]
                  ) -> list[str]:
    """Each control against each family's twins, as a run is judged (target +2 on each), from
    :func:`control_leads`."""
    seeds = section["seeds"]
    lines = [f"The controls judged as a run is: each control's {seeds}-seed mean minus each "
             f"family's twins' mean, in points (bold: the target's +{LEAD:.0f} reached). "
             "`runtime-only` is what an encoder returning one constant vector would score: the "
             "head cannot split on a column that never changes.", "",
             "| control | against | " + " | ".join(setting_title(s) for s in section["settings"])
             + " | every setting |", "|---|---|" + "---|" * (len(section["settings"]) + 1)]
    for control, per_family in leads_by_control.items():
        for name, leads in per_family.items():
            cells = [("–" if s not in leads else
                      (f"**{signed(leads[s])}**" if leads[s] >= LEAD else signed(leads[s])))
                     for s in section["settings"]]
            every = "yes" if len(leads) == len(section["settings"]) and min(
                leads.values()) >= LEAD else "no"
            lines.append(f"| {control} | {name} | " + " | ".join(cells) + f" | {every} |")
    return lines


def control_reading(section: dict[str, Any], found: dict[str, dict[str, dict[str, float]]]
                    ) -> str:
    """Which controls would meet the target against how many families' twins, from
    :func:`control_leads`."""
    width = len(section["settings"])
    met = {c: sum(len(v) == width and min(v.values()) >= LEAD for v in per.values())
           for c, per in found.items()}
    parts = [f"{control} against {n} of {len(found[control])}" for control, n in met.items()]
    constant = found.get("runtime-only")
    text = (f" Judged as a run is, the controls would meet the +{LEAD:.0f} target (every "
            f"setting) against these families' twins: {'; '.join(parts)}")
    if constant:
        leads = [v for per in constant.values() for v in per.values()]
        text += (f"; a constant vector (runtime-only) sits {min(leads):+.1f} to "
                 f"{max(leads):+.1f} points from the twins" + (
                     ", above them on every setting: on these rows the head gains more from "
                     "fewer, axis-aligned program columns than from what pre-training adds"
                     if min(leads) > 0 else ""))
    return text + "."


def target_chance(family: dict[str, Any], settings: list[str], leads: tuple[float, ...],
                  *, seeds: int = PROTOCOL_SEEDS, lead: float = LEAD, run_luck: bool = True
                  ) -> dict[str, Any]:
    """How often a run whose recipe leads random encoders by ``leads[i]`` on every setting
    would meet the target as the report judges it: its ``seeds``-seed mean at least ``lead``
    above one twin's on every setting.

    Built from the twins themselves, with no distributional assumption: every ordered pair of
    twins (i, j), i playing a run shifted up by the recipe's lead and j its twin, on every set
    of ``seeds`` of the scored seeds (the same seeds for both, as the protocol's are). The
    pair's two random draws stand for the run's own luck and the twin's; settings keep their
    joint spread (a twin lucky on one setting and unlucky on another counts as it was).
    With ``run_luck=False`` the run has no luck of its own: it sits at the mean of the other
    twins plus the recipe's lead, and only its twin's luck and the seeds' noise remain (one
    draw per twin and seed set), the least the judgement can ask.

    Returns:
        ``chance``: ``{lead: share of (pair, seed set) draws that pass}``; ``draws``: how
        many draws; ``needed``: the smallest recipe lead (0.1 steps) that passes half and 80 %
        of the draws, ``None`` above 10 points.
    """
    rows = [s for s in settings if s in family["scores"]]
    x = np.asarray([[family["scores"][s][t] for t in family["twins"]] for s in rows])
    subsets = np.asarray(list(combinations(range(x.shape[2]), seeds)))
    means = x[:, :, subsets].mean(-1)  # settings x twins x seed sets
    if run_luck:
        diff = means[:, :, None, :] - means[:, None, :, :]  # run i minus twin j
        worst = diff.min(0)[~np.eye(x.shape[1], dtype=bool)]  # each draw's worst setting
    else:
        others = (means.sum(1, keepdims=True) - means) / (x.shape[1] - 1)
        worst = (others - means).min(0).ravel()

    def chance(shift: float) -> float:
        return float((worst + shift >= lead - 1e-9).mean())

    grid = np.round(np.arange(0.0, 10.05, 0.1), 1)
    needed = {share: next((float(g) for g in grid if chance(g) >= share), None)
              for share in (0.5, 0.8)}
    return {"chance": {float(d): chance(d) for d in leads}, "draws": int(worst.size),
            "needed": needed, "settings": len(rows), "seeds": seeds, "run_luck": run_luck}


def chances_by_family(section: dict[str, Any]) -> dict[str, dict[Any, dict[str, Any]]]:
    """``family -> seeds -> target_chance`` at the protocol's seeds and at all of them, and
    under ``"no run luck"`` the protocol's seeds with a run that has no luck of its own."""
    return {name: {**{k: target_chance(family, section["settings"], CHANCE_LEADS, seeds=k)
                      for k in dict.fromkeys((PROTOCOL_SEEDS, section["seeds"]))},
                   NO_RUN_LUCK: target_chance(family, section["settings"], CHANCE_LEADS,
                                              run_luck=False)}
            for name, family in section["families"].items()}


def _needed_text(value: float | None) -> str:
    return "above +10" if value is None else f"+{value:.1f}"


def chance_lines(section: dict[str, Any], chances: dict[str, dict[Any, dict[str, Any]]]
                 ) -> list[str]:
    """The chance that a run of a recipe leading random encoders by a given amount meets the
    target as judged (one run against one twin), from the twins' own pairs."""
    seeds = section["seeds"]
    lines = [f"How often would a run meet the target as the report judges it (its "
             f"{PROTOCOL_SEEDS}-seed mean at least +{LEAD:.0f} above one twin's on every "
             "setting), if its recipe truly led random encoders by a given amount on every "
             "setting? Measured on the twins themselves: every ordered pair of twins, one "
             "shifted up by the recipe's lead and playing the run, the other its twin, on every "
             f"set of {PROTOCOL_SEEDS} of the {seeds} seeds (and once at all {seeds}, where the "
             "protocol's noise is nearly gone but each network's own luck stays). This assumes "
             "a pre-trained run's luck spreads as a random encoder's does; the last row of each "
             "family gives the run no luck of its own (it sits at the other twins' mean plus "
             "the lead; only its twin's luck and the seeds' noise remain): the least the "
             "judgement can ask.", "",
             "| family | judged at | draws | " + " | ".join(
                 f"lead {signed(d)}" for d in CHANCE_LEADS)
             + " | lead for 50 % | lead for 80 % |",
             "|---|---|---|" + "---|" * (len(CHANCE_LEADS) + 2)]
    for name, per_seeds in chances.items():
        for k, found in per_seeds.items():
            judged = (f"{PROTOCOL_SEEDS} seeds, run without luck" if k == NO_RUN_LUCK
                      else f"{k} seeds")
            cells = " | ".join(f"{100 * found['chance'][d]:.1f} %" for d in CHANCE_LEADS)
            lines.append(f"| {name} | {judged} | {found['draws']} | {cells} | "
                         f"{_needed_text(found['needed'][0.5])} | "
                         f"{_needed_text(found['needed'][0.8])} |")
    return lines


def chance_summary(chances: dict[str, dict[Any, dict[str, Any]]]) -> str:
    """The chance at +2 and the lead needed for even and 80 % odds, as judged."""
    found = [per[PROTOCOL_SEEDS] for per in chances.values()]
    at_two = [100 * f["chance"][LEAD] for f in found]
    even = [f["needed"][0.5] for f in found]
    likely = [f["needed"][0.8] for f in found]
    if None in even or None in likely:
        return ""
    text = (f"a recipe whose runs truly lead random encoders by +{LEAD:.0f} on every setting "
            f"would meet the target as judged in {min(at_two):.0f}-{max(at_two):.0f} % of "
            f"draws; even odds need +{min(even):.1f} to +{max(even):.1f}, 80 % +{min(likely):.1f}"
            f" to +{max(likely):.1f}")
    calm = [per[NO_RUN_LUCK] for per in chances.values() if NO_RUN_LUCK in per]
    calm_even = [f["needed"][0.5] for f in calm]
    if calm and None not in calm_even:
        calm_two = [100 * f["chance"][LEAD] for f in calm]
        text += (f" (a run with no luck of its own: {min(calm_two):.0f}-{max(calm_two):.0f} % "
                 f"at +{LEAD:.0f}, even odds at +{min(calm_even):.1f} to "
                 f"+{max(calm_even):.1f})")
    return text


def chance_reading(section: dict[str, Any], chances: dict[str, dict[Any, dict[str, Any]]]
                   ) -> str:
    """The chance table read: the target is a conjunction over settings of single networks'
    draws, so it asks more than +2, and more seeds barely change that."""
    summary = chance_summary(chances)
    if not summary or section["seeds"] == PROTOCOL_SEEDS:
        return ""
    gains = [per[section["seeds"]]["needed"][0.5] - per[PROTOCOL_SEEDS]["needed"][0.5]
             for per in chances.values()
             if None not in (per[PROTOCOL_SEEDS]["needed"][0.5],
                             per[section["seeds"]]["needed"][0.5])]
    return (f" The target as judged: {summary}. It asks for a lead on all "
            f"{len(section['settings'])} settings at once from one run and one twin, each a "
            f"draw with its own luck, so a recipe that truly leads by +{LEAD:.0f} on every "
            "setting passes only when its run and its twin both fall the right way on every "
            f"setting; judging at all {section['seeds']} seeds changes the lead needed for even "
            f"odds by {min(gains):+.1f} to {max(gains):+.1f} points, so the protocol's seeds are "
            "not what limits it: the networks' own spread is.")


def peer_families(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Controls scored beside untrained twins of their own, each as a family: control ``X`` the
    run, its ``X@...`` controls (at least 3) the twins, named by their folder. The
    field's pre-trained representations judged as the encoder is."""
    controls = all_controls(section)
    out = {}
    for base in (c for c in controls if PEER_MARK not in c):
        twins = [c for c in controls if c.startswith(base + PEER_MARK)]
        if len(twins) < 3:
            continue
        short = [Path(c.split(PEER_MARK, 1)[1]).name for c in twins]
        names = dict(zip(twins, short if len(set(short)) == len(short) else twins, strict=True))
        scores = {s: {base: per[base], **{names[c]: per[c] for c in twins}}
                  for s, per in section["controls"].items()
                  if base in per and all(c in per for c in twins)}
        out[base] = {"runs": [base], "twins": list(names.values()), "labels": {base: base},
                     "scores": scores}
    return out


def peer_table(section: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``control -> setting -> family_stats`` of every :func:`peer_families` family, computed
    once per page or line."""
    return family_table({"settings": section["settings"],
                         "families": peer_families(section)})


def peer_lines(section: dict[str, Any], peers: dict[str, dict[str, dict[str, Any]]]
               ) -> list[str]:
    """Each control with twins of its own, judged as a run is (from :func:`peer_table`): its
    lead at 3 and at all seeds, its place among its twins, their spread and the luckiest."""
    if not peers:
        return []
    seeds = section["seeds"]
    lines = ["A field's pre-trained representation judged as the encoder is, against untrained "
             "twins of its own (`X@DIR` controls; for IR2Vec: its seed vocabulary, which its "
             "authors trained with TransE, replaced by one with the same entities and norms and "
             "random directions, `python -m mirencoder.training.evaluation.features."
             "ir2vec_vocab`; the flow-aware aggregation unchanged):", "",
             f"| representation | setting | twins | lead, 3 seeds | lead, {seeds} seeds (95 %) | "
             f"above twins | twins' real spread (sd) | best twin over its siblings |",
             "|---|---|---|---|---|---|---|---|"]
    for base, per_setting in peers.items():
        for setting, st in per_setting.items():
            r = st["runs"][base]
            lines.append(f"| {base} | {setting_title(setting)} | {st['twins']} | "
                         f"{signed(r['protocol'])} | {lead_text(r)} | {r['above_twins']} of "
                         f"{st['twins']} | {st['between']:.2f} | {lead_text(st['best_twin'])} |")
    return lines


def peer_summary(section: dict[str, Any], peers: dict[str, dict[str, dict[str, Any]]]) -> str:
    """``ir2vec-fa against its 8 untrained twins -0.1 / ... (interval above 0 on 1 of 4, ...)``
    from :func:`peer_table`."""
    parts = []
    for base, per_setting in peers.items():
        leads = [st["runs"][base] for st in per_setting.values()]
        twins = next(iter(per_setting.values()))["twins"] if per_setting else 0
        parts.append(f"{base} against its {twins} untrained twins "
                     + " / ".join(signed(r["lead"]) for r in leads)
                     + f" at {section['seeds']} seeds (interval above 0 on "
                     f"{sum(r['low'] > 0 for r in leads)} of {len(leads)}, above "
                     f"+{LEAD:.0f} on {sum(r['low'] >= LEAD for r in leads)})")
    return "; ".join(parts)


