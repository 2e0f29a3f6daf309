"""The file helpers: sha256 of a file, atomic writes (temporary file + rename)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mirencoder.infra.files import (
    atomic_path,
    sha256_file,
    sha256_json,
    write_bytes_atomic,
    write_text_atomic,
)


def test_sha256_file_reads_in_blocks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # over two 1 MiB blocks
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == sha256_file(path)


def test_sha256_json_ignores_key_order_and_keeps_the_stored_hashes() -> None:
    settings = {"opt": "-O2", "flags": ["-g0"], "nested": {"b": 1, "a": 2}}
    reordered = {"nested": {"a": 2, "b": 1}, "flags": ["-g0"], "opt": "-O2"}
    assert sha256_json(settings) == sha256_json(reordered)
    assert sha256_json(settings) != sha256_json({**settings, "opt": "-O3"})
    # the form every stored build hash and compile-cache key was made with
    assert sha256_json(settings) == hashlib.sha256(
        json.dumps(settings, sort_keys=True).encode()).hexdigest()


def test_atomic_writes_create_folders_and_leave_no_temporary_file(tmp_path: Path) -> None:
    text = tmp_path / "a" / "b" / "note.md"
    assert write_text_atomic(text, "± π\n") == text
    assert text.read_bytes() == "± π\n".encode()
    assert write_bytes_atomic(tmp_path / "x.bin", b"\x00\x01") == tmp_path / "x.bin"
    write_text_atomic(text, "second")
    assert text.read_text() == "second"
    assert sorted(p.name for p in text.parent.iterdir()) == ["note.md"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"half")
        raise RuntimeError("writer died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_output_file_problem_names_what_is_wrong_with_an_output_path(tmp_path):
    from mirencoder.infra.files import output_file_problem

    assert output_file_problem(tmp_path / "new" / "deeper" / "e.parquet", (".parquet",)) is None
    assert output_file_problem(tmp_path / "E.PARQUET", (".parquet",)) is None
    assert "is a folder" in output_file_problem(tmp_path, (".parquet",))
    assert "not .csv; name it e.parquet" in output_file_problem(tmp_path / "e.csv", (".parquet",))
    assert "a name without a suffix" in output_file_problem(tmp_path / "e", (".npz",))
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert "is a file, not a folder" in output_file_problem(blocker / "x" / "b.npz", (".npz",))
