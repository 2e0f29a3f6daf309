"""Hostile inputs end as manifest rows, bounded, and cleaned up; newer IR is seen.

The issue's cases: a non-UTF-8 file name (``bad\\xff\\xfe.c``), symbolic links leaving an
input folder or looping, two archive members of one name, an archive whose members add up past
the caps (small caps set in the test recipe instead of gigabytes), and LLVM-22 IR (bitcode
written by llvmlite's LLVM 22, text with ``getelementptr inbounds nuw``) beside the pinned
clang 14.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import llvmlite.binding as llvm
import pyarrow.parquet as pq
import pytest

from mirencoder.pipelines.build import build_dataset
from mirencoder.pipelines.config import load_recipe
from mirencoder.pipelines.frontend.ir_version import bitcode_producer, ir_llvm_version
from mirencoder.pipelines.inputs import REJECTION_REASONS, discover_inputs

GOOD = "int twice(int x) { return 2 * x; }\n"
NUW_LL = """define ptr @step(ptr %p) {
  %q = getelementptr inbounds nuw i8, ptr %p, i64 4
  ret ptr %q
}
"""
LL22_SOURCE = """define i32 @mix(i32 %a, i32 %b) {
  %s = add nsw i32 %a, %b
  %t = mul i32 %s, %a
  ret i32 %t
}
"""


def _add(tar: tarfile.TarFile, name: str, data: bytes = GOOD.encode(), *,
         kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def _hostile_folder(root: Path, outside: Path) -> Path:
    root.mkdir()
    (root / "good.c").write_text(GOOD)
    os.mkdir(outside)
    (outside / "secret.c").write_text("int secret;\n")
    bad = os.fsdecode(b"bad\xff\xfe.c")  # not UTF-8: Python holds it as surrogates
    (root / bad).write_text(GOOD.replace("twice", "thrice"))
    os.symlink(outside / "secret.c", root / "out_file.c")
    os.symlink(outside, root / "out_dir")
    os.symlink("b.c", root / "a.c")
    os.symlink("a.c", root / "b.c")
    os.symlink(".", root / "here")
    os.symlink("good.c", root / "alias.c")  # inside: an ordinary input
    return root


def _rejections(items) -> dict[str, str]:
    return {Path(i.path.split("!")[-1]).name: i.rejection[0] for i in items if i.rejection}


def test_folder_discovery_gives_every_link_and_bad_name_an_item(tmp_path: Path):
    root = _hostile_folder(tmp_path / "corpus", tmp_path / "outside")
    items = discover_inputs([root], tmp_path / "work")
    assert _rejections(items) == {"bad\\xff\\xfe.c": "bad_filename", "out_file.c":
                                  "symlink_outside", "out_dir": "symlink_outside",
                                  "a.c": "symlink_loop", "b.c": "symlink_loop",
                                  "here": "symlink_loop"}
    assert set(_rejections(items).values()) <= set(REJECTION_REASONS)
    assert sorted(Path(i.path).name for i in items if not i.rejection) == ["alias.c", "good.c"]
    for item in items:  # every display path is valid UTF-8 (a manifest string)
        item.path.encode("utf-8")


def test_archive_duplicates_caps_and_skipped_members(tmp_path: Path):
    archive = tmp_path / "dup.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "p/a.c")
        _add(tar, "p/a.c", b"int overwritten;\n")
        _add(tar, "p/l.c", kind=tarfile.SYMTYPE, link="a.c")
        _add(tar, "p/l.c", kind=tarfile.SYMTYPE, link="x.c")
        _add(tar, "p/inc.h", b"#define X 1\n")
        _add(tar, "p/notes.txt", b"x" * 5000)  # neither program nor include file
        _add(tar, os.fsdecode(b"p/n\xe9.c"))
    work = tmp_path / "work"
    items = discover_inputs([archive], work)
    assert _rejections(items) == {"a.c": "duplicate_member", "l.c": "duplicate_member",
                                  "n\\xe9.c": "bad_filename"}
    kept = [i for i in items if not i.rejection]
    assert [i.path.split("!")[1] for i in kept] == ["p/a.c", "p/l.c"]
    assert kept[0].local_path.read_text() == GOOD  # the first member is kept
    root = kept[0].local_path.parent
    assert (root / "inc.h").is_file() and not (root / "notes.txt").exists()

    capped = tmp_path / "many.tar"
    with tarfile.open(capped, "w") as tar:
        for i in range(6):
            _add(tar, f"m/f{i}.c", GOOD.replace("twice", f"f{i}").encode() + b"/*" +
                 b"y" * 900 + b"*/\n")
    by_members = discover_inputs([capped], tmp_path / "w2", max_archive_members=4)
    assert [i.rejection[0] for i in by_members if i.rejection] == ["archive_limit"]
    assert len([i for i in by_members if not i.rejection]) == 4
    by_bytes = discover_inputs([capped], tmp_path / "w3", max_archive_bytes=2500)
    limit = [i for i in by_bytes if i.rejection]
    assert [i.path for i in limit] == [str(capped)] and "max_total_bytes" in limit[0].rejection[1]
    assert len([i for i in by_bytes if not i.rejection]) == 2


def test_build_gives_hostile_inputs_rows_caps_archives_and_cleans_up(tmp_path: Path,
                                                                     require_clang: str):
    root = _hostile_folder(tmp_path / "corpus", tmp_path / "outside")
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "z/ok.c", GOOD.replace("twice", "quad").encode())
        _add(tar, "z/ok.c", b"int second;\n")
        for i in range(8):  # 8 x 4 KiB of zeros: caps of 10 KB stop it at the third
            _add(tar, f"z/blob{i}.bin", bytes(4096))
        _add(tar, "z/late.c", GOOD.replace("twice", "late").encode())
    recipe = tmp_path / "trust.yaml"
    recipe.write_text(f"""name: trust-v1
inputs:
  - path: {root}
  - path: {archive}
archives:
  max_total_bytes: 10000
  max_members: 100
vocab: {{tokenizer_vocab_size: 256, node_vocab_max_size: 64}}
exclude_evaluation_kernels: false
""")
    out = tmp_path / "out"
    index = build_dataset(load_recipe(recipe), out, num_cpus=2, show_progress=False)
    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    by_name = {}
    for row in rows:
        by_name.setdefault(Path(row["path"].split("!")[-1]).name, []).append(row)
    outcome = {name: sorted((r["status"], r["reason"]) for r in found)
               for name, found in by_name.items()}
    assert outcome == {
        "alias.c": [("ok", None)], "good.c": [("duplicate", "duplicate_ir")],  # plan order
        "bad\\xff\\xfe.c": [("failed", "bad_filename")],
        "out_file.c": [("failed", "symlink_outside")], "out_dir": [("failed", "symlink_outside")],
        "a.c": [("failed", "symlink_loop")], "b.c": [("failed", "symlink_loop")],
        "here": [("failed", "symlink_loop")],
        "ok.c": [("failed", "duplicate_member"), ("ok", None)],
        "bomb.tar.gz": [("failed", "archive_limit")],
    }
    limit = by_name["bomb.tar.gz"][0]["message"]
    assert "max_total_bytes" in limit and "10000" in limit
    assert index["counts"]["failed_by_reason"]["archive_limit"] == 1
    assert not (out / "_work" / "inputs" / "extracted").exists()  # removed after success
    again = build_dataset(load_recipe(recipe), out, num_cpus=2, show_progress=False)
    assert again["plan_hash"] == index["plan_hash"]
    assert not (out / "_work" / "inputs" / "extracted").exists()


# ------------------------------------------------------------------------- newer IR


def _llvm22_inputs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "kernel.c").write_text(GOOD)
    bitcode = llvm.parse_assembly(LL22_SOURCE).as_bitcode()
    (folder / "mix22.bc").write_bytes(bitcode)
    (folder / "nuw.ll").write_text(NUW_LL)
    return folder


def test_ir_version_is_read_from_bitcode_and_estimated_from_text(tmp_path: Path):
    folder = _llvm22_inputs(tmp_path / "ir")
    producer = bitcode_producer((folder / "mix22.bc").read_bytes())
    assert producer is not None and producer.startswith("LLVM22.")
    version = ir_llvm_version((folder / "mix22.bc").read_bytes())
    assert version.major == 22 and version.source == "bitcode"
    text = ir_llvm_version(NUW_LL.encode())
    assert (text.version, text.source) == (">=19", "syntax")
    old = ir_llvm_version(b'define void @f() {\n  ret void\n}\n!llvm.ident = !{!0}\n'
                          b'!0 = !{!"clang version 14.0.6"}\n')
    assert (old.version, old.source) == ("14.0.6", "ident")
    assert ir_llvm_version(b"define void @f() {\n  ret void\n}\n").version is None


@pytest.mark.parametrize("policy", ["accept", "reject"])
def test_newer_ir_is_recorded_and_the_recipe_decides(tmp_path: Path, require_clang: str,
                                                     policy: str):
    folder = _llvm22_inputs(tmp_path / "ir")
    recipe = tmp_path / "ir.yaml"
    lines = [f"name: newer-{policy}", f"inputs: [{folder}]",
             "vocab: {tokenizer_vocab_size: 256, node_vocab_max_size: 64}",
             "exclude_evaluation_kernels: false"]
    if policy != "accept":
        lines.append(f"newer_ir: {policy}")
    recipe.write_text("\n".join(lines) + "\n")
    config = load_recipe(recipe)
    assert config.newer_ir == policy
    out = tmp_path / "out"
    index = build_dataset(config, out, num_cpus=2, show_progress=False)
    rows = {Path(r["path"]).name: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert rows["kernel.c"]["status"] == "ok"
    assert rows["kernel.c"]["llvm_version"].startswith("14.")  # the pinned clang's bitcode
    assert rows["mix22.bc"]["llvm_version"].startswith("22.")
    assert rows["nuw.ll"]["llvm_version"] == ">=19"
    summary = index["llvm_versions"]
    assert summary["policy"] == policy and summary["newer"] == 2
    assert summary["pinned"].startswith("14.") and sum(summary["per_version"].values()) == 3
    newer = [rows["mix22.bc"], rows["nuw.ll"]]
    if policy == "accept":  # the default: modern IR is a feature
        assert [r["status"] for r in newer] == ["ok", "ok"]
    else:
        assert [(r["status"], r["reason"]) for r in newer] == [("failed", "newer_ir")] * 2
        assert "newer than the pinned clang" in rows["nuw.ll"]["message"]
        assert "syntax" in rows["nuw.ll"]["message"]  # the heuristic says so
    assert json.loads((out / "index.json").read_text())["llvm_versions"] == summary
