"""``mirencoder dataset decision-labels``: real clang -O3 remarks become per-source labels of
compiler-decision prediction, and a continued run adds that objective's head fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.probes.decision_labels import (
    DecisionLabelsConfig,
    build_decision_labels,
)
from mirencoder.training.pretraining.tasks.decisions import (
    DECISION_LABELS_FILE,
    IGNORE,
    load_decision_table,
)

SOURCES = {
    # a plain reduction over ints: vectorised at -O3
    "vec.c": "int sum(const int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i];"
             " return s; }\n",
    # an opaque call in the body: the loop vectoriser gives up
    "call.c": "void g(int);\nvoid f(int n) { for (int i = 0; i < n; i++) g(i); }\n",
    "flat.c": "int add(int a, int b) { return a + b; }\n",
    "broken.c": "int f( { return 0; }\n",
    "other.cpp": "int f() { return 1; }\n",
}


def _dataset(tmp_path: Path) -> Path:
    sources = tmp_path / "src"
    sources.mkdir()
    rows = []
    for i, (name, text) in enumerate(SOURCES.items()):
        (sources / name).write_text(text)
        for level in ("O0", "O2"):  # two variants of each source: one label per group
            rows.append({"group": f"g{i}", "corpus": "mini", "path": str(sources / name),
                         "language": "cpp" if name.endswith(".cpp") else "c",
                         "opt_level": level})
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), dataset / "manifest.parquet")
    return dataset


def test_labels_come_from_real_clang_remarks(tmp_path: Path):
    if shutil.which("clang-14") is None and shutil.which("clang") is None:
        pytest.skip("clang is not installed (infra/bootstrap.sh installs it with apt)")
    dataset = _dataset(tmp_path)
    seen = []
    summary = build_decision_labels(dataset, DecisionLabelsConfig(
        cache_dir=tmp_path / "cache", workers=2), progress=lambda d, t: seen.append((d, t)))
    rows = {r["source"].rsplit("/", 1)[1]: r
            for r in pq.read_table(dataset / DECISION_LABELS_FILE).to_pylist()}
    assert len(rows) == 5 and sorted(seen)[-1] == (5, 5)
    assert rows["vec.c"]["status"] == "ok" and rows["vec.c"]["vectorised"] == 2
    assert rows["vec.c"]["vf"] >= 1 and rows["vec.c"]["vectorised_loops"] == 1
    assert (rows["call.c"]["vectorised"], rows["call.c"]["loops"]) == (1, 1)
    assert (rows["flat.c"]["vectorised"], rows["flat.c"]["vf"]) == (0, IGNORE)
    assert rows["broken.c"]["status"] == "compile_error" and rows["broken.c"]["message"]
    assert rows["other.cpp"]["status"] == "not_c"
    assert summary["status"]["mini"] == {"compile_error": 1, "not_c": 1, "ok": 3}
    assert json.loads((dataset / "decision_labels.json").read_text())["sources"] == 5
    table = load_decision_table(dataset)
    assert set(table) == {rows[n]["group"] for n in ("vec.c", "call.c", "flat.c")}
    again = build_decision_labels(dataset, DecisionLabelsConfig(cache_dir=tmp_path / "cache"))
    assert again["cache"]["misses"] == 0  # every clang run cached


def test_bad_inputs_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="not a built dataset"):
        build_decision_labels(tmp_path, DecisionLabelsConfig(cache_dir=tmp_path / "c"))
    with pytest.raises(ConfigError, match="workers"):
        DecisionLabelsConfig(cache_dir=tmp_path, workers=0)
    dataset = tmp_path / "d"
    dataset.mkdir()
    pq.write_table(pa.Table.from_pylist([{"group": "g", "corpus": "x", "language": "c",
                                          "path": str(tmp_path / "gone.tar.gz") + "!a.c"}]),
                   dataset / "manifest.parquet")
    with pytest.raises(ConfigError, match="corpus archive not found"):
        build_decision_labels(dataset, DecisionLabelsConfig(cache_dir=tmp_path / "c"))
