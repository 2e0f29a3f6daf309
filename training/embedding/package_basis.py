"""Principal bases that ship inside encoder packages: a finished run's, and its twins'.

The pre-training CLI passes :func:`ship_run_basis` to ``pretrain_and_register`` as the step
between saving and registering a run's package; :func:`untrained_twin_with_basis` makes an
untrained twin whose own basis is fitted on the programs the trained package's was.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...infra.config import check, raise_problems
from ...infra.errors import MirError
from ...pipelines.dataset import index_sha256
from ..core.package_verify import UnverifiedPackageWarning
from .embedder import Embedder
from .principal_basis import PACKAGE_BASIS_FILE, BasisConfig, PrincipalBasis, fit_dataset_basis

__all__ = ["TwinConfig", "ship_package_basis", "ship_run_basis", "ship_twin_basis",
           "untrained_twin_with_basis"]


@dataclass(kw_only=True, slots=True)
class TwinConfig:
    """What ``mirencoder pretrain twin`` writes: the untrained twin of an encoder."""

    model: str = ""
    """The trained encoder: a package folder or a registry URI (models:/NAME@ALIAS)."""
    out_dir: str = ""
    """The twin's package folder (replaced when it exists)."""
    seed: int = 0
    """Seeds the twin's random weights (compare against several twins to see their spread)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        check(problems, bool(self.model), "model is not set (--model PACKAGE_OR_URI)")
        check(problems, bool(self.out_dir), "out_dir is not set (--out DIR)")
        check(problems, self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        raise_problems(problems, "twin")


def ship_package_basis(package_dir: str | Path, dataset_dir: str | Path, *, programs: int,
                       seed: int = 0, split: str = "train", progress: bool = True
                       ) -> PrincipalBasis:
    """Fits the package's principal basis on ``programs`` of ``dataset_dir``'s ``split`` and
    writes it into the package (:data:`PACKAGE_BASIS_FILE`).

    Raises:
        ConfigError: as :func:`fit_dataset_basis`, or a locked package.
    """
    config = BasisConfig(model=str(package_dir), dataset=str(dataset_dir), split=split,
                         programs=programs, seed=seed, into_package=True)
    with warnings.catch_warnings():  # a fresh package: nothing outside vouches for it yet
        warnings.simplefilter("ignore", UnverifiedPackageWarning)
        embedder = Embedder.from_uri(str(package_dir))
    return fit_dataset_basis(config, embedder, progress=progress)


def ship_run_basis(config: Any, result: Any) -> None:
    """The step between saving a finished run's package and registering it: its principal
    basis on ``trainer.basis_programs`` train-split programs (0: none). A failure is reported
    and leaves the package as it was, to be registered all the same."""
    if not config.trainer.basis_programs:
        return
    try:
        ship_package_basis(result.package_dir, config.data.dataset_dir,
                           programs=config.trainer.basis_programs, seed=config.data.seed,
                           split=config.data.train_split)
    except MirError as error:
        print(f"[pretrain] no principal basis shipped in {result.package_dir}: {error}",
              flush=True)


def ship_twin_basis(trained_dir: str | Path, twin_dir: str | Path) -> bool:
    """The twin's own principal basis, fitted on the programs the trained package's basis
    was (same dataset, split, seed and count); False (and a note) when the trained package
    ships none or its dataset is not here as it was."""
    trained_dir, twin_dir = Path(trained_dir), Path(twin_dir)
    if not (trained_dir / PACKAGE_BASIS_FILE).is_file():
        return False
    meta = PrincipalBasis.load(trained_dir / PACKAGE_BASIS_FILE).meta
    lineage = json.loads((trained_dir / "lineage.json").read_text())
    dataset = Path(str(lineage.get("dataset_dir") or ""))
    if not (dataset / "index.json").is_file() or (index_sha256(dataset)
                                                  != meta.get("dataset_index_sha256")):
        print(f"[untrained twin] {twin_dir}: no principal basis (the dataset its encoder's "
              f"basis was fitted on, {dataset or '?'}, is not here as it was)", flush=True)
        return False
    try:
        ship_package_basis(twin_dir, dataset, programs=int(meta["programs"]),
                           seed=int(meta.get("seed", 0)), split=str(meta.get("split", "train")),
                           progress=False)
    except MirError as error:
        print(f"[untrained twin] {twin_dir}: no principal basis ({error})", flush=True)
        return False
    return True


def untrained_twin_with_basis(package_dir: str | Path, out_dir: str | Path, *, seed: int = 0
                              ) -> Path:
    """:func:`~..registry.untrained_twin.untrained_twin`, plus :func:`ship_twin_basis` when
    the trained package ships a basis."""
    from ..registry.untrained_twin import untrained_twin

    twin = untrained_twin(package_dir, out_dir, seed=seed)
    ship_twin_basis(package_dir, twin)
    return twin
