"""The GPU pre-training benchmark runs its CPU fallback without ray, mlflow or webdataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The GPU image lacks these packages: importing any of them must fail the run.
_BLOCKED_RUN = """
import runpy, sys
for name in ("ray", "mlflow", "webdataset"):
    sys.modules[name] = None
sys.argv = ["bench_pretrain_gpu.py"] + sys.argv[1:]
runpy.run_path("benchmarks/bench_pretrain_gpu.py", run_name="__main__")
"""


def test_gpu_benchmark_cpu_fallback_without_cluster_packages(synthetic_dataset, tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, "--dataset", str(synthetic_dataset), "--steps", "4",
         "--warmup", "1", "--batch-size", "4", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["config"] == "tiny" and figures["steps_timed"] == 3
    assert figures["bare_tokens_per_s"] > 0 and figures["lightning_tokens_per_s"] > 0
    assert figures["lightning_over_bare"] > 0 and figures["model_tflops_per_step"] > 0
    assert figures["bare_mfu"] is None  # no peak to compare with on a CPU
