"""Evaluation data: found through the evaluation recipes, extracted by the build's extractor."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mirencoder.infra.errors import FatalError
from mirencoder.training.evaluation.paths import evaluation_data, extract_kernels


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_missing_data_names_every_file(tmp_path: Path):
    with pytest.raises(FatalError, match="evaluation data not found") as caught:
        evaluation_data("thread-coarsening-v1", tmp_path, ("pact-2014-runtimes.csv",))
    assert str(tmp_path / "thread-coarsening" / "pact-2014-runtimes.csv") in str(caught.value)
    assert str(tmp_path / "thread-coarsening" / "kernels_ir.tar.gz") in str(caught.value)


def test_kernels_are_extracted_once_and_safely(tmp_path: Path):
    archive = _tar(tmp_path / "kernels_ir.tar.gz", {"kernels_ir/a.ll": b"; a\n",
                                                    "kernels_ir/notes.md": b"x"})
    root = extract_kernels(archive, tmp_path / "cache")
    assert root.parent == tmp_path / "cache" and (root / "kernels_ir" / "a.ll").read_text() == "; a\n"
    (root / "kernels_ir" / "a.ll").write_text("kept")
    assert extract_kernels(archive, tmp_path / "cache") == root
    assert (root / "kernels_ir" / "a.ll").read_text() == "kept"  # not extracted again
    evil = _tar(tmp_path / "evil.tar.gz", {"../escape.ll": b"; x\n"})
    with pytest.raises(FatalError, match="unsafe_path"):
        extract_kernels(evil, tmp_path / "cache")
    assert not (tmp_path / "escape.ll").exists()
