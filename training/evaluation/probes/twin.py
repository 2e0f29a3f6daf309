"""The untrained twin of the encoder under test, made once per package and cached."""

from __future__ import annotations

from pathlib import Path

from ...embedding.embed_config import twin_choice

__all__ = ["twin_choice", "resolve_untrained_twin"]


def resolve_untrained_twin(model: str, out_root: Path, *, seed: int = 0) -> Path:
    """The folder of ``model``'s untrained twin (same config and vocabularies, random weights).

    ``model`` is a registry URI or a package folder; the twin is written under
    ``out_root/<weights sha256[:16]>-seed<seed>`` and reused when it is already there.
    """
    from ....infra.files import sha256_file
    from ...embedding.package_basis import untrained_twin_with_basis
    from ...registry.model_cache import fetch_package

    package = fetch_package(model)
    digest = sha256_file(package / "encoder.safetensors")[:16]
    target = Path(out_root) / f"{digest}-seed{seed}"
    if not (target / "encoder.safetensors").is_file():
        untrained_twin_with_basis(package, target, seed=seed)
    return target
