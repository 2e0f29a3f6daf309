"""Principal basis of an encoder's outputs, fitted on its pre-training corpus.

Every pre-training objective here is unchanged when the embedding is rotated, so a vector's
coordinates come in an arbitrary basis, and a downstream head that splits on one column at a
time (the gradient-boosted trees of the DevMap and thread-coarsening protocols) spends its
splits on directions that carry little. A :class:`PrincipalBasis` holds, per output
(``fused``, ``tokens``, ``graph``), the mean and the principal directions of the encoder's
vectors over programs of the corpus it was pre-trained on (unlabelled; no evaluation program).
The embedder can then return each vector centred and turned into that basis, keeping the
leading directions that cover a given share of the corpus variance (``EmbedConfig.basis``,
``basis_variance``): the post-processing of BERT-whitening (Su et al. 2021) without the
rescaling, which a tree head would not see. The untrained twin gets the same treatment from
its own vectors on the same programs, so the comparison stays like for like.

``BasisConfig.kind="independent"`` fits independent components instead (FastICA on the
whitened directions covering ``independent_variance`` of the corpus variance; Hyvarinen and
Oja 2000): axes chosen to be statistically independent rather than to carry the most
variance, since a tree head splits on one axis at a time. Both kinds are linear maps in one
file format; the meta names the kind.

A finished pre-training run ships one in its package (``principal_basis.npz``,
``trainer.basis_programs``), as does an untrained twin made from such a package (fitted on
the same programs; ``package_basis.py``); ``EmbedConfig.basis="package"`` uses it. Fit one
for any package with ``mirencoder embed basis --model PACKAGE --dataset DATASET --out FILE`` (or
``--into-package`` for a package folder not yet locked or registered).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.errors import ConfigError
from ...infra.files import sha256_file, write_bytes_atomic
from ...pipelines.dataset import index_sha256
from ..core.model_config import ENCODER_OUTPUTS
from ..core.package_verify import DEFAULT_BASIS_VARIANCE

__all__ = ["BASIS_KINDS", "PACKAGE_BASIS", "PACKAGE_BASIS_FILE", "BasisConfig",
           "BasisSetting", "PrincipalBasis", "basis_file", "corpus_records", "fit_dataset_basis",
           "fit_principal_basis", "independent_components", "package_weights_sha256"]

# A basis covers the ENCODER_OUTPUTS (``joint`` is built from the three, each in its basis).
_FORMAT = "mirencoder-principal-basis/1"
PACKAGE_BASIS_FILE = "principal_basis.npz"
"""The basis a package ships, beside its weights."""
PACKAGE_BASIS = "package"
"""The ``basis`` setting that names the package's own basis."""
BASIS_KINDS = ("principal", "independent")
"""What a basis holds: principal directions, or independent components (FastICA)."""


@dataclass(kw_only=True, slots=True)
class BasisConfig:
    """What ``mirencoder embed basis`` fits."""

    model: str = ""
    """The encoder: a registry URI or a local package folder."""
    dataset: str = ""
    """The built dataset it was pre-trained on (its vocabularies must be the package's)."""
    split: str = "train"
    """The split whose programs are used (never the test split the probes score)."""
    programs: int = 1000
    """Programs drawn, one variant per source group."""
    seed: int = 0
    """Decides which programs are drawn (and FastICA's start)."""
    kind: str = "principal"
    """``principal`` (directions by falling variance) or ``independent`` (FastICA components,
    ordered by the corpus variance along each)."""
    independent_variance: float = 0.99
    """``independent``: how many components, as the share of the corpus variance their
    whitened principal directions cover (the near-empty rest is noise FastICA would amplify)."""
    out: str = ""
    """The basis file to write (.npz)."""
    into_package: bool = False
    """Write it into the package folder instead (``principal_basis.npz``, listed in its
    ``encoder_config.json``): a local folder not yet locked or registered."""

    def __post_init__(self) -> None:
        from ...infra.config import check, raise_problems

        problems: list[str] = []
        check(problems, bool(self.model), "model is not set (--model URI_OR_PACKAGE)")
        check(problems, bool(self.dataset), "dataset is not set (--dataset DIR)")
        check(problems, bool(self.out) != self.into_package,
              "give exactly one of --out FILE and --into-package")
        check(problems, not self.into_package or not self.model.startswith(("models:/",
                                                                            "runs:/")),
              "--into-package writes into a local package folder; a registered version's "
              "files are fixed by its tags: give --out FILE")
        check(problems, self.programs >= 2, "programs must be >= 2")
        check(problems, self.kind in BASIS_KINDS,
              f"kind must be one of {', '.join(BASIS_KINDS)}, got {self.kind!r}")
        check(problems, 0.0 < self.independent_variance <= 1.0,
              f"independent_variance must be in (0, 1], got {self.independent_variance}")
        check(problems, self.split != "test", "split: the test split holds the programs the "
              "probes score; fit on train or validation")
        raise_problems(problems, "basis")


def package_weights_sha256(package_dir: str | Path) -> str:
    """The sha256 of a package's ``encoder.safetensors``: which encoder a basis belongs to."""
    return sha256_file(Path(package_dir) / "encoder.safetensors")


@dataclass(slots=True)
class PrincipalBasis:
    """Per output: the corpus mean ``[D]``, the principal directions ``[D, D]`` (rows, by
    falling variance; for an independent basis the ``[k, D]`` unmixing rows) and the variance
    along each; ``meta`` says where it came from
    (``weights_sha256`` of the encoder, the dataset, split and number of programs)."""

    means: dict[str, np.ndarray]
    components: dict[str, np.ndarray]
    variances: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def dims(self, modality: str, variance: float, count: int = 0) -> int:
        """The fewest leading directions of ``modality`` that cover ``variance`` (0-1] of the
        corpus variance (1.0: all of them); ``count`` > 0: that many (at most all)."""
        if count > 0:
            return int(min(count, self.variances[modality].size))
        share = np.cumsum(self.variances[modality]) / max(float(self.variances[modality].sum()),
                                                          1e-30)
        if variance >= 1.0:
            return int(share.size)
        return int(min(np.searchsorted(share, variance - 1e-12) + 1, share.size))

    def project(self, modality: str, vectors: np.ndarray, variance: float, count: int = 0
                ) -> np.ndarray:
        """``vectors`` ``[N, D]`` centred and turned into the basis, the leading
        ``dims(modality, variance, count)`` coordinates kept: ``[N, k]`` float32."""
        k = self.dims(modality, variance, count)
        centred = np.asarray(vectors, dtype=np.float64) - self.means[modality]
        return (centred @ self.components[modality][:k].T).astype(np.float32)

    def to_bytes(self) -> bytes:
        """The ``.npz`` file's bytes (arrays plus the meta as JSON)."""
        arrays = {f"{m}.{part}": getattr(self, attr)[m] for m in self.means
                  for part, attr in (("mean", "means"), ("components", "components"),
                                     ("variance", "variances"))}
        meta = json.dumps({"format": _FORMAT, **self.meta}, sort_keys=True)
        buffer = io.BytesIO()  # np.savez would append .npz to other names
        np.savez(buffer, meta=np.array(meta), **arrays)
        return buffer.getvalue()

    def save(self, path: str | Path) -> Path:
        """Writes one ``.npz`` file (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_bytes_atomic(path, self.to_bytes())

    @classmethod
    def for_package(cls, path: str | Path, package_dir: str | Path) -> PrincipalBasis:
        """:meth:`load` of ``path`` (``"package"``: the one the package ships), checked to
        belong to the package's weights.

        Raises:
            ConfigError: as :meth:`load`, a package that ships none, or a basis fitted for
                another encoder.
        """
        path = basis_file(path, package_dir)
        basis = cls.load(path)
        fitted_for, weights = basis.meta.get("weights_sha256"), package_weights_sha256(
            package_dir)
        if fitted_for != weights:
            raise ConfigError(f"the principal basis {path} was fitted for encoder weights "
                              f"{str(fitted_for)[:12]}, not this package's ({weights[:12]}, "
                              f"{package_dir}): fit one for it with `mirencoder embed basis`")
        return basis

    @classmethod
    def load(cls, path: str | Path) -> PrincipalBasis:
        """Reads a file written by :meth:`save`.

        Raises:
            ConfigError: the file is missing or is not a principal basis.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no principal basis file {path} (fit one with `mirencoder embed "
                             "basis --model PACKAGE --dataset DATASET --out FILE`)")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != _FORMAT:
                    raise ValueError(f"format {meta.get('format')!r}")
                parts: dict[str, dict[str, np.ndarray]] = {"mean": {}, "components": {},
                                                           "variance": {}}
                for name in data.files:
                    if name != "meta":
                        modality, part = name.split(".", 1)
                        parts[part][modality] = np.asarray(data[name], dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - any unreadable file gets one message
            raise ConfigError(f"{path} is not a mirencoder principal basis "
                             f"({type(error).__name__}: {error})") from error
        meta.pop("format")
        return cls(parts["mean"], parts["components"], parts["variance"], meta)


def basis_file(setting: str | Path, package_dir: str | Path) -> Path:
    """The file a ``basis`` setting names: ``"package"`` is the package's own.

    Raises:
        ConfigError: ``"package"`` for a package that ships no basis.
    """
    if str(setting) != PACKAGE_BASIS:
        return Path(setting)
    path = Path(package_dir) / PACKAGE_BASIS_FILE
    if not path.is_file():
        raise ConfigError(f"encoder package {package_dir} ships no principal basis "
                          f"({PACKAGE_BASIS_FILE}; packages of pre-training runs with "
                          "trainer.basis_programs > 0 do): fit one with `mirencoder embed basis "
                          "--model PACKAGE --dataset DATASET --out FILE` and give basis=FILE")
    return path


@dataclass(frozen=True, slots=True)
class BasisSetting:
    """An embedder's use of a basis: which one (None: the network's own coordinates) and how
    many leading directions it keeps (``EmbedConfig.basis_variance`` / ``basis_dims``)."""

    basis: PrincipalBasis | None = None
    variance: float = DEFAULT_BASIS_VARIANCE
    count: int = 0

    def apply(self, modality: str, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` of one output in the basis (as they are without one)."""
        if self.basis is None:
            return vectors
        return self.basis.project(modality, vectors, self.variance, self.count)

    def dims(self, modality: str, size: int) -> int:
        """The length of one output vector whose network size is ``size``."""
        return size if self.basis is None else self.basis.dims(modality, self.variance,
                                                               self.count)


def _principal(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean ``[D]``, principal directions ``[D, D]`` (rows) and the variance along each."""
    mean = vectors.mean(axis=0)
    # full_matrices: a complete basis even with fewer programs than dimensions
    _, singular, directions = np.linalg.svd(vectors - mean, full_matrices=True)
    singular = np.pad(singular, (0, directions.shape[0] - singular.size))
    return mean, directions, singular ** 2 / (len(vectors) - 1)


def independent_components(vectors: np.ndarray, *, variance: float = 0.99, seed: int = 0
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FastICA on ``vectors`` ``[N, D]``: the mean ``[D]``, the unmixing rows ``[k, D]`` (k
    principal directions cover ``variance`` of the variance; each row maps a centred vector
    to one unit-variance component) and the corpus variance along each component's mixing
    column, rows sorted by it, falling."""
    from sklearn.decomposition import FastICA

    spectrum = np.linalg.svd(vectors - vectors.mean(axis=0), compute_uv=False) ** 2
    share = np.cumsum(spectrum) / max(float(spectrum.sum()), 1e-30)
    k = int(min(np.searchsorted(share, variance - 1e-12) + 1, len(vectors) - 1, share.size))
    ica = FastICA(n_components=k, whiten="unit-variance", random_state=seed, max_iter=2000,
                  tol=1e-4)
    ica.fit(vectors)
    along = (ica.mixing_ ** 2).sum(axis=0)
    order = np.argsort(-along, kind="stable")
    return ica.mean_, ica.components_[order], along[order]


def fit_principal_basis(embedder: Any, records: Sequence[dict[str, Any]], *,
                        meta: dict[str, Any] | None = None, batch_size: int = 64,
                        kind: str = "principal", independent_variance: float = 0.99,
                        seed: int = 0) -> PrincipalBasis:
    """The basis of ``embedder``'s outputs over ``records`` (prepared programs): principal
    directions, or independent components (``kind="independent"``,
    :func:`independent_components`).

    Raises:
        ConfigError: fewer than 2 records (3 for independent components), or an unknown kind.
    """
    if kind not in BASIS_KINDS:
        raise ConfigError(f"basis kind must be one of {', '.join(BASIS_KINDS)}, got {kind!r}")
    least = 2 if kind == "principal" else 3
    if len(records) < least:
        raise ConfigError(f"a {kind} basis needs at least {least} programs, got {len(records)}")
    means, components, variances = {}, {}, {}
    for modality in ENCODER_OUTPUTS:
        vectors = np.concatenate([
            embedder.encode_records(records[i:i + batch_size], modality=modality, basis=False)
            for i in range(0, len(records), batch_size)]).astype(np.float64)
        means[modality], components[modality], variances[modality] = (
            _principal(vectors) if kind == "principal" else
            independent_components(vectors, variance=independent_variance, seed=seed))
    info = {"weights_sha256": package_weights_sha256(embedder.package_dir),
            "programs": len(records), "kind": kind, **(meta or {})}
    if kind == "independent":
        info["independent_variance"] = independent_variance
    return PrincipalBasis(means, components, variances, info)


def corpus_records(dataset_dir: str | Path, *, split: str = "train", programs: int = 1000,
                   seed: int = 0, max_tokens: int | None = None) -> list[dict[str, Any]]:
    """Up to ``programs`` records of a built dataset's ``split`` (its Parquet shards), one
    variant per group (a source compiled at several levels counts once), drawn at random.

    Raises:
        ConfigError: no Parquet shards of that split.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ...pipelines.ir.program_graph import ENCODER_COLUMNS

    files = sorted((Path(dataset_dir) / "parquet" / split).glob("*.parquet"))
    if not files:
        raise ConfigError(f"no Parquet shards of split {split!r} in {dataset_dir} "
                          f"(expected {Path(dataset_dir) / 'parquet' / split}/*.parquet)")
    columns = ["key", "tokens", *ENCODER_COLUMNS]
    tables = []
    for path in files:
        names = pq.read_schema(path).names
        tables.append(pq.read_table(path, columns=columns + ["group"] * ("group" in names)))
    table = pa.concat_tables(tables, promote_options="default")
    rng = np.random.default_rng(seed)
    groups = (table.column("group").to_pylist() if "group" in table.column_names
              else table.column("key").to_pylist())
    first: dict[str, int] = {}
    for row in rng.permutation(table.num_rows):
        first.setdefault(groups[row], int(row))
    rows = sorted(first.values())
    if len(rows) > programs:
        rows = sorted(rng.choice(rows, size=programs, replace=False).tolist())
    records = []
    for row in table.take(rows).to_pylist():
        record = {name: np.asarray(value) for name, value in row.items() if name != "key"}
        record["tokens"] = record["tokens"][:max_tokens].astype(np.int32)
        records.append({**record, "key": row["key"], "corpus": split})
    return records


def _differing_vocabularies(package_dir: Path, dataset_dir: Path) -> list[str]:
    """The vocabulary files in which the dataset differs from the package."""
    return [name for name in ("tokenizer.json", "node_vocab.json")
            if (dataset_dir / name).is_file()
            and (dataset_dir / name).read_bytes() != (package_dir / name).read_bytes()]


def fit_dataset_basis(config: BasisConfig, embedder: Any, *, progress: bool = True
                      ) -> PrincipalBasis:
    """Fits and writes the principal basis of ``embedder`` (loaded from ``config.model``) on
    ``config.dataset``.

    Raises:
        ConfigError: the dataset's vocabularies are not the package's, or it has no shards of
            the split.
    """
    dataset = Path(config.dataset)
    differing = _differing_vocabularies(embedder.package_dir, dataset)
    if differing:
        raise ConfigError(f"{dataset} was not built with {config.model}'s vocabularies "
                          f"({', '.join(differing)} differ): fit the basis on the dataset the "
                          "encoder was pre-trained on")
    records = corpus_records(dataset, split=config.split, programs=config.programs,
                             seed=config.seed, max_tokens=embedder.context_length)
    if progress:
        print(f"[basis] {config.model}: {config.kind} basis, {len(records)} programs of "
              f"{dataset} ({config.split})")
    digest = index_sha256(dataset) if (dataset / "index.json").is_file() else None
    basis = fit_principal_basis(embedder, records, meta={
        "model": config.model, "dataset": dataset.name, "dataset_index_sha256": digest,
        "split": config.split, "seed": config.seed}, kind=config.kind,
        independent_variance=config.independent_variance, seed=config.seed)
    if config.into_package:
        from ..core.package import add_package_file

        written = add_package_file(embedder.package_dir, PACKAGE_BASIS_FILE, basis.to_bytes())
    else:
        written = basis.save(config.out)
    if progress:
        for modality in ENCODER_OUTPUTS:
            if config.kind == "independent":
                print(f"[basis] {modality}: {basis.dims(modality, 1.0)} independent components")
                continue
            dims = [basis.dims(modality, v) for v in (0.8, 0.9, 0.95, 0.99)]
            print(f"[basis] {modality}: directions covering 80/90/95/99 % of the variance: "
                  + " / ".join(map(str, dims)))
        print(f"[basis] wrote {written}")
    return basis

