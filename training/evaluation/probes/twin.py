"""The untrained twin of the encoder under test, made once per package and cached."""

from __future__ import annotations

from pathlib import Path

__all__ = ["twin_choice", "resolve_untrained_twin"]


def twin_choice(value: str | None) -> str | None:
    """``untrained_model``'s meaning: ``"auto"`` (make the twin of the model under test), None
    (``off``, ``none``, empty or None: no twin rows) or the twin's URI / folder itself."""
    text = (value or "").strip()
    if text.lower() == "auto":
        return "auto"
    return None if text.lower() in ("", "none", "off") else text


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
