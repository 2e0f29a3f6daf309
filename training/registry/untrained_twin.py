"""The "untrained encoder" ablation: a package's architecture and vocabularies, random weights.

Evaluating it beside the trained encoder (same tokenizer, node vocabulary, sizes and head)
shows what pre-training adds over the architecture and the input views alone.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["untrained_twin"]


def untrained_twin(package_dir: str | Path, out_dir: str | Path, *, seed: int = 0) -> Path:
    """Writes a package with ``package_dir``'s config and vocabularies and fresh random weights.

    Args:
        package_dir: a trained encoder package.
        out_dir: the folder to write (replaced when it exists).
        seed: seeds the random initialisation.

    Returns:
        The new package folder; its ``lineage.json`` says ``"untrained": true``. It ships no
        principal basis (``training/embedding/package_basis.py`` makes twins that do).
    """
    import torch

    from ..core.models.encoder import MIREncoder
    from ..core.package import load_encoder_package, save_encoder_package

    trained, info = load_encoder_package(package_dir)
    torch.manual_seed(seed)
    fresh = MIREncoder(info.model_config, vocab_size=info.vocab_size,
                       node_vocab_size=info.node_vocab_size, pad_id=trained.pad_id)
    lineage = {key: value for key, value in info.lineage.items()
               if key.startswith(("dataset", "tokenizer", "node_vocab", "config"))}
    lineage.update(untrained=True, untrained_seed=seed, twin_of=str(Path(package_dir).resolve()))
    return save_encoder_package(out_dir, fresh, info.model_config, info.tokenizer_path,
                                info.node_vocab_path, lineage, tokenizer_ids=info.tokenizer_ids)
