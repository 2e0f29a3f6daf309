"""The README's main job, shortened: build, pre-train, register and embed the demo corpus."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path, require_clang: str):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}

    def demo() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "mirencoder", "demo", "--out", str(tmp_path / "demo"),
             "--steps", "60", "--skip-eval"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        return result.stdout

    def summary_rows(stdout: str) -> list[str]:  # the summary table without its timings
        rows = stdout.split("=== summary ===", 1)[1].strip().splitlines()
        return [row for row in rows if not row.strip().startswith("time")]

    summary = "\n".join(summary_rows(demo()))
    assert "models:/mirencoder/1" in summary and "60 steps" in summary
    # Run again, it redoes nothing: the same version (no second registration of the same
    # weights) and the first run's training metrics.
    again = demo()
    assert "already complete" in again and "nothing to redo" in again
    assert "\n".join(summary_rows(again)) == summary
    table = pq.read_table(tmp_path / "demo" / "embeddings.parquet").to_pylist()
    demo_files = [p for p in (REPO_ROOT / "datasets" / "demo-corpus").rglob("*")
                  if p.suffix in {".c", ".cpp", ".cl", ".cu", ".ll"}]
    assert len(table) == len(demo_files)
    ok = [row for row in table if row["status"] == "ok"]
    assert len(ok) == len(table)
    assert len({len(row["embedding"]) for row in ok}) == 1
