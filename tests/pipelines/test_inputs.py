"""Input discovery: folders, single files, archives (extracted once), corpus labels, real data."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from mirencoder.infra.errors import ConfigError, InputError
from mirencoder.pipelines.compile import CompileConfig, Toolchain, compile_to_bitcode
from mirencoder.pipelines.inputs import corpus_name, discover_inputs

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def _write(path: Path, text: str = "int f(void) { return 1; }\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _make_tar(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_folder_walk_is_recursive_sorted_and_keeps_only_program_files(tmp_path):
    root = tmp_path / "my-corpus"
    for name in ["b.c", "a/z.cpp", "a/k.cl", "a/x.cu", "ir/m.ll", "ir/m.bc", "a/inc.h",
                 "README.md", "Makefile", "src/D.C"]:
        _write(root / name)
    items = discover_inputs([root], tmp_path / "work")
    rel = [os.path.relpath(i.path, root) for i in items]
    assert rel == ["a/k.cl", "a/x.cu", "a/z.cpp", "b.c", "ir/m.bc", "ir/m.ll", "src/D.C"]
    assert [i.language for i in items] == ["opencl", "cuda", "cpp", "c", "ir", "ir", "cpp"]
    assert {i.corpus for i in items} == {"my-corpus"}
    assert all(i.rejection is None and i.local_path.is_file() for i in items)
    assert discover_inputs([root], tmp_path / "work") == items  # deterministic


def test_folder_symlinks_are_not_followed_outside(tmp_path):
    root = tmp_path / "corpus"
    _write(root / "inside.c")
    outside = _write(tmp_path / "secret" / "outside.c")
    os.symlink(outside, root / "link_out.c")
    os.symlink(tmp_path / "secret", root / "dir_out")
    os.symlink(root / "inside.c", root / "link_in.c")
    os.symlink(".", root / "loop")  # a folder cycle must not hang the walk
    items = discover_inputs([root], tmp_path / "work")
    assert [Path(i.path).name for i in items if not i.rejection] == ["inside.c", "link_in.c"]
    # Not followed, but never silent: each is an item with its reason (a manifest row).
    assert {Path(i.path).name: i.rejection[0] for i in items if i.rejection} == {
        "link_out.c": "symlink_outside", "dir_out": "symlink_outside", "loop": "symlink_loop"}


def test_single_files_and_corpus_labels(tmp_path):
    c_file = _write(tmp_path / "proj" / "main.c")
    text = _write(tmp_path / "proj" / "notes.txt", "hello")
    items = discover_inputs([c_file, text], tmp_path / "work")
    assert items[0].corpus == "proj" and items[0].language == "c" and items[0].rejection is None
    assert items[1].rejection[0] == "unsupported_language"
    forced = discover_inputs([c_file], tmp_path / "work", corpus="mine")
    assert forced[0].corpus == "mine"
    assert corpus_name("x/jotaibench.tar.bz2") == "jotaibench"
    assert corpus_name("neurovectorizer-loops.tar.gz") == "neurovectorizer-loops"
    assert corpus_name("k.tgz") == "k"


def test_missing_inputs_are_listed_together(tmp_path):
    with pytest.raises(ConfigError) as info:
        discover_inputs([tmp_path / "nope1", tmp_path / "nope2"], tmp_path / "work")
    assert len(info.value.problems) == 2


def test_archive_extracted_once_and_reused(tmp_path):
    archive = _make_tar(tmp_path / "small-set.tar.gz", {
        "small-set/a.c": "#include \"h.h\"\nint a(void) { return H; }\n",
        "small-set/h.h": "#define H 4\n",
        "small-set/sub/b.cpp": "int b() { return 2; }\n",
        "./small-set/k.cl": "__kernel void k(__global int *x) { x[0] = 1; }\n",
    })
    work = tmp_path / "work"
    items = discover_inputs([archive], work)
    assert [i.path.split("!")[1] for i in items] == [
        "small-set/a.c", "small-set/k.cl", "small-set/sub/b.cpp"]
    assert all(i.path.startswith(f"{archive}!") for i in items)
    assert {i.corpus for i in items} == {"small-set"}
    extracted = list((work / "extracted").iterdir())
    assert len(extracted) == 1 and extracted[0].name.startswith("small-set-")
    assert len(extracted[0].name) == len("small-set-") + 8
    assert (extracted[0] / "small-set" / "h.h").is_file()  # headers stay for includes
    mtime = items[0].local_path.stat().st_mtime_ns
    again = discover_inputs([archive], work)
    assert again == items
    assert items[0].local_path.stat().st_mtime_ns == mtime  # not extracted a second time
    assert len(list((work / "extracted").iterdir())) == 1

    toolchain = Toolchain.probe(CompileConfig())
    bitcode = compile_to_bitcode(items[0].local_path, "c", toolchain, CompileConfig())
    assert bitcode[:2] == b"BC"


def test_truncated_archive_keeps_earlier_members_and_reports_itself(tmp_path):
    good = _make_tar(tmp_path / "full.tar.gz", {f"d/f{i:02d}.c": "int x;\n" * 2000
                                                for i in range(20)})
    data = good.read_bytes()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(data[: len(data) // 2])
    items = discover_inputs([broken], tmp_path / "work")
    rejected = [i for i in items if i.rejection]
    assert len(rejected) == 1 and rejected[0].rejection[0] == "bad_archive"
    assert rejected[0].path == str(broken)
    assert all(i.local_path.is_file() for i in items if not i.rejection)


def test_too_large_members_and_files_are_refused_at_discovery(tmp_path):
    archive = _make_tar(tmp_path / "big.tar", {"big.c": "int x;\n" * 100, "ok.c": "int y;\n"})
    items = discover_inputs([archive], tmp_path / "work", max_file_bytes=200)
    by_name = {i.path.split("!")[1]: i for i in items}
    assert by_name["big.c"].rejection[0] == "too_large" and by_name["big.c"].local_path is None
    assert by_name["ok.c"].rejection is None
    folder_item = discover_inputs([_write(tmp_path / "f" / "big.c", "int x;\n" * 100)],
                                  tmp_path / "work", max_file_bytes=200)[0]
    assert folder_item.rejection[0] == "too_large"


@pytest.mark.shared_data
def test_neurovectorizer_archive_compiles_with_its_header(tmp_path):
    archive = SHARED_DATA / "corpus" / "neurovectorizer-loops.tar.gz"
    if not archive.is_file():
        pytest.skip(f"real data not found at {archive} (../shared/data is absent)")
    items = discover_inputs([archive], tmp_path)
    assert len(items) == 7813 and {i.corpus for i in items} == {"neurovectorizer-loops"}
    assert all(i.language == "c" and i.rejection is None for i in items)
    header_dir = items[0].local_path.parent
    assert (header_dir / "header.h").is_file()
    toolchain = Toolchain.probe(CompileConfig())
    config = CompileConfig(include_dirs=[str(header_dir)])
    picked = items[1:: len(items) // 5][:5]
    for item in picked:
        try:
            bitcode = compile_to_bitcode(item.local_path, item.language, toolchain, config)
        except InputError as exc:  # pragma: no cover - shows which file broke
            pytest.fail(f"{item.path}: {exc.reason}: {exc}")
        assert bitcode[:2] == b"BC"
    shutil.rmtree(tmp_path / "extracted")


@pytest.mark.timeout(60)
def test_named_pipes_are_refused_not_read(tmp_path):
    """A named pipe given as an input (or met in a folder, or behind a link in one) was opened
    and read: the read waits for a writer forever, so the build or embedding hung."""
    from mirencoder.pipelines.frontend.loader import FrontEnd

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "ok.c").write_text("int f(void) { return 1; }\n")
    os.mkfifo(folder / "pipe.c")
    (folder / "link.c").symlink_to(folder / "pipe.c")
    os.mkfifo(tmp_path / "alone.ll")
    os.mkfifo(tmp_path / "corpus.tar.gz")
    items = discover_inputs([folder, tmp_path / "alone.ll", tmp_path / "corpus.tar.gz"],
                            tmp_path / "work")
    by_name = {Path(item.path).name: item for item in items}
    assert by_name["ok.c"].rejection is None
    for name in ("pipe.c", "link.c", "alone.ll", "corpus.tar.gz"):
        reason, message = by_name[name].rejection
        assert reason == "special_file" and "named pipe" in message, name
    with pytest.raises(InputError) as error:
        FrontEnd().file_bytes(folder / "pipe.c")  # the API path (Embedder.embed_files)
    assert error.value.reason == "special_file"
