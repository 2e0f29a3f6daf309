"""DevMap program features of encoder packages (their fused vectors, or another output) and
control feature sets, for the diagnostics that compare a pre-trained encoder with its untrained
twins outside ``mirencoder eval devmap`` (``stacked_sweep.py``, ``label_efficiency.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.model_config import ENCODER_OUTPUTS
from .devmap_data import DevMapData, load_devmap
from .devmap_eval import featurize_devmap
from .paths import default_cache_dir

__all__ = ["package_featurizers", "featurize_packages", "check_packages", "named_packages",
           "split_named_package",
           "ENCODER"]

ENCODER = "encoder"
"""The pre-trained encoder's feature-set name in a diagnostic."""


def check_packages(paths: list[Path]) -> list[str]:
    """One problem per path that is not an encoder package folder (empty when all are)."""
    return [f"{path}: not an encoder package folder" for path in paths
            if not (path / "encoder_config.json").is_file()]


def package_featurizers(packages: dict[str, str], embedding: str = "fused", *,
                        windows: str = "", max_windows: int = 0) -> list:
    """One featurizer per package (``name -> folder``): its ``embedding`` output, under the
    token-window policy ``windows`` ('' / 0: the embedder's defaults)."""
    from .features.encoder_embedding import EncoderFeaturizer, load_embedder

    if embedding not in ENCODER_OUTPUTS:
        raise ValueError(f"embedding must be one of {', '.join(ENCODER_OUTPUTS)}, not {embedding!r}")
    policy = f", windows {windows}" if windows else ""
    return [EncoderFeaturizer.from_embedder(name, load_embedder(path, windows=windows,
                                                                max_windows=max_windows),
                                            embedding, f"{path}, {embedding} embedding{policy}")
            for name, path in packages.items()]


def featurize_packages(row_set: str, packages: dict[str, str], controls: list[str],
                       data_dir: Path, progress: bool = True, embedding: str = "fused"
                       ) -> tuple[DevMapData, dict[str, np.ndarray]]:
    """One DevMap row set with ``name -> [programs, D]`` features: each package's
    ``embedding`` output (``packages``: name -> folder) and each named control; rows any of
    them failed on are dropped from the returned data."""
    from .features.registry import build_featurizer

    data = load_devmap(row_set, data_dir, Path(default_cache_dir()))
    featurizers = [build_featurizer(name) for name in controls] + package_featurizers(
        packages, embedding)
    features, _ = featurize_devmap(data, featurizers, progress)
    return data, features


def split_named_package(item: str, option: str = "") -> tuple[str, str]:
    """``"NAME=PACKAGE"`` -> ``(NAME, PACKAGE)``; a ValueError naming ``option`` and the item
    when either part is missing."""
    name, _, path = item.partition("=")
    if not name or not path:
        raise ValueError(f"{option} {item!r}: expected NAME=PACKAGE".lstrip())
    return name, path


def named_packages(model: Path, twins: list[Path], also: list[str]
                   ) -> tuple[dict[str, str], list[str], list[str]]:
    """``name -> package`` of the encoder (``encoder``), its twins (``twin<i>``) and the
    ``NAME=PACKAGE`` extras, with the twins' and the extras' names.

    Raises:
        ValueError: a malformed, repeated or reserved extra name, or a folder that is not an
            encoder package (the message names it).
    """
    packages = {ENCODER: str(model)}
    packages.update({f"twin{i}": str(path) for i, path in enumerate(twins)})
    extras = []
    for item in also:
        name, path = split_named_package(item, "--also")
        if name in packages:
            raise ValueError(f"--also {item!r}: the name {name!r} is taken")
        packages[name] = path
        extras.append(name)
    problems = check_packages([Path(path) for path in packages.values()])
    if problems:
        raise ValueError("; ".join(problems))
    return packages, list(packages)[1:len(twins) + 1], extras
