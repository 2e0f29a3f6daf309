"""The encoder package: the portable, pickle-free form of a trained encoder.

A package folder holds::

    encoder.safetensors   the MIREncoder state dict (no pickles)
    encoder_config.json   format version, ModelConfig, vocabulary sizes, special ids, file hashes
    tokenizer.json        the dataset's IR tokenizer (copy; absent for tokenizer-free test data)
    node_vocab.json       the dataset's node-text vocabulary (copy)
    lineage.json          dataset index hash, tokenizer hash, config hash, code version, run ids,
                          steps and final metrics

``load_encoder_package(dir)`` rebuilds the model from these files alone, in any process.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from ... import __version__
from ...infra.errors import ConfigError, FatalError
from ...infra.files import sha256_file
from .data.token_ids import TokenizerIds, tokenizer_ids_from_files
from .model_config import ModelConfig
from .models.encoder import EMBEDDING_KINDS, MIREncoder

__all__ = ["PACKAGE_FORMAT_VERSION", "PACKAGE_FILES", "EncoderPackageInfo",
           "save_encoder_package", "load_encoder_package", "encoder_state_dict"]

PACKAGE_FORMAT_VERSION = 1
PACKAGE_FILES = ("encoder.safetensors", "encoder_config.json", "tokenizer.json",
                 "node_vocab.json", "lineage.json")


@dataclass(frozen=True, slots=True)
class EncoderPackageInfo:
    """What a loaded package says about itself.

    Attributes:
        path: the package folder.
        model_config: the encoder sizes.
        vocab_size, node_vocab_size: vocabulary sizes the encoder was built for.
        tokenizer_ids: special ids and vocabulary sizes (for :func:`collate_records`).
        embedding_dim: ``D`` of the ``fused``/``tokens``/``graph`` embeddings.
        num_parameters: encoder parameters.
        lineage: the contents of ``lineage.json``.
        tokenizer_path, node_vocab_path: the vocabulary files inside the package (None when the
            package was made without them).
    """

    path: Path
    model_config: ModelConfig
    vocab_size: int
    node_vocab_size: int
    tokenizer_ids: TokenizerIds
    embedding_dim: int
    num_parameters: int
    lineage: dict = field(default_factory=dict)
    tokenizer_path: Path | None = None
    node_vocab_path: Path | None = None


def encoder_state_dict(model: MIREncoder) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the encoder weights (``torch.compile`` prefixes removed)."""
    return {name.replace("_orig_mod.", ""): tensor.detach().to("cpu").contiguous().clone()
            for name, tensor in model.state_dict().items()}


def save_encoder_package(out_dir: str | Path, model: MIREncoder, model_config: ModelConfig,
                         tokenizer_path: str | Path | None, node_vocab_path: str | Path | None,
                         lineage: dict[str, Any], *, tokenizer_ids: TokenizerIds | None = None
                         ) -> Path:
    """Writes an encoder package (atomically: a temporary folder renamed at the end).

    Args:
        out_dir: the package folder (replaced when it exists).
        model: the trained encoder.
        model_config: its sizes.
        tokenizer_path, node_vocab_path: the dataset's vocabulary files (copied when given).
        lineage: provenance (dataset/tokenizer/config hashes, code version, run ids, metrics).
        tokenizer_ids: special ids and vocabulary sizes of the dataset (default: read from
            ``tokenizer_path``, or the defaults of tokenizer-free data).

    Returns:
        The package folder.
    """
    from safetensors.torch import save_file

    if tokenizer_ids is None:
        tokenizer_ids = tokenizer_ids_from_files(tokenizer_path, vocab_size=model.vocab_size,
                                                 node_vocab_size=model.node_vocab_size)
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(encoder_state_dict(model), str(tmp / "encoder.safetensors"),
              metadata={"format": "pt", "mirencoder_package": str(PACKAGE_FORMAT_VERSION)})
    for source, name in ((tokenizer_path, "tokenizer.json"), (node_vocab_path, "node_vocab.json")):
        if source is not None and Path(source).exists():
            shutil.copyfile(source, tmp / name)
    num_parameters = sum(p.numel() for p in model.parameters())
    lineage = {**lineage, "mirencoder_version": __version__, "num_parameters": num_parameters,
               "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (tmp / "lineage.json").write_text(json.dumps(lineage, indent=2, sort_keys=True, default=str))
    files = {path.name: sha256_file(path) for path in sorted(tmp.iterdir())}
    config = {"format_version": PACKAGE_FORMAT_VERSION, "model": asdict(model_config),
              "vocab_size": model.vocab_size, "node_vocab_size": model.node_vocab_size,
              "pad_id": model.pad_id, "tokenizer_ids": tokenizer_ids.to_dict(),
              "embedding_dim": model_config.fusion_dim, "embedding_kinds": list(EMBEDDING_KINDS),
              "num_parameters": num_parameters, "files": files}
    (tmp / "encoder_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def load_encoder_package(package_dir: str | Path, *, map_location: str | torch.device = "cpu",
                         verify: bool = True) -> tuple[MIREncoder, EncoderPackageInfo]:
    """Rebuilds the encoder of a package, in eval mode.

    Args:
        package_dir: a folder written by :func:`save_encoder_package`.
        map_location: device of the returned model.
        verify: check every file against the sha256 recorded in ``encoder_config.json``.

    Raises:
        ConfigError: the folder is not an encoder package (or of an unknown format version).
        FatalError: a file is missing, corrupt or does not fit the config.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(package_dir)
    config_path = path / "encoder_config.json"
    if not config_path.is_file():
        raise ConfigError(f"{path} is not an encoder package: no encoder_config.json")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FatalError(f"corrupt encoder package {path}: encoder_config.json ({error})") from error
    if config.get("format_version") != PACKAGE_FORMAT_VERSION:
        raise ConfigError(f"{path}: encoder package format {config.get('format_version')!r} is "
                          f"not supported (expected {PACKAGE_FORMAT_VERSION})")
    if verify:
        for name, expected in config.get("files", {}).items():
            file = path / name
            if not file.is_file():
                raise FatalError(f"corrupt encoder package {path}: {name} is missing")
            if sha256_file(file) != expected:
                raise FatalError(f"corrupt encoder package {path}: {name} does not match its "
                                 "sha256 in encoder_config.json")
    model_config = ModelConfig(**config["model"])
    model = MIREncoder(model_config, vocab_size=config["vocab_size"],
                       node_vocab_size=config["node_vocab_size"], pad_id=config["pad_id"])
    try:
        state = load_file(str(path / "encoder.safetensors"))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as error:
        raise FatalError(f"corrupt encoder package {path}: encoder.safetensors ({error})") from error
    model.to(map_location).eval()
    lineage_path = path / "lineage.json"
    lineage = json.loads(lineage_path.read_text()) if lineage_path.exists() else {}
    info = EncoderPackageInfo(
        path=path, model_config=model_config, vocab_size=config["vocab_size"],
        node_vocab_size=config["node_vocab_size"],
        tokenizer_ids=TokenizerIds(**config["tokenizer_ids"]),
        embedding_dim=config["embedding_dim"], num_parameters=config["num_parameters"],
        lineage=lineage,
        tokenizer_path=path / "tokenizer.json" if (path / "tokenizer.json").exists() else None,
        node_vocab_path=path / "node_vocab.json" if (path / "node_vocab.json").exists() else None)
    return model, info
