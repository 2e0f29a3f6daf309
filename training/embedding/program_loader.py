"""From an embedder's inputs (files, folders, archives) to the files it embeds.

Folders are walked and archives extracted safely by the dataset build's discovery
(:func:`mirencoder.pipelines.inputs.discover_inputs`); each file then goes through the front
end (:class:`mirencoder.pipelines.frontend.loader.FrontEnd`), as in the build.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .embedder import Embedder
    from .embedding_result import EmbeddingResult

__all__ = ["embed_inputs"]


def embed_inputs(embedder: Embedder, paths: Sequence[str | Path], *, work_dir: str | Path,
                 modality: str = "fused", batch_size: int = 32, progress: bool = True,
                 windows: str = "first", max_windows: int = 8) -> EmbeddingResult:
    """Embeds files, folders (walked recursively) and tar archives (extracted safely).

    Folders and archives expand to their program files in sorted order (headers stay on disk
    for includes); unsafe archive members and unsupported files become error rows.

    Raises:
        ConfigError: when some of ``paths`` do not exist (all are listed).
    """
    from ...pipelines.inputs import discover_inputs

    items = discover_inputs([Path(p) for p in paths], Path(work_dir), corpus="embed",
                            max_file_bytes=embedder.loader.max_file_bytes)
    result = embedder.embed_files(
        [item.local_path if item.local_path is not None else item.path for item in items],
        modality=modality, batch_size=batch_size, progress=progress, windows=windows,
        max_windows=max_windows, languages=[item.language for item in items],
        rejections={i: item.rejection for i, item in enumerate(items) if item.rejection})
    result.keys = [item.path for item in items]
    return result
