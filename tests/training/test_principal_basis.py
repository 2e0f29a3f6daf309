"""The principal basis of an encoder's outputs: fitting, the file, the embedder setting, the
evaluation settings and the study's table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.embedding.embed_config import basis_problems
from mirencoder.training.embedding.principal_basis import (
    BasisConfig,
    PrincipalBasis,
    corpus_records,
    fit_principal_basis,
)

DEMO_IR = Path(__file__).resolve().parents[2] / "datasets" / "demo-corpus" / "ir"


def _basis(rng: np.random.Generator, size: int = 6) -> PrincipalBasis:
    directions, _ = np.linalg.qr(rng.normal(size=(size, size)))
    variance = np.array([8.0, 4.0, 2.0, 1.0, 0.5, 0.5])[:size]
    return PrincipalBasis({"fused": rng.normal(size=size)}, {"fused": directions.T},
                          {"fused": variance}, {"weights_sha256": "x"})


def test_dims_cover_the_share_of_variance_and_one_keeps_all():
    basis = _basis(np.random.default_rng(0))  # shares 0.5, 0.75, 0.875, 0.9375, ...
    assert [basis.dims("fused", v) for v in (0.5, 0.6, 0.75, 0.9, 0.95, 1.0)] == [1, 2, 2, 4,
                                                                                   5, 6]


def test_projection_centres_turns_and_keeps_distances_with_every_direction():
    rng = np.random.default_rng(1)
    basis = _basis(rng)
    x = rng.normal(size=(10, 6))
    full = basis.project("fused", x, 1.0)
    assert full.shape == (10, 6) and full.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(full[0] - full[1]),
                               np.linalg.norm(x[0] - x[1]), rtol=1e-5)
    np.testing.assert_allclose(basis.project("fused", basis.means["fused"][None], 1.0), 0,
                               atol=1e-6)
    np.testing.assert_allclose(basis.project("fused", x, 0.9), full[:, :4], rtol=1e-6)
    np.testing.assert_allclose(basis.project("fused", x, 0.9, count=2), full[:, :2], rtol=1e-6)
    assert basis.dims("fused", 0.5, count=99) == 6  # a count beyond the size keeps all


def test_file_round_trip_and_clear_errors(tmp_path):
    basis = _basis(np.random.default_rng(2))
    path = basis.save(tmp_path / "b.basis")  # any name, written as given
    again = PrincipalBasis.load(path)
    assert again.meta == basis.meta
    np.testing.assert_array_equal(again.components["fused"], basis.components["fused"])
    with pytest.raises(ConfigError, match="no principal basis file"):
        PrincipalBasis.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a basis")
    with pytest.raises(ConfigError, match="is not a mirencoder principal basis"):
        PrincipalBasis.load(tmp_path / "junk.npz")


def test_embedder_returns_vectors_in_the_basis_of_its_own_package(random_package, tmp_path):
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.registry.random_package import random_encoder_package

    paths = sorted(DEMO_IR.glob("*.ll"))
    plain = Embedder.from_package(random_package)
    records = [plain.prepare_file(p) for p in paths]
    basis = fit_principal_basis(plain, records, meta={"dataset": "demo"})
    assert basis.meta["programs"] == len(records) and basis.meta["dataset"] == "demo"
    file = basis.save(tmp_path / "basis.npz")

    turned = Embedder.from_uri(str(random_package), basis=str(file), basis_variance=1.0)
    fused = plain.encode_records(records)
    in_basis = turned.encode_records(records)
    assert in_basis.shape == fused.shape  # every direction kept: only centred and turned
    np.testing.assert_allclose(in_basis.mean(axis=0), 0, atol=1e-4)  # the fitting programs
    np.testing.assert_allclose(np.linalg.norm(in_basis[0] - in_basis[1]),
                               np.linalg.norm(fused[0] - fused[1]), rtol=1e-4)
    np.testing.assert_allclose(turned.encode_records(records, basis=False), fused, atol=1e-6)

    kept = Embedder.from_uri(str(random_package), basis=str(file), basis_variance=0.5)
    k = basis.dims("fused", 0.5)
    assert k < fused.shape[1] and kept.modality_dim("fused") == k
    result = kept.embed_files(paths[:2], modality="joint", progress=False)
    assert result.vectors.shape == (2, kept.modality_dim("joint")) and not result.errors
    assert kept.modality_dim("joint") == sum(basis.dims(m, 0.5)
                                            for m in ("fused", "tokens", "graph"))

    other = random_encoder_package(tmp_path / "other", [p.read_text() for p in paths],
                                   vocab_size=400, seed=1)
    with pytest.raises(ConfigError, match="fitted for encoder weights"):
        Embedder.from_uri(str(other), basis=str(file))


def test_corpus_records_take_one_program_per_group(tmp_path, synthetic_dataset):
    records = corpus_records(synthetic_dataset, programs=10, seed=3, max_tokens=16)
    assert len(records) == 10 and len({r["key"] for r in records}) == 10
    assert all(len(r["tokens"]) <= 16 and r["tokens"].dtype == np.int32 for r in records)
    assert corpus_records(synthetic_dataset, programs=10, seed=3)[0]["key"] == records[0]["key"]
    with pytest.raises(ConfigError, match="no Parquet shards of split 'nope'"):
        corpus_records(synthetic_dataset, split="nope")


def test_settings_refuse_the_test_split_and_a_twin_without_its_basis():
    with pytest.raises(ConfigError, match="test split"):
        BasisConfig(model="m", dataset="d", out="o", split="test")
    assert basis_problems("", "", 0.9, "m", "t") == []
    assert any("untrained_basis" in p for p in basis_problems("b.npz", "", 0.9, "m", "t"))
    assert basis_problems("b.npz", "", 0.9, "m", "none") == []
    # the twin settings mean what probes.untrained_model means: any case of off / none
    assert basis_problems("b.npz", "", 0.9, "m", " Off ") == []
    assert any("untrained_basis is set" in p for p in basis_problems("", "t.npz", 0.9, "m", "none"))
    assert any("basis_variance" in p for p in basis_problems("", "", 0.0, "m", ""))


def test_evaluation_configs_check_the_basis_settings():
    from mirencoder.training.evaluation.eval_config import MethodsConfig

    problems = MethodsConfig(model="m", untrained_model="t", basis="b.npz").problems()
    assert any("methods.basis is set for the encoder" in p for p in problems)


def _summary(folder: Path, accuracy: float, speedup: float | None = None) -> None:
    rows = {"encoder": {"accuracy_mean": accuracy}}
    results = {task: {"leakage-free": {"amd": rows, "nvidia": rows}}
               for task in ("devmap-669", "devmap-680")}
    (folder / "devmap" / "results").mkdir(parents=True)
    (folder / "devmap" / "results" / "summary.json").write_text(json.dumps({"results": results}))
    if speedup is not None:
        tc = {"thread-coarsening": {"leakage-free": {"average": {"encoder": {
            "speedup_mean": speedup}}}}}
        (folder / "thread-coarsening" / "results").mkdir(parents=True)
        (folder / "thread-coarsening" / "results" / "summary.json").write_text(
            json.dumps({"results": tc}))


def test_study_table_compares_the_groups_per_share(tmp_path):
    from mirencoder.training.evaluation.basis_table import (
        basis_markdown,
        basis_statements,
        collect_basis_study,
    )

    root = tmp_path / "principal"
    for name, base in (("pre", 88.0), ("twin0", 85.0), ("twin1", 86.0)):
        _summary(root / name / "v0.9", base, speedup=1.1)
        _summary(root / name / "v1.0", base - 1.0)
        _summary(root / name / "vd3", base - 2.0)
        _summary(tmp_path / "as-is" / name, base - 0.5)
    _basis(np.random.default_rng(0)).save(root / "bases" / "pre.npz")
    section = collect_basis_study(root, {"pre-trained": ["pre"], "twins": ["twin0", "twin1"]},
                                  tmp_path / "as-is")
    assert section["shares"] == ["as is", "1.0", "0.9", "d3"]
    assert section["scores"]["twins"]["0.9"]["devmap-669 amd"] == [85.0, 86.0]
    assert section["dims"]["pre-trained"]["0.9"] == [4]
    assert section["dims"]["pre-trained"]["d3"] == [3]
    text = basis_markdown(section)
    assert "| 90% of variance | **pre-trained − twins** | | +2.5 | +2.5 | +2.5 | +2.5 | |" in text
    statement = basis_statements(section)[0]
    assert ("reached at own coordinates (the protocol), all directions, turned, 90% of variance, "
            "first 3 directions (every encoder)") in statement
    independent = {**section, "kind": "independent"}  # basis_study --kind independent
    text = basis_markdown(independent)
    assert text.startswith("## Encoders in independent components of their pre-training corpus")
    assert "| all components | twins |" in text and "results/independent_basis.png" in text
    assert basis_statements(independent)[0].startswith(
        "**independent components of the pre-training corpus**")
    shutil.rmtree(root / "pre")
    with pytest.raises(ValueError, match="pre: no DevMap leakage-free summary"):
        collect_basis_study(root, {"pre-trained": ["pre"]})


def test_a_basis_written_into_a_package_is_listed_and_locked_packages_refuse(random_package,
                                                                              tmp_path):
    from mirencoder.training.core.package import add_package_file, load_encoder_package
    from mirencoder.training.core.package_verify import write_package_lock
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.principal_basis import PACKAGE_BASIS_FILE

    package = tmp_path / "encoder"
    shutil.copytree(random_package, package)
    with pytest.raises(ConfigError, match="ships no principal basis"):
        Embedder.from_uri(str(package), basis="package")
    plain = Embedder.from_uri(str(package))
    basis = fit_principal_basis(plain, [plain.prepare_file(p) for p in sorted(
        DEMO_IR.glob("*.ll"))])
    add_package_file(package, PACKAGE_BASIS_FILE, basis.to_bytes())
    listed = json.loads((package / "encoder_config.json").read_text())["files"]
    assert PACKAGE_BASIS_FILE in listed
    load_encoder_package(package)  # still matches its own file list
    embedder = Embedder.from_uri(str(package), basis="package", basis_dims=3)
    assert embedder.modality_dim("fused") == 3

    with pytest.raises(ConfigError, match="cannot be added"):
        add_package_file(package, "encoder.safetensors", b"")
    with pytest.raises(ConfigError, match="not an encoder package"):
        add_package_file(tmp_path, PACKAGE_BASIS_FILE, b"")
    write_package_lock(package)
    with pytest.raises(ConfigError, match="is locked"):
        add_package_file(package, PACKAGE_BASIS_FILE, basis.to_bytes())


def test_basis_command_settings_name_one_destination():
    with pytest.raises(ConfigError, match="exactly one of --out FILE and --into-package"):
        BasisConfig(model="m", dataset="d")
    with pytest.raises(ConfigError, match="exactly one of"):
        BasisConfig(model="m", dataset="d", out="o", into_package=True)
    with pytest.raises(ConfigError, match="files are fixed by its tags"):
        BasisConfig(model="models:/mirencoder@champion", dataset="d", into_package=True)
    assert BasisConfig(model="pkg", dataset="d", into_package=True).into_package


def test_independent_components_unmix_independent_sources():
    from mirencoder.training.embedding.principal_basis import independent_components

    rng = np.random.default_rng(4)
    n = 4000
    sources = np.stack([rng.uniform(-1.7, 1.7, n), rng.laplace(size=n) / 1.4,
                        rng.exponential(size=n) - 1.0], axis=1) * [3.0, 2.0, 1.0]
    mixing = rng.normal(size=(3, 8))
    vectors = sources @ mixing + 5.0 + 1e-4 * rng.normal(size=(n, 8))
    mean, unmixing, along = independent_components(vectors, variance=0.999, seed=0)
    assert unmixing.shape == (3, 8) and np.all(np.diff(along) <= 0)  # 3 directions hold it
    np.testing.assert_allclose(mean, vectors.mean(axis=0))
    found = (vectors - mean) @ unmixing.T
    np.testing.assert_allclose(found.std(axis=0), 1.0, rtol=0.02)  # unit-variance components
    r = np.abs(np.corrcoef(found.T, sources.T)[:3, 3:])
    assert sorted(r.argmax(axis=1).tolist()) == [0, 1, 2]  # each source found once
    assert r.max(axis=1).min() > 0.98


def test_independent_basis_of_a_package_and_its_settings(random_package):
    from mirencoder.training.embedding.embedder import Embedder

    plain = Embedder.from_package(random_package)
    sources = sorted((DEMO_IR.parent / "c").glob("*.c"))
    records = [plain.prepare_file(p) for p in [*sorted(DEMO_IR.glob("*.ll")), *sources]]
    basis = fit_principal_basis(plain, records, kind="independent",
                                independent_variance=0.9)
    assert basis.meta["kind"] == "independent" and basis.meta["independent_variance"] == 0.9
    k = basis.components["fused"].shape[0]
    assert 1 <= k < len(records) and basis.dims("fused", 1.0) == k
    vectors = plain.encode_records(records)
    components = basis.project("fused", vectors, 1.0)
    np.testing.assert_allclose(components.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.corrcoef(components.T), np.eye(k), atol=1e-3)
    with pytest.raises(ConfigError, match="kind must be one of"):
        fit_principal_basis(plain, records, kind="varimax")
    with pytest.raises(ConfigError, match="kind must be one of"):
        BasisConfig(model="m", dataset="d", out="o", kind="ica")
    with pytest.raises(ConfigError, match="independent_variance"):
        BasisConfig(model="m", dataset="d", out="o", kind="independent",
                    independent_variance=0.0)
