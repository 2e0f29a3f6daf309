"""A built dataset, compacted to travel to the lent GPU machine (at most 64 MiB travel per call).

Pre-training reads the Parquet shards of the train and validation splits and the two
vocabularies, and never the ``bitcode`` column. This copies just those: each shard without
``bitcode`` and rewritten at zstd level 19 (about 40 % of its size), the vocabularies as they
are, and an ``index.json`` whose entries name the new files' sizes and sha256 (so the reader's
check still holds) with a ``device_transport`` record of what changed and of the source's
``index.json`` and content hashes (lineage can name the dataset the copy came from).

    python benchmarks/device_dataset.py runs/datasets/pretrain-variants-2cpu-v1 \
        .carry/datasets/pretrain-variants-2cpu-v1

``--keep-llvm-version V --manifest M`` keeps only the records whose program some variant
compiled by that LLVM produced (a duplicate's record included), from the build's manifest:
a toolchain build (``compile.compilers``) then yields its one-compiler control on the device,
with the same sources, splits and vocabularies, from the one copy that travels.
``--keep-flag-set NAME`` does the same for one of a build's ``compile.flag_sets``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.from_source import ensure_package  # noqa: E402

ensure_package()

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from mirencoder.infra.files import sha256_file, write_text_atomic  # noqa: E402
from mirencoder.pipelines.dataset import content_sha256, index_sha256, load_index  # noqa: E402

DROPPED_COLUMNS = ("bitcode",)
ZSTD_LEVEL = 19


_KEEP_WHAT = {"llvm_version": "compiled by LLVM", "flag_set": "compiled with flag set"}


def keys_of_variants(manifest: Path, column: str, value: str) -> set[str]:
    """Record keys of the variants whose manifest ``column`` (``llvm_version`` or
    ``flag_set``) is ``value`` (kept or duplicate)."""
    parquet = pq.ParquetFile(manifest)
    if column not in parquet.schema_arrow.names:
        raise SystemExit(f"{manifest} has no column {column!r} (a build made before it existed)")
    rows = parquet.read(columns=["key", "status", column]).to_pylist()
    keys = {row["key"] for row in rows if row[column] == value
            and row["status"] in ("ok", "duplicate") and row["key"]}
    if not keys:
        seen = sorted({str(row[column]) for row in rows})
        raise SystemExit(f"{manifest}: no variant {_KEEP_WHAT[column]} {value}; it holds {seen}")
    return keys


def compact_dataset(source: Path, target: Path, splits: tuple[str, ...], *,
                    keep_keys: set[str] | None = None, level: int = ZSTD_LEVEL,
                    note: dict | None = None) -> dict:
    """Writes the compacted copy of ``splits`` of ``source`` into ``target`` (only the records
    in ``keep_keys`` when given); returns its index."""
    index = load_index(source)
    missing = [split for split in splits if split not in index.get("splits", {})]
    if missing:
        raise SystemExit(f"{source} has no split(s) {missing}; it has {list(index['splits'])}")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for side in ("tokenizer.json", "node_vocab.json"):
        if (source / side).exists():
            shutil.copy2(source / side, target / side)
    compacted = json.loads(json.dumps(index))
    kept = pa.array(sorted(keep_keys)) if keep_keys is not None else None
    for split, entry in compacted["splits"].items():
        entry["wds"] = []
        if split not in splits:  # not copied: the copy holds none of its records
            entry["parquet"], entry["records"] = [], 0
            continue
        for shard in entry["parquet"]:
            table = pq.read_table(source / shard["path"])
            table = table.drop_columns([c for c in DROPPED_COLUMNS if c in table.column_names])
            if kept is not None:
                table = table.filter(pc.is_in(table["key"], kept))
            entry["records"] += table.num_rows - shard["records"]
            out = target / shard["path"]
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out, compression="zstd", compression_level=level)
            shard["bytes"], shard["sha256"] = out.stat().st_size, sha256_file(out)
            shard["records"] = table.num_rows
    compacted.pop("manifest_sha256", None)
    compacted["device_transport"] = {
        "from": str(source), "from_index_sha256": index_sha256(source),
        "from_content_sha256": content_sha256(index), "splits": list(splits),
        "dropped_columns": list(DROPPED_COLUMNS), "parquet_compression": f"zstd-{level}",
        **(note or {})}
    # written last and atomically, as a build writes its index
    write_text_atomic(target / "index.json", json.dumps(compacted, indent=1) + "\n")
    return compacted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a built dataset folder")
    parser.add_argument("target", type=Path, help="the copy to write (replaced if present)")
    parser.add_argument("--splits", nargs="+", default=["train", "validation"])
    parser.add_argument("--level", type=int, default=ZSTD_LEVEL, help="zstd level (1-22)")
    parser.add_argument("--keep-llvm-version", metavar="V",
                        help="keep the records of one compiler's variants (needs --manifest)")
    parser.add_argument("--keep-flag-set", metavar="NAME",
                        help="keep the records of one flag set's variants (needs --manifest)")
    parser.add_argument("--manifest", type=Path,
                        help="the build's manifest.parquet (default: SOURCE's)")
    args = parser.parse_args(argv)
    keep, note = None, None
    wanted = {column: value for column, value in (("llvm_version", args.keep_llvm_version),
                                                  ("flag_set", args.keep_flag_set)) if value}
    if wanted:
        manifest = args.manifest or args.source / "manifest.parquet"
        if not manifest.exists():
            parser.error(f"keeping one toolchain's records needs the build's manifest; "
                         f"{manifest} is missing")
        keep = set.intersection(*(keys_of_variants(manifest, column, value)
                                  for column, value in wanted.items()))
        note = {f"kept_{column}": value for column, value in wanted.items()}
    compact_dataset(args.source, args.target, tuple(args.splits), keep_keys=keep,
                    level=args.level, note=note)
    size = sum(f.stat().st_size for f in args.target.rglob("*") if f.is_file())
    print(f"{args.target}: {size / 2**20:.1f} MiB ({', '.join(args.splits)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
