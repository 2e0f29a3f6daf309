"""Continued pre-training: start a run from the weights of an earlier one (``init_from``).

Domain- or task-adaptive pre-training (Gururangan et al., ACL 2020) trains a finished encoder
further on another corpus. The new run builds its module from its own config, then takes the
weights of either

- a pre-training checkpoint (``RUN/checkpoints/last.ckpt``): the whole module, task heads
  included, so every objective continues where it stopped and the head of an objective the
  new run adds starts fresh (its vocabularies are checked through the sizes it records and,
  when its dataset is on this machine, their sha256); or
- an encoder package (a folder with ``encoder.safetensors``): the encoder only, task heads
  fresh.

The vocabularies must be the same (build the new dataset with ``vocab.from_dataset``), and
so must the architecture, with one exception: a run may add the counting readout
(``graph_readout: mean_max_size_counts``) to a size-aware one (``mean_max_size``); its
projection then starts from a random initialisation, as in an untrained twin. The optimiser,
schedule and step count start afresh.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ...infra.errors import ConfigError
from ...infra.files import sha256_file
from ..core.model_config import ModelConfig

__all__ = ["initial_weights_lineage", "load_initial_weights"]


def _check_same(kind: str, source: Path, theirs: object, ours: object, hint: str) -> None:
    if theirs != ours:
        raise ConfigError(f"init_from: {source} has another {kind} than this run ({hint})")


def _checkpoint_vocab_hashes(hparams: dict) -> tuple[str, str] | None:
    """The tokenizer and node-vocabulary sha256 of the dataset a checkpoint's run trained on,
    read from that dataset's index (None when it is not on this machine)."""
    index = Path(hparams["config"]["data"]["dataset_dir"]).expanduser() / "index.json"
    if not index.is_file():
        return None
    recorded = json.loads(index.read_text())
    return recorded.get("tokenizer_sha256", ""), recorded.get("node_vocab_sha256", "")


def _full_model_section(section: dict) -> dict:
    """A checkpoint's model section with the defaults of fields added since it was written
    (a run from before ``graph_readout`` had the size-blind readout, today's default)."""
    return asdict(ModelConfig(**section))


# (the source's graph_readout, this run's): the encoder weights this run adds, which start fresh.
_ADDED_READOUTS = {("mean_max_size", "mean_max_size_counts"): "fusion.count_proj."}


def _check_architecture(source: Path, theirs: dict, ours: dict) -> str | None:
    """Raises unless the two model sections agree up to an added readout; returns the prefix
    of the encoder weights that readout adds (None when the sections are equal)."""
    added = _ADDED_READOUTS.get((theirs["graph_readout"], ours["graph_readout"]))
    if added is not None:
        theirs = {**theirs, "graph_readout": ours["graph_readout"]}
    _check_same("architecture", source, theirs, ours,
                "keep the model section of its config; the one change allowed is "
                "graph_readout mean_max_size -> mean_max_size_counts")
    return added


def _from_checkpoint(module, path: Path, tokenizer_sha256: str, node_vocab_sha256: str) -> int:
    """Loads the checkpoint's whole module; returns the step it was written at."""
    from .export import read_checkpoint

    state = read_checkpoint(path)
    hparams = state["hyper_parameters"]
    hint = "build the dataset with vocab.from_dataset set to the run's dataset"
    _check_same("tokenizer", path, hparams["tokenizer_ids"], module.hparams["tokenizer_ids"],
                hint)
    hashes = _checkpoint_vocab_hashes(hparams)  # same sizes need not mean same vocabularies
    if hashes is not None:
        _check_same("tokenizer or node vocabulary", path, hashes,
                    (tokenizer_sha256, node_vocab_sha256), hint)
    added = _check_architecture(path, _full_model_section(hparams["config"]["model"]),
                                _full_model_section(module.hparams["config"]["model"]))
    missing, unexpected = module.load_state_dict(state["state_dict"], strict=False)
    # A head of an objective this run adds, or a readout it adds, starts fresh; anything
    # else must match.
    fresh = f"model.encoder.{added}" if added else None
    missing = [key for key in missing if (key.startswith("model.encoder.")
               or not key.startswith("model.")) and not (fresh and key.startswith(fresh))]
    if missing or unexpected:
        raise ConfigError(
            f"init_from: {path} holds other weights than this run's model and task heads "
            f"(missing: {', '.join(sorted(missing)[:5]) or 'none'}; unexpected: "
            f"{', '.join(sorted(unexpected)[:5]) or 'none'}); enable at least its objectives, "
            "or start from its encoder package (heads fresh)")
    return int(state.get("global_step", 0))


def _from_package(module, path: Path, tokenizer_sha256: str, node_vocab_sha256: str) -> int:
    """Loads the package's encoder; returns the steps its lineage records."""
    from ..core.package import load_encoder_package

    encoder, info = load_encoder_package(path)
    for kind, key, ours in (("tokenizer", "tokenizer_sha256", tokenizer_sha256),
                            ("node vocabulary", "node_vocab_sha256", node_vocab_sha256)):
        _check_same(kind, path, info.lineage.get(key), ours,
                    "build the dataset with vocab.from_dataset set to the package's dataset")
    added = _check_architecture(path, asdict(info.model_config),
                                asdict(module.encoder.config))
    missing, unexpected = module.encoder.load_state_dict(encoder.state_dict(),
                                                         strict=added is None)
    if [key for key in missing if not key.startswith(added or "")] or unexpected:
        raise ConfigError(f"init_from: {path} holds other encoder weights than this run's")
    return int(info.lineage.get("steps", 0))


def _resolve(init_from: str) -> tuple[Path, Path]:
    """``(source, file whose digest names it)``; a ConfigError when it is neither kind."""
    path = Path(init_from).expanduser().resolve()
    if path.is_file():
        return path, path
    if (path / "encoder.safetensors").is_file():
        return path, path / "encoder.safetensors"
    raise ConfigError(f"init_from: {path} is neither a pre-training checkpoint file nor an "
                      "encoder package folder (with encoder.safetensors)")


def _lineage(path: Path, digest_file: Path, step: int) -> dict:
    """The lineage entries naming the starting weights: path, sha256 and the step they were
    written at (the run's steps come on top of it)."""
    return {"initialized_from": str(path), "initialized_from_sha256": sha256_file(digest_file),
            "initialized_from_step": step}


def initial_weights_lineage(init_from: str) -> dict:
    """:func:`load_initial_weights`'s lineage entries without loading anything into a module
    (a resumed run, whose checkpoint already holds the weights)."""
    path, digest_file = _resolve(init_from)
    if path.is_file():
        from .export import read_checkpoint

        step = int(read_checkpoint(path).get("global_step", 0))
    else:
        package = json.loads((path / "lineage.json").read_text()) if (
            path / "lineage.json").is_file() else {}
        step = int(package.get("steps", 0))
    return _lineage(path, digest_file, step)


def load_initial_weights(module, init_from: str, *, tokenizer_sha256: str,
                         node_vocab_sha256: str) -> dict:
    """Loads ``init_from`` (a checkpoint file or an encoder package folder) into ``module``
    (a :class:`~.lit_module.PretrainingModule`); returns the lineage entries naming it.

    Raises:
        ConfigError: no such file or folder, or its vocabularies, architecture or task heads
            differ from this run's.
    """
    path, digest_file = _resolve(init_from)
    load = _from_checkpoint if path.is_file() else _from_package
    return _lineage(path, digest_file, load(module, path, tokenizer_sha256, node_vocab_sha256))
