"""The DevMap resolution study's statistics (pure functions over the section
``devmap_resolution.py`` writes): the twins' split into seed effect, noise and real spread,
runs' paired leads, and the small text helpers its page and judgement share.

Every member of a family (pre-trained runs and their untrained twins, one architecture) and
every control is scored at the same fold/head seeds, so seed ``k`` is the same folds and head
seed for all of them. Per setting the twins' accuracies are split as a two-way layout
(twin x seed): the seed effect is shared and cancels in any comparison, the residual is the
protocol's noise, and what is left between the twins' means is how much two random encoders
of one architecture really differ on those rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .devmap_agreement_table import platform_title

__all__ = ["PROTOCOL_SEEDS", "PEER_MARK", "two_way", "paired_lead", "seed_mean", "family_stats",
           "settings_led", "settings_led_from", "TOGETHER_DRAWS", "runs_together", "family_table",
           "setting_title", "signed", "lead_text", "all_controls", "listed_controls"]

PROTOCOL_SEEDS = 3
"""The report's DevMap protocol scores every representation at fold/head seeds 0, 1, 2."""
PEER_MARK = "@"
"""``X@DIR`` is control ``X`` with other weights: ``ir2vec-fa@DIR`` is IR2Vec with the random
seed vocabulary in ``DIR`` (an untrained twin of IR2Vec, ``features/ir2vec_vocab.py``)."""


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


def seed_mean(values: list[float], seeds: int | None = None) -> float:
    """The mean over the first ``seeds`` seeds (all without)."""
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
    twin_means = [seed_mean(t) for t in twins]
    runs = {}
    for run in family["runs"]:
        full = paired_lead(scores[run], twins)
        runs[run] = {"protocol": paired_lead(scores[run], twins, PROTOCOL_SEEDS)["lead"],
                     **full, "mean": seed_mean(scores[run]),
                     "above_twins": int(sum(seed_mean(scores[run]) > m for m in twin_means)),
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
    return settings_led_from(family, {s: family_stats(family, s) for s in settings
                                      if s in family["scores"]})


def settings_led_from(family: dict[str, Any], per_setting: dict[str, dict[str, Any]]
                      ) -> dict[str, dict[str, int]]:
    """:func:`settings_led` from the family's :func:`family_stats` per setting."""
    return {"runs": {run: sum(st["runs"][run]["low"] > 0 for st in per_setting.values())
                     for run in family["runs"]},
            "twins": {twin: sum(st["sibling_leads"][twin]["low"] > 0
                                for st in per_setting.values()) for twin in family["twins"]}}


TOGETHER_DRAWS = 4000
"""Bootstrap draws behind a family's runs taken together (:func:`runs_together`)."""


def runs_together(family: dict[str, Any], setting: str, draws: int = TOGETHER_DRAWS,
                  seed: int = 0
                  ) -> dict[str, float] | None:
    """A family's runs taken together against its twins on one setting: the runs' mean minus
    the twins' mean at all seeds, with a 95 % percentile interval from resampling runs, twins
    and seeds with replacement (one seed draw for every member: the seeds are paired). The
    question of a recipe rather than of one network: both the runs' and the twins' spread
    widen it, as does the protocol's noise. ``None`` with fewer than 2 runs."""
    scores = family["scores"].get(setting)
    if scores is None or len(family["runs"]) < 2:
        return None
    runs = np.asarray([scores[r] for r in family["runs"]], dtype=np.float64)
    twins = np.asarray([scores[t] for t in family["twins"]], dtype=np.float64)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(runs.shape[1], size=(draws, runs.shape[1]))

    def resampled(table: np.ndarray) -> np.ndarray:
        members = table[rng.integers(len(table), size=(draws, len(table)))]
        picked = np.take_along_axis(members, seeds[:, None, :].repeat(len(table), 1), axis=2)
        return picked.mean(axis=(1, 2))

    leads = resampled(runs) - resampled(twins)
    low, high = np.percentile(leads, [2.5, 97.5])
    return {"lead": float(runs.mean() - twins.mean()), "low": float(low), "high": float(high),
            "runs": len(runs)}


def family_table(section: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``family -> setting -> family_stats``, computed once per page, line or figure."""
    return {name: {s: family_stats(family, s) for s in section["settings"]
                   if s in family["scores"]}
            for name, family in section["families"].items()}


def setting_title(setting: str) -> str:
    rows, platform = setting.split()
    return f"{rows.removeprefix('devmap-')} {platform_title(platform)}"


def signed(value: float) -> str:
    return f"{value:+.1f}"


def lead_text(lead: dict[str, Any]) -> str:
    name = f"{lead['name']} " if "name" in lead else ""
    return (f"{name}{signed(lead['lead'])} ({signed(lead['low'])} to "
            f"{signed(lead['high'])})")


def all_controls(section: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c for per in section["controls"].values() for c in per))


def listed_controls(section: dict[str, Any]) -> list[str]:
    """The controls, without the untrained twins of a control (``X@...``)."""
    return [c for c in all_controls(section) if PEER_MARK not in c]
