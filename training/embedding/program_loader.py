"""From an embedder's inputs (files, folders, archives) to the files it embeds.

Folders are walked and archives extracted safely by the dataset build's discovery
(:func:`mirencoder.pipelines.inputs.discover_inputs`); each file then goes through the front
end (:class:`mirencoder.pipelines.frontend.loader.FrontEnd`), as in the build. With a journal
(:class:`~.embed_journal.EmbedJournal`) the inputs are embedded in segments, each saved as it
finishes, and rows an interrupted run saved are taken from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ...pipelines.inputs import InputItem
    from .embed_journal import EmbedJournal
    from .embedder import Embedder
    from .embedding_result import EmbeddingResult

__all__ = ["embed_inputs"]


def embed_inputs(embedder: Embedder, paths: Sequence[str | Path], *, work_dir: str | Path,
                 modality: str = "fused", batch_size: int = 32, progress: bool = True,
                 windows: str = "first", max_windows: int = 8,
                 journal: EmbedJournal | None = None,
                 on_resume: Callable[[int, int], None] | None = None) -> EmbeddingResult:
    """Embeds files, folders (walked recursively) and tar archives (extracted safely).

    Folders and archives expand to their program files in sorted order (headers stay on disk
    for includes); unsafe archive members and unsupported files become error rows. With
    ``journal``, the embeddings it holds for unchanged files are reused and the new ones are
    saved to it segment by segment (failures are not: a rerun tries them again);
    ``on_resume(reused, total)`` is called before the work when some are reused.

    Raises:
        ConfigError: when some of ``paths`` do not exist (all are listed).
    """
    from ...pipelines.inputs import discover_inputs

    items = discover_inputs([Path(p) for p in paths], Path(work_dir), corpus="embed",
                            max_file_bytes=embedder.loader.max_file_bytes)
    settings = {"modality": modality, "batch_size": batch_size, "windows": windows,
                "max_windows": max_windows}
    if journal is None:
        result = _embed_items(embedder, items, progress=progress, **settings)
    else:
        result = _embed_with_journal(embedder, items, journal, progress=progress,
                                     on_resume=on_resume, **settings)
    result.keys = [item.path for item in items]
    return result


def _embed_items(embedder: Embedder, items: Sequence[InputItem], *, progress: bool,
                 **settings) -> EmbeddingResult:
    return embedder.embed_files(
        [item.local_path if item.local_path is not None else item.path for item in items],
        progress=progress, languages=[item.language for item in items],
        rejections={i: item.rejection for i, item in enumerate(items) if item.rejection},
        **settings)


def _embed_with_journal(embedder: Embedder, items: list[InputItem], journal: EmbedJournal, *,
                        progress: bool, batch_size: int, modality: str,
                        on_resume: Callable[[int, int], None] | None,
                        **settings) -> EmbeddingResult:
    """Reuses the journal's embeddings, embeds the rest in segments of 4 batches, saving the
    embeddings of each (failed inputs are not saved: a rerun tries them again)."""
    from tqdm import tqdm

    from .embed_journal import file_digest
    from .embedding_result import EmbeddingResult

    n = len(items)
    vectors = np.full((n, embedder.modality_dim(modality)), np.nan, dtype=np.float32)
    errors: dict[int, tuple[str, str]] = {}
    digests = [None if item.rejection else file_digest(item.local_path or Path(item.path))
               for item in items]
    todo = []
    for i, item in enumerate(items):
        saved = journal.lookup(item.path, digests[i])
        if saved is None or saved.shape != vectors[i].shape:
            todo.append(i)
        else:
            vectors[i] = saved
    if len(todo) < n and on_resume is not None:
        on_resume(n - len(todo), n)
    segment = 4 * batch_size
    with tqdm(total=n, initial=n - len(todo), desc="embed", unit="file", disable=not progress,
              dynamic_ncols=True) as bar:
        for start in range(0, len(todo), segment):
            rows = todo[start:start + segment]
            part = _embed_items(embedder, [items[i] for i in rows], progress=False,
                                batch_size=batch_size, modality=modality, **settings)
            done = []
            for j, i in enumerate(rows):
                if j in part.errors:  # not saved: a failure is tried again on a rerun
                    errors[i] = part.errors[j]
                    continue
                vectors[i] = part.vectors[j]
                if digests[i] is not None:
                    done.append((items[i].path, digests[i], part.vectors[j]))
            journal.append(done)
            bar.update(len(rows))
            bar.set_postfix(failed=len(errors))
    return EmbeddingResult(vectors=vectors, keys=[item.path for item in items], errors=errors,
                           modality=modality)
