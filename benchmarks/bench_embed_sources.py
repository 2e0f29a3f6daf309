"""Embedding source files: one compile thread against one per CPU (``EmbedConfig.workers``).

For each corpus, the same files are embedded end to end (read, compile with clang, normalise,
views, encoder) by ``Embedder.embed_files`` with ``workers=1`` (everything in order, as before
the workers existed) and with ``workers=0`` (one compile thread per usable CPU), the two runs
alternating (``--repeats``, best of each reported, every run listed). The embeddings of the two
settings must be identical (checked). For scale, clang alone on the same files in one thread
(``FrontEnd.file_bytes``), wall time.

Corpora (from ``../shared/data/corpus`` and ``devmap``): NeuroVectorizer's C loops, DevMap's 256
OpenCL kernels and LS-CAT's CUDA kernels, the first ``--limit`` files of each in sorted order.

Usage::

    python benchmarks/bench_embed_sources.py [--model PACKAGE_OR_URI] [--random-config tiny]
        [--limit 300] [--repeats 3] [--threads 1] [--no-write]

Without ``--model`` a randomly initialised package of ``--random-config``'s architecture is
built and labelled as such (speed depends on the architecture, not the weights). Writes the
``embed-sources`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data"
# name -> (archive, suffix of the programs, language label)
CORPORA = {
    "neurovectorizer": (DATA / "corpus" / "neurovectorizer-loops.tar.gz", ".c", "C"),
    "devmap-opencl": (DATA / "devmap" / "opencl-kernels.tar.bz2", ".cl", "OpenCL C"),
    "ls-cat": (DATA / "corpus" / "ls-cat-cuda-kernels.tar.gz", ".cu", "CUDA"),
}


def extract_programs(archive: Path, suffix: str, dest: Path, limit: int) -> list[Path]:
    """The first ``limit`` programs (sorted) of ``archive``, with every header beside them."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        programs = sorted(m.name for m in members if m.name.endswith(suffix))[:limit]
        folders = {str(Path(name).parent) for name in programs}
        wanted = set(programs) | {m.name for m in members
                                  if str(Path(m.name).parent) in folders
                                  and not m.name.endswith(suffix)}
        tar.extractall(dest, members=[m for m in members if m.name in wanted], filter="data")
    return [dest / name for name in programs]


def time_embedding(embedder, files: list[Path], batch_size: int) -> tuple[float, object]:
    start = time.perf_counter()
    result = embedder.embed_files(files, batch_size=batch_size, progress=False)
    return time.perf_counter() - start, result


def bench_corpus(model: str, files: list[Path], *, repeats: int, batch_size: int) -> dict:
    import numpy as np

    from mirencoder.infra.errors import MirError
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.load_ahead import available_cpus

    embedders = {1: Embedder.from_uri(model, workers=1), 0: Embedder.from_uri(model, workers=0)}
    for embedder in embedders.values():
        embedder.embed_files(files[:4], progress=False)  # warm-up: imports, toolchain probe
    runs: dict[int, list[float]] = {1: [], 0: []}
    results = {}
    for _ in range(repeats):
        for workers, embedder in embedders.items():  # alternating: same machine state
            seconds, results[workers] = time_embedding(embedder, files, batch_size)
            runs[workers].append(seconds)
    one, many = results[1], results[0]
    identical = (one.errors == many.errors
                 and bool(np.array_equal(one.vectors, many.vectors, equal_nan=True)))
    start = time.perf_counter()
    for path in files:
        try:
            embedders[1].loader.file_bytes(path)
        except MirError:
            pass
    clang_s = time.perf_counter() - start
    n = len(files)
    best1, best_many = min(runs[1]), min(runs[0])
    return {"files": n, "ok": int(one.ok.sum()), "failed": len(one.errors),
            "workers": available_cpus(), "identical": identical,
            "ms_one": 1e3 * best1 / n, "ms_many": 1e3 * best_many / n,
            "speedup": best1 / best_many, "clang_ms": 1e3 * clang_s / n,
            "runs_one": [1e3 * s / n for s in runs[1]],
            "runs_many": [1e3 * s / n for s in runs[0]]}


def format_section(label: str, rows: dict[str, dict], threads: int, batch_size: int) -> str:
    from benchmarks.report import runs_cell

    workers = next(iter(rows.values()))["workers"] if rows else 0
    lines = [
        f"Encoder: {label}; torch threads {threads}; batch size {batch_size}. Each corpus: its "
        "first files in sorted order, embedded end to end by `Embedder.embed_files` (read, clang, "
        "normalise, views, encoder) with `workers=1` (all in order) and with `workers=0` "
        f"({workers} compile threads here, one per usable CPU), runs alternating; best of each, "
        "ms per file; every run listed.",
        "",
        "| corpus | files (ok / failed) | clang alone, 1 thread | workers=1 | "
        f"workers={workers} | speed-up | same embeddings | runs (1 / {workers}) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in rows.items():
        lang = CORPORA[name][2]
        lines.append(
            f"| {name} ({lang}) | {r['files']} ({r['ok']} / {r['failed']}) | "
            f"{r['clang_ms']:.1f} | {r['ms_one']:.1f} | **{r['ms_many']:.1f}** | "
            f"**{r['speedup']:.2f}x** | {'yes' if r['identical'] else '**NO**'} | "
            + runs_cell(r["runs_one"], r["runs_many"]) + " |")
    lines += ["", "Clang runs in a child process, so its threads overlap: while they wait on "
              "clang, the main thread normalises, builds views and encodes the files before "
              "them, in input order (results cannot depend on the workers; the table checks "
              "it). Failed files are the corpus's own compile errors (missing macros or "
              "headers), reported with their reason as in any embedding."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None,
                        help="registry URI or package folder (default: a random package)")
    parser.add_argument("--random-config", default="tiny",
                        help="architecture of the random package built without --model")
    parser.add_argument("--corpora", default=",".join(CORPORA),
                        help=f"comma-separated, of {', '.join(CORPORA)}")
    parser.add_argument("--limit", type=int, default=300, help="files per corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.corpora.split(",") if n.strip()]
    unknown = [n for n in names if n not in CORPORA]
    if unknown:
        parser.error(f"unknown corpora {unknown}; choose from {', '.join(CORPORA)}")
    missing = [str(CORPORA[n][0]) for n in names if not CORPORA[n][0].exists()]
    if missing:
        print(f"bench_embed_sources: {', '.join(missing)} not found (needs ../shared/data)",
              file=sys.stderr)
        return 1
    import torch

    from benchmarks.bench_embed import _random_package

    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-embed-sources-") as tmp:
        corpus_files = {name: extract_programs(CORPORA[name][0], CORPORA[name][1],
                                               Path(tmp) / name, args.limit) for name in names}
        if args.model:
            model, label = args.model, f"`{args.model}`"
        else:
            ir_dir = Path(tmp) / "vocab-ir"
            ir_dir.mkdir()
            from mirencoder.pipelines.frontend.loader import FrontEnd

            loader, ir_files = FrontEnd(), []
            for i, path in enumerate(corpus_files[names[0]][:60]):
                try:
                    ir_files.append(ir_dir / f"{i}.ll")
                    ir_files[-1].write_text(loader.program(path, bitcode=False).text)
                except Exception:  # noqa: BLE001 - a file that does not compile: skip it
                    ir_files.pop()
            model = str(_random_package(Path(tmp) / "package", ir_files, args.random_config))
            label = (f"untrained random `{args.random_config}` package (no --model given; speed "
                     "depends on the architecture, not the weights)")
        for name in names:
            print(f"{name}: {len(corpus_files[name])} files", flush=True)
            rows[name] = bench_corpus(model, corpus_files[name], repeats=args.repeats,
                                      batch_size=args.batch_size)
            print(json.dumps(rows[name]), flush=True)
    body = format_section(label, rows, args.threads, args.batch_size)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("embed-sources", "Embedding source files: compile threads (CPU)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
