"""The encoder under test: program embeddings from ``mirencoder.training.embedding.embedder.Embedder``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ....infra.errors import FatalError
from ..programs import EvalProgram

__all__ = ["EncoderFeaturizer", "SharedOutputs", "load_embedder", "describe_embedder"]


def load_embedder(uri: str, *, windows: str = "", max_windows: int = 0, basis: str = "",
                  basis_variance: float = 0.9, basis_dims: int = 0) -> Any:
    """Loads an encoder by registry URI (``models:/mirencoder@champion``) or package folder,
    with the token-window policy ``windows``/``max_windows`` ('' / 0: the embedder's defaults)
    and, given a ``basis`` file, its outputs in that principal basis (``EmbedConfig.basis``).

    Raises:
        FatalError: when the embedding API is not available or the model cannot be loaded.
    """
    try:
        from ...embedding.embedder import Embedder
    except ImportError as error:
        raise FatalError("the embedding API (mirencoder.training.embedding.embedder.Embedder) is not "
                         f"available, so --model cannot be used: {error}") from error
    settings: dict[str, Any] = {"windows": windows} if windows else {}
    if max_windows:
        settings["max_windows"] = max_windows
    if basis:
        settings.update(basis=basis, basis_variance=basis_variance, basis_dims=basis_dims)
    from ..head_network import torch_threads

    with torch_threads(EMBED_THREADS):  # loaded on the threads it embeds on (EMBED_THREADS)
        return Embedder.from_uri(uri, **settings)


def describe_embedder(embedder: Any, uri: str) -> dict[str, Any]:
    """The encoder's identity for the report: URI, version, lineage (whatever it exposes)."""
    info: dict[str, Any] = {"uri": uri}
    for source in (embedder, getattr(embedder, "info", None),
                   getattr(embedder, "package_info", None)):
        if source is None:
            continue
        for attr in ("name", "version", "run_id", "parameter_count",
                     "lineage", "tags"):
            value = getattr(source, attr, None)
            if value is not None and attr not in info and not callable(value):
                info[attr] = value if isinstance(value, str | int | float | dict | list) \
                    else str(value)
    return info


def _unpack(result: Any, paths: Sequence[str]) -> tuple[np.ndarray, dict[int, str]]:
    """Accepts an array, or an object with ``vectors`` and ``errors`` (a mapping keyed by index
    or path, a list aligned with the inputs, or a list of (index-or-path, message) pairs or of
    objects with ``index``/``path`` and ``reason``/``message``)."""
    vectors = getattr(result, "vectors", result)
    errors_in = getattr(result, "errors", None) or {}
    vectors = np.asarray(vectors, dtype=np.float64)
    position = {p: i for i, p in enumerate(paths)}

    def locate(key: Any) -> int | None:
        if isinstance(key, int | np.integer):
            return int(key)
        return position.get(str(key))

    errors: dict[int, str] = {}
    if isinstance(errors_in, Mapping):
        items = list(errors_in.items())
    elif len(errors_in) == len(paths) and all(e is None or isinstance(e, str) for e in errors_in):
        items = [(i, e) for i, e in enumerate(errors_in) if e]
    else:
        items = []
        for entry in errors_in:
            if isinstance(entry, tuple | list) and len(entry) >= 2:
                items.append((entry[0], " ".join(str(x) for x in entry[1:])))
            else:
                key = getattr(entry, "index", None)
                key = key if key is not None else getattr(entry, "path", None)
                message = " ".join(str(x) for x in (getattr(entry, "reason", ""),
                                                    getattr(entry, "message", "")) if x)
                items.append((key, message or str(entry)))
    for key, message in items:
        index = locate(key)
        if index is not None:
            errors[index] = (": ".join(str(m) for m in message)
                             if isinstance(message, tuple | list) else str(message))
    return vectors, errors


EMBED_THREADS = 1
"""torch threads while an evaluation loads and embeds: one makes its vectors bitwise
reproducible. With two, float32 reductions differ by up to 7e-7 between calls, and the DevMap
protocol's depth-10 trees turned that into up to 1.6 accuracy points for one package between
two runs of one command (RESULTS.md, the level-shift sections). Loading counts too: an encoder
loaded on two threads and run on one gave one of two versions of its vectors per process
(3.3e-4 apart on the 669 DevMap files, the second in 3 of 10 processes; MKL's GEMM, which
``MKL_CBWR`` also pins); loaded on one, the same version in 10 of 10."""


class SharedOutputs:
    """Several outputs of one embedder (``fused``, ``tokens``, ...) from one pass over the
    programs: the first featurizer that asks embeds its programs for every output in
    ``modalities`` (``Embedder.embed_outputs``: each program read, compiled and encoded once);
    the others take their output for the same programs from it. Each output's vectors are
    those that output alone gives.

    Args:
        embedder: an ``Embedder``.
        modalities: the outputs the evaluation asks for.
        progress: show the embedding's progress bar.
    """

    def __init__(self, embedder: Any, modalities: Sequence[str], progress: bool = True):
        self.embedder, self.modalities, self.progress = embedder, list(modalities), progress
        self._paths: tuple[str, ...] | None = None
        self._results: dict[str, Any] = {}

    def embed(self, modality: str) -> Callable[[list[str]], Any]:
        """The ``paths -> EmbeddingResult`` of one output, for :class:`EncoderFeaturizer`."""
        def embed_files(paths: list[str]) -> Any:
            if tuple(paths) != self._paths or modality not in self._results:
                wanted = list(dict.fromkeys([*self.modalities, modality]))
                self._results = {}  # one set of programs kept at a time
                self._results = self.embedder.embed_outputs(paths, wanted,
                                                            progress=self.progress)
                self._paths = tuple(paths)
            return self._results[modality]
        return embed_files


class EncoderFeaturizer:
    """Wraps an embedding function ``paths -> [N, D]`` (or an ``EmbeddingResult``), called
    on :data:`EMBED_THREADS` torch threads.

    Args:
        name: the method's name in reports (``encoder``, ``encoder-tokens``, ...).
        embed_files: called with the list of IR/bitcode paths.
        description: one line for the report.
    """

    def __init__(self, name: str, embed_files: Callable[[list[str]], Any], description: str = ""):
        self.name = name
        self.embed_files = embed_files
        self.description = description or name
        self.errors: dict[str, str] = {}

    @classmethod
    def from_embedder(cls, name: str, embedder: Any, modality: str = "fused",
                      description: str = "") -> EncoderFeaturizer:
        """Uses ``embedder.embed_files(paths, modality=modality)``."""
        return cls(name, lambda paths: embedder.embed_files(paths, modality=modality),
                   description or f"encoder, {modality} embedding")

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        from ..head_network import torch_threads

        paths = [str(Path(p.path)) for p in programs]
        with torch_threads(EMBED_THREADS):
            vectors, errors = _unpack(self.embed_files(paths), paths)
        if vectors.ndim != 2 or len(vectors) != len(programs):
            raise FatalError(f"{self.name}: expected [{len(programs)}, D] embeddings, got shape "
                             f"{vectors.shape}")
        vectors = vectors.copy()
        self.errors = {}
        for index, message in errors.items():
            vectors[index] = np.nan
            self.errors[programs[index].key] = message
        for index in np.flatnonzero(~np.isfinite(vectors).all(axis=1)):
            self.errors.setdefault(programs[index].key, "non-finite embedding")
            vectors[index] = np.nan
        return vectors
