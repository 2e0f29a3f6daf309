"""The encoder package: the portable, pickle-free form of a trained encoder.

A package folder holds::

    encoder.safetensors   the MIREncoder state dict (no pickles)
    encoder_config.json   format version, ModelConfig, vocabulary sizes, special ids, file hashes
    tokenizer.json        the dataset's IR tokenizer (copy; absent for tokenizer-free test data)
    node_vocab.json       the dataset's node-text vocabulary (copy)
    lineage.json          dataset index hash, tokenizer hash, config hash, code version, run ids,
                          steps and final metrics
    principal_basis.npz   optional: the principal basis of the encoder's outputs on its
                          pre-training corpus (``training/embedding/principal_basis.py``)

``load_encoder_package(dir)`` rebuilds the model from these files alone, in any process.
Before it allocates anything it checks every file against an outside reference
(:mod:`~mirencoder.training.core.package_verify`), the parameter count and bytes the config
implies (:mod:`~mirencoder.training.core.model_size`) against a limit (``max_bytes``,
default 2 GiB), and the weights file's header (tensor names, shapes, dtypes, offsets) against
that config (:mod:`~mirencoder.training.core.weights_header`).
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
from .model_size import expected_state_shapes, parameter_count
from .models.encoder import EMBEDDING_KINDS, MIREncoder
from .package_verify import PackageReference, verify_package_files
from .weights_header import read_weights_header

__all__ = ["PACKAGE_FORMAT_VERSION", "PACKAGE_FILES", "DEFAULT_MAX_MODEL_BYTES",
           "EncoderPackageInfo", "add_package_file", "save_encoder_package",
           "load_encoder_package", "encoder_state_dict"]

PACKAGE_FORMAT_VERSION = 1
PACKAGE_FILES = ("encoder.safetensors", "encoder_config.json", "tokenizer.json",
                 "node_vocab.json", "lineage.json")
# The largest encoder (float32 parameters) a package may describe unless told otherwise:
# 2 GiB is ~500 M parameters, 20x the base configuration.
DEFAULT_MAX_MODEL_BYTES = 2 << 30
# encoder_config.json is a few kB; anything much larger is not one.
_MAX_CONFIG_BYTES = 16 << 20
_FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")


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
        package_sha256: the package digest (None when loaded with ``verify=False``).
        verified_by: the outside reference the files matched (None: unverified).
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
    package_sha256: str | None = None
    verified_by: str | None = None


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


def add_package_file(package_dir: str | Path, name: str, data: bytes) -> Path:
    """Adds (or replaces) one optional file of a package and lists it in its
    ``encoder_config.json``, so that the package still verifies against its own list.

    Only a package that nothing outside it vouches for yet may change: once a lock file beside
    it lists it (and once it is registered, whose tags fix every file) its files are final.

    Raises:
        ConfigError: not a package folder, a file the package is made of, or a locked package.
    """
    from ...infra.files import write_bytes_atomic, write_text_atomic
    from .package_verify import folder_reference

    package_dir = Path(package_dir)
    config_path = package_dir / "encoder_config.json"
    if not config_path.is_file():
        raise ConfigError(f"{package_dir} is not an encoder package folder (no "
                          "encoder_config.json)")
    if name in PACKAGE_FILES or Path(name).name != name:
        raise ConfigError(f"{name!r} cannot be added to a package (a package file itself, or "
                          "not a plain file name)")
    try:
        reference = folder_reference(package_dir)
    except ConfigError:  # a lock file beside it that does not list this package
        reference = None
    if reference is not None:
        raise ConfigError(f"encoder package {package_dir} is locked ({reference.source}): its "
                          "files are final; write the file elsewhere")
    config = json.loads(config_path.read_text())
    path = write_bytes_atomic(package_dir / name, data)
    config["files"] = {**config.get("files", {}), name: sha256_file(path)}
    write_text_atomic(config_path, json.dumps(config, indent=2, sort_keys=True))
    return path


def load_encoder_package(package_dir: str | Path, *, map_location: str | torch.device = "cpu",
                         verify: bool = True, reference: PackageReference | None = None,
                         max_bytes: int = DEFAULT_MAX_MODEL_BYTES
                         ) -> tuple[MIREncoder, EncoderPackageInfo]:
    """Rebuilds the encoder of a package, in eval mode, after checking it.

    Args:
        package_dir: a folder written by :func:`save_encoder_package`.
        map_location: device of the returned model.
        verify: check every file's sha256 against ``reference`` (or, without one, against the
            list in ``encoder_config.json``, with an :class:`UnverifiedPackageWarning`).
        reference: expected hashes from outside the package (registry tags, a digest, a lock
            file); see :mod:`~mirencoder.training.core.package_verify`.
        max_bytes: the largest float32 parameter size the config may describe.

    Raises:
        ConfigError: the folder is not an encoder package (or of an unknown format version).
        FatalError: a file is missing, extra, changed or corrupt, the config describes more
            than ``max_bytes`` of parameters, or the weights do not fit the config.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(package_dir)
    config_path, weights = path / "encoder_config.json", path / "encoder.safetensors"
    if not config_path.is_file():
        raise ConfigError(f"{path} is not an encoder package: no encoder_config.json")
    if config_path.stat().st_size > _MAX_CONFIG_BYTES:
        raise FatalError(f"corrupt encoder package {path}: encoder_config.json is "
                         f"{config_path.stat().st_size} bytes")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FatalError(f"corrupt encoder package {path}: encoder_config.json ({error})") from error
    if not isinstance(config, dict) or config.get("format_version") != PACKAGE_FORMAT_VERSION:
        version = config.get("format_version") if isinstance(config, dict) else None
        raise ConfigError(f"{path}: encoder package format {version!r} is "
                          f"not supported (expected {PACKAGE_FORMAT_VERSION})")
    if weights.is_file() and weights.stat().st_size > max_bytes + (1 << 24):
        raise FatalError(f"encoder package {path}: encoder.safetensors is "
                         f"{weights.stat().st_size / 2**30:.1f} GiB, above the limit of "
                         f"{max_bytes / 2**30:.1f} GiB (max_bytes)")
    digest = verify_package_files(path, config, reference) if verify else None
    model_config, sizes = _checked_sizes(path, config, max_bytes)
    _check_weights_header(path, weights, expected_state_shapes(model_config, *sizes))
    model = MIREncoder(model_config, vocab_size=sizes[0], node_vocab_size=sizes[1],
                       pad_id=config["pad_id"])
    try:
        state = load_file(str(weights))
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
        node_vocab_path=path / "node_vocab.json" if (path / "node_vocab.json").exists() else None,
        package_sha256=digest, verified_by=reference.source if verify and reference else None)
    return model, info


def _checked_sizes(path: Path, config: dict, max_bytes: int
                   ) -> tuple[ModelConfig, tuple[int, int]]:
    """The ModelConfig and vocabulary sizes of a package config, with the parameter count and
    bytes they imply checked (computed, nothing built) against the config and ``max_bytes``."""
    try:
        model_config = ModelConfig(**config["model"])
        sizes = (config["vocab_size"], config["node_vocab_size"])
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
            raise ValueError(f"vocabulary sizes {sizes} must be positive integers")
        if not isinstance(config["pad_id"], int) or not 0 <= config["pad_id"] < sizes[0]:
            raise ValueError(f"pad_id {config['pad_id']!r} is not a token id")
    except (KeyError, TypeError, ValueError, ConfigError) as error:
        raise FatalError(f"corrupt encoder package {path}: encoder_config.json "
                         f"({type(error).__name__}: {error})") from error
    count = parameter_count(model_config, *sizes)
    if count * 4 > max_bytes:
        raise FatalError(f"encoder package {path}: its config describes {count:,} parameters "
                         f"({count * 4 / 2**30:.1f} GiB as float32), above the limit of "
                         f"{max_bytes / 2**30:.1f} GiB (max_bytes); nothing was allocated")
    if config.get("num_parameters") != count:
        raise FatalError(f"corrupt encoder package {path}: encoder_config.json says "
                         f"{config.get('num_parameters')} parameters, its sizes give {count}")
    return model_config, sizes


def _check_weights_header(path: Path, weights: Path, expected: dict[str, tuple[int, ...]]
                          ) -> None:
    """The weights file's tensors (read from its header) are exactly ``expected``."""
    if not weights.is_file():
        raise FatalError(f"corrupt encoder package {path}: encoder.safetensors is missing")
    header = read_weights_header(weights)
    missing, extra = sorted(set(expected) - set(header)), sorted(set(header) - set(expected))
    wrong = [f"{name} {header[name].dtype}{list(header[name].shape)} (config: "
             f"{list(expected[name])})" for name in sorted(set(header) & set(expected))
             if header[name].shape != expected[name] or header[name].dtype not in _FLOAT_DTYPES]
    for what, names in (("lacks", missing), ("has unexpected", extra), ("has mismatched", wrong)):
        if names:
            raise FatalError(f"corrupt encoder package {path}: encoder.safetensors {what} "
                             f"tensors {', '.join(names[:5])}"
                             f"{' ...' if len(names) > 5 else ''}")
