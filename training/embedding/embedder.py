"""Embedding API: load an encoder (registry URI, run URI or package folder) and embed programs.

Consumers never touch training code::

    embedder = Embedder.from_uri("models:/mirencoder@champion")
    result = embedder.embed_files(["a.c", "k.cl", "m.ll"])
    result.vectors  # [N, D] float32, NaN rows where an input failed
    result.errors   # {index: (reason, message)}

Every input goes through the dataset build's front end (``pipelines/frontend``): sources (C,
C++, OpenCL C, CUDA) are compiled, ``.ll``/``.bc`` read directly, every program is normalised
(text only: ``FrontEnd.normalize(..., bitcode=False)``, the same canonical text) and turned
into its token and graph views (:func:`build_views`, the build's two view steps in one; only
the tokens the window policy can use are tokenized), collated with the training collate and
encoded under ``torch.inference_mode`` in eval mode, where the model takes its cheaper
inference path (equal to the training computation up to float rounding). One bad input
becomes an error entry and a NaN row; it never spoils its batch.

Long programs: the same policy as training's evaluation path (``training/core/data/collate.py``):
the token view is cut to its *first* window of ``context_length - 1`` tokens after ``[CLS]``
and the graph keeps its first ``max_graph_nodes`` nodes. ``windows="pool"`` encodes up to
``max_windows`` consecutive token windows and pools their ``[CLS; mean]`` features (length
weighted) before the projection, as training does with ``data.windows=all``;
``windows="mean"`` averages the windows' embeddings instead. ``windows="auto"`` (the default)
takes the policy the package was trained with; the default is ``first``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.config import config_from_dict
from ...infra.errors import ConfigError, FatalError, InputError, MirError
from ...pipelines.frontend.language import detect_text_language
from ...pipelines.frontend.loader import FrontEnd
from ..core.model_config import ENCODER_OUTPUTS
from .embed_config import (
    DEFAULT_MAX_GRAPH_NODES,
    MODALITIES,
    PRECISIONS,
    WINDOW_POLICIES,
    EmbedConfig,
)
from .embedding_result import EmbeddingResult, Prepared
from .load_ahead import LoadAhead, resolve_workers
from .package_parts import load_package_parts
from .principal_basis import BasisSetting, PrincipalBasis
from .view_cache import ViewCache
from .view_encoding import (
    encode_graphs,
    encode_pooled_tokens,
    encode_token_rows,
    mean_window_records,
    output_vectors,
    package_max_graph_nodes,
    package_window_policy,
)

__all__ = ["EmbeddingResult", "Embedder"]


class Embedder:
    """A frozen encoder plus everything needed to turn programs into embeddings.

    Build one with :meth:`from_uri` (registry, run or folder) or :meth:`from_package`.

    Args:
        model: the encoder (put in eval mode here).
        package_dir: the encoder package folder it came from.
        tokenizer: the package's IR tokenizer.
        node_vocab: the package's node-text vocabulary.
        source: where the model came from (a URI or a path), for reports.
        max_graph_nodes: graphs keep at most this many nodes.
        compile_config: compile settings for sources (default: the pipeline's defaults).
    """

    def __init__(self, model, *, package_dir: Path, tokenizer, node_vocab, source: str,
                 config: EmbedConfig | None = None,
                 package_max_graph_nodes: int = DEFAULT_MAX_GRAPH_NODES, info: Any = None,
                 model_version: Any = None):
        import torch

        self.config = config or EmbedConfig(model=source)
        self.model = model.eval()
        if hasattr(model, "use_fast_inference"):
            model.use_fast_inference()  # same embeddings up to float rounding, less work
        self.package_dir = Path(package_dir)
        self.tokenizer = tokenizer
        self.node_vocab = node_vocab
        self.source = source
        self.info = info
        self.max_graph_nodes = self.config.max_graph_nodes or package_max_graph_nodes
        # The front end (as in the dataset build): inputs to IR bytes to normalised IR.
        self.loader = FrontEnd(self.config.compile)
        # The registered version when pulled by a models:/ URI (a ModelVersionInfo).
        self.model_version = model_version
        self._torch = torch
        self.precision = "fp32"
        ids = getattr(info, "tokenizer_ids", None)
        if ids is None:
            from ..core.data.token_ids import TokenizerIds

            ids = TokenizerIds(
                pad_id=int(tokenizer.pad_id), unk_id=int(tokenizer.unk_id),
                cls_id=int(tokenizer.cls_id), sep_id=int(tokenizer.sep_id),
                mask_id=int(tokenizer.mask_id), vocab_size=int(model.vocab_size),
                node_vocab_size=int(model.node_vocab_size))
        self.tokenizer_ids = ids
        # The policy the package was trained with (``windows="auto"``) and the default one.
        self.trained_windows, trained_max = package_window_policy(self.package_dir)
        self.default_windows = (self.trained_windows if self.config.windows == "auto"
                                else self.config.windows)
        self.default_max_windows = self.config.max_windows or trained_max
        self.use_precision(self.config.precision)
        self.basis = BasisSetting(PrincipalBasis.for_package(self.config.basis, package_dir)
                                  if self.config.basis else None, self.config.basis_variance,
                                  self.config.basis_dims)

    @property
    def token_batch_size(self) -> int:
        """Token windows per forward pass (per-program results do not depend on it)."""
        return self.config.token_batch_size

    @property
    def graph_batch_size(self) -> int:
        """Graphs per forward pass (per-program results do not depend on it)."""
        return self.config.graph_batch_size

    @property
    def deduplicate(self) -> bool:
        """Within one call, identical programs (same canonical text) are prepared and encoded
        once, and identical token windows and graphs encoded once."""
        return self.config.deduplicate

    def use_precision(self, precision: str) -> Embedder:
        """Sets the network's precision: ``fp32`` (default) or ``bf16`` (see ``PRECISIONS``).

        Raises:
            ConfigError: an unknown precision, or ``fp32`` after ``bf16`` (the weights were
                rounded: load the encoder again for float32).
        """
        _check_precision(precision)
        if precision == self.precision:
            return self
        if precision == "fp32":
            raise ConfigError("this embedder's weights were cast to bf16; load the encoder "
                              "again for fp32 embeddings")
        self.model.use_inference_dtype(self._torch.bfloat16)
        self.precision = precision
        return self

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_package(cls, package_dir: str | Path, *, source: str | None = None,
                     config: EmbedConfig | None = None, model_version: Any = None,
                     reference: Any = None) -> Embedder:
        """Loads a local encoder package folder (``config``: the embedding settings; its
        ``model`` is not read here), its files checked against ``reference`` (a
        ``PackageReference``; None: their own list, with a warning).

        Raises:
            FatalError: a corrupt, incomplete or tampered package (missing, extra or changed
                file, bad safetensors, a config that does not match the weights or is too big).
        """
        package_dir = Path(package_dir)
        model, info, tokenizer, node_vocab = load_package_parts(
            package_dir, reference=reference,
            max_bytes=config.max_model_bytes if config is not None else None)
        max_nodes = package_max_graph_nodes(package_dir, info)
        return cls(model, package_dir=package_dir, tokenizer=tokenizer, node_vocab=node_vocab,
                   source=source or str(package_dir), config=config,
                   package_max_graph_nodes=max_nodes, info=info, model_version=model_version)

    @classmethod
    def from_config(cls, config: EmbedConfig) -> Embedder:
        """Loads ``config.model`` from the registry, a run or a local folder.

        ``config.model`` is ``models:/name@alias``, ``models:/name/version``,
        ``runs:/<run id>/encoder``, a local encoder package folder, or a local MLflow model
        folder (holding ``MLmodel``); ``config.tracking_uri`` and ``config.cache_dir`` say
        where the registry and the local copies are.

        Raises:
            ConfigError: an unknown model, alias or version (known ones listed), or a path
                that is neither a package nor an MLflow model.
            FatalError: an unreachable registry or a corrupt artifact.
        """
        from ..registry.model_cache import fetch_model, package_reference

        text = config.model
        remote = text.startswith(("models:/", "runs:/"))
        where = {"tracking_uri": config.tracking_uri, "cache_dir": config.cache_dir}
        package_dir, version = fetch_model(text, **where)
        reference = package_reference(text, package_dir, version, sha256=config.sha256 or None,
                                      lock_file=config.lock_file or None)
        try:
            return cls.from_package(package_dir, source=text, config=config,
                                    model_version=version, reference=reference)
        except FatalError:
            if not remote:
                raise
            # A corrupt cached copy (disk trouble, an interrupted edit): pull it once more.
            package_dir, version = fetch_model(text, **where, refresh=True)
            try:
                return cls.from_package(package_dir, source=text, config=config,
                                        model_version=version, reference=reference)
            except FatalError as error:
                raise FatalError(f"corrupt model artifact {text} (downloaded afresh to "
                                 f"{package_dir}): {error}") from error

    @classmethod
    def from_uri(cls, uri_or_dir: str | Path, **settings: Any) -> Embedder:
        """:meth:`from_config` of ``EmbedConfig(model=uri_or_dir, **settings)``, e.g.
        ``Embedder.from_uri("models:/mirencoder@champion", precision="bf16")``.

        Raises:
            ConfigError: an unknown setting or value (checked before any download), and as
                :meth:`from_config`.
        """
        return cls.from_config(config_from_dict(EmbedConfig, {"model": str(uri_or_dir),
                                                              **settings}))

    @property
    def name(self) -> str | None:
        """Registered model name (None for a local package)."""
        return self.model_version.name if self.model_version is not None else None

    @property
    def version(self) -> str | None:
        """Registered version number (None for a local package)."""
        return str(self.model_version.version) if self.model_version is not None else None

    @property
    def run_id(self) -> str | None:
        """The MLflow run that logged the model, or the package's training run."""
        if self.model_version is not None and self.model_version.run_id:
            return self.model_version.run_id
        return self.lineage.get("mlflow_run_id")

    @property
    def lineage(self) -> dict[str, Any]:
        """The package's ``lineage.json``."""
        return dict(getattr(self.info, "lineage", None) or {})

    @property
    def tags(self) -> dict[str, str]:
        """The registered version's tags (empty for a local package)."""
        return dict(self.model_version.tags) if self.model_version is not None else {}

    @property
    def parameter_count(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    @property
    def dim(self) -> int:
        """Embedding size D (of ``fused``, ``tokens`` and ``graph``; ``joint`` is 3 x D)."""
        return int(self.model.embedding_dim)

    def modality_dim(self, modality: str, basis: bool = True) -> int:
        """The length of one ``modality`` vector (``basis``: as returned with the principal
        basis, when there is one)."""
        if modality == "joint":
            return sum(self.modality_dim(m, basis) for m in ENCODER_OUTPUTS)
        return self.basis.dims(modality, self.dim) if basis else self.dim

    @property
    def context_length(self) -> int:
        return int(self.model.config.context_length)

    # ---------------------------------------------------------------- preparation

    def _record(self, data: bytes, key: str, max_tokens: int | None = None) -> dict[str, Any]:
        return self._views_record(self.loader.normalize(data, bitcode=False), key, max_tokens)

    def _views_record(self, ir, key: str, max_tokens: int | None = None) -> dict[str, Any]:
        from ...pipelines.frontend.views import build_views
        from ...pipelines.ir.program_graph import ENCODER_COLUMNS

        tokens, graph = build_views(ir, self.tokenizer, self.node_vocab, max_tokens=max_tokens)
        return {"key": key, "corpus": "embed", "tokens": np.asarray(tokens, dtype=np.int32),
                **graph.columns(ENCODER_COLUMNS)}

    def prepare_file(self, path: str | Path, language: str | None = None, *,
                     max_tokens: int | None = None) -> dict[str, Any]:
        """The program record (token ids + graph arrays) of one file, ready for encoding.

        Args:
            path: a source or IR file.
            language: its language (default: from the suffix).
            max_tokens: keep the first ``max_tokens`` token ids only (``context_length``
                covers the first window, all that ``windows="first"`` encodes).

        Raises:
            InputError: the file cannot be compiled, read or normalised.
        """
        return self._record(self.loader.file_bytes(Path(path), language), str(path), max_tokens)

    def encode_records(self, records: Sequence[dict[str, Any]], *, modality: str = "fused",
                       windows: str | None = None, max_windows: int | None = None,
                       basis: bool = True) -> np.ndarray:
        """Embeddings ``[len(records), D]`` of prepared records (see :meth:`prepare_file`);
        ``basis=False``: in the network's own coordinates even with a principal basis."""
        rows = self._encode_group([Prepared(record=dict(r)) for r in records], (modality,),
                                  self.resolve_windows(windows),
                                  max_windows or self.default_max_windows,
                                  ViewCache(enabled=self.deduplicate), basis=basis)[modality]
        return np.stack(rows).astype(np.float32)

    def resolve_windows(self, windows: str | None) -> str:
        """A window policy with ``None`` (the default) and ``auto`` (the package's training
        policy) resolved."""
        windows = windows or self.default_windows
        return self.trained_windows if windows == "auto" else windows

    @property
    def window_policy(self) -> str:
        """The default window policy for reports and metadata: ``first``, ``pool:4``, ..."""
        first = self.default_windows == "first"
        return "first" if first else f"{self.default_windows}:{self.default_max_windows}"

    def _token_budget(self, windows: str, max_windows: int) -> int:
        """Token ids the window policy can use (one spare, in case the first is a [CLS])."""
        return (self.context_length - 1) * (1 if windows == "first" else max_windows) + 1

    def _prepare(self, load: Callable[[], bytes], key: str, max_tokens: int | None = None,
                 seen: dict[str, int] | None = None) -> Prepared:
        """Loads, normalises and builds the views of one input.

        ``seen`` maps digests of the raw bytes and of the canonical text of programs prepared
        earlier in this call to their rows: a program found there (a twin) is not prepared
        again.
        """
        try:
            data = load()
            keys = ["raw:" + hashlib.blake2b(data, digest_size=16).hexdigest()]
            if seen is not None and keys[0] in seen:
                return Prepared(digests=keys, duplicate_of=seen[keys[0]])
            ir = self.loader.normalize(data, bitcode=False)
            keys.append("ir:" + ir.sha256)
            if seen is not None and keys[1] in seen:
                return Prepared(digests=keys, duplicate_of=seen[keys[1]])
            return Prepared(record=self._views_record(ir, key, max_tokens), digests=keys)
        except InputError as error:
            return Prepared(error=(error.reason, str(error)[:2000]))
        except MirError as error:
            return Prepared(error=(type(error).__name__, str(error)[:2000]))
        except Exception as error:  # noqa: BLE001 - one bad input must not stop the batch
            return Prepared(error=("internal_error", f"{type(error).__name__}: {error}"[:2000]))

    # ---------------------------------------------------------------- encoding

    def _window_records(self, record: dict, windows: str, max_windows: int) -> list[dict]:
        if windows != "mean":  # first: one row; pool: the windows are pooled in _encode
            return [record]
        return mean_window_records(record, ids=self.tokenizer_ids,
                                   context_length=self.context_length, max_windows=max_windows)

    def _encode(self, records: list[dict], modalities: Sequence[str], cache: ViewCache,
                windows: str = "first", max_windows: int = 1, basis: bool = True
                ) -> dict[str, np.ndarray]:
        """Embeddings ``[len(records), D]`` of each output in ``modalities`` (in the principal
        basis when there is one and ``basis``), from one encoding of the views they need.

        Each distinct token window (or pooled window sequence) and graph is encoded once (not
        at all when ``cache`` holds it from earlier in the call), in forward passes of
        ``token_batch_size`` windows or ``graph_batch_size`` graphs; the fused vectors are
        then computed from the two views' vectors.
        """
        ids = self.tokenizer_ids
        parts: dict[str, np.ndarray] = {}
        if {"fused", "tokens", "joint"} & set(modalities):
            common = {"ids": ids, "context_length": self.context_length, "cache": cache,
                      "batch_size": self.token_batch_size}
            parts["tokens"] = (encode_pooled_tokens(self.model, records, max_windows=max_windows,
                                                    **common) if windows == "pool"
                               else encode_token_rows(self.model, records, **common))
        if {"fused", "graph", "joint"} & set(modalities):
            parts["graph"] = encode_graphs(self.model, records, ids=ids,
                                           max_graph_nodes=self.max_graph_nodes, cache=cache,
                                           batch_size=self.graph_batch_size)
        if not cache.enabled:
            cache.tokens.clear()
            cache.graphs.clear()
        turn = self.basis.apply if basis else BasisSetting().apply
        return {m: output_vectors(self.model, parts, m, turn) for m in modalities}

    def _encode_group(self, prepared: list[Prepared], modalities: Sequence[str], windows: str,
                      max_windows: int, cache: ViewCache | None = None, basis: bool = True
                      ) -> dict[str, list[np.ndarray]]:
        """Per output, one embedding per prepared input (its windows' embeddings averaged)."""
        expanded, owner = [], []
        for i, item in enumerate(prepared):
            for rec in self._window_records(item.record, windows, max_windows):
                expanded.append(rec)
                owner.append(i)
        matrices = self._encode(expanded, modalities, cache if cache is not None
                                else ViewCache(enabled=self.deduplicate),
                                windows, max_windows, basis)
        owner_arr = np.asarray(owner)
        return {m: [matrix[owner_arr == i].mean(axis=0) for i in range(len(prepared))]
                for m, matrix in matrices.items()}

    def _embed_prepared(self, loaders: Sequence[tuple[str, Callable[[], bytes] | None,
                                                      tuple[str, str] | None]],
                        *, modalities: Sequence[str | None], batch_size: int | None,
                        progress: bool, windows: str | None, max_windows: int | None,
                        desc: str) -> dict[str, EmbeddingResult]:
        config = self.config
        modalities = tuple(dict.fromkeys(config.modality if m is None else m
                                         for m in modalities))
        batch_size = config.batch_size if batch_size is None else batch_size
        windows = self.resolve_windows(windows)
        max_windows = max_windows or self.default_max_windows
        for modality in modalities:
            if modality not in MODALITIES:
                raise ConfigError(f"modality must be one of {', '.join(MODALITIES)}, "
                                  f"not {modality!r}")
        if windows not in WINDOW_POLICIES:
            raise ConfigError(f"windows must be one of {', '.join(WINDOW_POLICIES)}")
        if batch_size < 1 or max_windows < 1:
            raise ConfigError("batch_size and max_windows must be >= 1")
        n = len(loaders)
        vectors = {m: np.full((n, self.modality_dim(m)), np.nan, dtype=np.float32)
                   for m in modalities}
        errors: dict[int, tuple[str, str]] = {}
        keys = [key for key, _, _ in loaders]
        max_tokens = self._token_budget(windows, max_windows)
        # Identical programs (same bytes or canonical text) are prepared and encoded once:
        # digest -> first row.
        seen: dict[str, int] | None = {} if self.deduplicate else None
        twins: list[tuple[int, int]] = []
        # ... and so are identical token windows and identical graphs (of different programs).
        cache = ViewCache(enabled=self.deduplicate)
        from tqdm import tqdm

        # Sources are compiled in worker threads ahead of the loop; all else stays in order.
        ahead = LoadAhead([None if rejection is not None else load
                           for _, load, rejection in loaders],
                          workers=resolve_workers(self.config.workers))
        with ahead, tqdm(total=n, desc=desc, unit="file", disable=not progress,
                         dynamic_ncols=True) as bar:
            for start in range(0, n, batch_size):
                chunk = range(start, min(n, start + batch_size))
                good: list[tuple[int, Prepared]] = []
                for i in chunk:
                    key, _, rejection = loaders[i]
                    if rejection is not None:
                        errors[i] = rejection
                        continue
                    item = self._prepare(ahead.take(i), key, max_tokens, seen)
                    if item.error is not None:
                        errors[i] = item.error
                    elif item.duplicate_of is not None:
                        twins.append((i, item.duplicate_of))
                        if seen is not None:
                            seen.update(dict.fromkeys(item.digests, item.duplicate_of))
                    else:
                        good.append((i, item))
                        if seen is not None:
                            seen.update(dict.fromkeys(item.digests, i))
                if good:
                    self._fill(good, vectors, windows, max_windows, cache)
                bar.update(len(chunk))
                bar.set_postfix(failed=len(errors))
        for i, first in twins:
            if first in errors:
                errors[i] = errors[first]
            else:
                for matrix in vectors.values():
                    matrix[i] = matrix[first]
        return {m: EmbeddingResult(vectors=matrix, keys=keys, errors=dict(errors), modality=m)
                for m, matrix in vectors.items()}

    def _fill(self, good: list[tuple[int, Prepared]], vectors: dict[str, np.ndarray],
              windows: str, max_windows: int, cache: ViewCache) -> None:
        """Encodes the prepared inputs of one batch into their rows of each output's
        ``vectors``.

        Bad inputs were already turned into error rows by ``_prepare``; an exception here is
        a model or code fault and propagates (never rows of NaN).
        """
        outputs = self._encode_group([p for _, p in good], tuple(vectors), windows, max_windows,
                                     cache)
        for modality, rows in outputs.items():
            for (i, _), row in zip(good, rows, strict=True):
                vectors[modality][i] = row

    def embed_files(self, paths: Sequence[str | Path], *, modality: str | None = None,
                    batch_size: int | None = None, progress: bool = True,
                    windows: str | None = None, max_windows: int | None = None,
                    rejections: dict[int, tuple[str, str]] | None = None,
                    languages: Sequence[str | None] | None = None) -> EmbeddingResult:
        """Embeds program files: sources are compiled, ``.ll``/``.bc`` read directly.

        Args:
            paths: files (``.c``, ``.cc``/``.cpp``/``.cxx``, ``.cl``, ``.cu``, ``.ll``, ``.bc``).
            modality: ``fused`` (the product), ``tokens`` or ``graph``.
            batch_size: programs encoded together.
            progress: show a progress bar.
            windows: long-program policy, ``first`` (as in training) or ``mean``.
            max_windows: most token windows averaged under ``windows="mean"``.
            (``modality``, ``batch_size``, ``windows``, ``max_windows``: None takes the
            embedder's :class:`EmbedConfig` value.)
            rejections: row index -> (reason, message) for inputs already known to be bad
                (unsafe archive members); they are reported, not read.
            languages: per-path language overrides (default: from the suffix).

        Returns:
            An :class:`EmbeddingResult` with one row per path, NaN rows where one failed.
        """
        return self.embed_outputs(paths, [modality], batch_size=batch_size, progress=progress,
                                  windows=windows, max_windows=max_windows,
                                  rejections=rejections, languages=languages)[
            modality or self.config.modality]

    def embed_outputs(self, paths: Sequence[str | Path], modalities: Sequence[str | None], *,
                      batch_size: int | None = None, progress: bool = True,
                      windows: str | None = None, max_windows: int | None = None,
                      rejections: dict[int, tuple[str, str]] | None = None,
                      languages: Sequence[str | None] | None = None
                      ) -> dict[str, EmbeddingResult]:
        """:meth:`embed_files` for several outputs at once (``modality -> result``; None: the
        configured one): each file is read, compiled and encoded once, not once per output,
        and each output's rows equal what :meth:`embed_files` returns for it."""
        _check_sequence(paths, "embed_outputs", "paths")
        loaders = []
        for i, raw in enumerate(paths):
            path = Path(raw)
            language = languages[i] if languages is not None else None
            rejection = (rejections or {}).get(i)
            loaders.append((str(raw), (lambda p=path, lang=language:
                                       self.loader.file_bytes(p, lang)), rejection))
        return self._embed_prepared(loaders, modalities=modalities, batch_size=batch_size,
                                    progress=progress, windows=windows, max_windows=max_windows,
                                    desc="embed")

    def embed_texts(self, texts: Sequence[str | bytes], languages: Sequence[str | None] | None
                    = None, *, modality: str | None = None, batch_size: int | None = None,
                    progress: bool = False, windows: str | None = None,
                    max_windows: int | None = None) -> EmbeddingResult:
        """Embeds program texts (source or IR) held in memory.

        Args:
            texts: program texts (bitcode bytes allowed).
            languages: per text, one of ``c``, ``cpp``, ``opencl``, ``cuda``, ``ir`` or None
                (detect: IR when it looks like IR, else C).
            modality, batch_size, progress, windows, max_windows: as in :meth:`embed_files`.
        """
        _check_sequence(texts, "embed_texts", "texts")
        if languages is not None and len(languages) != len(texts):
            raise ConfigError(f"{len(languages)} languages given for {len(texts)} texts")
        with tempfile.TemporaryDirectory(prefix="mirencoder-embed-") as tmp:
            loaders = []
            for i, text in enumerate(texts):
                language = (languages[i] if languages is not None else None) or \
                    detect_text_language(text)
                loaders.append((f"text[{i}]", functools.partial(
                    self.loader.text_bytes, text, language, Path(tmp), i), None))
            return self._embed_prepared(loaders, modalities=[modality], batch_size=batch_size,
                                        progress=progress, windows=windows,
                                        max_windows=max_windows, desc="embed")[
                modality or self.config.modality]


def _check_sequence(items: object, method: str, name: str) -> None:
    """One path or text where a list of them goes would be taken character by character."""
    if isinstance(items, (str, bytes, os.PathLike)):
        raise ConfigError(f"{method} takes a list of {name}; for one, pass [{name[:-1]}] "
                          f"(got a single {type(items).__name__})")


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, "
                          f"not {precision!r}")
