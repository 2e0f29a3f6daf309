"""The dataset build: inputs -> IR + graph (the IR stage) -> global decisions -> vocabularies ->
token/graph shards (the shard stage) -> manifest and index.

Every unit of work writes its output under a final name only when it is complete (temp file,
then rename), so a killed build that is run again skips finished work and redoes the rest;
``index.json`` is written last and marks the dataset as complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..infra.config import refuse_unusable_outputs
from ..infra.errors import ConfigError
from ..infra.files import atomic_path, output_folder_problem, sha256_file
from .compile import CompileConfig, Toolchain
from .config import REPO_ROOT, BuildConfig, config_hash, config_to_dict
from .dataset import content_sha256
from .executor import StageExecutor
from .inputs import InputItem, discover_inputs, member_name
from .merge import Decision, decide
from .shards.schema import MANIFEST_SCHEMA, SCHEMA_VERSION, SPLITS
from .shards.writers import write_json_atomic
from .summary import build_counts, format_build_time, format_summary

__all__ = ["FORMAT_VERSION", "build_dataset"]

FORMAT_VERSION = 1
_META_COLUMNS = ["order", "input", "group", "opt_level", "path", "corpus", "language", "status",
                 "reason", "message", "ir_sha256", "num_instructions", "llvm_version", "flag_set"]

# One planned input: (item, include folders, its path inside its input: names its group).
Planned = tuple[InputItem, tuple[str, ...], str]


class _PhaseClock:
    """Wall seconds of each build phase, in the order they ran (``index.json``:
    ``build.phase_seconds``, ``[phase, seconds]`` pairs: the index's keys are sorted), so a
    slow build says where its time went."""

    def __init__(self) -> None:
        self.phases: list[list] = []
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases.append([phase, round(now - self._last, 2)])
        self._last = now


def _plan(config: BuildConfig, work: Path) -> list[Planned]:
    missing = [spec.path for spec in config.inputs if not spec.resolved_path().exists()]
    if missing:
        raise ConfigError([f"input not found: {path}" for path in missing])
    if not config.inputs:
        raise ConfigError("no inputs: give INPUT paths or a recipe with inputs")
    planned = []
    for spec in config.inputs:
        items = discover_inputs([spec.resolved_path()], work / "inputs", corpus=spec.corpus,
                                max_file_bytes=config.compile.max_file_bytes,
                                max_archive_bytes=config.archives.max_total_bytes,
                                max_archive_members=config.archives.max_members)
        include_dirs = tuple(str(Path(d) if Path(d).is_absolute() else REPO_ROOT / d)
                             for d in spec.include_dirs)
        root = spec.resolved_path()
        named = [(item, member_name(item, root)) for item in items]
        if spec.max_files is not None and len(named) > spec.max_files:
            lowest = sorted(range(len(named)), key=lambda i: hashlib.sha256(
                named[i][1].encode("utf-8", "surrogateescape")).hexdigest())[:spec.max_files]
            named = [named[i] for i in sorted(lowest)]
        planned += [(item, include_dirs, name) for item, name in named]
    return planned


def _plan_hash(config: BuildConfig, planned: Sequence[Planned], like: dict | None = None
               ) -> str:
    """The build's identity: its settings (``like``: as an older build stored them, see
    :func:`config_hash`) and every planned input."""
    digest = hashlib.sha256(config_hash(config, like).encode())
    for item, _, _ in planned:
        digest.update(f"\n{item.path}\t{item.language}\t{item.rejection}".encode(
            "utf-8", "surrogateescape"))
    return digest.hexdigest()


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuses to write into a non-empty folder that is not a build, unless told to.

    A folder holding only ``_work`` is a build stopped while it planned (extracting archives,
    before ``plan.json``): it is this command's own, and the build starts there again.
    """
    refuse_unusable_outputs(("--out", output_folder_problem(out_dir)))
    if not out_dir.exists() or (out_dir / "_work" / "plan.json").exists():
        return
    if any(child.name != "_work" for child in out_dir.iterdir()):
        if not overwrite:
            raise ConfigError(f"{out_dir} is not empty and holds no build; choose another --out "
                              "or pass --overwrite")
        shutil.rmtree(out_dir)


def _stored_config(out_dir: Path) -> dict | None:
    """The settings a build in ``out_dir`` recorded (plan.json, else index.json), or None."""
    for path in (out_dir / "_work" / "plan.json", out_dir / "index.json"):
        if path.exists():
            stored = json.loads(path.read_text()).get("config")
            if isinstance(stored, dict):
                return stored
    return None


def _check_plan(out_dir: Path, plan_hash: str, config: BuildConfig,
                planned: Sequence[Planned], overwrite: bool) -> bool:
    """True when the folder holds (part of) a build of this very plan (``plan_hash``), also
    when an older version made it before settings that now stand at their defaults existed."""
    plan_file = out_dir / "_work" / "plan.json"
    if not plan_file.exists():
        return False
    stored_hash = json.loads(plan_file.read_text())["plan_hash"]
    if stored_hash == plan_hash:
        return True
    stored = _stored_config(out_dir)
    if stored is not None and stored_hash == _plan_hash(config, planned, like=stored):
        print(f"[build] {out_dir}: made before some settings existed; they stand at their "
              "defaults, so the build is the same")
        return True
    if not overwrite:
        raise ConfigError(f"{out_dir} holds a build of other inputs or settings; pass "
                          "--overwrite to replace it, or choose another --out")
    for child in out_dir.iterdir():
        if child.name != "_work":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for child in (out_dir / "_work").iterdir():
        if child.name != "inputs":  # extracted archives stay valid: they are keyed by content
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    return False


def _run_ir_phase(executor: StageExecutor, planned: Sequence[Planned],
                  compile_config: CompileConfig, parts_dir: Path,
                  per_task: int, desc: str, show_progress: bool) -> tuple[list[Path], list[str]]:
    """Compiles every variant of the planned inputs, ``per_task`` inputs per IR-stage task.

    Variant orders run input by input, variant by variant (:meth:`CompileConfig.variants`), so
    the variants of an input are consecutive rows of one IR part (and one per input in a build
    with one level and one compiler).
    """
    from .stages.ir_stage import IRStage, IRTask, PlannedInput, input_variants

    variants = compile_config.variants()
    inputs, order = [], 0
    for index, (item, dirs, name) in enumerate(planned):
        inputs.append(PlannedInput(order, index, item, dirs, name))
        order += len(input_variants(item, variants))
    parts_dir.mkdir(parents=True, exist_ok=True)
    tasks, parts = [], []
    for task, start in enumerate(range(0, len(inputs), per_task)):
        part = parts_dir / f"part-{task:05d}.parquet"
        parts.append(part)
        if part.exists():
            continue
        chunk = tuple(inputs[start:start + per_task])
        tasks.append(IRTask(str(part), chunk, sum(len(input_variants(entry.item, variants))
                                                   for entry in chunk)))
    done = order - sum(task.weight for task in tasks)
    if done and show_progress:
        print(f"[build] {desc}: {done} variants already done by an earlier run, skipped")
    outcomes = executor.run(IRStage(compile_config), tasks, desc=desc)
    return parts, sorted({outcome.node_id for outcome in outcomes})


def _read_meta(parts: list[Path]) -> list[dict]:
    """Every variant's metadata, with ``part``: the index of the IR part that holds it."""
    meta = []
    for index, part in enumerate(parts):
        parquet = pq.ParquetFile(part)  # older parts lack the newer columns
        rows = parquet.read(columns=[c for c in _META_COLUMNS
                                     if c in parquet.schema_arrow.names]).to_pylist()
        meta += [{"flag_set": None, **row, "part": index} for row in rows]
    return meta


def _evaluation_cache_key(config: BuildConfig, toolchain: Toolchain, sources: list) -> str:
    """Names the evaluation hashes: same data, flags, toolchain, front end and normaliser give
    the same."""
    from .frontend import loader
    from .ir import normalize

    digest = hashlib.sha256(json.dumps(config_to_dict(config.compile), sort_keys=True).encode())
    digest.update(f"{toolchain.clang_version}|{toolchain.llvm_version}|{_llvmlite_version()}"
                  .encode())
    for module in (loader, normalize):
        digest.update(Path(module.__file__).read_bytes())
    for path, _ in sources:
        digest.update(f"|{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:32]


def _evaluation_hashes(executor: StageExecutor, config: BuildConfig, toolchain: Toolchain,
                       work: Path,
                       show_progress: bool) -> tuple[dict, dict]:
    """Normalised-IR hashes of the evaluation kernels.

    The kernels are the inputs of the evaluation recipes (:mod:`.recipes`: ready IR, and the
    DevMap OpenCL sources compiled with the build's own flags), under the build's evaluation
    data folder. Computed by the IR stage once, then cached under
    ``runs/cache/evaluation-ir/`` (keyed by data, compile flags, toolchain and normaliser),
    so later builds reuse them.
    """
    from .recipes import evaluation_inputs

    data = config.evaluation_data_path()
    sources = [(found.path, found.corpus) for found in evaluation_inputs(data)
               if found.path.exists()]
    if not sources:
        return {}, {"applied": False, "reason": f"evaluation data not found under {data}"}
    cache = REPO_ROOT / "runs" / "cache" / "evaluation-ir" / (
        _evaluation_cache_key(config, toolchain, sources) + ".json")
    if cache.exists():
        cached = json.loads(cache.read_text())
        return cached["hashes"], cached["info"]
    planned = []
    for path, corpus in sources:
        planned += [(item, (), member_name(item, path)) for item in discover_inputs(
            [path], work / "eval-inputs", corpus=corpus,
            max_file_bytes=config.compile.max_file_bytes)]
    parts, _ = _run_ir_phase(executor, planned, config.compile, work / "exclusion", 64,
                             "evaluation kernels", show_progress)
    hashes = {row["ir_sha256"]: row["path"].split("!", 1)[-1] for row in _read_meta(parts)
              if row["status"] == "ok"}
    info = {"applied": True, "kernels": len(planned), "distinct_ir": len(hashes),
            "opt_levels": list(config.compile.levels()),
            "sources": [str(path) for path, _ in sources]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(cache, {"hashes": hashes, "info": info})
    return hashes, info


VOCAB_FILES = ("tokenizer.json", "node_vocab.json")


def _check_vocab_source(config: BuildConfig, out_dir: Path) -> None:
    """Fails before any work when ``vocab.from_dataset`` lacks a vocabulary file or is the
    output folder itself."""
    source = config.vocab.source_dataset()
    if source is None:
        return
    missing = [name for name in VOCAB_FILES if not (source / name).is_file()]
    if missing:
        raise ConfigError(f"vocab.from_dataset: {source} has no {' or '.join(missing)}; point "
                          "it at a finished dataset build (its folder holds both files)")
    if source.resolve() == out_dir:
        raise ConfigError("vocab.from_dataset names the output folder itself")


def _build_vocabularies(config: BuildConfig, out_dir: Path, parts: list[Path],
                        decisions: dict[int, Decision]) -> None:
    """Trains the tokenizer and the node-text vocabulary on the train split (deterministic), or
    copies those of ``vocab.from_dataset``."""
    from .ir.node_vocab import NodeTextVocabulary
    from .ir.tokenizer import IRTokenizer

    source = config.vocab.source_dataset()
    if source is not None:
        for name in VOCAB_FILES:
            shutil.copyfile(source / name, out_dir / name)
        return
    kept = {o for o, d in decisions.items() if d.status == "ok"}
    train = {o for o in kept if decisions[o].split == "train"} or kept
    texts: list[tuple[str, str]] = []
    node_counts: Counter[str] = Counter()
    for part in parts:
        table = pq.read_table(part, columns=["order", "ir_sha256", "ir_text", "node_texts"])
        orders = table.column("order").to_pylist()
        wanted = [i for i, order in enumerate(orders) if order in train]
        if not wanted:
            continue
        chosen = table.take(wanted)
        for digest, text in zip(chosen.column("ir_sha256").to_pylist(),
                                chosen.column("ir_text").to_pylist(), strict=True):
            texts.append((digest, text))
        for node_texts in chosen.column("node_texts").to_pylist():
            node_counts.update(node_texts)
    # The hash order is a fixed pseudo-random order: the sample is the same in every build.
    texts.sort()
    sample = [text for _, text in texts[: config.vocab.tokenizer_max_programs]]
    tokenizer = IRTokenizer.train(sample, vocab_size=config.vocab.tokenizer_vocab_size)
    tokenizer.save(out_dir / "tokenizer.json")
    vocab = NodeTextVocabulary.build(node_counts, max_size=config.vocab.node_vocab_max_size,
                                     min_count=config.vocab.node_vocab_min_count)
    vocab.save(out_dir / "node_vocab.json")


def _version_key(version: str) -> tuple[int, ...]:
    """``"19.1.7"`` -> ``(19, 1, 7)`` (non-numeric parts count as 0)."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _apply_newer_ir(meta: list[dict], policy: str, pinned: str) -> dict:
    """Applies the recipe's ``newer_ir`` policy to the variants whose input IR comes from an
    LLVM newer than the pinned clang (``warn``: a message on the row; ``reject``: failed,
    reason ``newer_ir``), in place; returns the index's ``llvm_versions`` summary."""
    from .frontend.ir_version import version_major

    pinned_major = version_major(pinned) or 0
    per_version: Counter[str] = Counter()
    newer = 0
    for row in meta:
        version = row.get("llvm_version")
        per_version[version or "unknown"] += 1
        major = version_major(version)
        if major is None or major <= pinned_major or row["status"] != "ok":
            continue
        newer += 1
        how = " (a lower bound read from its syntax)" if version.startswith(">=") else ""
        note = f"IR from LLVM {version}{how}, newer than the pinned clang {pinned}"
        if policy == "reject":
            row.update(status="failed", reason="newer_ir", message=f"{note} (newer_ir: reject)")
        elif policy == "warn":
            row["message"] = f"{note} (accepted, newer_ir: warn)"
    return {"pinned": pinned, "policy": policy, "newer": newer,
            "per_version": dict(sorted(per_version.items()))}


def _remove_extracted(work: Path) -> None:
    """Removes the archives' extracted members once the build is done (a rerun of the same
    build extracts them again to plan; a build of other inputs re-extracts anyway)."""
    for folder in (work / "inputs" / "extracted", work / "eval-inputs" / "extracted"):
        shutil.rmtree(folder, ignore_errors=True)


def _write_manifest(out_dir: Path, meta: list[dict], decisions: dict[int, Decision]) -> None:
    rows = []
    for row in sorted(meta, key=lambda r: r["order"]):
        decision = decisions[row["order"]]
        rows.append({"path": row["path"], "corpus": row["corpus"], "language": row["language"],
                     "status": decision.status, "reason": decision.reason,
                     "message": decision.message, "ir_sha256": row["ir_sha256"],
                     "key": decision.key, "group": row["group"],
                     "opt_level": row["opt_level"], "llvm_version": row.get("llvm_version"),
                     "flag_set": row.get("flag_set")})
    table = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
    with atomic_path(out_dir / "manifest.parquet") as tmp:
        pq.write_table(table, tmp)


def build_dataset(config: BuildConfig, out_dir: Path, *, address: str | None = None,
                  num_cpus: int | None = None, overwrite: bool = False,
                  show_progress: bool = True) -> dict:
    """Builds (or resumes, or confirms) a dataset and returns its index.

    Args:
        config: the resolved build configuration (recipe plus overrides plus CLI inputs).
        out_dir: the dataset folder; ``index.json`` in it marks a finished build.
        address: a Ray cluster address; None starts an embedded local Ray (or uses
            ``RAY_ADDRESS``, as under ``ray job submit``).
        num_cpus: CPUs of the embedded local Ray (default: all).
        overwrite: replace a folder that holds a build of other inputs or settings.
        show_progress: progress bars and the summary table on stdout.

    Raises:
        ConfigError: missing inputs, or an output folder holding another build.
        FatalError: no usable clang toolchain.
    """
    from ..infra.ray_runtime import check_cluster, ray_session

    started, clock = time.perf_counter(), _PhaseClock()
    out_dir = Path(out_dir).resolve()
    work = out_dir / "_work"
    _check_vocab_source(config, out_dir)
    check_cluster(address)  # fail fast, before any work (Ray would retry a dead one)
    toolchain = Toolchain.probe(config.compile)  # fail fast, before any distributed work
    compilers = [Toolchain.probe(config.compile.at_variant(config.compile.levels()[0], clang))
                 for clang in config.compile.compilers]
    newest = max([toolchain, *compilers], key=lambda t: _version_key(t.clang_version))
    _prepare_out_dir(out_dir, overwrite)
    work.mkdir(parents=True, exist_ok=True)
    planned = _plan(config, work)
    plan_hash = _plan_hash(config, planned)
    resumed = _check_plan(out_dir, plan_hash, config, planned, overwrite)
    if resumed and (out_dir / "index.json").exists():
        index = json.loads((out_dir / "index.json").read_text())
        _remove_extracted(work)
        if show_progress:
            print(f"[build] {out_dir} is already complete (plan {plan_hash[:12]})")
            print(format_summary(index["counts"]))
        return index
    write_json_atomic(work / "plan.json", {"plan_hash": plan_hash, "inputs": len(planned),
                                           "config_hash": config_hash(config),
                                           "config": config_to_dict(config)})
    if show_progress:
        print(f"[build] {config.name}: {len(planned)} inputs -> {out_dir}")
    clock.lap("plan")

    with (ray_session(address, num_cpus) as ray_info,
          StageExecutor(show_progress=show_progress) as executor):
        clock.lap("ray start")
        parts, nodes = _run_ir_phase(executor, planned, config.compile, work / "ir",
                                     config.shards.inputs_per_task, "compile + views",
                                     show_progress)
        ray_info["nodes_used"] = nodes
        clock.lap("compile + views")
        excluded, exclusion = ({}, {"applied": False, "reason": "disabled by the recipe"})
        if config.exclude_evaluation_kernels:
            excluded, exclusion = _evaluation_hashes(executor, config, toolchain, work,
                                                     show_progress)
            if not exclusion["applied"] and show_progress:
                print(f"[build] warning: evaluation kernels not excluded: {exclusion['reason']}")
            clock.lap("evaluation kernels")
        meta = _read_meta(parts)
        llvm_versions = _apply_newer_ir(meta, config.newer_ir, newest.clang_version)
        if llvm_versions["newer"] and config.newer_ir != "accept":
            print(f"[build] warning: {llvm_versions['newer']} variants hold IR from an LLVM "
                  f"newer than the pinned clang {newest.clang_version} "
                  f"({'rejected' if config.newer_ir == 'reject' else 'accepted'}, newer_ir: "
                  f"{config.newer_ir}; see the manifest's llvm_version)", file=sys.stderr)
        # Variant builds split by source group; one-level builds keep the split by IR.
        decisions = decide(meta, excluded, config.split,
                           split_by_group=len(config.compile.variants()) > 1)
        if not any(d.status == "ok" for d in decisions.values()):
            raise ConfigError("no input produced usable IR; see the reasons with "
                              f"`mirencoder dataset inspect {out_dir}` once written")
        clock.lap("decisions")
        vocab_marker = work / "vocab.json"
        if not (vocab_marker.exists()
                and json.loads(vocab_marker.read_text()).get("plan_hash") == plan_hash):
            if show_progress:
                source = config.vocab.source_dataset()
                print("[build] training the tokenizer and the node-text vocabulary"
                      if source is None else f"[build] copying the vocabularies of {source}")
            _build_vocabularies(config, out_dir, parts, decisions)
            write_json_atomic(vocab_marker, {"plan_hash": plan_hash})
        clock.lap("vocabularies")
        results = _run_shard_phase(executor, config, out_dir, parts, meta, decisions)
        clock.lap("shards")
    clock.lap("ray stop")

    _write_manifest(out_dir, meta, decisions)
    clock.lap("manifest")
    index = _write_index(config, out_dir, toolchain, compilers, plan_hash, meta, decisions, results,
                         exclusion, ray_info, time.perf_counter() - started, llvm_versions,
                         clock.phases)
    _remove_extracted(work)
    if show_progress:
        print(format_summary(index["counts"]))
        print(f"[build] done, {format_build_time(index['build'])}: {out_dir}")
    return index


def _run_shard_phase(executor: StageExecutor, config: BuildConfig, out_dir: Path,
                     parts: list[Path], meta: list[dict], decisions: dict[int, Decision]
                     ) -> list[dict]:
    """Writes the shards of the kept records, ``tasks_per_shard_task`` IR parts per task;
    tasks whose marker exists are read back, not run again."""
    from .stages.ir_stage import IRStage
    from .stages.shard_stage import ShardStage, ShardTask, shard_marker

    ShardStage.check_follows(IRStage)
    group = config.shards.tasks_per_shard_task
    part_of = {row["order"]: row["part"] for row in meta}
    kept_all = {o: (d.key, d.split) for o, d in decisions.items() if d.status == "ok"}
    (out_dir / "_work" / "shards").mkdir(parents=True, exist_ok=True)
    tasks, results = [], []
    for task, start in enumerate(range(0, len(parts), group)):
        marker = shard_marker(out_dir, task)
        if marker.exists():
            results.append(json.loads(marker.read_text()))
            continue
        kept = {o: v for o, v in kept_all.items() if start <= part_of[o] < start + group}
        tasks.append(ShardTask(task, tuple(str(p) for p in parts[start:start + group]), kept))
    outcomes = executor.run(ShardStage(out_dir, config.shards), tasks, desc="shards")
    results += [outcome.result for outcome in outcomes]
    return sorted(results, key=lambda r: r["task"])


def _write_index(config: BuildConfig, out_dir: Path, toolchain: Toolchain,
                 compilers: list[Toolchain], plan_hash: str,
                 meta: list[dict], decisions: dict[int, Decision], results: list[dict],
                 exclusion: dict, ray_info: dict, wall_seconds: float,
                 llvm_versions: dict, phase_seconds: list[list]) -> dict:
    from .ir.node_vocab import NodeTextVocabulary
    from .ir.tokenizer import IRTokenizer

    tokenizer = IRTokenizer.load(out_dir / "tokenizer.json")
    node_vocab = NodeTextVocabulary.load(out_dir / "node_vocab.json")
    splits = {split: {"records": 0, "parquet": [], "wds": []} for split in SPLITS}
    for result in results:
        for split in SPLITS:
            splits[split]["records"] += result["records"][split]
            for fmt in ("parquet", "wds"):
                splits[split][fmt] += result["shards"][split][fmt]
    index = {
        "format_version": FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "recipe": config.name,
        "config": config_to_dict(config),
        "config_hash": config_hash(config),
        "plan_hash": plan_hash,
        "toolchain": {"clang": toolchain.clang_version, "llvm": toolchain.llvm_version,
                      "llvmlite_llvm": _llvmlite_version(),
                      **({"compilers": {name: t.clang_version for name, t in
                                        zip(config.compile.compilers, compilers, strict=True)}}
                         if compilers else {})},
        "tokenizer_sha256": tokenizer.sha256,
        "vocab_size": tokenizer.vocab_size,
        "node_vocab_sha256": node_vocab.sha256,
        "node_vocab_size": len(node_vocab),
        "counts": build_counts(meta, decisions),
        "llvm_versions": llvm_versions,
        "manifest_sha256": sha256_file(out_dir / "manifest.parquet"),
        "exclusion": exclusion,
        "splits": splits,
        "build": {"wall_seconds": round(wall_seconds, 2), "phase_seconds": phase_seconds,
                  "ray": ray_info},
    }
    index["content_sha256"] = content_sha256(index)
    write_json_atomic(out_dir / "index.json", index)
    return index


def _llvmlite_version() -> str:
    import llvmlite.binding as llvm

    return ".".join(str(part) for part in llvm.llvm_version_info)
