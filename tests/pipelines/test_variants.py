"""Optimisation-level variants end to end: group/opt_level columns, one split per group,
identical-IR collapse, whole-group exclusion, adjacent variants, old-schema reads."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mirencoder.pipelines.build import build_dataset
from mirencoder.pipelines.compile import CompileConfig, Toolchain, compile_to_bitcode
from mirencoder.pipelines.config import (
    BuildConfig,
    InputSpec,
    ShardConfig,
    SplitConfig,
    VocabularyConfig,
)
from mirencoder.pipelines.dataset import load_index
from mirencoder.pipelines.shards.schema import PROGRAM_SCHEMA_V1, SCHEMA_VERSION, SPLITS
from mirencoder.training.core.data.shard_reader import decode_sample, iter_raw_samples

LEVELS = ["O0", "O1", "O2", "O3", "Oz"]

# IR per level (clang 14, normalised): loops.c has 4 distinct programs (O3 = O2);
# inc.c 2 (O1 = O2 = O3 = Oz); twice_mul.c and twice_add.c differ at O0 only.
SOURCES = {
    "loops.c": "int sum(const int *a, int n) {\n  int s = 0;\n"
               "  for (int i = 0; i < n; i++)\n    s += a[i] * 3;\n  return s;\n}\n",
    "inc.c": "int inc(int x) { return x + 1; }\n",
    "twice_mul.c": "int twice(int x) { int y = x * 2; return y; }\n",
    "twice_add.c": "int twice(int x) { return x + x; }\n",
    "leaked.c": "int leak(const int *a, int n) {\n  int m = 0;\n"
                "  for (int i = 0; i < n; i++)\n    m = a[i] > m ? a[i] : m;\n  return m;\n}\n",
    "broken.c": "int broken( {\n",
}
READY_IR = "define i32 @ready(i32 %x) {\n  %y = mul i32 %x, 7\n  ret i32 %y\n}\n"


def _evaluation_data(root: Path, kernel: bytes) -> Path:
    """An evaluation data folder whose only kernel is ``kernel`` (bitcode)."""
    archive = root / "thread-coarsening" / "kernels_ir.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("kernels_ir/leak.bc")
        info.size = len(kernel)
        tar.addfile(info, io.BytesIO(kernel))
    return root


@pytest.fixture(scope="module")
def variants_dataset(tmp_path_factory: pytest.TempPathFactory, require_clang: str) -> Path:
    root = tmp_path_factory.mktemp("variants")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in SOURCES.items():
        (corpus / name).write_text(text)
    (corpus / "ready.ll").write_text(READY_IR)
    # The evaluation kernel is leaked.c at -O3: one variant of one source.
    kernel = compile_to_bitcode(corpus / "leaked.c", "c", Toolchain.probe(),
                                CompileConfig(opt_level="O3"))
    config = BuildConfig(
        name="variants-test", inputs=[InputSpec(path=str(corpus), corpus="tiny")],
        compile=CompileConfig(opt_levels=LEVELS),
        vocab=VocabularyConfig(tokenizer_vocab_size=256, node_vocab_max_size=64),
        split=SplitConfig(validation_fraction=0.3, test_fraction=0.3),
        shards=ShardConfig(inputs_per_task=3, tasks_per_shard_task=1, max_records=2),
        evaluation_data_dir=str(_evaluation_data(root / "evaluation", kernel)))
    out = root / "dataset"
    build_dataset(config, out, num_cpus=2, show_progress=False)
    return out


def _manifest(dataset: Path) -> list[dict]:
    return pq.read_table(dataset / "manifest.parquet").to_pylist()


def _records(dataset: Path, fmt: str) -> list[dict]:
    """Every record in shard order (split by split, shard by shard): Parquet rows whole,
    WebDataset samples as training decodes them."""
    index = load_index(dataset)
    out = []
    for split in SPLITS:
        for shard in index["splits"][split][fmt]:
            path = dataset / shard["path"]
            rows = (pq.read_table(path).to_pylist() if fmt == "parquet" else
                    [decode_sample(raw, fmt) for raw in iter_raw_samples(path, fmt)])
            out += [{**row, "_shard": shard["path"]} for row in rows]
    return out


def test_manifest_has_one_row_per_input_and_level(variants_dataset: Path):
    manifest = _manifest(variants_dataset)
    rows = defaultdict(list)
    for row in manifest:
        rows[Path(row["path"]).name].append(row)
    assert len(manifest) == 6 * len(LEVELS) + 1
    for name in SOURCES:
        assert [r["opt_level"] for r in rows[name]] == LEVELS
        assert len({r["group"] for r in rows[name]}) == 1
    assert [r["opt_level"] for r in rows["ready.ll"]] == [""]
    assert len({r["group"] for r in manifest}) == 7
    assert {r["status"] for r in rows["broken.c"]} == {"failed"}
    index = load_index(variants_dataset)
    assert index["schema_version"] == SCHEMA_VERSION == 2
    assert index["counts"]["inputs"] == 7 and index["counts"]["variants"] == 31


def test_identical_ir_collapses_within_and_across_sources(variants_dataset: Path):
    rows = {(Path(r["path"]).name, r["opt_level"]): r for r in _manifest(variants_dataset)}
    # inc.c: O1..Oz are one program, kept once.
    assert [rows["inc.c", lv]["status"] for lv in LEVELS] == ["ok", "ok"] + ["duplicate"] * 3
    assert {rows["inc.c", lv]["reason"] for lv in ("O2", "O3", "Oz")} == {"duplicate_variant"}
    assert rows["loops.c", "O3"]["reason"] == "duplicate_variant"
    # twice_mul.c equals twice_add.c (first in path order) from O1 on: another source's program.
    assert rows["twice_mul.c", "O0"]["status"] == "ok"
    assert {rows["twice_mul.c", lv]["reason"] for lv in LEVELS[1:]} == {"duplicate_ir"}
    assert rows["twice_mul.c", "O2"]["key"] == rows["twice_add.c", "O1"]["key"]
    counts = load_index(variants_dataset)["counts"]
    assert counts["duplicates_by_reason"] == {"duplicate_ir": 4, "duplicate_variant": 7}


def test_a_group_with_an_evaluation_variant_is_excluded_whole(variants_dataset: Path):
    leaked = [r for r in _manifest(variants_dataset) if r["path"].endswith("leaked.c")]
    assert {r["status"] for r in leaked} == {"excluded"}
    reasons = Counter(r["reason"] for r in leaked)
    assert reasons["evaluation_kernel"] >= 1 and reasons["evaluation_group"] >= 1
    assert not [r for r in _records(variants_dataset, "parquet")
                if r["source_path"].endswith("leaked.c")]


@pytest.mark.parametrize("fmt", ["parquet", "wds"])
def test_variants_share_one_split_and_lie_adjacent(variants_dataset: Path, fmt: str):
    records = _records(variants_dataset, fmt)
    kept = [r for r in _manifest(variants_dataset) if r["status"] == "ok"]
    assert sorted(r["key"] for r in records) == sorted(r["key"] for r in kept)
    splits = defaultdict(set)
    for record in records:
        splits[record["group"]].add(record["split"])
        assert record["opt_level"] in LEVELS or record["language"] == "ir"
    assert all(len(s) == 1 for s in splits.values())
    by_name = {Path(r["source_path"]).name: r for r in records}
    # twice_add.c and twice_mul.c share programs, so they share the split.
    assert splits[by_name["twice_add.c"]["group"]] == splits[by_name["twice_mul.c"]["group"]]
    # A group's records are consecutive and in one shard (max_records=2 < loops.c's 4).
    sequence = [(r["_shard"], r["group"]) for r in records]
    runs = [key for i, key in enumerate(sequence) if i == 0 or key != sequence[i - 1]]
    assert len(runs) == len({group for _, group in runs}) == len(splits)
    assert Counter(r["group"] for r in records)[by_name["loops.c"]["group"]] == 4


def test_index_counts_groups_per_split(variants_dataset: Path):
    counts = load_index(variants_dataset)["counts"]
    groups = counts["groups"]
    assert groups["total"] == 7 and groups["with_records"] == 5
    assert sum(groups["per_split"].values()) == 5 and groups["in_several_splits"] == 0
    assert counts["per_opt_level"][""]["ok"] == 1


def test_schema_1_shards_still_read(variants_dataset: Path, tmp_path: Path):
    """Shards written before ``group``/``opt_level`` read with group = key, opt_level = ""."""
    index = load_index(variants_dataset)
    shard = next(s for split in SPLITS for s in index["splits"][split]["parquet"])
    table = pq.read_table(variants_dataset / shard["path"])
    old = table.select(PROGRAM_SCHEMA_V1.names).cast(PROGRAM_SCHEMA_V1)
    pq.write_table(old, tmp_path / "old.parquet")
    rows = [decode_sample(raw, "parquet")
            for raw in iter_raw_samples(tmp_path / "old.parquet", "parquet")]
    assert [r["key"] for r in rows] == table.column("key").to_pylist()
    assert all(r.get("group") in (None, r["key"]) for r in rows)  # training defaults None
    wds = next(s for split in SPLITS for s in index["splits"][split]["wds"])
    with tarfile.open(variants_dataset / wds["path"]) as src, \
            tarfile.open(tmp_path / "old.tar", "w") as dst:
        for member in src:
            data = src.extractfile(member).read()
            if member.name.endswith(".meta.json"):
                meta = json.loads(data)
                data = json.dumps({k: v for k, v in meta.items()
                                   if k not in ("group", "opt_level")}).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    records = [decode_sample(raw, "wds") for raw in iter_raw_samples(tmp_path / "old.tar", "wds")]
    assert records and all(r["group"] == r["key"] and r["opt_level"] == "" for r in records)


def test_max_files_keeps_the_same_hash_chosen_sample(tmp_path: Path):
    from mirencoder.pipelines.build import _plan

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10):
        (folder / f"f{i}.c").write_text(f"int f{i}(void) {{ return {i}; }}\n")
    config = BuildConfig(inputs=[InputSpec(path=str(folder), max_files=4)])
    first = [name for _, _, name in _plan(config, tmp_path / "w1")]
    assert len(first) == 4 and first == sorted(first)
    assert first == [name for _, _, name in _plan(config, tmp_path / "w2")]
    bigger = BuildConfig(inputs=[InputSpec(path=str(folder), max_files=6)])
    assert set(first) < {name for _, _, name in _plan(bigger, tmp_path / "w3")}


def test_vocab_from_dataset_reuses_its_vocabularies(variants_dataset: Path, tmp_path: Path):
    from mirencoder.infra.errors import ConfigError

    corpus = tmp_path / "other"
    corpus.mkdir()
    (corpus / "mul.c").write_text("int mul(int a, int b) { return a * b; }\n")
    config = BuildConfig(
        name="reuse-test", inputs=[InputSpec(path=str(corpus))],
        compile=CompileConfig(opt_levels=["O0", "O2"]),
        vocab=VocabularyConfig(from_dataset=str(variants_dataset)),
        exclude_evaluation_kernels=False)
    index = build_dataset(config, tmp_path / "reused", num_cpus=2, show_progress=False)
    source = load_index(variants_dataset)
    assert index["tokenizer_sha256"] == source["tokenizer_sha256"]
    assert index["node_vocab_sha256"] == source["node_vocab_sha256"]
    assert index["counts"]["ok"] >= 1
    config.vocab.from_dataset = str(tmp_path / "nowhere")  # fails before any compile
    with pytest.raises(ConfigError, match="has no tokenizer.json"):
        build_dataset(config, tmp_path / "bad", num_cpus=2, show_progress=False)
    assert not (tmp_path / "bad" / "_work").exists()
