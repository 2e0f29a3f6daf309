"""Golden test: the demo corpus's dataset build, record by record, against the rows checked in
under ``tests/data/expected/``. A change to compiling, normalising, graph building,
tokenizing, dedup or splitting shows here as the rows it changed.

The expected rows depend on the clang that compiled the sources and on the system headers
they include (glibc, libstdc++); on another clang or other headers the test skips. After an intended change, rewrite them with
``pytest tests/pipelines/test_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_records import records_by_split

from mirencoder.pipelines.dataset import load_index
from mirencoder.pipelines.ir.program_graph import ENCODER_COLUMNS

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "expected" / "demo-v1.json"


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def system_headers() -> str:
    """The C and C++ library headers the demo's sources compile against."""
    libc = "-".join(platform.libc_ver())
    cxx = sorted((p.name for p in Path("/usr/include/c++").glob("*")), key=len)
    return f"{libc}, libstdc++ {cxx[-1] if cxx else 'none'}"


def golden_rows(dataset: Path) -> dict:
    """The build's outcome per input path: its decision, and for kept records a digest of
    what training reads (tokens, graph columns)."""
    index = load_index(dataset)
    records = {key: {"split": split, "num_tokens": int(record["num_tokens"]),
                     "tokens": _digest(record["tokens"]),
                     "nodes": len(record["node_type"]), "edges": len(record["edge_src"]),
                     "graph": _digest(*(record[column] for column in ENCODER_COLUMNS))}
               for split, by_key in records_by_split(dataset, "parquet").items()
               for key, record in by_key.items()}
    rows = {}
    for row in pq.read_table(dataset / "manifest.parquet").to_pylist():
        path = Path(row["path"]).relative_to(Path(row["path"]).parents[1]).as_posix()
        rows[path] = {"status": row["status"], "reason": row["reason"],
                      "ir_sha256": row["ir_sha256"], "group": row["group"],
                      "opt_level": row["opt_level"],
                      **(records[row["key"]] if row["status"] == "ok" else {})}
    return {"clang": index["toolchain"]["clang"], "headers": system_headers(),
            "counts": index["counts"],
            "tokenizer_sha256": index["tokenizer_sha256"],
            "node_vocab_sha256": index["node_vocab_sha256"],
            "rows": dict(sorted(rows.items()))}


def test_demo_build_matches_the_golden_rows(demo_dataset: Path, update_golden: bool):
    actual = golden_rows(demo_dataset)
    if update_golden:
        EXPECTED.parent.mkdir(parents=True, exist_ok=True)
        EXPECTED.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"rewrote {EXPECTED.name}; review its diff")
    if not EXPECTED.exists():
        pytest.fail(f"{EXPECTED} is missing; write it with --update-golden")
    expected = json.loads(EXPECTED.read_text())
    made, here = ((rows["clang"], rows.get("headers")) for rows in (expected, actual))
    if made != here:
        pytest.skip(f"the golden rows were made with clang {made[0]} and headers {made[1]}; "
                    f"this machine has clang {here[0]} and headers {here[1]}")
    changed = sorted(path for path in expected["rows"].keys() | actual["rows"].keys()
                     if expected["rows"].get(path) != actual["rows"].get(path))
    assert not changed, "rows that differ from tests/data/expected/demo-v1.json:\n" + "\n".join(
        f"  {path}: expected {expected['rows'].get(path)}\n  {' ' * len(path)}  actual   "
        f"{actual['rows'].get(path)}" for path in changed[:10])
    assert actual["counts"] == expected["counts"]
    assert actual["tokenizer_sha256"] == expected["tokenizer_sha256"]
    assert actual["node_vocab_sha256"] == expected["node_vocab_sha256"]
