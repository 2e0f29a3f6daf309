"""Build throughput: the pipeline versus bare ``clang -c -emit-llvm`` on the same Jotai files,
with 1 and 2 Ray workers, and peak memory per worker.

Usage: python benchmarks/bench_build.py [--files 2000] [--data-dir ../shared/data]
Writes the ``build`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--opt-level", default="O2")
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

    rows, results = [], {}
    for workers in (1, 2):
        bare = bare_clang(files, clang, args.opt_level, workers, work / f"bare-{workers}")
        config = BuildConfig(name=f"bench-{workers}", inputs=[InputSpec(path=str(subset))],
                             compile=compile_config, exclude_evaluation_kernels=False,
                             vocab=VocabularyConfig(tokenizer_vocab_size=4096))
        out = work / f"build-{workers}"
        with PeakWorkerMemory() as memory:
            start = time.perf_counter()
            index = build_dataset(config, out, num_cpus=workers, show_progress=False)
            built = time.perf_counter() - start
        results[workers] = (bare, built, memory, index)
        rows.append(f"| {workers} | {len(files)} | {bare:.1f} s ({1000 * bare / len(files):.1f} "
                    f"ms/file) | {built:.1f} s ({1000 * built / len(files):.1f} ms/file) | "
                    f"{built / bare:.2f}x | {index['counts']['ok']} ok, "
                    f"{index['counts']['failed']} failed, {index['counts']['duplicate']} dup | "
                    f"{memory.peak_worker / 2**20:.0f} MiB ({memory.peak_with_children / 2**20:.0f}"
                    " MiB with clang) |")
        shutil.rmtree(out)
    speedup = results[1][1] / results[2][1]
    body = "\n".join([
        f"Jotai C files (first {len(files)} in sorted order), clang -{args.opt_level}; the build "
        "runs the whole pipeline (Ray start-up, compile, normalise, graph, tokenizer training, "
        "token/graph encoding, Parquet + WebDataset shards, manifest, index). Bare clang runs "
        "the same number of processes at a time.",
        "",
        "| Ray workers | files | bare clang | mirencoder build | build / bare (target <= 1.3x) "
        "| outcome | peak RSS per worker |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Scaling, 2 workers vs 1: **{speedup:.2f}x** (target >= 1.8x).",
    ])
    write_section("build", "Dataset build throughput (Jotai)", body)
    print(body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
