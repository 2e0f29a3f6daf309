"""Toolchain variants (``compile.compilers``): every source by several clangs at every level,
one group; the build order pairs neighbours across compilers; the device copy of a build and
its one-compiler control (benchmarks/device_dataset.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import ConfigError, FatalError
from mirencoder.pipelines.build import build_dataset
from mirencoder.pipelines.compile import CompileConfig, Toolchain
from mirencoder.pipelines.config import (
    BuildConfig,
    InputSpec,
    ShardConfig,
    SplitConfig,
    VocabularyConfig,
)
from mirencoder.pipelines.dataset import load_index
from mirencoder.training.pretraining.datamodule import verify_split_shards

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST_CLANG = "clang-14" if shutil.which("clang-14") else "clang"
SOURCES = {
    "loops.c": "int sum(const int *a, int n) {\n  int s = 0;\n"
               "  for (int i = 0; i < n; i++)\n    s += a[i] * 3;\n  return s;\n}\n",
    "scale.c": "void scale(float *x, float k, int n) {\n"
               "  for (int i = 0; i < n; i++) x[i] *= k;\n}\n",
    "inc.c": "int inc(int x) { return x + 1; }\n",
    "calls.c": "int g(int);\nint f(int x) { return g(x) + g(x + 1); }\n",
}


def test_variants_visit_every_level_and_compiler_once_neighbours_differing_in_both():
    config = CompileConfig(opt_levels=["O0", "O1", "O2", "O3", "Oz"],
                           compilers=["clang-14", "clang-19"])
    variants = config.variants()
    assert len(variants) == len(set(variants)) == 10
    assert variants[:4] == (("O0", "clang-14", None), ("O1", "clang-19", None),
                            ("O2", "clang-14", None), ("O3", "clang-19", None))
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in zip(variants, variants[1:], strict=False))
    # three compilers, two levels: every pair once
    three = CompileConfig(opt_levels=["O0", "O2"], compilers=["a", "b", "c"]).variants()
    assert sorted(three) == sorted((lv, c, None) for lv in ("O0", "O2") for c in "abc")
    # one compiler: the levels in order, with the configured clang
    assert CompileConfig(opt_levels=["O0", "O3"]).variants() == (("O0", None, None),
                                                                 ("O3", None, None))
    assert CompileConfig(clang="clang-14").variants() == (("O2", "clang-14", None),)
    one = config.at_variant("O3", "clang-19")
    assert (one.opt_level, one.opt_levels, one.compilers, one.clang) == ("O3", [], [], "clang-19")
    assert config.at_level("O1").clang == "clang-14"


def test_bad_compiler_lists_are_refused_with_the_reason():
    with pytest.raises(ConfigError) as info:
        CompileConfig(compilers=["clang-14", "clang-14"])
    assert "distinct" in str(info.value)
    with pytest.raises(ConfigError) as info:
        CompileConfig(compilers=["clang-14"], clang="clang")
    assert "not both" in str(info.value)
    with pytest.raises(FatalError) as info:
        Toolchain.probe(CompileConfig(compilers=["clang-999", "clang-14"]))
    assert "clang-999 not found" in str(info.value) and "apt-get install clang-999" in str(info.value)


def test_flag_sets_are_toolchains_too_and_add_their_flags_last():
    config = CompileConfig(opt_levels=["O0", "O2", "O3"], compilers=["a", "b"],
                           extra_flags={"c": ["-DX"]},
                           flag_sets={"host": {}, "spir": {"c": ["-target", "spir64"]}})
    variants = config.variants()
    assert len(variants) == len(set(variants)) == 12  # 3 levels x 2 compilers x 2 flag sets
    assert {v[1:] for v in variants} == {(c, f) for c in "ab" for f in ("host", "spir")}
    assert all(a[0] != b[0] and a[1:] != b[1:] for a, b in zip(variants, variants[1:],
                                                                strict=False))
    spir = config.at_variant("O2", "b", "spir")
    assert spir.extra_flags == {"c": ["-DX", "-target", "spir64"]} and spir.flag_sets == {}
    assert config.at_variant("O2", "b", "host").extra_flags == {"c": ["-DX"]}
    assert config.extra_flags == {"c": ["-DX"]}  # the recipe's own flags stay as they were
    assert config.at_level("O3").extra_flags == {"c": ["-DX"]}  # the first set: host


def test_bad_flag_sets_are_refused_with_the_reason():
    with pytest.raises(ConfigError) as info:
        CompileConfig(flag_sets={"x": {"fortran": ["-O1"]}})
    assert "compile.flag_sets['x'] has unknown languages ['fortran']" in str(info.value)
    with pytest.raises(ConfigError) as info:
        CompileConfig(flag_sets={"x": {"c": "-O1"}})
    assert "compile.flag_sets['x']['c'] must be a list of strings" in str(info.value)
    with pytest.raises(ConfigError) as info:
        CompileConfig(flag_sets={"x": ["-O1"]})
    assert "must map names to per-language flag lists" in str(info.value)


def _build(root: Path, compilers: list[str], levels: list[str],
           flag_sets: dict | None = None) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for name, text in SOURCES.items():
        (corpus / name).write_text(text)
    config = BuildConfig(
        name="compilers-test", inputs=[InputSpec(path=str(corpus), corpus="tiny")],
        compile=CompileConfig(opt_levels=levels, compilers=compilers, flag_sets=flag_sets or {}),
        vocab=VocabularyConfig(tokenizer_vocab_size=256, node_vocab_max_size=64),
        split=SplitConfig(validation_fraction=0.0, test_fraction=0.0),
        shards=ShardConfig(inputs_per_task=2, tasks_per_shard_task=1),
        exclude_evaluation_kernels=False)
    out = root / "dataset"
    build_dataset(config, out, num_cpus=2, show_progress=False)
    return out


@pytest.fixture(scope="module")
def two_names_dataset(tmp_path_factory: pytest.TempPathFactory, require_clang: str) -> Path:
    """One clang under two names: the mechanics of a toolchain build without a second clang
    (every second-compiler variant equals the first's, so dedup keeps one of each pair)."""
    root = tmp_path_factory.mktemp("compilers")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "clang-twin").symlink_to(Path(require_clang).resolve())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        return _build(root, [FIRST_CLANG, "clang-twin"], ["O0", "O2"])


def test_each_source_gets_a_variant_per_compiler_and_level_in_one_group(two_names_dataset):
    manifest = pq.read_table(two_names_dataset / "manifest.parquet").to_pylist()
    by_source: dict[str, list[dict]] = {}
    for row in manifest:
        by_source.setdefault(Path(row["path"]).name, []).append(row)
    assert set(by_source) == set(SOURCES)
    for rows in by_source.values():
        assert [r["opt_level"] for r in rows] == ["O0", "O2", "O0", "O2"]
        assert len({r["group"] for r in rows}) == 1
        # the same clang twice: the second compiler's variants are its first's duplicates
        assert [r["status"] for r in rows] == ["ok", "ok", "duplicate", "duplicate"]
        assert rows[2]["key"] == rows[0]["key"] and rows[3]["key"] == rows[1]["key"]
    index = load_index(two_names_dataset)
    assert list(index["toolchain"]["compilers"]) == [FIRST_CLANG, "clang-twin"]
    assert len(set(index["toolchain"]["compilers"].values())) == 1


def _device_dataset():
    spec = importlib.util.spec_from_file_location("device_dataset_under_test",
                                                  REPO_ROOT / "benchmarks" / "device_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_device_copy_verifies_and_keeps_one_compilers_records(two_names_dataset, tmp_path):
    device = _device_dataset()
    copy = tmp_path / "copy"
    device.main([str(two_names_dataset), str(copy), "--level", "3"])
    index = load_index(copy)
    verify_split_shards(copy, index, ["train"], "parquet")  # the reader's check holds
    shard = index["splits"]["train"]["parquet"][0]
    assert "bitcode" not in pq.read_schema(copy / shard["path"]).names
    original = load_index(two_names_dataset)
    assert index["splits"]["train"]["records"] == original["splits"]["train"]["records"]
    assert index["splits"]["train"]["wds"] == []
    transport = index["device_transport"]
    assert transport["dropped_columns"] == ["bitcode"] and transport["parquet_compression"] == "zstd-3"

    version = pq.read_table(two_names_dataset / "manifest.parquet")["llvm_version"][0].as_py()
    control = tmp_path / "control"
    device.main([str(copy), str(control), "--keep-llvm-version", version,
                 "--manifest", str(two_names_dataset / "manifest.parquet")])
    kept = load_index(control)
    verify_split_shards(control, kept, ["train"], "parquet")
    # one clang under two names: every record is the first compiler's program too
    assert kept["splits"]["train"]["records"] == original["splits"]["train"]["records"]
    assert kept["device_transport"]["kept_llvm_version"] == version
    with pytest.raises(SystemExit) as info:
        device.main([str(copy), str(tmp_path / "none"), "--keep-llvm-version", "99.0.0",
                     "--manifest", str(two_names_dataset / "manifest.parquet")])
    assert "no variant compiled by LLVM 99.0.0" in str(info.value)


@pytest.fixture(scope="module")
def clang19_dataset(tmp_path_factory: pytest.TempPathFactory, require_clang: str) -> Path:
    if not (shutil.which("clang-19") and shutil.which("clang-14")):
        pytest.skip("clang-19 (or clang-14) is not installed: `apt-get install clang-19` to run "
                    "the two-toolchain build on real compilers")
    return _build(tmp_path_factory.mktemp("clang19"), ["clang-14", "clang-19"], ["O0", "O2"])


def test_two_real_toolchains_give_distinct_optimised_variants(clang19_dataset, tmp_path):
    manifest = pq.read_table(clang19_dataset / "manifest.parquet").to_pylist()
    versions = Counter(r["llvm_version"].split(".")[0] for r in manifest if r["llvm_version"])
    assert versions == {"14": 8, "19": 8}
    kept = [r for r in manifest if r["status"] == "ok"]
    assert {r["llvm_version"].split(".")[0] for r in kept} == {"14", "19"}
    index = load_index(clang19_dataset)
    assert index["llvm_versions"]["newer"] == 0  # the newest compiler of the build is pinned
    assert index["toolchain"]["compilers"]["clang-19"].startswith("19.")
    # the one-compiler control holds what a clang-14 build would: its variants' programs
    device = _device_dataset()
    fourteen = next(r["llvm_version"] for r in manifest if r["llvm_version"].startswith("14"))
    device.main([str(clang19_dataset), str(tmp_path / "c14"), "--keep-llvm-version", fourteen])
    keys = {r["key"] for r in manifest if r["llvm_version"] == fourteen
            and r["status"] in ("ok", "duplicate")}
    control = load_index(tmp_path / "c14")
    rows = pq.read_table(tmp_path / "c14" / control["splits"]["train"]["parquet"][0]["path"])
    assert set(rows["key"].to_pylist()) <= keys
    assert control["splits"]["train"]["records"] == len(keys)
    assert json.loads((tmp_path / "c14" / "index.json").read_text())["device_transport"]


@pytest.fixture(scope="module")
def flag_set_dataset(tmp_path_factory: pytest.TempPathFactory, require_clang: str) -> Path:
    """Two flag sets, the plain pipeline and one without the vectorisers, at O0 and O2."""
    return _build(tmp_path_factory.mktemp("flag_sets"), [], ["O0", "O2"],
                  {"plain": {}, "novec": {"c": ["-fno-vectorize", "-fno-slp-vectorize"]}})


def test_flag_sets_give_variants_named_in_the_manifest(flag_set_dataset, tmp_path):
    manifest = pq.read_table(flag_set_dataset / "manifest.parquet").to_pylist()
    by_source: dict[str, list[dict]] = {}
    for row in manifest:
        by_source.setdefault(Path(row["path"]).name, []).append(row)
    for rows in by_source.values():
        assert [(r["opt_level"], r["flag_set"]) for r in rows] == [
            ("O0", "plain"), ("O2", "novec"), ("O0", "novec"), ("O2", "plain")]
        assert rows[2]["status"] == "duplicate"  # at O0 nothing vectorises: the same program
    loops = {r["flag_set"]: r for r in by_source["loops.c"] if r["opt_level"] == "O2"}
    assert loops["plain"]["status"] == loops["novec"]["status"] == "ok"
    assert loops["plain"]["key"] != loops["novec"]["key"]  # the vectorised loop differs
    device = _device_dataset()
    device.main([str(flag_set_dataset), str(tmp_path / "plain"), "--keep-flag-set", "plain"])
    kept = load_index(tmp_path / "plain")
    keys = {r["key"] for r in manifest if r["flag_set"] == "plain"
            and r["status"] in ("ok", "duplicate")}
    assert kept["splits"]["train"]["records"] == len(keys)
    assert kept["device_transport"]["kept_flag_set"] == "plain"
    with pytest.raises(SystemExit) as info:
        device.main([str(flag_set_dataset), str(tmp_path / "none"), "--keep-flag-set", "spir"])
    assert "no variant compiled with flag set spir" in str(info.value)


def test_ir_parts_written_before_flag_sets_still_resume(tmp_path):
    import pyarrow as pa

    from mirencoder.pipelines.build import _META_COLUMNS, _read_meta

    older = {name: pa.array([None], pa.string()) for name in _META_COLUMNS if name != "flag_set"}
    older.update(order=pa.array([0], pa.int64()), input=pa.array([0], pa.int64()),
                 num_instructions=pa.array([3], pa.int32()))
    pq.write_table(pa.table(older), tmp_path / "part-00000.parquet")
    (row,) = _read_meta([tmp_path / "part-00000.parquet"])
    assert row["flag_set"] is None and row["part"] == 0 and row["num_instructions"] == 3
