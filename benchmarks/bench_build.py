"""Build throughput: the pipeline versus bare ``clang -c -emit-llvm`` on the same Jotai files,
with 1 and 2 Ray workers, and peak memory per worker.

Usage: python -m benchmarks.bench_build [--files 2000] [--workers 1,2] [--data-dir ...]
Each worker count's figures are kept in benchmarks/results/build.json (so that runs at
different worker counts, e.g. while another job holds a core, add up); the ``build`` section
of BENCHMARKS.md is rendered from all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from benchmarks.report import write_section
from mirencoder.pipelines.build import build_dataset
from mirencoder.pipelines.compile import CompileConfig, Toolchain
from mirencoder.pipelines.config import BuildConfig, InputSpec, VocabularyConfig
from mirencoder.pipelines.inputs import discover_inputs

REPO_ROOT = Path(__file__).resolve().parent.parent


def bare_clang(files: list[Path], clang: str, opt_level: str, workers: int, out: Path) -> float:
    """Seconds to compile every file with bare clang, ``workers`` processes at a time."""
    out.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[int, Path]) -> None:
        i, path = item
        subprocess.run([clang, "-c", "-emit-llvm", f"-{opt_level}", "-w", str(path), "-o",
                        str(out / f"{i}.bc")], capture_output=True, check=False)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, enumerate(files)))
    return time.perf_counter() - start


class PeakWorkerMemory:
    """Polls the RSS of Ray worker processes (and their clang children) during a build."""

    def __init__(self) -> None:
        self.peak_worker = 0
        self.peak_with_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in psutil.process_iter(["name", "cmdline"]):
                try:
                    cmdline = " ".join(proc.info["cmdline"] or [])
                    if "default_worker.py" not in cmdline and not proc.info["name"].startswith(
                            "ray::"):
                        continue
                    rss = proc.memory_info().rss
                    children = sum(c.memory_info().rss for c in proc.children(recursive=True))
                    self.peak_worker = max(self.peak_worker, rss)
                    self.peak_with_children = max(self.peak_with_children, rss + children)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self._stop.wait(0.2)

    def __enter__(self) -> PeakWorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def render(recorded: dict, opt_level: str) -> str:
    """The BENCHMARKS.md section from every recorded worker count."""
    rows = []
    for workers, r in sorted(recorded.items(), key=lambda kv: int(kv[0])):
        n = r["files"]
        rows.append(f"| {workers} | {n} | {r['bare_s']:.1f} s ({1000 * r['bare_s'] / n:.1f} ms/file)"
                    f" | {r['build_s']:.1f} s ({1000 * r['build_s'] / n:.1f} ms/file) | "
                    f"{r['build_s'] / r['bare_s']:.2f}x | {r['ok']} ok, {r['failed']} failed, "
                    f"{r['duplicate']} dup | {r['peak_worker_mib']:.0f} MiB "
                    f"({r['peak_with_clang_mib']:.0f} MiB with clang) | {r['load_average']:.1f} "
                    f"| {r['measured']} |")
    lines = [
        f"Jotai C files (the first N in sorted order), clang -{opt_level}. The build runs the whole "
        "pipeline (Ray start-up, compile, normalise, graph, tokenizer training, token/graph "
        "encoding, Parquet + WebDataset shards, manifest, index); bare clang runs `clang -c "
        "-emit-llvm` on the same files with the same number of processes at a time, in the "
        "same run just before it.", "",
        "| Ray workers | files | bare clang | mirencoder build | build / bare (target <= 1.3x) "
        "| outcome | peak RSS per worker | load avg. | measured |",
        "|---|---|---|---|---|---|---|---|---|", *rows]
    if "1" in recorded and "2" in recorded:
        speedup = recorded["1"]["build_s"] / recorded["2"]["build_s"]
        lines += ["", f"Scaling, 2 workers vs 1: **{speedup:.2f}x** (target >= 1.8x)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--opt-level", default="O2")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to measure")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    items = discover_inputs([args.data_dir / "corpus" / "jotaibench.tar.bz2"], work / "inputs")
    files = sorted(item.local_path for item in items if item.language == "c")[: args.files]
    subset = work / "subset"
    subset.mkdir()
    for i, path in enumerate(files):
        shutil.copy(path, subset / f"{i:05d}_{path.name}")
    files = sorted(subset.iterdir())
    compile_config = CompileConfig(opt_level=args.opt_level)
    clang = Toolchain.probe(compile_config).clang

    store = REPO_ROOT / "benchmarks" / "results" / "build.json"
    recorded = json.loads(store.read_text()) if store.exists() else {}
    for workers in (int(w) for w in args.workers.split(",")):
        bare = bare_clang(files, clang, args.opt_level, workers, work / f"bare-{workers}")
        config = BuildConfig(name=f"bench-{workers}", inputs=[InputSpec(path=str(subset))],
                             compile=compile_config, exclude_evaluation_kernels=False,
                             vocab=VocabularyConfig(tokenizer_vocab_size=4096))
        out = work / f"build-{workers}"
        with PeakWorkerMemory() as memory:
            start = time.perf_counter()
            index = build_dataset(config, out, num_cpus=workers, show_progress=False)
            built = time.perf_counter() - start
        recorded[str(workers)] = {
            "files": len(files), "bare_s": bare, "build_s": built,
            "ok": index["counts"]["ok"], "failed": index["counts"]["failed"],
            "duplicate": index["counts"]["duplicate"],
            "peak_worker_mib": memory.peak_worker / 2**20,
            "peak_with_clang_mib": memory.peak_with_children / 2**20,
            "load_average": os.getloadavg()[0], "measured": time.strftime("%Y-%m-%d %H:%M")}
        shutil.rmtree(out)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(recorded, indent=2, sort_keys=True))
    body = render(recorded, args.opt_level)
    write_section("build", "Dataset build throughput (Jotai)", body)
    print(body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
