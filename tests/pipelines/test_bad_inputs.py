"""Bad input never crashes the compile stage or discovery: each case ends with a clear reason.

Covers the issue's list: empty file, binary garbage, non-UTF-8 text, a file over the size
limit, a file that keeps clang busy past the timeout, syntax errors, missing headers, archives
with ``../`` members and symlink loops (plus links escaping the root, hard links, devices).
Malformed ``.ll`` and truncated ``.bc`` are normalisation's job; here discovery only has to
pass them through as language ``ir``.
"""

from __future__ import annotations

import io
import random
import tarfile
import time
from pathlib import Path

import psutil
import pytest

from mirencoder.infra.errors import InputError
from mirencoder.pipelines.compile import (
    COMPILE_REASONS,
    CompileConfig,
    Toolchain,
    compile_to_bitcode,
)
from mirencoder.pipelines.inputs import REJECTION_REASONS, discover_inputs

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "compile"


@pytest.fixture(scope="module")
def toolchain() -> Toolchain:
    return Toolchain.probe(CompileConfig())


def _reason(path: Path, language: str, toolchain: Toolchain, **config) -> InputError:
    with pytest.raises(InputError) as info:
        compile_to_bitcode(path, language, toolchain, CompileConfig(**config))
    assert info.value.reason in COMPILE_REASONS
    assert str(info.value)  # always a message
    return info.value


def test_empty_and_whitespace_only(tmp_path, toolchain):
    empty = tmp_path / "empty.c"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.c"
    blank.write_bytes(b"\n  \t\n")
    assert _reason(empty, "c", toolchain).reason == "empty"
    assert _reason(blank, "c", toolchain).reason == "empty"


def test_binary_garbage(tmp_path, toolchain):
    rng = random.Random(7)
    with_nul = tmp_path / "garbage.c"
    with_nul.write_bytes(bytes(rng.randrange(256) for _ in range(4096)) + b"\0")
    no_nul = tmp_path / "garbage2.cpp"
    no_nul.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4096)))
    elf = tmp_path / "program.cl"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))
    for path, language in [(with_nul, "c"), (no_nul, "cpp"), (elf, "opencl")]:
        assert _reason(path, language, toolchain).reason == "binary_content"


def test_non_utf8_text_still_compiles(toolchain):
    source = FIXTURES / "latin1_comment.c"
    with pytest.raises(UnicodeDecodeError):
        source.read_bytes().decode("utf-8")
    assert compile_to_bitcode(source, "c", toolchain, CompileConfig())[:2] == b"BC"


def test_over_the_size_limit(tmp_path, toolchain):
    big = tmp_path / "big.c"
    big.write_text("int x;\n" * 200)
    error = _reason(big, "c", toolchain, max_file_bytes=1000)
    assert error.reason == "too_large" and "1400" in str(error)


def test_timeout_kills_clang(toolchain):
    start = time.monotonic()
    error = _reason(FIXTURES / "slow_template.cpp", "cpp", toolchain, timeout_s=1.0)
    assert error.reason == "timeout"
    assert time.monotonic() - start < 10
    assert not psutil.Process().children(recursive=True)  # the process group is gone


def test_memory_limit(toolchain):
    # clang 14 needs ~250 MiB of address space to start; the template bomb passes 300 in ~2 s.
    error = _reason(FIXTURES / "slow_template.cpp", "cpp", toolchain, memory_limit_mb=300,
                    timeout_s=60)
    assert error.reason == "memory_limit" and "300 MiB" in str(error)


def test_syntax_error(toolchain):
    error = _reason(FIXTURES / "syntax_error.c", "c", toolchain)
    assert error.reason == "compile_error"
    assert "syntax_error.c:2" in str(error) and "error:" in str(error)
    assert len(str(error)) <= 800


def test_missing_header(toolchain):
    error = _reason(FIXTURES / "missing_header.c", "c", toolchain)
    assert error.reason == "missing_header"
    assert "no_such_header_anywhere.h" in str(error)


def test_unsupported_language_and_unreadable_file(tmp_path, toolchain):
    assert _reason(FIXTURES / "syntax_error.c", "fortran", toolchain).reason == \
        "unsupported_language"
    assert _reason(FIXTURES / "syntax_error.c", "ir", toolchain).reason == "unsupported_language"
    assert _reason(tmp_path / "gone.c", "c", toolchain).reason == "compile_error"


def test_malformed_ir_passes_discovery_as_ir(tmp_path):
    folder = tmp_path / "irs"
    folder.mkdir()
    (folder / "bad.ll").write_text("define i32 @f( { this is not IR\n")
    (folder / "cut.bc").write_bytes(b"BC\xc0\xde\x35\x14\x00\x00")
    items = discover_inputs([folder], tmp_path / "work")
    assert [(Path(i.path).name, i.language, i.rejection) for i in items] == [
        ("bad.ll", "ir", None), ("cut.bc", "ir", None)]


# ------------------------------------------------------------------------------- archives


def _add(tar: tarfile.TarFile, name: str, *, data: bytes = b"int ok;\n", kind: bytes = tarfile.REGTYPE,
         link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def _rejections(items) -> dict[str, str]:
    return {i.path.split("!", 1)[1]: i.rejection[0] for i in items if i.rejection}


def test_archive_with_traversal_links_and_devices(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        _add(tar, "pkg/good.c")
        _add(tar, "pkg/util.h")
        _add(tar, "../escape.c")
        _add(tar, "pkg/../../escape2.c")
        _add(tar, "/tmp/absolute.c")
        _add(tar, "pkg/hard.c", kind=tarfile.LNKTYPE, link="pkg/good.c")
        _add(tar, "pkg/abs_link.c", kind=tarfile.SYMTYPE, link="/etc/passwd")
        _add(tar, "pkg/up_link.c", kind=tarfile.SYMTYPE, link="../../outside.c")
        _add(tar, "pkg/dev.c", kind=tarfile.CHRTYPE)
        _add(tar, "pkg/pipe.c", kind=tarfile.FIFOTYPE)
        _add(tar, "pkg/alias.c", kind=tarfile.SYMTYPE, link="good.c")
        _add(tar, "pkg/good.c/inner.c")  # a file cannot also be a folder
        # q/a -> ../p is fine, but q/sneaky.c -> a/../../outside.c is "outside.c" to a lexical
        # check and the parent of the root on disk (q/a/.. is the root itself).
        _add(tar, "p/keep.h")
        _add(tar, "q/a", kind=tarfile.SYMTYPE, link="../p")
        _add(tar, "q/sneaky.c", kind=tarfile.SYMTYPE, link="a/../../outside.c")
        _add(tar, "q/a/through_link.c", kind=tarfile.SYMTYPE, link="keep.h")
    work = tmp_path / "work"
    (work / "extracted").mkdir(parents=True)
    (work / "extracted" / "outside.c").write_text("int secret;\n")
    items = discover_inputs([archive], work)
    rejected = _rejections(items)
    assert rejected == {
        "../escape.c": "unsafe_path",
        "pkg/../../escape2.c": "unsafe_path",
        "/tmp/absolute.c": "unsafe_path",
        "pkg/hard.c": "unsafe_link",
        "pkg/abs_link.c": "unsafe_link",
        "pkg/up_link.c": "unsafe_link",
        "pkg/dev.c": "special_file",
        "pkg/pipe.c": "special_file",
        "q/sneaky.c": "unsafe_link",
        "q/a/through_link.c": "unsafe_path",
        "pkg/good.c/inner.c": "unsafe_path",
    }
    assert set(rejected.values()) <= set(REJECTION_REASONS)
    accepted = [i for i in items if not i.rejection]
    assert [i.path.split("!", 1)[1] for i in accepted] == ["pkg/alias.c", "pkg/good.c"]
    root = next((work / "extracted").iterdir())
    for item in accepted:
        assert item.local_path.resolve().is_relative_to(root.resolve())
        assert item.local_path.read_text() == "int ok;\n"
    assert not (tmp_path / "escape.c").exists() and not (work / "escape.c").exists()
    assert not Path("/tmp/absolute.c").exists()
    leaks = [p for p in root.rglob("*") if p.is_symlink()
             and not p.resolve().is_relative_to(root.resolve())]
    assert leaks == []


def test_archive_with_symlink_loops(tmp_path):
    archive = tmp_path / "loops.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "src/real.c")
        _add(tar, "src/a.c", kind=tarfile.SYMTYPE, link="b.c")
        _add(tar, "src/b.c", kind=tarfile.SYMTYPE, link="a.c")
        _add(tar, "src/self.c", kind=tarfile.SYMTYPE, link="self.c")
        _add(tar, "src/up", kind=tarfile.SYMTYPE, link="..")
        _add(tar, "src/here", kind=tarfile.SYMTYPE, link=".")
        _add(tar, "src/dangling.c", kind=tarfile.SYMTYPE, link="nothing.c")
    items = discover_inputs([archive], tmp_path / "work")
    assert _rejections(items) == {
        "src/a.c": "symlink_loop",
        "src/b.c": "symlink_loop",
        "src/self.c": "symlink_loop",
        "src/up": "symlink_loop",
        "src/here": "symlink_loop",
        "src/dangling.c": "broken_link",
    }
    assert [i.path.split("!", 1)[1] for i in items if not i.rejection] == ["src/real.c"]
    # A rerun reads the completion marker and gives the same answer.
    assert discover_inputs([archive], tmp_path / "work") == items
