"""The fine-tuning study's table: read ``mirencoder eval devmap --finetune`` folders (encoder and
twin fine-tuned alike, beside the frozen heads), the STUDIES.md section and its Targets line
(the command is ``finetune_study.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .finetune import (
    FINETUNE_METHOD,
    HEAD_ONLY_READOUT_SUFFIX,
    UNTRAINED_FINETUNE_METHOD,
    XGBOOST_READOUT_SUFFIX,
)
from .record_table import spread_cell
from .table_cells import mean_std_cell

__all__ = ["PAIRS", "CONTROLS", "head_label", "collect_finetune", "twin_scores", "twin_means", "twin_values",
           "finetune_markdown", "finetune_statements", "finetune_sections", "section_key"]

READOUT_PAIR = ("XGBoost on the fine-tuned encoder", FINETUNE_METHOD + XGBOOST_READOUT_SUFFIX,
                UNTRAINED_FINETUNE_METHOD + XGBOOST_READOUT_SUFFIX)
"""The protocol's XGBoost head on each fold's fine-tuned encoders (``finetune.xgboost_readout``)."""
HEAD_ONLY_PAIR = ("MLP, head-only epochs, frozen", FINETUNE_METHOD + HEAD_ONLY_READOUT_SUFFIX,
                  UNTRAINED_FINETUNE_METHOD + HEAD_ONLY_READOUT_SUFFIX)
"""The fine-tuning's own head before its end-to-end epochs (``finetune.head_only_readout``)."""
PAIRS = (("XGBoost, frozen (the protocol's head)", "encoder", "encoder-untrained"),
         ("MLP, frozen", "encoder+mlp", "encoder-untrained+mlp"),
         ("stacked MLP, frozen (--heads stacked)", "encoder+stacked", "encoder-untrained+stacked"),
         HEAD_ONLY_PAIR,
         ("MLP, fine-tuned end to end", FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD),
         READOUT_PAIR)
"""``(head, pre-trained row, untrained twin row)``: the same head on both encoders."""
TWIN_ROWS = {trained: twin for _, trained, twin in PAIRS}
"""A twin evaluated as ``--model`` (a twin folder) names its rows as an encoder's: its row
``encoder+mlp`` is the twin row ``encoder-untrained+mlp``, and so on."""
CONTROLS = (("runtime-only", "run-time inputs only"), ("opcode-histogram", "opcode histogram"),
            ("loop-opcode-histogram", "loop opcode histogram"))
"""Controls shown beside the pairs, under each head the folders ran (``<name>[+mlp|+stacked]``)."""


SECTION_KEY = "finetuning"
"""The summary key of the fine-tuning study; another run's study is ``finetuning-<name>``."""


def section_key(name: str = "") -> str:
    """Where a study named ``name`` lives in the summary ('' is the first study)."""
    return f"{SECTION_KEY}-{name}" if name else SECTION_KEY


def finetune_keys(summary: dict[str, Any]) -> list[str]:
    """The summary keys of every fine-tuning study it holds: the first, then the named ones
    by name."""
    keys = sorted(k for k in summary if k.startswith(SECTION_KEY + "-"))
    return [k for k in [SECTION_KEY, *keys] if summary.get(k)]


def finetune_sections(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every fine-tuning study in a summary: the first, then the named ones by name."""
    return [summary[k] for k in finetune_keys(summary)]


def _folder_scores(folder: Path) -> tuple[dict[str, dict[str, list[float]]], dict[str, Any]]:
    """``"<task> <platform>" -> method -> per-seed leakage-free accuracies`` of one folder, and
    its fine-tuning settings and encoder identity."""
    path = folder / "results" / "summary.json"
    if not path.is_file():
        raise ValueError(f"{folder}: no results/summary.json (run `mirencoder eval devmap "
                         "--finetune --untrained-model ... --out-dir` there first)")
    summary = json.loads(path.read_text())
    scores: dict[str, dict[str, list[float]]] = {}
    for task, protocols in sorted(summary.get("results", {}).items()):
        for platform, methods in protocols.get("leakage-free", {}).items():
            scores[f"{task} {platform}"] = {
                m: [s["accuracy"] for s in v.get("per_seed", [])] or [v["accuracy_mean"]]
                for m, v in methods.items()}
    about: dict[str, Any] = {"encoder": (summary.get("encoder") or {}).get("uri"),
                             "twin": (summary.get("encoder") or {}).get("untrained_uri")}
    for task in summary.get("tasks", {}).values():
        settings = task.get("own_head_settings", {}).get(FINETUNE_METHOD)
        if settings:
            about["finetune"] = settings
    return scores, about


def collect_finetune(folders: list[Path], twin_folders: list[Path] = (),
                     recorded: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Merges the folders' leakage-free results: ``settings`` (accuracy columns), ``scores[
    method][setting]`` = per-seed accuracies, ``finetune`` (the settings both encoders were
    fine-tuned with), ``encoder``, ``twin``, ``folders``, and ``twin_scores[twin][twin row][
    setting]`` = per-seed accuracies of every twin.

    ``twin_folders`` hold more twins, each run alone as ``--model TWIN --finetune`` with the
    same settings and fold seeds (platforms may be split between folders). ``recorded`` are
    sections this function wrote before (from ``results/summary.json``), of the same encoder,
    twin and settings: their scores, twins and folders join the folders' as if read again
    (their folders need not exist any more).

    Raises:
        ValueError: a folder without results, no fine-tuned pair in them, folders or recorded
            sections that disagree on the encoder, twin or settings, a setting that two of them
            both hold, a twin folder that holds the pre-trained encoder or no fine-tuned row,
            or a twin without a fine-tuned result for a setting the main folders hold.
    """
    scores: dict[str, dict[str, list[float]]] = {}
    about: dict[str, Any] = {}
    sources = [(f"recorded section {s.get('name') or SECTION_KEY!r}", _by_setting(s["scores"]),
                {k: s.get(k) for k in ("encoder", "twin", "finetune")}) for s in recorded]
    sources += [(str(folder), *_folder_scores(folder)) for folder in folders]
    for source, found, info in sources:
        for key in ("encoder", "twin", "finetune"):
            if key in about and info.get(key) != about[key]:
                raise ValueError(f"{source}: its {key} differs from the others' "
                                 f"({info.get(key)!r} vs {about[key]!r})")
            about.setdefault(key, info.get(key))
        for setting, methods in found.items():
            for method, values in methods.items():
                if scores.get(method, {}).get(setting):
                    raise ValueError(f"{source}: {setting} {method} is also in another folder")
                scores.setdefault(method, {})[setting] = values
    pairs = [p for p in PAIRS if p[1] in scores and p[2] in scores]
    if not any(p[1] == FINETUNE_METHOD for p in pairs):
        raise ValueError("no folder holds both encoder+finetune and encoder-untrained+finetune: "
                         "run `mirencoder eval devmap --finetune --model M --untrained-model T`")
    main_twin = about.get("twin") or "twin"
    twins = {main_twin: {t: scores[t] for t in TWIN_ROWS.values() if t in scores}}
    for section in recorded:
        for twin, rows in twin_scores(section).items():
            if twin != main_twin:
                _add_twin_rows(twins, twin, rows, f"recorded section {section.get('name')!r}")
    for folder in twin_folders:
        _add_twin_folder(twins, folder, about)
    settings = sorted({s for method in scores.values() for s in method})
    tuned = sorted(scores[UNTRAINED_FINETUNE_METHOD])
    for twin, rows in twins.items():
        missing = [s for s in tuned if s not in rows.get(UNTRAINED_FINETUNE_METHOD, {})]
        if missing:
            raise ValueError(f"twin {twin} has no fine-tuned result for {', '.join(missing)}: "
                             "add its folder for those settings to --twin-folders")
    listed = {key: [f for s in recorded for f in s.get(key, [])] for key in ("folders",
                                                                             "twin_folders")}
    return {"settings": settings, "scores": scores,
            "folders": listed["folders"] + [str(f) for f in folders],
            "twin_folders": listed["twin_folders"] + [str(f) for f in twin_folders],
            "twins": list(twins), "twin_scores": twins, **about}


def _by_setting(scores: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    """A recorded section's ``method -> setting -> values`` as a folder's ``setting -> method
    -> values``."""
    flipped: dict[str, dict[str, list[float]]] = {}
    for method, settings in scores.items():
        for setting, values in settings.items():
            flipped.setdefault(setting, {})[method] = values
    return flipped


def _add_twin_folder(twins: dict[str, dict[str, dict[str, list[float]]]], folder: Path,
                     about: dict[str, Any]) -> None:
    """Files a twin folder's encoder rows under its twin (see :data:`TWIN_ROWS`)."""
    found, info = _folder_scores(folder)
    uri = info.get("encoder")
    if not uri or uri == about.get("encoder"):
        raise ValueError(f"{folder}: its encoder is {uri!r}, not a twin of {about.get('encoder')!r}"
                         " (run `mirencoder eval devmap --finetune --model TWIN` there)")
    if info.get("finetune") != about.get("finetune"):
        raise ValueError(f"{folder}: fine-tuned with other settings ({info.get('finetune')!r} "
                         f"vs {about.get('finetune')!r})")
    if not any(FINETUNE_METHOD in methods for methods in found.values()):
        raise ValueError(f"{folder}: no {FINETUNE_METHOD} row (run it with --finetune)")
    rows = {twin: {setting: methods[trained] for setting, methods in found.items()
                   if trained in methods} for trained, twin in TWIN_ROWS.items()}
    _add_twin_rows(twins, uri, rows, str(folder))


def _add_twin_rows(twins: dict[str, dict[str, dict[str, list[float]]]], twin: str,
                   rows: dict[str, dict[str, list[float]]], source: str) -> None:
    """Files ``rows`` (twin row -> setting -> values) under ``twin``; a setting it holds
    already is an error."""
    for row, settings in rows.items():
        for setting, values in settings.items():
            slot = twins.setdefault(twin, {}).setdefault(row, {})
            if slot.get(setting):
                raise ValueError(f"{source}: {setting} {row} of twin {twin} is also in "
                                 "another folder")
            slot[setting] = values


def twin_scores(section: dict[str, Any]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """``twin -> twin row -> setting -> per-seed accuracies``; a section written before twin
    folders existed holds one twin, in ``scores``."""
    if section.get("twin_scores"):
        return section["twin_scores"]
    own = {t: section["scores"][t] for t in TWIN_ROWS.values() if t in section["scores"]}
    return {section.get("twin") or "twin": own}


def twin_means(section: dict[str, Any], twin: str, setting: str) -> list[float]:
    """Each twin's accuracy on ``setting`` under row ``twin``, averaged over its fold seeds."""
    return [float(np.mean(rows[twin][setting])) for rows in twin_scores(section).values()
            if rows.get(twin, {}).get(setting)]


def twin_values(section: dict[str, Any], twin: str, setting: str) -> list[float]:
    """What the twin row summarises: a single twin's fold seeds, or each twin's mean."""
    twins = twin_scores(section)
    if len(twins) == 1:
        (rows,) = twins.values()
        return rows.get(twin, {}).get(setting) or []
    return twin_means(section, twin, setting)


def _gap(section: dict[str, Any], trained: str, twin: str, setting: str) -> float | None:
    """The pre-trained row's mean over fold seeds minus the twins' mean (each twin averaged over
    the same fold seeds first); None unless every twin holds the setting."""
    a = section["scores"].get(trained, {}).get(setting)
    b = twin_means(section, twin, setting)
    if not a or not b or len(b) != len(twin_scores(section)):
        return None
    return float(np.mean(a) - np.mean(b))


def _describe(settings: dict[str, Any] | None) -> str:
    if not settings:
        return ""
    return (f"{settings['probe_epochs']} head-only epochs on the frozen vectors, then "
            f"{settings['epochs']} end-to-end epochs, AdamW, encoder lr {settings['encoder_lr']:g}"
            f", head lr {settings['head_lr']:g}, {settings['batch_size']} programs per step, "
            f"MLP {settings['hidden']} on the {settings['modality']} vector and the log-scaled "
            "run-time inputs"
            + ("; the MLP stacked on the protocol's XGBoost over the run-time inputs alone (its "
               f"margin, out of fold over {settings.get('runtime_base_folds')} inner folds "
               "grouped by program on the training rows, added to the MLP's logits with a "
               "learned scale)" if settings.get("runtime_base") else "")
            + ("; each fold's fine-tuned encoder also read by the protocol's XGBoost head on "
               "[fine-tuned vector ; run-time inputs]" if settings.get("xgboost_readout")
               else "")
            + ("; each fold's head also read as it stood after the head-only epochs"
               if settings.get("head_only_readout") else ""))


def head_label(section: dict[str, Any], head: str, trained: str) -> str:
    """A pair's head, ``stacked MLP`` for the fine-tuning's own head when it is stacked on
    the run-time inputs' trees (the frozen ``encoder+mlp`` head never is)."""
    stacked = (section.get("finetune") or {}).get("runtime_base")
    if stacked and trained.startswith(FINETUNE_METHOD) and head.startswith("MLP"):
        return "stacked " + head
    return head


def _twin_words(section: dict[str, Any]) -> tuple[str, str]:
    """How the table names the twin rows and the gap: one twin, or several."""
    count = len(twin_scores(section))
    if count == 1:
        return "untrained twin", "pre-trained minus twin"
    return f"untrained twins ({count})", "pre-trained minus twins' mean"


def _twin_cell(section: dict[str, Any], twin: str, setting: str) -> str:
    """One twin: mean ± std over its fold seeds; several: mean ± std (range) over the twins."""
    values = twin_values(section, twin, setting)
    if len(twin_scores(section)) == 1:
        return mean_std_cell(values)
    return spread_cell(values or [None], 1)


def finetune_markdown(section: dict[str, Any]) -> str:
    """The STUDIES.md section: each head on the pre-trained encoder and on its twins, the gap,
    and the controls under the same heads."""
    settings, scores = section["settings"], section["scores"]
    twins = list(twin_scores(section))
    twin_label, gap_label = _twin_words(section)
    spread_words = ("mean ± std over fold seeds where there are several" if len(twins) == 1 else
                    "mean ± std over fold seeds for the pre-trained encoder and the controls; "
                    "mean ± std (range) over the twins, each first averaged over the same fold "
                    "seeds")
    header = " | ".join(settings)
    title = "## Fine-tuning the encoder end to end (DevMap leakage-free)"
    lines = [title + (f": {section['name']}" if section.get("name") else ""), "",
             "Does pre-training show once the encoder itself is trained on the task? Each "
             "encoder is fine-tuned per fold with the same settings ("
             + _describe(section.get("finetune")) + "); the frozen rows are the same folds' "
             f"heads on the frozen vectors. Pre-trained: `{section.get('encoder')}`; "
             + ("untrained twin: " if len(twins) == 1 else "untrained twins: ")
             + ", ".join(f"`{t}`" for t in twins) + f". Accuracy %, {spread_words}. Not a "
             "target: the targets keep the frozen encoder.", ""]
    if section.get("note"):
        lines += [section["note"], ""]
    lines += [f"| head | representation | {header} |", "|---|---|" + "---|" * len(settings)]
    for head, trained, twin in PAIRS:
        if trained not in scores:
            continue
        head = head_label(section, head, trained)
        lines.append(f"| {head} | pre-trained encoder | "
                     + " | ".join(mean_std_cell(scores[trained].get(s)) for s in settings) + " |")
        lines.append(f"| {head} | {twin_label} | "
                     + " | ".join(_twin_cell(section, twin, s) for s in settings) + " |")
        gaps = [_gap(section, trained, twin, s) for s in settings]
        lines.append(f"| {head} | **{gap_label}** | "
                     + " | ".join("–" if g is None else f"**{g:+.1f}**" for g in gaps) + " |")
    for suffix, head in (("", "XGBoost, frozen (the protocol's head)"), ("+mlp", "MLP, frozen"),
                         ("+stacked", "stacked MLP, frozen (--heads stacked)")):
        for name, label in CONTROLS:
            values = scores.get(name + suffix)
            if values:
                lines.append(f"| {head} | {label} | "
                             + " | ".join(mean_std_cell(values.get(s)) for s in settings) + " |")
    if section.get("figure"):
        lines += ["", f"![fine-tuning against the twin]({section['figure']})"]
    folders = section.get("folders", []) + section.get("twin_folders", [])
    lines += ["", "Folders: " + ", ".join(f"`{f}`" for f in folders) + "."]
    return "\n".join(lines) + "\n"


def _beaten(section: dict[str, Any], trained: str, twin: str, setting: str) -> str:
    """``, above k of n twins`` for several twins, else nothing."""
    means = twin_means(section, twin, setting)
    if len(means) < 2:
        return ""
    value = np.mean(section["scores"][trained][setting])
    return f", above {sum(value > m for m in means)} of {len(means)} twins"


def _readout_words(section: dict[str, Any], setting: str) -> str:
    """``; fine-tuned, read by XGBoost A % (gap, above k of n twins)`` when the section holds
    the XGBoost readout of the fine-tuned encoders, else nothing."""
    _, trained, twin = READOUT_PAIR
    gap = _gap(section, trained, twin, setting)
    if gap is None:
        return ""
    value = np.mean(section["scores"][trained][setting])
    return (f"; fine-tuned, read by XGBoost {value:.1f} % ({gap:+.1f}"
            + _beaten(section, trained, twin, setting) + ")")


def finetune_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per setting, the fine-tuned pre-trained encoder against its twins
    fine-tuned alike, and the frozen gap under the protocol's head."""
    if not section:
        return []
    count = len(twin_scores(section))
    against = "the twin" if count == 1 else "the twins' mean"
    parts = []
    for setting in section["settings"]:
        tuned = _gap(section, FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD, setting)
        frozen = _gap(section, "encoder", "encoder-untrained", setting)
        value = section["scores"].get(FINETUNE_METHOD, {}).get(setting)
        if tuned is None or not value:
            continue
        parts.append(f"{setting} {np.mean(value):.1f} % ({tuned:+.1f} against {against}"
                     + _beaten(section, FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD, setting)
                     + (f"; frozen under XGBoost {frozen:+.1f}" if frozen is not None else "")
                     + _readout_words(section, setting) + ")")
    if not parts:
        return []
    twins = "its untrained twin" if count == 1 else f"its {count} untrained twins"
    name = f", {section['name']}" if section.get("name") else ""
    return [f"**fine-tuned end to end{name}** (not a target; 'Fine-tuning the encoder end to "
            f"end'), DevMap leakage-free, the pre-trained encoder against {twins} fine-tuned "
            "alike: " + "; ".join(parts) + "."]
