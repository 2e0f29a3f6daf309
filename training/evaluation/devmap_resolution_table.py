"""The DevMap resolution study's STUDIES.md section, Targets line and figure (pure functions
over the section ``devmap_resolution.py`` writes; the statistics in
``devmap_resolution_stats.py``, the target's judgement in ``devmap_resolution_judgement.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .devmap_agreement_table import LEAD, pearson_interval, platform_title
from .devmap_resolution_judgement import (
    chance_lines,
    chance_reading,
    chance_summary,
    chances_by_family,
    control_leads,
    control_lines,
    control_reading,
    peer_lines,
    peer_summary,
    peer_table,
)
from .devmap_resolution_stats import (
    PROTOCOL_SEEDS,
    TOGETHER_DRAWS,
    family_table,
    lead_text,
    listed_controls,
    runs_together,
    seed_mean,
    setting_title,
    settings_led_from,
    signed,
)
from .figures import save_figure

__all__ = ["TITLE", "cross_row_sets", "devmap_resolution_markdown",
           "devmap_resolution_statements", "draw_devmap_resolution"]

TITLE = "How finely DevMap leakage-free separates encoders"


def _effects(section: dict[str, Any], setting: str, seeds: int | None) -> dict[str, float]:
    """Every family member's mean on ``setting`` (first ``seeds`` seeds) minus its family's
    twins' mean: how far it sits from a random encoder of its own architecture."""
    out = {}
    for name, family in section["families"].items():
        scores = family["scores"].get(setting)
        if scores is None:
            continue
        base = np.mean([seed_mean(scores[t], seeds) for t in family["twins"]])
        for member in (*family["runs"], *family["twins"]):
            out[f"{name}/{member}"] = seed_mean(scores[member], seeds) - base
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


def _run_label(name: str, family: dict[str, Any], run: str) -> str:
    """A run's row name: its label in the family (``labels``), else the family's name for the
    encoder and ``family (run)`` for another run; an output other than ``fused`` is named."""
    label = _base_label(name, family, run)
    output = family.get("embedding", "fused")
    return label if output == "fused" else f"{label} ({output} output)"


def _base_label(name: str, family: dict[str, Any], run: str) -> str:
    return family.get("labels", {}).get(run) or (name if run == "encoder" else f"{name} ({run})")


def devmap_resolution_markdown(section: dict[str, Any]) -> str:
    """The study page's section: the protocol's noise against the real spread of random
    encoders, each run's lead at 3 and at all seeds, and the row sets' agreement."""
    seeds = section["seeds"]
    families = section["families"]
    table = family_table(section)
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
            lines.append(f"| {name} | {setting_title(setting)} | {s['twins']} | "
                         f"{s['noise']:.2f} | {s['protocol_se']:.2f} | {s['between']:.2f} | "
                         f"{s['twin_mean']:.1f} ({low:.1f}-{high:.1f}) | "
                         f"{lead_text(s['best_twin'])} |")
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
                lines.append(f"| {_run_label(name, family, run)} | {setting_title(setting)} | "
                             f"{signed(r['protocol'])} | {lead_text(r)} | "
                             f"{r['above_twins']} of {s['twins']} | {sd} |")
    lines += ["", "On how many of the settings each run leads its twins, and each twin its "
              "siblings, with a 95 % interval above 0 (all seeds):", ""]
    for name, family in families.items():
        led = settings_led_from(family, table[name])
        runs = ", ".join(f"{_base_label(name, family, r)} {n}" for r, n in led["runs"].items())
        twins = sorted(led["twins"].values())
        lines.append(f"- **{name}**: runs {runs}; twins {', '.join(map(str, twins))} "
                     f"(of {len(table[name])}).")
    together = _together(section)
    lines += _together_lines(section, together)
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
              "| control | " + " | ".join(setting_title(s) for s in section["settings"]) + " |",
              "|---|" + "---|" * len(section["settings"])]
    for control in listed_controls(section):
        cells = []
        for setting in section["settings"]:
            values = section["controls"].get(setting, {}).get(control)
            cells.append("–" if values is None else
                         f"{np.mean(values):.1f} ± {np.std(values, ddof=1) / len(values) ** 0.5:.1f}")
        lines.append(f"| {control} | " + " | ".join(cells) + " |")
    chances, peers = chances_by_family(section), peer_table(section)
    leads_by_control = control_leads(section, table)
    peer_rows = peer_lines(section, peers)
    lines += ["", *control_lines(section, leads_by_control),
              *(["", *peer_rows] if peer_rows else []), "",
              *chance_lines(section, chances), "",
              _reading(section, table, chances, leads_by_control, peers, together)]
    if section.get("figure"):
        lines += ["", f"![devmap resolution]({section['figure']})"]
    return "\n".join(lines) + "\n"


def _together(section: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """``family -> setting -> runs_together`` for the families of two or more runs."""
    out = {}
    for name, family in section["families"].items():
        found = {s: t for s in section["settings"]
                 if (t := runs_together(family, s)) is not None}
        if found:
            out[name] = found
    return out


def _together_lines(section: dict[str, Any], together: dict[str, dict[str, dict[str, float]]]
                    ) -> list[str]:
    """The table of each family's runs taken together, from :func:`_together` (empty without a
    family of 2+ runs)."""
    if not together:
        return []
    settings = section["settings"]
    lines = ["", f"The runs of a family taken together, a recipe's question rather than one "
             f"network's (does pre-training this architecture lead random encoders of it?): the "
             f"runs' mean minus the twins' mean at {section['seeds']} seeds, with a 95 % "
             f"interval from resampling runs, twins and seeds (bootstrap, {TOGETHER_DRAWS:,} "
             "draws); with a handful of runs the interval is coarse. The runs of one family may "
             "come from different recipes of the architecture (the family's line above names "
             "them).", "",
             "| family | runs | " + " | ".join(setting_title(s) for s in settings)
             + " | interval above 0 |", "|---|---|" + "---|" * (len(settings) + 1)]
    for name, per_setting in together.items():
        cells = [lead_text(per_setting[s]) if s in per_setting else "–" for s in settings]
        above = sum(t["low"] > 0 for t in per_setting.values())
        runs = next(iter(per_setting.values()))["runs"]
        lines.append(f"| {name} | {runs} | " + " | ".join(cells)
                     + f" | {above} of {len(per_setting)} |")
    return lines


def _together_reading(together: dict[str, dict[str, dict[str, float]]]) -> str:
    """The reading's sentence on each family's runs taken together, from :func:`_together`."""
    if not together:
        return ""
    parts = [f"{name} {sum(t['low'] > 0 for t in per.values())} of {len(per)} settings above 0, "
             f"{sum(t['low'] >= LEAD for t in per.values())} above +{LEAD:.0f}"
             for name, per in together.items()]
    return (" Each family's runs taken together (runs, twins and seeds resampled), the "
            "interval of the mean lead: " + "; ".join(parts) + ".")


def _best_twin_text(best: tuple[str, str, dict[str, Any]]) -> str:
    """``twin6 (family), leads its siblings by +2.6 (+2.2 to +2.9) on 680 AMD``."""
    family, setting, lead = best
    numbers = {k: v for k, v in lead.items() if k != "name"}
    return (f"{lead['name']} ({family}), leads its siblings by {lead_text(numbers)} on "
            f"{setting_title(setting)}")


def _mean_uncertainty(table: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The range over families and settings of the twins' real spread / sqrt(twins)."""
    values = [st["between"] / st["twins"] ** 0.5
              for per_setting in table.values() for st in per_setting.values()]
    return f"{min(values):.2f}-{max(values):.2f}"


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
        led = settings_led_from(family, table[name])
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
             chances: dict[str, dict[Any, dict[str, Any]]],
             leads_by_control: dict[str, dict[str, dict[str, float]]],
             peers: dict[str, dict[str, dict[str, Any]]],
             together: dict[str, dict[str, dict[str, float]]]) -> str:
    """What the numbers say, from the numbers: the target against the protocol's noise and
    the twins' real spread, whether that spread carries from one row set to the other, and
    how many runs' leads have an interval above 0 (per family) and which clear the target."""
    n = _summary_numbers(section, table)
    target = [f"{label} on {setting_title(s)}" for _, label, s, r in n["leads"]
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
            + _together_reading(together)
            + (control_reading(section, leads_by_control) if section.get("controls") else "")
            + (f" The field's own pre-trained embedding, judged the same way: {peer}."
               if (peer := peer_summary(section, peers)) else "")
            + chance_reading(section, chances))


def devmap_resolution_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: the DevMap pre-training target against the protocol's noise and the
    random encoders' real spread, and the runs' leads at many seeds."""
    if not section.get("families"):
        return []
    table = family_table(section)
    n = _summary_numbers(section, table)
    return [f"**what limits DevMap leakage-free pre-training** ({TITLE}, {section['seeds']} "
            f"fold/head seeds): a 3-seed mean's noise {min(n['se']):.2f}-{max(n['se']):.2f} "
            f"points; random twins' real spread (sd) {min(n['between']):.2f}-"
            f"{max(n['between']):.2f} points; the luckiest twin, "
            f"{_best_twin_text(n['best_twin'])}; runs leading their twins with a 95 % interval "
            f"above 0 (and above +{LEAD:.0f}): {_family_counts(n['leads'])}; leading on every "
            f"setting: {_every_setting(section, table)}"
            + (f"; the target as judged: {chance}" if (chance := chance_summary(
                chances_by_family(section))) else "")
            + (f"; {peer}" if (peer := peer_summary(section, peer_table(section))) else "")
            + "."]


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
    table = family_table(section)
    rows = sum(len(f["runs"]) + len(f["twins"]) for f in section["families"].values()) + len(
        listed_controls(section))
    fig, axes = plt.subplots(1, len(settings), figsize=(3.6 * len(settings),
                                                        max(5.5, 0.2 * rows + 1.8)), sharey=True)
    axes = np.atleast_1d(axes)
    labels: list[str] = []
    for name, family in section["families"].items():
        labels += [_run_label(name, family, r) for r in family["runs"]]
        labels += [f"{name} {t}" for t in family["twins"]]
    labels += listed_controls(section)
    y = {label: i for i, label in enumerate(labels)}
    for ax, setting in zip(axes, settings, strict=True):
        points = []
        for name, family in section["families"].items():
            scores = family["scores"].get(setting, {})
            points += [(_run_label(name, family, r), scores[r], "tab:green")
                       for r in family["runs"] if r in scores]
            points += [(f"{name} {t}", scores[t], "tab:gray") for t in family["twins"]
                       if t in scores]
        shown = section["controls"].get(setting, {})
        points += [(c, shown[c], "tab:blue") for c in listed_controls(section) if c in shown]
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
        ax.set_title(setting_title(setting), fontsize=9)
        ax.set_xlabel("leakage-free accuracy %", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=7)
    handles, names = axes[-1].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=7, loc="lower center", ncol=max(len(names), 1))
    axes[0].invert_yaxis()
    fig.suptitle(f"DevMap leakage-free at {section['seeds']} fold/head seeds: filled = mean with "
                 "95 % interval, hollow = the protocol's 3 seeds", fontsize=9)
    return save_figure(fig, png, rect=(0, 0.05, 1, 1))
