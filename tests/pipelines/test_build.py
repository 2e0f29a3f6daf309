"""End-to-end dataset builds on a local Ray: manifest, index, shards, dedup, resume."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_records import records_by_split

from mirencoder.infra.errors import ConfigError
from mirencoder.infra.files import sha256_file
from mirencoder.pipelines.build import build_dataset
from mirencoder.pipelines.compile import CompileConfig
from mirencoder.pipelines.config import BuildConfig, InputSpec, ShardConfig, VocabularyConfig
from mirencoder.pipelines.dataset import content_sha256, load_index
from mirencoder.pipelines.ir.program_graph import ENCODER_COLUMNS
from mirencoder.pipelines.shards.schema import SPLITS

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO_ROOT / "datasets" / "demo-corpus"

_SMALL_VOCAB = VocabularyConfig(tokenizer_vocab_size=256, node_vocab_max_size=64)


def test_demo_build_writes_manifest_index_and_shards(demo_dataset: Path):
    index = load_index(demo_dataset)
    manifest = pq.read_table(demo_dataset / "manifest.parquet").to_pylist()
    program_files = [p for p in DEMO_CORPUS.rglob("*")
                     if p.suffix in {".c", ".cpp", ".cc", ".cl", ".cu", ".ll", ".bc"}]
    assert len(manifest) == len(program_files) == index["counts"]["inputs"]
    assert len({row["path"] for row in manifest}) == len(manifest)
    assert {row["status"] for row in manifest} <= {"ok", "failed", "duplicate", "excluded"}
    ok = [row for row in manifest if row["status"] == "ok"]
    assert len(ok) == index["counts"]["ok"] >= 0.9 * len(manifest)
    assert sum(index["splits"][s]["records"] for s in SPLITS) == len(ok)
    assert index["tokenizer_sha256"] and index["node_vocab_sha256"] and index["config_hash"]
    assert index["content_sha256"] == content_sha256(index)
    assert content_sha256({**index, "build": {"wall_seconds": 0.0}}) == index["content_sha256"]
    phases = dict(index["build"]["phase_seconds"])  # where the time went, in the order it went
    assert list(phases)[:3] == ["plan", "ray start", "compile + views"]
    assert {"vocabularies", "shards", "manifest"} <= phases.keys()
    assert all(seconds >= 0 for seconds in phases.values())
    assert sum(phases.values()) <= index["build"]["wall_seconds"] + 0.05
    assert content_sha256({**index, "recipe": "other"}) != index["content_sha256"]
    assert "14." in index["toolchain"]["clang"]
    for split in SPLITS:
        for fmt in ("wds", "parquet"):
            for shard in index["splits"][split][fmt]:
                path = demo_dataset / shard["path"]
                assert path.stat().st_size == shard["bytes"]
                assert sha256_file(path) == shard["sha256"]
    assert not list(demo_dataset.rglob("*.tmp"))


def test_wds_and_parquet_hold_the_same_records(demo_dataset: Path):
    wds, parquet = records_by_split(demo_dataset, "wds"), records_by_split(demo_dataset, "parquet")
    index = load_index(demo_dataset)
    for split in SPLITS:
        assert wds[split].keys() == parquet[split].keys()
        assert len(wds[split]) == index["splits"][split]["records"]
        for key, record in wds[split].items():
            other = parquet[split][key]
            assert record["split"] == split  # training's Parquet columns leave out the split
            assert record["num_tokens"] == other["num_tokens"]
            assert record["corpus"] == other["corpus"]
            np.testing.assert_array_equal(record["tokens"], other["tokens"])
            for column in ENCODER_COLUMNS:  # the graph columns training reads
                np.testing.assert_array_equal(record[column], other[column])
            assert len(record["tokens"]) == record["num_tokens"] > 0
            n = len(record["node_type"])
            assert n > 0 and len(record["edge_src"]) > 0
            assert record["edge_src"].max() < n and record["edge_dst"].max() < n
            assert record["tokens"].max() < index["vocab_size"]
            assert record["node_text"].max() < index["node_vocab_size"]


def test_duplicates_bad_inputs_and_rerun(tmp_path: Path, require_clang: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.c").write_text("int add(int a, int b) { return a + b; }\n")
    # Same program, other names: identical normalised IR, so a duplicate.
    (corpus / "b.c").write_text("int add(int x, int y) { return x + y; }\n")
    (corpus / "c.c").write_text("int mul(int a, int b) { int r = 0; for (int i = 0; i < b; i++)"
                                " r += a; return r; }\n")
    (corpus / "empty.c").write_text("")
    (corpus / "syntax.c").write_text("int broken( { return }\n")
    (corpus / "garbage.bc").write_bytes(os.urandom(512))
    (corpus / "notes.txt").write_text("not a program")
    config = BuildConfig(name="t", inputs=[InputSpec(path=str(corpus))], vocab=_SMALL_VOCAB,
                         exclude_evaluation_kernels=False)
    out = tmp_path / "out"
    index = build_dataset(config, out, num_cpus=2, show_progress=False)
    rows = {Path(r["path"]).name: r for r in
            pq.read_table(out / "manifest.parquet").to_pylist()}
    assert set(rows) == {"a.c", "b.c", "c.c", "empty.c", "syntax.c", "garbage.bc"}
    assert rows["a.c"]["status"] == "ok" and rows["c.c"]["status"] == "ok"
    assert rows["b.c"]["status"] == "duplicate" and rows["b.c"]["key"] == rows["a.c"]["key"]
    assert rows["empty.c"]["reason"] == "empty"
    assert rows["syntax.c"]["reason"] == "compile_error"
    assert rows["garbage.bc"]["status"] == "failed" and rows["garbage.bc"]["reason"]
    assert index["counts"]["ok"] == 2 and index["counts"]["duplicate"] == 1
    assert index["counts"]["failed"] == 3
    # A finished build run again is recognised and left as it is.
    again = build_dataset(config, out, num_cpus=2, show_progress=False)
    assert again["plan_hash"] == index["plan_hash"]
    # Another build into the same folder is refused without --overwrite.
    other = BuildConfig(name="t2", inputs=[InputSpec(path=str(corpus))], vocab=_SMALL_VOCAB,
                        exclude_evaluation_kernels=False)
    with pytest.raises(ConfigError, match="overwrite"):
        build_dataset(other, out, num_cpus=2, show_progress=False)


def test_build_stopped_while_planning_starts_again(tmp_path: Path, require_clang: str):
    # Killed while extracting archives, before plan.json: the folder holds only `_work`.
    config = BuildConfig(name="t", inputs=[InputSpec(path=str(DEMO_CORPUS / "c"))],
                         vocab=_SMALL_VOCAB, exclude_evaluation_kernels=False)
    out = tmp_path / "out"
    (out / "_work" / "extracted" / ".corpus.tmp-123").mkdir(parents=True)
    index = build_dataset(config, out, num_cpus=1, show_progress=False)
    assert index["counts"]["ok"] > 0 and (out / "index.json").exists()
    # A folder with anything else in it is still not ours.
    foreign = tmp_path / "foreign"
    (foreign / "_work").mkdir(parents=True)
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="holds no build"):
        build_dataset(config, foreign, num_cpus=1, show_progress=False)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_evaluation_kernels_are_excluded(tmp_path: Path, shared_data: Path, require_clang: str):
    import tarfile

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with tarfile.open(shared_data / "thread-coarsening" / "kernels_ir.tar.gz") as tar:
        member = tar.getmember("kernels_ir/sobel.ll")
        (corpus / "copied_sobel.ll").write_bytes(tar.extractfile(member).read())
    (corpus / "own.c").write_text("float f(float *a, int n) { float s = 0; "
                                  "for (int i = 0; i < n; i++) s += a[i]; return s; }\n")
    config = BuildConfig(name="t", inputs=[InputSpec(path=str(corpus))], vocab=_SMALL_VOCAB,
                         evaluation_data_dir=str(shared_data))
    index = build_dataset(config, tmp_path / "out", num_cpus=2, show_progress=False)
    rows = {Path(r["path"]).name: r for r in
            pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()}
    assert rows["copied_sobel.ll"]["status"] == "excluded"
    assert rows["copied_sobel.ll"]["reason"] == "evaluation_kernel"
    assert rows["own.c"]["status"] == "ok"
    assert index["exclusion"]["applied"] and index["exclusion"]["distinct_ir"] > 600


def _build_command(out: Path, recipe: Path) -> list[str]:
    return [sys.executable, "-m", "mirencoder", "dataset", "build", "--recipe", str(recipe),
            "--out", str(out), "--num-cpus", "1", "--quiet"]


@pytest.mark.slow
def test_killed_build_resumes_to_identical_records(tmp_path: Path, require_clang: str):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: resume-test\ninputs:\n  - path: {DEMO_CORPUS}\n    corpus: demo\n"
        "exclude_evaluation_kernels: false\n"
        "vocab: {tokenizer_vocab_size: 256, node_vocab_max_size: 64}\n"
        "shards: {inputs_per_task: 2, tasks_per_shard_task: 2, max_records: 4}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(_build_command(killed, recipe), env=env, cwd=REPO_ROOT,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    parts = killed / "_work" / "ir"
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    finished_before_kill = len(list(parts.glob("part-*.parquet")))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < finished_before_kill
    assert not (killed / "index.json").exists()
    # No `ray stop`: the killed driver's session is cleaned up by its own watchdog
    # (infra/process_watchdog.py), and other Ray sessions on the machine are left alone.
    resumed = subprocess.run(_build_command(killed, recipe), env=env, cwd=REPO_ROOT,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    clean = tmp_path / "clean"
    subprocess.run(_build_command(clean, recipe), env=env, cwd=REPO_ROOT, check=True,
                   capture_output=True)
    for fmt in ("wds", "parquet"):
        a, b = records_by_split(killed, fmt), records_by_split(clean, fmt)
        for split in SPLITS:
            assert a[split].keys() == b[split].keys()
            for key in a[split]:
                np.testing.assert_array_equal(a[split][key]["tokens"], b[split][key]["tokens"])
    index_a, index_b = load_index(killed), load_index(clean)
    assert index_a["counts"] == index_b["counts"]
    assert [s["sha256"] for s in index_a["splits"]["train"]["wds"]] == \
        [s["sha256"] for s in index_b["splits"]["train"]["wds"]]
    # Same data, two builds: one content hash (index.json itself differs in wall time).
    assert index_a["content_sha256"] == index_b["content_sha256"] == content_sha256(index_a)
    assert index_a["build"] != index_b["build"]
    shutil.rmtree(clean)


def test_inspect_shows_counts_sizes_and_a_sample(demo_dataset: Path):
    result = subprocess.run([sys.executable, "-m", "mirencoder", "dataset", "inspect",
                             str(demo_dataset)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    index = load_index(demo_dataset)
    assert f"{index['counts']['inputs']:>8}" in out
    assert "tokens" in out and "nodes" in out and "sample" in out
    assert "define" in out  # the sample's normalised IR
    assert "built in" in out and "compile + views" in out  # where the build's time went


def test_inspect_refuses_an_unfinished_folder(tmp_path: Path):
    (tmp_path / "_work").mkdir()
    with pytest.raises(ConfigError, match="resume"):
        load_index(tmp_path)


def test_shard_limits_are_respected(tmp_path: Path, require_clang: str):
    config = BuildConfig(name="t", inputs=[InputSpec(path=str(DEMO_CORPUS / "c"))],
                         vocab=_SMALL_VOCAB, exclude_evaluation_kernels=False,
                         shards=ShardConfig(max_records=2, inputs_per_task=4,
                                            tasks_per_shard_task=8))
    index = build_dataset(config, tmp_path / "out", num_cpus=2, show_progress=False)
    shards = index["splits"]["train"]["wds"]
    assert len(shards) >= 2 and all(s["records"] <= 2 for s in shards)
    assert json.loads((tmp_path / "out" / "index.json").read_text()) == index


def _add_member(tar: tarfile.TarFile, name: str, data: bytes = b"", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data))


@pytest.mark.slow
def test_every_bad_input_becomes_a_manifest_row(tmp_path: Path, require_clang: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = "int twice(int x) { return 2 * x; }\n"
    (corpus / "good.c").write_text(good)
    (corpus / "empty.c").write_bytes(b"")
    (corpus / "garbage.c").write_bytes(bytes(range(256)) * 8)
    (corpus / "latin1.c").write_bytes("/* caf\xe9 */ int f(void) { return 1; }\n".encode("latin-1"))
    (corpus / "big.c").write_text("int x;\n" + "/*" + "x" * 2_000_000 + "*/\n")
    shutil.copy(REPO_ROOT / "tests" / "data" / "compile" / "slow_template.cpp",
                corpus / "slow.cpp")
    (corpus / "syntax.c").write_text("int broken( {\n")
    (corpus / "header.c").write_text("#include \"no_such_header.h\"\nint h;\n")
    (corpus / "bad.ll").write_text("define i32 @f( {\n")
    (corpus / "truncated.bc").write_bytes(b"BC\xc0\xde" + b"\x01" * 40)
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_member(tar, "ok/inner.c", good.replace("twice", "thrice").encode())
        _add_member(tar, "../escape.c", good.encode())
        _add_member(tar, "loop/a.c", type=tarfile.SYMTYPE, linkname="b.c")
        _add_member(tar, "loop/b.c", type=tarfile.SYMTYPE, linkname="a.c")
    config = BuildConfig(name="bad", inputs=[InputSpec(path=str(corpus)),
                                             InputSpec(path=str(archive))], vocab=_SMALL_VOCAB,
                         exclude_evaluation_kernels=False,
                         compile=CompileConfig(timeout_s=2.0, max_file_bytes=1_000_000))
    build_dataset(config, tmp_path / "out", num_cpus=2, show_progress=False)
    rows = {r["path"].split("/")[-1]: r for r in
            pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()}
    expected = {"good.c": "ok", "latin1.c": "ok", "inner.c": "ok", "empty.c": "empty",
                "garbage.c": "binary_content", "big.c": "too_large", "slow.cpp": "timeout",
                "syntax.c": "compile_error", "header.c": "missing_header",
                "bad.ll": "malformed_ir", "truncated.bc": "truncated_bitcode"}
    for name, outcome in expected.items():
        row = rows[name]
        assert (row["status"] if outcome == "ok" else row["reason"]) == outcome, row
        if outcome != "ok":
            assert row["status"] == "failed" and row["message"]
    unsafe = [r for name, r in rows.items() if "escape" in name or name in {"a.c", "b.c"}]
    assert unsafe and all(r["status"] == "failed" for r in unsafe)
    assert {r["reason"] for r in unsafe} <= {"unsafe_path", "symlink_loop", "unsafe_link",
                                             "broken_link"}
    assert not (tmp_path / "escape.c").exists() and not (tmp_path / "out" / "escape.c").exists()
