"""Package files are checked against sha256 sums from outside the package (registry tags,
--sha256, a lock file): an attacker who edits the weights and the hash in
encoder_config.json is caught, and the error names the file."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from mirencoder.infra.errors import ConfigError, FatalError
from mirencoder.infra.files import sha256_file
from mirencoder.training.core.package import load_encoder_package
from mirencoder.training.core.package_verify import (
    LOCK_FILE_NAME,
    UnverifiedPackageWarning,
    folder_reference,
    package_digest,
    package_file_hashes,
    write_package_lock,
)

C_PROGRAM = "int add_one(int x) { return x + 1; }\n"


@pytest.fixture()
def package(random_package, tmp_path) -> Path:
    """A private copy of the session's random package, in a folder of its own."""
    return Path(shutil.copytree(random_package, tmp_path / "models" / "encoder"))


def _tamper(package: Path) -> None:
    """New weights (same shapes) with their hash updated in encoder_config.json: the edit that
    the package's own hash list cannot see."""
    from safetensors.torch import load_file, save_file

    weights = package / "encoder.safetensors"
    state = {k: v + 0.01 * torch.randn_like(v) for k, v in load_file(str(weights)).items()}
    save_file(state, str(weights))
    config = json.loads((package / "encoder_config.json").read_text())
    config["files"]["encoder.safetensors"] = sha256_file(weights)
    (package / "encoder_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))


def test_the_package_digest_is_the_hash_of_the_sorted_file_lines(package):
    files = package_file_hashes(package)
    assert sorted(files) == ["encoder.safetensors", "encoder_config.json", "lineage.json",
                             "node_vocab.json", "tokenizer.json"]
    import hashlib

    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    assert package_digest(package) == hashlib.sha256(lines.encode()).hexdigest()


def test_a_lock_file_beside_the_folder_catches_a_consistent_edit(package):
    from mirencoder.training.embedding.embedder import Embedder

    lock = write_package_lock(package)
    assert lock == package.parent / LOCK_FILE_NAME
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedPackageWarning)
        embedder = Embedder.from_uri(package)
    assert embedder.info.verified_by == f"lock file {lock}"
    assert embedder.info.package_sha256 == package_digest(package)
    _tamper(package)
    with pytest.raises(FatalError, match=r"encoder\.safetensors, encoder_config\.json does not "
                                         r"match its sha256 in lock file"):
        Embedder.from_uri(package)
    # Without the lock file the edit is invisible: the package loads, with a warning.
    lock.unlink()
    with pytest.warns(UnverifiedPackageWarning, match="not verified against an outside"):
        load_encoder_package(package)


def test_extra_and_missing_files_are_errors(package, tmp_path):
    write_package_lock(package)
    reference = folder_reference(package)
    (package / "notes.txt").write_text("hello\n")
    with pytest.raises(FatalError, match="unexpected file notes.txt"):
        load_encoder_package(package, reference=reference)
    with pytest.raises(FatalError, match="unexpected file notes.txt"):
        load_encoder_package(package)  # also against the package's own list
    (package / "notes.txt").unlink()
    (package / "lineage.json").unlink()
    with pytest.raises(FatalError, match="lineage.json is missing"):
        load_encoder_package(package, reference=reference)
    with pytest.raises(ConfigError, match="does not exist"):
        folder_reference(package, lock_file=tmp_path / "absent.lock.json")


def test_a_given_sha256_pins_a_folder(package, tmp_path, capsys):
    from mirencoder.cli import main
    from mirencoder.training.embedding.embedder import Embedder

    digest = package_digest(package)
    pinned = Embedder.from_uri(package, sha256=digest)
    assert pinned.info.verified_by == "the given --sha256"
    ir = tmp_path / "f.ll"
    ir.write_text((Path(__file__).resolve().parents[2] / "datasets" / "demo-corpus" / "ir" /
                   "collatz.ll").read_text())
    out = tmp_path / "e.parquet"
    assert main(["embed", str(ir), "--model", str(package), "--sha256", digest, "--out",
                 str(out), "--no-progress"]) == 0
    assert f"package sha256 {digest} (verified against the given --sha256)" in \
        capsys.readouterr().out
    _tamper(package)
    with pytest.raises(FatalError, match=rf"package sha256 is [0-9a-f]{{64}}, not {digest}"):
        Embedder.from_uri(package, sha256=digest)
    assert main(["embed", str(ir), "--model", str(package), "--sha256", digest, "--out",
                 str(out), "--no-progress"]) == 1
    assert "encoder_config.json" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="sha256 must be 64 hex digits"):
        Embedder.from_uri(package, sha256="abc")


def test_registry_tags_are_the_reference_of_a_models_uri(package, tmp_path):
    import mlflow

    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.registry.model_registry import register_encoder

    store = f"sqlite:///{tmp_path / 'registry' / 'mlflow.db'}"
    (tmp_path / "registry").mkdir()
    info = register_encoder(package, tracking_uri=store)
    files = package_file_hashes(package)
    assert json.loads(info.tags["package_files"]) == files
    assert info.tags["package_sha256"] == package_digest(files)
    pulled = Embedder.from_uri("models:/mirencoder/1", tracking_uri=store,
                               cache_dir=tmp_path / "cache")
    assert pulled.info.verified_by == "registry version mirencoder/1"
    # The attacker edits the stored artifact itself (weights and the hash in the config): a
    # fresh pull is refused, naming the files.
    location = mlflow.MlflowClient(tracking_uri=store).get_logged_model(
        info.source.removeprefix("models:/")).artifact_location
    stored = [p.parent for p in Path(location.removeprefix("file://")).rglob(
        "encoder_config.json")]
    assert len(stored) == 1
    _tamper(stored[0])
    with pytest.raises(FatalError, match=r"corrupt model artifact models:/mirencoder/1 .*"
                                         r"encoder\.safetensors, encoder_config\.json does not "
                                         r"match its sha256 in registry version mirencoder/1"):
        Embedder.from_uri("models:/mirencoder/1", tracking_uri=store,
                          cache_dir=tmp_path / "cache2")
    # No pickles: every file of the package is JSON or safetensors.
    for path in stored[0].iterdir():
        head = path.read_bytes()[:4096]
        assert b"\x80\x04\x95" not in head and b"\x80\x05\x95" not in head, path.name
