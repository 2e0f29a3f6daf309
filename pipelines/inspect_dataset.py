"""A person-readable report of a built dataset: counts, failures, sizes and one sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .dataset import (
    content_sha256,
    index_sha256,
    load_index,
    shard_entries,
    verify_dataset_files,
)
from .ir.program_graph import FLOWS, NODE_TYPES
from .shards.schema import SPLITS
from .summary import format_build_time, format_summary

__all__ = ["inspect_dataset"]


def _stats(values: np.ndarray) -> str:
    if values.size == 0:
        return "-"
    p50, p95 = np.percentile(values, [50, 95])
    return (f"min {values.min():>7.0f}  median {p50:>7.0f}  p95 {p95:>8.0f}  "
            f"max {values.max():>8.0f}  mean {values.mean():>8.1f}")


def inspect_dataset(dataset_dir: str | Path, *, sample_lines: int = 12) -> str:
    """Summarises a dataset folder as text (after checking the Parquet shards it reads and the
    manifest against ``index.json``).

    Raises:
        FatalError: a shard or the manifest differs from the sums in ``index.json``.
    """
    root = Path(dataset_dir)
    index = load_index(root)
    checked = verify_dataset_files(root, index, shard_entries(index, SPLITS, ("parquet",)),
                                   side_files=("manifest.parquet",))
    versions = index.get("llvm_versions")
    lines = [f"dataset {root}  (recipe {index['recipe']}, format v{index['format_version']})",
             f"toolchain: {index['toolchain']['clang']}; LLVM in llvmlite "
             f"{index['toolchain']['llvmlite_llvm']}",
             f"tokenizer {index['tokenizer_sha256'][:12]} ({index['vocab_size']} tokens), "
             f"node vocabulary {index['node_vocab_sha256'][:12]} ({index['node_vocab_size']} texts)",
             f"content {content_sha256(index)[:12]} (same data, same hash across builds); "
             f"build {index_sha256(root)[:12]} (index.json)",
             f"evaluation kernels excluded: {index['exclusion'].get('applied')}"
             + (f" ({index['exclusion'].get('distinct_ir')} distinct kernels)"
                if index["exclusion"].get("applied") else
                f" ({index['exclusion'].get('reason')})"),
             format_build_time(index.get("build", {})),
             f"checked against index.json: {checked.files} files "
             f"({checked.bytes / 2**20:.1f} MiB, {checked.seconds:.2f} s)"]
    if versions:
        lines.append("input IR by LLVM version: " + ", ".join(
            f"{v} {n}" for v, n in versions["per_version"].items())
            + f" ({versions['newer']} newer than the pinned {versions['pinned']}, "
            f"newer_ir: {versions['policy']})")
    lines += ["", format_summary(index["counts"]), ""]
    lines.append(f"{'split':<12}{'records':>9}{'wds shards':>12}{'wds MiB':>10}"
                 f"{'parquet shards':>16}{'parquet MiB':>13}")
    for split in SPLITS:
        info = index["splits"][split]
        lines.append(f"{split:<12}{info['records']:>9}{len(info['wds']):>12}"
                     f"{sum(s['bytes'] for s in info['wds']) / 2**20:>10.2f}"
                     f"{len(info['parquet']):>16}"
                     f"{sum(s['bytes'] for s in info['parquet']) / 2**20:>13.2f}")
    shards = [root / s["path"] for split in SPLITS for s in index["splits"][split]["parquet"]]
    if shards:
        table = pq.ParquetDataset(shards).read(
            columns=["num_tokens", "node_type", "edge_src", "bitcode"])
        lines += ["", "sizes per program:",
                  f"  tokens   {_stats(table.column('num_tokens').to_numpy())}",
                  f"  nodes    {_stats(pc.list_value_length(table.column('node_type')).to_numpy())}",
                  f"  edges    {_stats(pc.list_value_length(table.column('edge_src')).to_numpy())}",
                  f"  bitcode  {_stats(pc.binary_length(table.column('bitcode')).to_numpy())} bytes"]
        lines += ["", *_sample(shards[0], sample_lines)]
    return "\n".join(lines)


def _sample(shard: Path, sample_lines: int) -> list[str]:
    import llvmlite.binding as llvm

    row = pq.read_table(shard).slice(0, 1).to_pylist()[0]
    node_types = np.bincount(np.asarray(row["node_type"]), minlength=len(NODE_TYPES))
    flows = np.bincount(np.asarray(row["edge_flow"]), minlength=len(FLOWS))
    lines = [f"sample {row['key']} from {row['source_path']} ({row['corpus']}, {row['language']}, "
             f"{row['split']}):",
             f"  {row['num_tokens']} tokens, first ids {row['tokens'][:16]}",
             "  nodes: " + ", ".join(f"{n} {t}" for t, n in zip(NODE_TYPES, node_types,
                                                              strict=True)),
             "  edges: " + ", ".join(f"{n} {f}" for f, n in zip(FLOWS, flows, strict=True))]
    if row["bitcode"]:
        text = str(llvm.parse_bitcode(row["bitcode"]))
        body = [line for line in text.splitlines() if line.strip()][:sample_lines]
        lines += ["  normalised IR (first lines):", *("    " + line for line in body)]
    return lines
