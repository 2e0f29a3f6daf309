"""The model card of a registered encoder version: a Markdown page built from its tags and run.

The card is rendered from what the registry already holds (the version's lineage and metric
tags, the run's metric history), so that it can be re-rendered whenever evaluation metrics are
attached later (:func:`mirencoder.training.registry.model_registry.set_version_metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["CurveSeries", "render_model_card", "plot_training_curves", "LINEAGE_TAG_LABELS",
           "METRIC_TAG_PREFIX", "version_metrics"]

# Tags carrying evaluation metrics are named "metric.<name>" (set_version_metrics); numeric
# "eval.<name>" tags (written by the evaluation report) count as metrics too.
METRIC_TAG_PREFIX = "metric."
_EVAL_TAG_PREFIX = "eval."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def version_metrics(tags: Mapping[str, str]) -> dict[str, str]:
    """The evaluation metrics among a version's tags, prefix removed."""
    out = {}
    for key, value in tags.items():
        if key.startswith(METRIC_TAG_PREFIX):
            out[key[len(METRIC_TAG_PREFIX):]] = value
        elif key.startswith(_EVAL_TAG_PREFIX) and _is_number(value):
            out.setdefault(key[len(_EVAL_TAG_PREFIX):], value)
    return out

# Lineage tags shown in the card, in order, with their labels.
LINEAGE_TAG_LABELS: dict[str, str] = {
    "dataset_index_sha256": "dataset build (index.json sha256)",
    "dataset_content_sha256": "dataset content (index sha256 without the build's own facts)",
    "dataset_name": "dataset / recipe",
    "mixed_datasets": "mixed in (data.mix_dataset_dirs)",
    "tokenizer_sha256": "tokenizer sha256",
    "node_vocab_sha256": "node vocabulary sha256",
    "config_sha256": "model config sha256",
    "code_version": "code version (git)",
    "training_run_id": "MLflow run",
    "training_steps": "training steps",
    "untrained": "untrained (random weights)",
}

# A run's metric history: name -> [(step, value), ...].
CurveSeries = Mapping[str, Sequence[tuple[int, float]]]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _size_rows(tags: Mapping[str, str]) -> list[str]:
    rows = []
    if "num_parameters" in tags:
        rows.append(f"| parameters | {int(tags['num_parameters']):,} |")
    if "size_bytes" in tags:
        rows.append(f"| package size on disk | {int(tags['size_bytes']) / 2**20:.2f} MiB |")
    if "weights_bytes" in tags:
        rows.append(f"| weights (safetensors) | {int(tags['weights_bytes']) / 2**20:.2f} MiB |")
    if "embedding_dim" in tags:
        rows.append(f"| embedding size D | {tags['embedding_dim']} |")
    return rows


def _curve_rows(curves: CurveSeries) -> list[str]:
    rows = []
    for name in sorted(curves):
        points = sorted(curves[name])
        if not points:
            continue
        rows.append(f"| {name} | {len(points)} | {_fmt(points[0][1])} | {_fmt(points[-1][1])} |")
    return rows


def render_model_card(*, name: str, version: str, tags: Mapping[str, str],
                      aliases: Sequence[str] = (), config: Mapping[str, object] | None = None,
                      curves: CurveSeries | None = None, curves_png: str | None = None) -> str:
    """The Markdown card of one encoder version.

    Args:
        name: registered model name.
        version: version number.
        tags: the version's tags (lineage, sizes, ``metric.*``).
        aliases: aliases pointing at this version.
        config: the encoder configuration (``encoder_config.json``'s model section).
        curves: the training run's metric history, if the run has one.
        curves_png: file name of the plotted curves beside the card.
    """
    lines = [f"# Model card: {name} v{version}", ""]
    if aliases:
        lines += [f"Aliases: {', '.join(f'`{a}`' for a in aliases)}", ""]
    lines += ["A multi-modal LLVM-IR encoder (IR token transformer + relational GNN over a "
              "ProGraML-style graph, fused into one program embedding). Load it with "
              f"`Embedder.from_uri(\"models:/{name}/{version}\")` or "
              f"`mlflow.pyfunc.load_model(\"models:/{name}/{version}\")` (needs the `mirencoder` "
              "package installed); input: C, C++, OpenCL, CUDA or LLVM-IR text; output: the "
              "embedding.", "", "## Data and lineage", "", "| field | value |", "| --- | --- |"]
    for key, label in LINEAGE_TAG_LABELS.items():
        if tags.get(key):
            lines.append(f"| {label} | `{tags[key]}` |")
    lines += ["", "## Size", "", "| quantity | value |", "| --- | --- |", *_size_rows(tags)]
    if config:
        lines += ["", "## Configuration", "", "| field | value |", "| --- | --- |"]
        lines += [f"| {key} | {_fmt(value)} |" for key, value in sorted(config.items())
                  if not isinstance(value, (dict, list))]
    lines += ["", "## Training curves", ""]
    curve_rows = _curve_rows(curves or {})
    if curve_rows:
        if curves_png:
            lines += [f"![training curves]({curves_png})", ""]
        lines += ["| metric | points | first | last |", "| --- | --- | --- | --- |", *curve_rows]
    else:
        lines.append("No training run metrics recorded for this version.")
    lines += ["", "## Evaluation", ""]
    metrics = version_metrics(tags)
    if metrics:
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {key} | {value} |" for key, value in sorted(metrics.items())]
    else:
        lines.append("No evaluation metrics attached yet (`mirencoder eval ...` attaches them).")
    return "\n".join(lines) + "\n"


def plot_training_curves(curves: CurveSeries, out_png: Path) -> Path | None:
    """Plots every metric with more than one point, one panel each; ``None`` when none has."""
    series = {k: sorted(v) for k, v in curves.items() if len(v) > 1}
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(series)[:12]
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, names, strict=False):
        steps, values = zip(*series[metric], strict=True)
        ax.plot(steps, values, linewidth=1.2)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return out_png
