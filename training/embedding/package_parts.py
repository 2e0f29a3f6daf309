"""A local encoder package folder read into what an embedder needs: the model, its package
info, the tokenizer and the node-text vocabulary, with every failure a clear FatalError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...infra.errors import FatalError, MirError

__all__ = ["load_package_parts"]


def load_package_parts(package_dir: Path, *, reference: Any = None,
                       max_bytes: int | None = None) -> tuple[Any, Any, Any, Any]:
    """``(model, info, tokenizer, node_vocab)`` of a local encoder package folder, its files
    checked against ``reference`` (a ``PackageReference``; None: their own list, with a
    warning) and its weights against ``max_bytes``.

    Raises:
        FatalError: a corrupt, incomplete or tampered package (missing, extra or changed
            file, bad safetensors, a config that does not match the weights or is too big).
    """
    from ..registry.model_registry import PACKAGE_FILES

    missing = [name for name in PACKAGE_FILES if not (package_dir / name).is_file()]
    if missing:
        raise FatalError(f"corrupt encoder package {package_dir}: missing {', '.join(missing)}")
    try:
        from ...pipelines.ir.node_vocab import NodeTextVocabulary
        from ...pipelines.ir.tokenizer import IRTokenizer
        from ..core.package import load_encoder_package

        limit = {"max_bytes": max_bytes} if max_bytes is not None else {}
        model, info = load_encoder_package(package_dir, reference=reference, **limit)
        tokenizer = IRTokenizer.load(package_dir / "tokenizer.json")
        node_vocab = NodeTextVocabulary.load(package_dir / "node_vocab.json")
    except (ImportError, MirError):
        raise
    except Exception as error:  # noqa: BLE001 - any load failure means a corrupt package
        raise FatalError(f"corrupt encoder package {package_dir}: "
                         f"{type(error).__name__}: {str(error)[:400]}") from error
    return model, info, tokenizer, node_vocab
