"""The DevMap resolution study's numbers, STUDIES.md section, Targets line and figure (pure
functions over the section ``devmap_resolution.py`` writes).

Every member of a family (pre-trained runs and their untrained twins, one architecture) and
every control is scored at the same fold/head seeds, so seed ``k`` is the same folds and head
seed for all of them. Per setting the twins' accuracies are split as a two-way layout
(twin x seed): the seed effect is shared and cancels in any comparison, the residual is the
protocol's noise, and what is left between the twins' means is how much two random encoders
of one architecture really differ on those rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .devmap_agreement_table import LEAD, pearson_interval, platform_title
from .figures import save_figure

__all__ = ["PROTOCOL_SEEDS", "TITLE", "two_way", "paired_lead", "family_stats", "settings_led",
           "cross_row_sets", "target_chance", "devmap_resolution_markdown", "devmap_resolution_statements",
           "draw_devmap_resolution"]

PROTOCOL_SEEDS = 3
"""The report's DevMap protocol scores every representation at fold/head seeds 0, 1, 2."""
TITLE = "How finely DevMap leakage-free separates encoders"


def two_way(scores: np.ndarray) -> dict[str, float]:
    """A members x seeds table of accuracies split as member + seed + residual.

    Returns:
        ``noise``: the residual's standard deviation (one member at one seed, with the seed's
        shared effect removed); ``between``: the standard deviation of the members' true
        means (method of moments, 0 when the means spread no more than noise alone makes
        them); ``means_sd``: the spread of the members' means at these seeds.
    """
    x = np.asarray(scores, dtype=np.float64)
    members, seeds = x.shape
    residual = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    noise_var = float((residual ** 2).sum() / ((members - 1) * (seeds - 1)))
    means_var = float(x.mean(1).var(ddof=1))
    return {"noise": noise_var ** 0.5, "between": max(means_var - noise_var / seeds, 0.0) ** 0.5,
            "means_sd": means_var ** 0.5}


def paired_lead(run: list[float], twins: list[list[float]], seeds: int | None = None
                ) -> dict[str, float]:
    """The run's accuracy minus its twins' mean, seed by seed (same folds and head seed), over
    the first ``seeds`` seeds: mean and 95 % t interval (interval only with 2+ seeds)."""
    n = seeds or len(run)
    diff = np.asarray(run[:n]) - np.asarray([t[:n] for t in twins]).mean(0)
    lead = float(diff.mean())
    if n < 2:
        return {"lead": lead, "low": lead, "high": lead, "seeds": n}
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / n ** 0.5)
    return {"lead": lead, "low": lead - half, "high": lead + half, "seeds": n}


def _mean(values: list[float], seeds: int | None = None) -> float:
    return float(np.mean(values[:seeds] if seeds else values))


def family_stats(family: dict[str, Any], setting: str) -> dict[str, Any]:
    """One family on one setting: the twins' two-way split (all seeds), the noise of a mean
    over the protocol's 3 seeds, and each run's lead at 3 and at all seeds with its place
    among the twins (how many twins' means it is above, at all seeds); ``best_twin``: the
    twin that leads the mean of its siblings most, as a run is judged (``paired_lead``), of
    ``sibling_leads`` (every twin's)."""
    scores = family["scores"][setting]
    twins = [scores[t] for t in family["twins"]]
    split = two_way(np.asarray(twins))
    seeds = len(twins[0])
    twin_means = [_mean(t) for t in twins]
    runs = {}
    for run in family["runs"]:
        full = paired_lead(scores[run], twins)
        runs[run] = {"protocol": paired_lead(scores[run], twins, PROTOCOL_SEEDS)["lead"],
                     **full, "mean": _mean(scores[run]),
                     "above_twins": int(sum(_mean(scores[run]) > m for m in twin_means)),
                     "in_twin_sd": full["lead"] / split["between"] if split["between"] else None}
    sibling_leads = {name: paired_lead(scores[name], [scores[t] for t in family["twins"]
                                                      if t != name])
                     for name in family["twins"]}
    best = max(sibling_leads, key=lambda name: sibling_leads[name]["lead"])
    return {**split, "seeds": seeds, "twins": len(twins), "sibling_leads": sibling_leads,
            "best_twin": {"name": best, **sibling_leads[best]},
            "protocol_se": split["noise"] / PROTOCOL_SEEDS ** 0.5,
            "twin_mean": float(np.mean(twin_means)), "twin_range": (min(twin_means),
                                                                   max(twin_means)),
            "runs": runs}


def settings_led(family: dict[str, Any], settings: list[str]) -> dict[str, dict[str, int]]:
    """On how many of ``settings`` each run leads its twins, and each twin leads its siblings,
    with a 95 % interval above 0 (``paired_lead`` at all seeds): ``{"runs": {run: n},
    "twins": {twin: n}}``. A random encoder's luck shows on a setting or two; an encoder that
    carries more shows on all of them."""
    return _settings_led(family, {s: family_stats(family, s) for s in settings
                                  if s in family["scores"]})


def _settings_led(family: dict[str, Any], per_setting: dict[str, dict[str, Any]]
                  ) -> dict[str, dict[str, int]]:
    """:func:`settings_led` from the family's :func:`family_stats` per setting."""
    return {"runs": {run: sum(st["runs"][run]["low"] > 0 for st in per_setting.values())
                     for run in family["runs"]},
            "twins": {twin: sum(st["sibling_leads"][twin]["low"] > 0
                                for st in per_setting.values()) for twin in family["twins"]}}


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
    from itertools import combinations

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


def _family_table(section: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``family -> setting -> family_stats``, computed once per page, line or figure."""
    return {name: {s: family_stats(family, s) for s in section["settings"]
                   if s in family["scores"]}
            for name, family in section["families"].items()}


def _effects(section: dict[str, Any], setting: str, seeds: int | None) -> dict[str, float]:
    """Every family member's mean on ``setting`` (first ``seeds`` seeds) minus its family's
    twins' mean: how far it sits from a random encoder of its own architecture."""
    out = {}
    for name, family in section["families"].items():
        scores = family["scores"].get(setting)
        if scores is None:
            continue
        base = np.mean([_mean(scores[t], seeds) for t in family["twins"]])
        for member in (*family["runs"], *family["twins"]):
            out[f"{name}/{member}"] = _mean(scores[member], seeds) - base
    return out


def cross_row_sets(section: dict[str, Any], seeds: int | None = None,
                   draws: int = 10_000) -> dict[str, Any]:
    """Per platform, Pearson's r (with its bootstrap 95 % interval) between the members'
    669-row and 680-row effects (their accuracy minus their twins' mean), at the first
    ``seeds`` seeds (all when None): do the two row sets agree on which encoder is better?"""
    out = {}
    for platform in sorted({s.split()[-1] for s in section["settings"]}):
        pair = [s for s in section["settings"] if s.endswith(f" {platform}")]
        if len(pair) != 2:
            continue
        first, second = (_effects(section, s, seeds) for s in pair)
        common = sorted(set(first) & set(second))
        if len(common) < 4:
            continue
        r, low, high = pearson_interval(np.array([first[m] for m in common]),
                                        np.array([second[m] for m in common]), draws=draws)
        out[platform] = {"r": r, "low": low, "high": high, "n": len(common)}
    return out


def _setting_title(setting: str) -> str:
    rows, platform = setting.split()
    return f"{rows.removeprefix('devmap-')} {platform_title(platform)}"


def _run_label(name: str, family: dict[str, Any], run: str) -> str:
    """A run's row name: its label in the family (``labels``), else the family's name for the
    encoder and ``family (run)`` for another run; an output other than ``fused`` is named."""
    label = _base_label(name, family, run)
    output = family.get("embedding", "fused")
    return label if output == "fused" else f"{label} ({output} output)"


def _base_label(name: str, family: dict[str, Any], run: str) -> str:
    return family.get("labels", {}).get(run) or (name if run == "encoder" else f"{name} ({run})")


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def devmap_resolution_markdown(section: dict[str, Any]) -> str:
    """The study page's section: the protocol's noise against the real spread of random
    encoders, each run's lead at 3 and at all seeds, and the row sets' agreement."""
    seeds = section["seeds"]
    families = section["families"]
    table = _family_table(section)
    lines = [f"## {TITLE}", "",
             f"A diagnostic of the protocol: pre-trained encoders, their untrained twins (one "
             f"architecture and vocabulary, random weights) and the controls, each scored at "
             f"{seeds} fold/head seeds instead of the protocol's {PROTOCOL_SEEDS} (the same "
             "leakage-free folds and XGBoost head; seeds 0-2 are the protocol's own, so the "
             "3-seed columns repeat the recorded scores). Seed k is the same folds and head seed "
             "for every representation, so leads are taken seed by seed. Per setting the twins' "
             "accuracies split into a shared seed effect, the protocol's noise (the residual) "
             "and the real spread between random encoders (between their true means). Command: "
             "`python -m mirencoder.training.evaluation.devmap_resolution ENCODER --twins ... "
             f"--seeds {seeds} --report-dir .` (one family per command).", ""]
    for name, family in families.items():
        runs = ", ".join(_base_label(name, family, r) for r in family["runs"])
        note = f" {family['note']}" if family.get("note") else ""
        output = f", {family['embedding']} output," if family.get("embedding") else ""
        command = f" Command: `{family['command']}`." if family.get("command") else ""
        lines.append(f"- **{name}**: {runs}{output} against {len(family['twins'])} twins."
                     f"{note}{command}")
    lines += ["", "| family | setting | twins | protocol noise, one seed | noise of a 3-seed "
              f"mean | twins' real spread (sd) | twins' {seeds}-seed means | best twin over its "
              f"siblings, {seeds} seeds (95 %) |",
              "|---|---|---|---|---|---|---|---|"]
    for name, per_setting in table.items():
        for setting, s in per_setting.items():
            low, high = s["twin_range"]
            lines.append(f"| {name} | {_setting_title(setting)} | {s['twins']} | "
                         f"{s['noise']:.2f} | {s['protocol_se']:.2f} | {s['between']:.2f} | "
                         f"{s['twin_mean']:.1f} ({low:.1f}-{high:.1f}) | "
                         f"{_lead_text(s['best_twin'])} |")
    lines += ["", f"Each pre-trained run against the mean of its twins, in points (target: "
              f"+{LEAD:.0f} on every setting): the lead at the protocol's {PROTOCOL_SEEDS} seeds, "
              f"at {seeds} seeds with its 95 % interval over seeds (paired), how many twins' "
              f"{seeds}-seed means the run is above, and the lead in units of the twins' real "
              "spread. The interval is the protocol's noise against these twins; as an estimate "
              "of a random encoder of the architecture, their mean carries another "
              f"{_mean_uncertainty(table)} points (the real spread over the root of the "
              "number of twins).", "",
              f"| run | setting | lead, 3 seeds | lead, {seeds} seeds (95 %) | above twins | "
              "in twins' sd |", "|---|---|---|---|---|---|"]
    for name, family in families.items():
        for run in family["runs"]:
            for setting, s in table[name].items():
                r = s["runs"][run]
                sd = "–" if r["in_twin_sd"] is None else f"{r['in_twin_sd']:+.1f}"
                lines.append(f"| {_run_label(name, family, run)} | {_setting_title(setting)} | "
                             f"{_signed(r['protocol'])} | {_lead_text(r)} | "
                             f"{r['above_twins']} of {s['twins']} | {sd} |")
    lines += ["", "On how many of the settings each run leads its twins, and each twin its "
              "siblings, with a 95 % interval above 0 (all seeds):", ""]
    for name, family in families.items():
        led = _settings_led(family, table[name])
        runs = ", ".join(f"{_base_label(name, family, r)} {n}" for r, n in led["runs"].items())
        twins = sorted(led["twins"].values())
        lines.append(f"- **{name}**: runs {runs}; twins {', '.join(map(str, twins))} "
                     f"(of {len(table[name])}).")
    lines += ["", "Do the two row sets agree on which encoder is better? Pearson's r between "
              "the members' 669-row and 680-row leads over their own twins' mean (runs and "
              "twins, every family), at the protocol's 3 seeds and at all seeds:", "",
              f"| platform | members | r, 3 seeds (95 %) | r, {seeds} seeds (95 %) |",
              "|---|---|---|---|"]
    few, many = cross_row_sets(section, PROTOCOL_SEEDS), cross_row_sets(section)
    for platform, found in many.items():
        lines.append(f"| {platform_title(platform)} | {found['n']} | "
                     f"{_r_text(few.get(platform))} | {_r_text(found)} |")
    lines += ["", f"Controls at {seeds} seeds (mean ± the noise of that mean):", "",
              "| control | " + " | ".join(_setting_title(s) for s in section["settings"]) + " |",
              "|---|" + "---|" * len(section["settings"])]
    for control in _controls(section):
        cells = []
        for setting in section["settings"]:
            values = section["controls"].get(setting, {}).get(control)
            cells.append("–" if values is None else
                         f"{np.mean(values):.1f} ± {np.std(values, ddof=1) / len(values) ** 0.5:.1f}")
        lines.append(f"| {control} | " + " | ".join(cells) + " |")
    chances = _chances(section)
    peers = _peer_lines(section)
    lines += ["", *_control_lines(section, table), *(["", *peers] if peers else []), "",
              *_chance_lines(section, chances), "", _reading(section, table, chances)]
    if section.get("figure"):
        lines += ["", f"![devmap resolution]({section['figure']})"]
    return "\n".join(lines) + "\n"


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
            for control in _controls(section)}


def _control_lines(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]]
                   ) -> list[str]:
    """Each control against each family's twins, as a run is judged (target +2 on each)."""
    seeds = section["seeds"]
    lines = [f"The controls judged as a run is: each control's {seeds}-seed mean minus each "
             f"family's twins' mean, in points (bold: the target's +{LEAD:.0f} reached). "
             "`runtime-only` is what an encoder returning one constant vector would score: the "
             "head cannot split on a column that never changes.", "",
             "| control | against | " + " | ".join(_setting_title(s) for s in section["settings"])
             + " | every setting |", "|---|---|" + "---|" * (len(section["settings"]) + 1)]
    for control, per_family in control_leads(section, table).items():
        for name, leads in per_family.items():
            cells = [("–" if s not in leads else
                      (f"**{_signed(leads[s])}**" if leads[s] >= LEAD else _signed(leads[s])))
                     for s in section["settings"]]
            every = "yes" if len(leads) == len(section["settings"]) and min(
                leads.values()) >= LEAD else "no"
            lines.append(f"| {control} | {name} | " + " | ".join(cells) + f" | {every} |")
    return lines


def _control_reading(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]]
                     ) -> str:
    """Which controls would meet the target against how many families' twins."""
    found = control_leads(section, table)
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
                 f"{max(leads):+.1f} points above the twins: on these rows the head gains more "
                 "from fewer, axis-aligned program columns than from what pre-training adds")
    return text + "."


CHANCE_LEADS = (0.0, 1.0, 2.0, 3.0, 4.0)
"""The recipe leads (points over random encoders, every setting) the chance table shows."""


def _chances(section: dict[str, Any]) -> dict[str, dict[Any, dict[str, Any]]]:
    """``family -> seeds -> target_chance`` at the protocol's seeds and at all of them, and
    under ``"no run luck"`` the protocol's seeds with a run that has no luck of its own."""
    return {name: {**{k: target_chance(family, section["settings"], CHANCE_LEADS, seeds=k)
                      for k in dict.fromkeys((PROTOCOL_SEEDS, section["seeds"]))},
                   NO_RUN_LUCK: target_chance(family, section["settings"], CHANCE_LEADS,
                                              run_luck=False)}
            for name, family in section["families"].items()}


NO_RUN_LUCK = "no run luck"


def _needed_text(value: float | None) -> str:
    return "above +10" if value is None else f"+{value:.1f}"


def _chance_lines(section: dict[str, Any], chances: dict[str, dict[Any, dict[str, Any]]]
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
                 f"lead {_signed(d)}" for d in CHANCE_LEADS)
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


def _chance_summary(chances: dict[str, dict[Any, dict[str, Any]]]) -> str:
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
        text += (f" (a run with no luck of its own: {min(100 * f['chance'][LEAD] for f in calm):.0f}"
                 f"-{max(100 * f['chance'][LEAD] for f in calm):.0f} % at +{LEAD:.0f}, even odds "
                 f"at +{min(calm_even):.1f} to +{max(calm_even):.1f})")
    return text


def _best_twin_text(best: tuple[str, str, dict[str, Any]]) -> str:
    """``twin6 (family), leads its siblings by +2.6 (+2.2 to +2.9) on 680 AMD``."""
    family, setting, lead = best
    numbers = {k: v for k, v in lead.items() if k != "name"}
    return (f"{lead['name']} ({family}), leads its siblings by {_lead_text(numbers)} on "
            f"{_setting_title(setting)}")


def _lead_text(lead: dict[str, Any]) -> str:
    name = f"{lead['name']} " if "name" in lead else ""
    return (f"{name}{_signed(lead['lead'])} ({_signed(lead['low'])} to "
            f"{_signed(lead['high'])})")


def _mean_uncertainty(table: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The range over families and settings of the twins' real spread / sqrt(twins)."""
    values = [st["between"] / st["twins"] ** 0.5
              for per_setting in table.values() for st in per_setting.values()]
    return f"{min(values):.2f}-{max(values):.2f}"


def _all_controls(section: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c for per in section["controls"].values() for c in per))


def _controls(section: dict[str, Any]) -> list[str]:
    """The controls, without the untrained twins of a control (``X@...``)."""
    return [c for c in _all_controls(section) if PEER_MARK not in c]


PEER_MARK = "@"
"""``X@DIR`` is control ``X`` with other weights: ``ir2vec-fa@DIR`` is IR2Vec with the random
seed vocabulary in ``DIR`` (an untrained twin of IR2Vec, ``features/ir2vec_vocab.py``)."""


def peer_families(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Controls scored beside untrained twins of their own, each as a family: control ``X`` the
    run, its ``X@...`` controls (at least 3) the twins, named by their folder. The
    field's pre-trained representations judged as the encoder is."""
    controls = _all_controls(section)
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


def _peer_lines(section: dict[str, Any]) -> list[str]:
    """Each control with twins of its own, judged as a run is: its lead at 3 and at all
    seeds, its place among its twins, their spread and the luckiest of them."""
    peers = peer_families(section)
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
    for base, family in peers.items():
        for setting in section["settings"]:
            if setting not in family["scores"]:
                continue
            st = family_stats(family, setting)
            r = st["runs"][base]
            lines.append(f"| {base} | {_setting_title(setting)} | {st['twins']} | "
                         f"{_signed(r['protocol'])} | {_lead_text(r)} | {r['above_twins']} of "
                         f"{st['twins']} | {st['between']:.2f} | {_lead_text(st['best_twin'])} |")
    return lines


def _peer_summary(section: dict[str, Any]) -> str:
    """``ir2vec-fa against its 8 untrained twins: +0.3 / ... (interval above 0 on 2 of 4)``."""
    parts = []
    for base, family in peer_families(section).items():
        per = {s: family_stats(family, s) for s in section["settings"] if s in family["scores"]}
        leads = [st["runs"][base] for st in per.values()]
        parts.append(f"{base} against its {len(family['twins'])} untrained twins "
                     + " / ".join(_signed(r["lead"]) for r in leads)
                     + f" at {section['seeds']} seeds (interval above 0 on "
                     f"{sum(r['low'] > 0 for r in leads)} of {len(leads)}, above "
                     f"+{LEAD:.0f} on {sum(r['low'] >= LEAD for r in leads)})")
    return "; ".join(parts)


def _r_text(found: dict[str, Any] | None) -> str:
    if not found:
        return "–"
    return f"{found['r']:+.2f} ({found['low']:+.2f} to {found['high']:+.2f})"


def _summary_numbers(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]]
                     ) -> dict[str, Any]:
    per = [st for per_setting in table.values() for st in per_setting.values()]
    leads = [(name, _run_label(name, f, run), s, st["runs"][run])
             for name, f in section["families"].items() for run in f["runs"]
             for s, st in table[name].items()]
    twins = [(name, s, st["best_twin"]) for name, per_setting in table.items()
             for s, st in per_setting.items()]
    best = max(twins, key=lambda item: item[2]["lead"])
    return {"se": [p["protocol_se"] for p in per], "between": [p["between"] for p in per],
            "leads": leads, "best_twin": best}


def _every_setting(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]]
                   ) -> str:
    """``family: runs 2 of 3, twins 0 of 8`` leading on every setting (interval above 0)."""
    parts = []
    for name, family in section["families"].items():
        width = len(table[name])
        led = _settings_led(family, table[name])
        parts.append(f"{name}: runs {sum(n == width for n in led['runs'].values())} of "
                     f"{len(led['runs'])}, twins {sum(n == width for n in led['twins'].values())}"
                     f" of {len(led['twins'])}")
    return "; ".join(parts)


def _family_counts(leads: list[tuple[str, str, str, dict[str, Any]]]) -> str:
    """``family: 6 of 12 run-settings above 0, 0 above +2`` for each family."""
    families = list(dict.fromkeys(family for family, *_ in leads))
    parts = []
    for family in families:
        mine = [r for f, _, _, r in leads if f == family]
        parts.append(f"{family}: {sum(r['low'] > 0 for r in mine)} of {len(mine)} run-settings "
                     f"above 0, {sum(r['low'] >= LEAD for r in mine)} above +{LEAD:.0f}")
    return "; ".join(parts)


def _reading(section: dict[str, Any], table: dict[str, dict[str, dict[str, Any]]],
             chances: dict[str, dict[Any, dict[str, Any]]]) -> str:
    """What the numbers say, from the numbers: the target against the protocol's noise and
    the twins' real spread, whether that spread carries from one row set to the other, and
    how many runs' leads have an interval above 0 (per family) and which clear the target."""
    n = _summary_numbers(section, table)
    target = [f"{label} on {_setting_title(s)}" for _, label, s, r in n["leads"]
              if r["low"] >= LEAD]
    agree = cross_row_sets(section)
    carried = "; ".join(f"{platform_title(p)} r {_r_text(found)}" for p, found in agree.items())
    spans_zero = all(found["low"] <= 0 <= found["high"] for found in agree.values())
    text = (f"Reading: a 3-seed mean carries {min(n['se']):.2f}-{max(n['se']):.2f} points of "
            f"the protocol's noise, and random encoders of one architecture really differ, by "
            f"an sd of {min(n['between']):.2f}-{max(n['between']):.2f} points per setting: the "
            f"+{LEAD:.0f} target is {LEAD / max(n['between']):.1f}-"
            f"{LEAD / max(min(n['between']), 1e-9):.1f} of those sds, and the luckiest random "
            f"encoder, {_best_twin_text(n['best_twin'])}, as a run is judged.")
    if agree:
        text += (f" The two row sets share their labels and run-time inputs and differ in the "
                 f"kernels' IR (IR2Vec's against the one compiled here); whether a member's "
                 f"lead on one carries to the other at all {section['seeds']} seeds: {carried}"
                 + (" -- no interval excludes 0: the members' spread is real on each row set "
                    "but, at this resolution, not shown to carry from one toolchain's IR to the "
                    "other's." if spans_zero else
                    " -- where an interval excludes 0 ("
                    + ", ".join(platform_title(p) for p, f in agree.items() if f["low"] > 0
                                or f["high"] < 0)
                    + "), part of the members' spread carries from one toolchain's IR to the "
                    "other's (the outputs of one network, counted as members of several "
                    "families, are not independent)."))
    return (text + " Runs' leads whose 95 % interval lies above 0 at all seeds, per family: "
            + _family_counts(n["leads"]) + ". Leading on every setting (a twin against its "
            "siblings, the same way): " + _every_setting(section, table) + "."
            + (f" Above +{LEAD:.0f}: " + "; ".join(target) + "." if target else "")
            + (_control_reading(section, table) if section.get("controls") else "")
            + (f" The field's own pre-trained embedding, judged the same way: {peer}."
               if (peer := _peer_summary(section)) else "")
            + _chance_reading(section, chances))


def _chance_reading(section: dict[str, Any], chances: dict[str, dict[Any, dict[str, Any]]]
                    ) -> str:
    """The chance table read: the target is a conjunction over settings of single networks'
    draws, so it asks more than +2, and more seeds barely change that."""
    summary = _chance_summary(chances)
    if not summary or section["seeds"] == PROTOCOL_SEEDS:
        return ""
    gains = [per[section["seeds"]]["needed"][0.5] - per[PROTOCOL_SEEDS]["needed"][0.5]
             for per in chances.values()
             if None not in (per[PROTOCOL_SEEDS]["needed"][0.5],
                             per[section["seeds"]]["needed"][0.5])]
    return (f" The target as judged: {summary}. It asks for a lead on all "
            f"{len(section['settings'])} settings at once from one run and one twin, each a "
            f"draw with its own luck, so a recipe that truly leads by +{LEAD:.0f} on every "
            "setting passes only when its run and its twin both fall the right way on every setting; judging at "
            f"all {section['seeds']} seeds changes the lead needed for even odds by "
            f"{min(gains):+.1f} to {max(gains):+.1f} points, so the protocol's seeds are not "
            "what limits it: the networks' own spread is.")


def devmap_resolution_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: the DevMap pre-training target against the protocol's noise and the
    random encoders' real spread, and the runs' leads at many seeds."""
    if not section.get("families"):
        return []
    table = _family_table(section)
    n = _summary_numbers(section, table)
    return [f"**what limits DevMap leakage-free pre-training** ({TITLE}, {section['seeds']} "
            f"fold/head seeds): a 3-seed mean's noise {min(n['se']):.2f}-{max(n['se']):.2f} "
            f"points; random twins' real spread (sd) {min(n['between']):.2f}-"
            f"{max(n['between']):.2f} points; the luckiest twin, "
            f"{_best_twin_text(n['best_twin'])}; runs leading their twins with a 95 % interval "
            f"above 0 (and above +{LEAD:.0f}): {_family_counts(n['leads'])}; leading on every "
            f"setting: {_every_setting(section, table)}"
            + (f"; the target as judged: {chance}" if (chance := _chance_summary(
                _chances(section))) else "")
            + (f"; {peer}" if (peer := _peer_summary(section)) else "") + "."]


_LINE_STYLES = (":", "--", "-.", (0, (1, 3)), (0, (5, 5)))
"""One target line style per family (the figure draws at most this many families' lines)."""


def draw_devmap_resolution(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: every member's and control's mean at all seeds with the 95 %
    interval of that mean (twins grey, runs green, controls blue), its 3-seed mean (hollow)
    and the target (each family's twins' mean + 2, dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = section["settings"]
    table = _family_table(section)
    rows = sum(len(f["runs"]) + len(f["twins"]) for f in section["families"].values()) + len(
        _controls(section))
    fig, axes = plt.subplots(1, len(settings), figsize=(3.6 * len(settings),
                                                        max(5.5, 0.2 * rows + 1.8)), sharey=True)
    axes = np.atleast_1d(axes)
    labels: list[str] = []
    for name, family in section["families"].items():
        labels += [_run_label(name, family, r) for r in family["runs"]]
        labels += [f"{name} {t}" for t in family["twins"]]
    labels += _controls(section)
    y = {label: i for i, label in enumerate(labels)}
    for ax, setting in zip(axes, settings, strict=True):
        points = []
        for name, family in section["families"].items():
            scores = family["scores"].get(setting, {})
            points += [(_run_label(name, family, r), scores[r], "tab:green")
                       for r in family["runs"] if r in scores]
            points += [(f"{name} {t}", scores[t], "tab:gray") for t in family["twins"]
                       if t in scores]
        points += [(c, v, "tab:blue") for c, v in section["controls"].get(setting, {}).items()]
        for label, values, colour in points:
            x = np.asarray(values)
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / len(x) ** 0.5
            ax.errorbar(x.mean(), y[label], xerr=half, fmt="o", color=colour, capsize=2, ms=4)
            ax.plot(x[:PROTOCOL_SEEDS].mean(), y[label], "o", mfc="none", color=colour, ms=6)
        for style, (name, per_setting) in zip(_LINE_STYLES, table.items(), strict=False):
            if setting in per_setting:
                goal = per_setting[setting]["twin_mean"] + LEAD
                ax.axvline(goal, color="tab:red", linestyle=style, linewidth=1,
                           label=f"{name}: twins' mean + {LEAD:g}")
        ax.set_title(_setting_title(setting), fontsize=9)
        ax.set_xlabel("leakage-free accuracy %", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=7)
    handles, names = axes[-1].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=7, loc="lower center", ncol=max(len(names), 1))
    axes[0].invert_yaxis()
    fig.suptitle(f"DevMap leakage-free at {section['seeds']} fold/head seeds: filled = mean with "
                 "95 % interval, hollow = the protocol's 3 seeds", fontsize=9)
    return save_figure(fig, png, rect=(0, 0.05, 1, 1))
