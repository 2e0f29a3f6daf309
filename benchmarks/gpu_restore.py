"""Rebuilds, here, what ``benchmarks/gpu_session.sh`` trained on the GPU machine, and registers it.

The session returns its run folders without checkpoints (``runs.tar.gz``), the base encoder's
weights as bfloat16 in parts (``base-encoder-bf16.partNN``: the device returns at most 64 MiB)
and each run's bench JSON. This script unpacks the runs into ``runs/pretrain/``, joins and widens the
base weights back to float32 (the package then says ``weights_transport: bfloat16`` in its
lineage), writes the BENCHMARKS.md sections, and registers each package as a new version in
an MLflow run of its own that carries the run's metric history.

    python benchmarks/gpu_restore.py /work/.device/<files_at> [--no-register]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_PARTS = "base-encoder-bf16.part"  # the one run whose weights travel apart (record-gpu-base*)


def returned_runs(returned: Path) -> list[str]:
    """The run folders in ``runs.tar.gz`` (``runs/pretrain/<name>/...``)."""
    with tarfile.open(returned / "runs.tar.gz") as archive:
        names = set()
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if member.isdir() and parts in (("runs",), ("runs", "pretrain")):
                continue
            if parts[:2] != ("runs", "pretrain") or ".." in parts or len(parts) < 3:
                raise SystemExit(f"unexpected member {member.name!r} in runs.tar.gz")
            names.add(parts[2])
    return sorted(names)


def unpack_runs(returned: Path, names: list[str]) -> None:
    with tarfile.open(returned / "runs.tar.gz") as archive:
        wanted = [m for m in archive.getmembers()
                  if Path(m.name).parts[2:3] and Path(m.name).parts[2] in names]
        archive.extractall(REPO_ROOT, members=wanted, filter="data")


def join_base_weights(returned: Path, name: str) -> Path | None:
    """bf16 parts -> float32 ``encoder.safetensors`` in the base run's package; the package's
    own file list (``encoder_config.json``) is brought up to date."""
    import torch
    from safetensors.torch import load, save_file

    from mirencoder.training.core.package import PACKAGE_FORMAT_VERSION
    from mirencoder.training.core.package_verify import CONFIG_FILE, package_file_hashes

    parts = sorted(returned.glob(BASE_PARTS + "*"))
    if not parts:
        return None
    state = load(b"".join(part.read_bytes() for part in parts))
    package = REPO_ROOT / "runs" / "pretrain" / name / "encoder"
    save_file({k: (v.to(torch.float32) if v.is_floating_point() else v)
               for k, v in state.items()}, str(package / "encoder.safetensors"),
              metadata={"format": "pt", "mirencoder_package": str(PACKAGE_FORMAT_VERSION)})
    lineage_file = package / "lineage.json"
    lineage = json.loads(lineage_file.read_text())
    lineage["weights_transport"] = "bfloat16 (returned from the GPU machine; widened here)"
    lineage_file.write_text(json.dumps(lineage, indent=2, sort_keys=True))
    config_file = package / CONFIG_FILE
    config = json.loads(config_file.read_text())
    # the list save_encoder_package writes: every file but the config itself
    config["files"] = {file: digest for file, digest in package_file_hashes(package).items()
                       if file != CONFIG_FILE}
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True))
    return package


def write_benchmarks(names: list[str]) -> None:
    for report in sorted((REPO_ROOT / "runs" / "pretrain" / name / "bench.json") for name in names):
        if not report.exists():
            continue
        subprocess.run([sys.executable, "-m", "benchmarks.bench_pretrain_gpu",
                        "--section-from", str(report)], cwd=REPO_ROOT, check=True)


def register(run_dir: Path) -> str:
    """A new MLflow run with the run's config, metric history and artifacts; then the package
    as a registered version of it."""
    import mlflow

    from mirencoder.infra.tracking import (
        ensure_experiment,
        resolve_tracking_uri,
        using_tracking_uri,
    )
    from mirencoder.training.registry.model_registry import register_encoder

    uri = resolve_tracking_uri(None)
    experiment_id = ensure_experiment("mirencoder-pretrain", uri)
    result = json.loads((run_dir / "result.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    tags = {"mirencoder.config_name": run_dir.name,
            "mirencoder.trained_on": "GPU machine (benchmarks/gpu_session.sh)"}
    with using_tracking_uri(uri), mlflow.start_run(experiment_id=experiment_id,
                                                   run_name=run_dir.name, tags=tags) as run:
        for row in rows:
            step = int(row["step"])
            mlflow.log_metrics({k: float(v) for k, v in row.items() if k != "step"}, step=step)
        for name in ("config.yaml", "metrics.jsonl", "loss_curves.png"):
            if (run_dir / name).exists():
                mlflow.log_artifact(str(run_dir / name))
        run_id = run.info.run_id
    version = register_encoder(run_dir / "encoder", run_id=run_id, tracking_uri=uri)
    result.update(mlflow_run_id=run_id, tracking_uri=uri,
                  registered_version=str(version.version),
                  output_dir=str(run_dir), package_dir=str(run_dir / "encoder"))
    (run_dir / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True))
    return str(version.version)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("returned", type=Path, help="the folder the device's files came to")
    parser.add_argument("--runs", nargs="+", default=None,
                        help="restore only these runs (default: every run returned)")
    parser.add_argument("--no-register", action="store_true")
    args = parser.parse_args()
    from from_source import ensure_package

    ensure_package()
    names = returned_runs(args.returned)
    unknown = sorted(set(args.runs or ()) - set(names))
    if unknown:
        raise SystemExit(f"not in runs.tar.gz: {', '.join(unknown)} (it holds {', '.join(names)})")
    names = args.runs or names
    unpack_runs(args.returned, names)
    for name in names:
        if name.startswith("record-gpu-base"):
            print(f"[gpu_restore] {name}: {join_base_weights(args.returned, name) or 'no weights'}")
    write_benchmarks(names)
    for name in names:
        run_dir = REPO_ROOT / "runs" / "pretrain" / name
        if not (run_dir / "encoder" / "encoder.safetensors").exists():
            print(f"[gpu_restore] {name}: no encoder package")
            continue
        if not args.no_register:
            print(f"[gpu_restore] {name}: registered version {register(run_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
