"""Embedding speed on the 669 DevMap IR files: the frozen encoder versus IR2Vec flow-aware.

Measured in one run, on CPU, on the same files:

* **MIREncoder** (``Embedder.embed_files``, batched): read ``.ll`` → normalise → token + graph
  views → collate → the encoder's inference path under ``inference_mode``; ms/file end to
  end (identical files, token windows and graphs encoded once, as ``embed_files`` does), the
  same with every file encoded (``deduplicate = False``), and that work split between view
  building and the network.
* the same end to end in **bfloat16** (``precision="bf16"``, opt-in), with how close its
  vectors are to the float32 ones;
* **IR2Vec** 2.1.1 flow-aware (``ir2vec.initEmbedding(path, "fa", "p").getProgramVector()``,
  300-d), in a worker subprocess because it exits the process on a parse error (the worker is
  restarted after the failing file); ms/file inside the worker. Its runs alternate with the
  float32 encoder's (``--repeats``, best of each reported, every run listed).
* **Cold start** of ``mirencoder embed ONE_FILE --model ...`` (a new process: imports, model
  load, one embedding, Parquet written), wall time.
* The model's **size on disk** (package folder, weights) and parameter count.

Usage::

    python benchmarks/bench_embed.py [--model models:/mirencoder@champion | PACKAGE_DIR]
        [--random-config tiny|champion] [--windows first|pool] [--limit N] [--batch-size 32]
        [--threads 1] [--no-write] [--report-dir .]

Without ``--model`` a randomly initialised package of ``--random-config``'s architecture
(default ``tiny``) is built and **labelled as such** (speed does not depend on the weights,
only on the architecture and the vocabularies). Writes the ``embed`` section of BENCHMARKS.md;
with ``--report-dir`` also the window policy's figures into that report's
``results/summary.json`` (section ``embedding_speed``, one entry per policy), where the
Targets table judges the speed target: the embedder's default policy faster per file than
IR2Vec flow-aware, every other policy measured shown beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEVMAP_ARCHIVE = REPO.parent / "shared" / "data" / "devmap" / "ir2vec-669" / "kernels_ir.tar.gz"

_IR2VEC_WORKER = r"""
import json, sys, time
import ir2vec
paths = [line.rstrip("\n") for line in sys.stdin]
for path in paths:
    start = time.perf_counter()
    vector = ir2vec.initEmbedding(path, "fa", "p").getProgramVector()
    elapsed = time.perf_counter() - start
    print(json.dumps({"path": path, "s": elapsed, "dim": len(vector)}), flush=True)
"""


def _extract(archive: Path, dest: Path) -> list[Path]:
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".ll")
                   and not Path(m.name).is_absolute() and ".." not in Path(m.name).parts]
        tar.extractall(dest, members=members, filter="data")
    return sorted(dest.rglob("*.ll"))


def _random_package(dest: Path, files: list[Path], config: str = "tiny") -> Path:
    from mirencoder.training.registry.random_package import random_encoder_package

    # Fit the vocabularies on every 10th file (a stand-in for a pre-training corpus).
    texts = [p.read_text(errors="replace") for p in files[::10]]
    return random_encoder_package(dest, texts, config=config, vocab_size=2048)


def _cpu_bf16() -> str:
    """The CPU's bf16 units as /proc/cpuinfo names them (empty: none, bf16 is emulated)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 2)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return ""
    return " ".join(f for f in flags.split() if f in ("avx512_bf16", "amx_bf16"))


def bench_encoder(model: str, files: list[Path], batch_size: int, repeats: int = 3,
                  between: Callable[[], None] | None = None, windows: str = "",
                  max_windows: int = 0) -> dict:
    import numpy as np

    from mirencoder.infra.errors import InputError
    from mirencoder.training.embedding.embedder import Embedder

    t0 = time.perf_counter()
    embedder = Embedder.from_uri(model, **({"windows": windows} if windows else {}))
    load_s = time.perf_counter() - t0
    windows = embedder.default_windows  # resolved: what every run below uses
    max_windows = max_windows or embedder.default_max_windows
    policy = {"windows": windows, "max_windows": max_windows}
    embedder.embed_files(files[:4], progress=False)  # warm-up: lazy imports, llvm-as probe

    totals = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = embedder.embed_files(files, batch_size=batch_size, progress=False)
        totals.append(time.perf_counter() - start)
        if between is not None:
            between()  # the peer's run, interleaved: both see the same machine state
    total_s = min(totals)
    # The same in bfloat16 (opt-in `precision="bf16"`), and how close its vectors are.
    fast = Embedder.from_uri(model, precision="bf16", **policy)
    fast.embed_files(files[:4], progress=False)
    bf16_totals = []
    for _ in range(repeats):
        start = time.perf_counter()
        bf16 = fast.embed_files(files, batch_size=batch_size, progress=False)
        bf16_totals.append(time.perf_counter() - start)
    both = result.ok & bf16.ok
    a, b = result.vectors[both], bf16.vectors[both]
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    relative = np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)
    del fast
    # The same without sharing work between identical programs, windows or graphs.
    embedder = Embedder.from_uri(model, deduplicate=False, **policy)
    embedder.embed_files(files[:4], progress=False)  # warm-up, as above
    start = time.perf_counter()
    embedder.embed_files(files, batch_size=batch_size, progress=False)
    every_s = time.perf_counter() - start

    # The same work (every file) split in two: building the views, then the network alone.
    records, prep_s = [], 0.0
    budget = (embedder.context_length - 1) * (1 if windows == "first" else max_windows) + 1
    for path in files:
        t = time.perf_counter()
        try:
            records.append(embedder.prepare_file(path, max_tokens=budget))
        except InputError:
            pass
        prep_s += time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, len(records), batch_size):
        embedder.encode_records(records[i:i + batch_size], windows=windows,
                                max_windows=max_windows)
    model_s = time.perf_counter() - t
    # Whole programs' token counts (not timed: the embedder tokenizes only what its window policy uses).
    tokens = [len(embedder.tokenizer.encode(r["text"])) for r in _texts(embedder, files)]
    nodes = [len(r["node_type"]) for r in records]
    distinct = _distinct_views(embedder, files, records)
    return {"files": len(files), "ok": int(result.ok.sum()), "failed": len(result.errors),
            "failures": sorted({f"{reason}" for reason, _ in result.errors.values()}),
            "dim": embedder.dim, "load_s": load_s, "total_s": total_s,
            "ms_per_file": 1000 * total_s / len(files),
            "runs_ms_per_file": [1000 * t / len(files) for t in totals],
            "bf16_ms_per_file": 1000 * min(bf16_totals) / len(files),
            "bf16_runs_ms_per_file": [1000 * t / len(files) for t in bf16_totals],
            "bf16_min_cosine": float(cosine.min()), "bf16_max_relative": float(relative.max()),
            "cpu_bf16": _cpu_bf16(),
            "every_ms_per_file": 1000 * every_s / len(files), **distinct,
            "prep_ms_per_file": 1000 * prep_s / len(files),
            "model_ms_per_file": 1000 * model_s / max(1, len(records)),
            "mean_tokens": float(np.mean(tokens)) if tokens else 0.0,
            "mean_nodes": float(np.mean(nodes)) if nodes else 0.0,
            "context_length": embedder.context_length,
            "windows": windows if windows == "first" else f"{windows}, up to {max_windows}",
            "policy": windows if windows == "first" else f"{windows}:{max_windows}",
            "num_parameters": int(sum(p.numel() for p in embedder.model.parameters())),
            "package_dir": str(embedder.package_dir)}


def _file_digest(path: Path) -> bytes:
    """Identity of a file's bytes (byte-identical files are one program)."""
    return hashlib.sha256(path.read_bytes()).digest()


def _texts(embedder, files: list[Path]) -> list[dict]:
    from mirencoder.infra.errors import InputError
    from mirencoder.pipelines.ir.normalize import normalize_ir

    texts = []
    for path in files:
        try:
            texts.append({"text": normalize_ir(path.read_bytes(), bitcode=False).text})
        except InputError:
            pass
    return texts


def _distinct_views(embedder, files: list[Path], records: list[dict]) -> dict:
    """How many distinct files, first token windows and graphs the inputs hold."""

    from mirencoder.training.core.data.collate import token_row
    from mirencoder.training.embedding.view_cache import array_digest, graph_digest

    windows = {array_digest(token_row(r, context_length=embedder.context_length,
                                      tokenizer_ids=embedder.tokenizer_ids)) for r in records}
    return {"distinct_files": len({_file_digest(p) for p in files}),
            "distinct_windows": len(windows),
            "distinct_graphs": len({graph_digest(r) for r in records})}


def best_ir2vec(runs: list[dict]) -> dict:
    """The best of IR2Vec flow-aware runs (as for the encoder), with every run's figure."""
    if not runs or not runs[0].get("available"):
        return runs[0] if runs else {"available": False, "error": "not run"}
        return runs[0]
    best = min(runs, key=lambda run: run["ms_per_file"])
    return {**best, "runs_ms_per_file": [run["ms_per_file"] for run in runs]}


def _ir2vec_once(files: list[Path], timeout_s: float = 900.0) -> dict:
    """IR2Vec flow-aware in a worker subprocess, restarted after a file that kills it."""
    remaining = [str(p) for p in files]
    times: dict[str, float] = {}
    failed: list[str] = []
    dims: set[int] = set()
    restarts = 0
    deadline = time.monotonic() + timeout_s
    start = time.perf_counter()
    while remaining and time.monotonic() < deadline:
        proc = subprocess.run([sys.executable, "-c", _IR2VEC_WORKER], input="\n".join(remaining),
                              capture_output=True, text=True,
                              timeout=max(1.0, deadline - time.monotonic()))
        done = set()
        for line in proc.stdout.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            times[row["path"]] = row["s"]
            dims.add(row["dim"])
            done.add(row["path"])
        remaining = [p for p in remaining if p not in done]
        if proc.returncode != 0 and remaining:
            if "No module named 'ir2vec'" in proc.stderr:
                return {"available": False, "error": "ir2vec is not installed "
                        "(pip install ir2vec==2.1.1)"}
            failed.append(remaining.pop(0))  # the file the worker died on
            restarts += 1
        elif proc.returncode == 0:
            break
    wall_s = time.perf_counter() - start
    ok = len(times)
    # The same if IR2Vec skipped byte-identical files (the encoder's first level of sharing).
    first_of: dict[bytes, float] = {}
    for path, seconds in times.items():
        first_of.setdefault(_file_digest(Path(path)), seconds)
    return {"available": True, "ok": ok, "failed": len(failed),
            "failed_files": [Path(p).name for p in failed], "restarts": restarts,
            "dim": sorted(dims), "ms_per_file": 1000 * sum(times.values()) / max(1, ok),
            "distinct_ms_per_file": 1000 * sum(first_of.values()) / max(1, ok),
            "wall_s": wall_s}


def bench_cold_start(model: str, one_file: Path, repeats: int = 3) -> dict:
    """Wall time of `mirencoder embed ONE_FILE` in a fresh process."""
    exe = Path(sys.executable).parent / "mirencoder"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mirencoder"]
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            out = Path(tmp) / f"e{i}.parquet"
            start = time.perf_counter()
            proc = subprocess.run(command + ["embed", str(one_file), "--model", model, "--out",
                                             str(out), "--no-progress"],
                                  capture_output=True, text=True, timeout=300)
            walls.append(time.perf_counter() - start)
            if proc.returncode != 0:
                return {"error": proc.stderr[-500:], "walls_s": walls}
    return {"walls_s": walls, "first_s": walls[0], "best_s": min(walls)}


def package_size(package_dir: Path) -> dict:
    files = {p.name: p.stat().st_size for p in package_dir.iterdir() if p.is_file()}
    return {"total_bytes": sum(files.values()), "files": files}


def _format(model_label: str, enc: dict, ir2: dict, cold: dict, size: dict, threads: int,
            batch_size: int) -> str:
    mib = size["total_bytes"] / 2**20
    lines = [
        f"Encoder: {model_label}; {enc['num_parameters']:,} parameters, D={enc['dim']}, "
        f"context {enc['context_length']} tokens, token windows: {enc['windows']}; torch threads: "
        f"{threads}; batch size {batch_size}. Inputs: the {enc['files']} DevMap IR files "
        "(`devmap/ir2vec-669/kernels_ir.tar.gz`, clang-era LLVM text IR), read from disk.",
        "",
        "| method | ok / failed | ms per file | notes |",
        "| --- | --- | --- | --- |",
        f"| MIREncoder (`Embedder.embed_files`, end to end) | {enc['ok']} / {enc['failed']} | "
        f"**{enc['ms_per_file']:.2f}** | each distinct file, token window(s) and graph encoded "
        f"once ({enc['distinct_files']} files, {enc['distinct_windows']} windows, "
        f"{enc['distinct_graphs']} graphs); mean {enc['mean_tokens']:.0f} tokens, "
        f"{enc['mean_nodes']:.0f} graph nodes per file; float32; runs: "
        + ", ".join(f"{v:.2f}" for v in enc["runs_ms_per_file"]) + " |",
        f"| MIREncoder, `precision=\"bf16\"` (opt-in) | {enc['ok']} / {enc['failed']} | "
        f"{enc['bf16_ms_per_file']:.2f} | the same in bfloat16 (CPU bf16 units: "
        f"{enc['cpu_bf16'] or 'none, emulated'}); vs float32: min cosine "
        f"{enc['bf16_min_cosine']:.6f}, max relative difference {enc['bf16_max_relative']:.4f}; "
        "runs: " + ", ".join(f"{v:.2f}" for v in enc["bf16_runs_ms_per_file"]) + " |",
        f"| MIREncoder, every file encoded (`deduplicate = False`) | {enc['ok']} / "
        f"{enc['failed']} | {enc['every_ms_per_file']:.2f} | apart, per file: views "
        f"{enc['prep_ms_per_file']:.2f} ms (`prepare_file`: the tokens its window policy uses) + network "
        f"{enc['model_ms_per_file']:.2f} ms (`encode_records`, batches of {batch_size}) |",
    ]
    if ir2.get("available"):
        lines.append(
            f"| IR2Vec 2.1.1 flow-aware (`initEmbedding(path, \"fa\", \"p\")`, subprocess) | "
            f"{ir2['ok']} / {ir2['failed']} | **{ir2['ms_per_file']:.2f}** | 300-d; runs: "
            + ", ".join(f"{v:.2f}" for v in ir2["runs_ms_per_file"]) + "; "
            f"{ir2['restarts']} worker restart(s) after a crash"
            + (f" on {', '.join(ir2['failed_files'])}" if ir2["failed_files"] else "") + " |")
        ratio = ir2["ms_per_file"] / enc["ms_per_file"] if enc["ms_per_file"] else float("nan")
        verdict = "faster" if ratio > 1 else "slower"
        bf16_ratio = ir2["ms_per_file"] / enc["bf16_ms_per_file"]
        lines += ["", f"MIREncoder (float32, the default) is **{ratio:.2f}x** IR2Vec's per-file "
                  f"speed ({verdict} than IR2Vec flow-aware; target: faster); in bfloat16 "
                  f"{bf16_ratio:.2f}x. Each figure is the best of its runs (listed); the float32 "
                  "and IR2Vec runs alternate, so both see the same machine state. Were IR2Vec "
                  f"also to skip byte-identical files ({enc['distinct_files']} distinct), its "
                  f"figure would be {ir2['distinct_ms_per_file']:.2f} ms/file and MIREncoder "
                  f"{ir2['distinct_ms_per_file'] / enc['ms_per_file']:.2f}x as fast (the "
                  "encoder also shares identical canonical texts, windows and graphs)."]
    else:
        lines.append(f"| IR2Vec flow-aware | - | - | {ir2.get('error')} |")
    if enc["failures"]:
        lines.append(f"\nMIREncoder failures by reason: {', '.join(enc['failures'])}.")
    cold_text = (f"{cold['first_s']:.2f} s (first run), best of {len(cold['walls_s'])}: "
                 f"{cold['best_s']:.2f} s" if "first_s" in cold else f"failed: {cold.get('error')}")
    lines += [
        "",
        "| quantity | value |",
        "| --- | --- |",
        f"| cold start: `mirencoder embed ONE.ll --model ...` (new process, wall) | {cold_text} |",
        f"| model load in-process (`Embedder.from_uri`) | {enc['load_s']:.2f} s |",
        f"| package size on disk | {mib:.2f} MiB ("
        + ", ".join(f"{name} {b / 2**20:.2f} MiB" for name, b in sorted(size["files"].items())
                    if b > 2**16) + ") |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None,
                        help="registry URI or package folder (default: a random tiny package)")
    parser.add_argument("--archive", type=Path, default=DEVMAP_ARCHIVE)
    parser.add_argument("--limit", type=int, default=0, help="first N files only (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=5,
                        help="end-to-end runs of each embedder, interleaved (best reported)")
    parser.add_argument("--windows", default="", choices=("", "auto", "first", "pool", "mean"),
                        help="token-window policy ('': the embedder's default; auto: the "
                        "package's training policy)")
    parser.add_argument("--max-windows", type=int, default=0, help="0: the package's own")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--random-config", default="tiny",
                        help="architecture of the random package built without --model "
                        "(a config under training/configs: tiny, champion, ...)")
    parser.add_argument("--label", default="",
                        help="how the report names --model (default: the URI or folder)")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="also publish this policy's figures into DIR/results/summary.json "
                        "(section embedding_speed) and re-render DIR/RESULTS.md")
    args = parser.parse_args(argv)
    if not args.archive.exists():
        print(f"bench_embed: {args.archive} not found (needs ../shared/data)", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        files = _extract(args.archive, Path(tmp) / "ir")
        if args.limit:
            files = files[: args.limit]
        if args.model:
            model, label = args.model, args.label or f"`{args.model}`"
        else:
            model = str(_random_package(Path(tmp) / "random-package", files, args.random_config))
            label = (f"**untrained random `{args.random_config}` package** (no --model given; "
                     "speed depends on the architecture, not the weights)")
        print(f"{len(files)} files; model {model}", flush=True)
        ir2_runs: list[dict] = []
        enc = bench_encoder(model, files, args.batch_size, repeats=args.repeats,
                            between=lambda: ir2_runs.append(_ir2vec_once(files)),
                            windows=args.windows, max_windows=args.max_windows)
        print(json.dumps({k: v for k, v in enc.items() if k != "failures"}, indent=1), flush=True)
        ir2 = best_ir2vec(ir2_runs)
        print(json.dumps(ir2, indent=1), flush=True)
        cold = bench_cold_start(model, files[0])
        print(json.dumps(cold), flush=True)
        size = package_size(Path(enc["package_dir"]))
        body = _format(label, enc, ir2, cold, size, args.threads, args.batch_size)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("embed", "Embedding speed: MIREncoder vs IR2Vec on DevMap IR (CPU)", body)
    if args.report_dir is not None:
        if not ir2.get("available"):
            print(f"bench_embed: IR2Vec did not run ({ir2.get('error')}): nothing to publish",
                  file=sys.stderr)
            return 1
        publish_speed(args.report_dir, speed_entry(enc, ir2, label.replace("*", "")))
    return 0


def speed_entry(enc: dict, ir2: dict, encoder: str) -> dict:
    """One window policy's figures for the report's ``embedding_speed`` section."""
    from benchmarks.report import machine_description
    from mirencoder.training.embedding.embed_config import EmbedConfig

    return {"policy": enc["policy"], "default": enc["policy"] == EmbedConfig().windows,
            "encoder_ms": enc["ms_per_file"], "ir2vec_fa_ms": ir2["ms_per_file"],
            "bf16_ms": enc["bf16_ms_per_file"], "files": enc["files"], "encoder": encoder,
            "machine": machine_description(),
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def publish_speed(report_dir: Path, entry: dict) -> None:
    """Merges ``entry`` into the report's ``embedding_speed`` section (the policy's earlier
    entry replaced) and re-renders RESULTS.md."""
    from mirencoder.training.evaluation.report_files import publish_section, recorded_section

    section = recorded_section(report_dir, "embedding_speed")
    policies = {**section.get("policies", {}), entry["policy"]: entry}
    publish_section(report_dir, "embedding_speed", {
        "policies": policies, "benchmark": "BENCHMARKS.md `embed` (benchmarks/bench_embed.py)"})


if __name__ == "__main__":
    sys.exit(main())
