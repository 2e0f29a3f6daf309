"""benchmarks/gpu_restore.py on what benchmarks/gpu_session.sh returns: a run folder without
the base weights (runs.tar.gz) and those weights as bfloat16 parts; benchmarks/from_source.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

REPO_ROOT = Path(__file__).resolve().parents[1]


def _gpu_restore(repo: Path):
    spec = importlib.util.spec_from_file_location("gpu_restore_under_test",
                                                  REPO_ROOT / "benchmarks" / "gpu_restore.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.REPO_ROOT = repo  # unpack into a scratch repository
    return module


def _returned(tmp_path: Path, package: Path, name: str) -> tuple[Path, dict]:
    """The device's $OUT for one run, packed as gpu_session.sh packs it."""
    work = tmp_path / "device"
    run = work / "runs" / "pretrain" / name
    shutil.copytree(package, run / "encoder")
    (run / "result.json").write_text(json.dumps({"final_step": 3}))
    weights = load_file(run / "encoder" / "encoder.safetensors")
    save_file({k: v.to(torch.bfloat16) if v.is_floating_point() else v
               for k, v in weights.items()}, str(work / "bf16.safetensors"))
    (run / "encoder" / "encoder.safetensors").unlink()
    out = tmp_path / "out"
    out.mkdir()
    data = (work / "bf16.safetensors").read_bytes()
    third = len(data) // 3 + 1
    for i in range(3):  # split -b ... -d: part00, part01, part02
        (out / f"base-encoder-bf16.part{i:02d}").write_bytes(data[i * third:(i + 1) * third])
    with tarfile.open(out / "runs.tar.gz", "w:gz") as archive:
        archive.add(work / "runs", arcname="runs")
    return out, weights


def test_base_weights_come_back_widened_and_the_package_verifies(tmp_path, random_package):
    from mirencoder.training.core.package import load_encoder_package

    out, original = _returned(tmp_path, random_package, "record-gpu-base")
    restore = _gpu_restore(tmp_path / "repo")
    names = restore.returned_runs(out)
    assert names == ["record-gpu-base"]
    restore.unpack_runs(out, names)
    package = restore.join_base_weights(out, "record-gpu-base")
    restored = load_file(package / "encoder.safetensors")
    assert set(restored) == set(original)
    for key, value in original.items():
        assert restored[key].dtype == value.dtype
        torch.testing.assert_close(restored[key], value, rtol=1e-2, atol=1e-2)  # bf16 rounding
    lineage = json.loads((package / "lineage.json").read_text())
    assert lineage["weights_transport"].startswith("bfloat16")
    with pytest.warns(UserWarning, match="not verified against an outside reference"):
        load_encoder_package(package)  # the package's own file list matches its files


def test_an_archive_with_members_outside_the_run_folders_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stray = tmp_path / "stray.txt"
    stray.write_text("x")
    with tarfile.open(out / "runs.tar.gz", "w:gz") as archive:
        archive.add(stray, arcname="etc/stray.txt")
    with pytest.raises(SystemExit, match="unexpected member 'etc/stray.txt'"):
        _gpu_restore(tmp_path / "repo").returned_runs(out)


def test_from_source_maps_the_top_level_folders_like_the_installed_package(tmp_path):
    """Without site-packages (no installed mirencoder), the source tree serves mirencoder.*."""
    import subprocess
    import sys

    code = ("import runpy, sys; runpy.run_path(sys.argv[1])['ensure_package'](); "
            "import mirencoder.infra.errors as e, mirencoder.training as t; "
            "print(e.__file__); print(t.__file__)")
    out = subprocess.run([sys.executable, "-S", "-c", code,
                          str(REPO_ROOT / "benchmarks" / "from_source.py")], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(REPO_ROOT / "infra" / "errors.py"),
                   str(REPO_ROOT / "training" / "__init__.py")]
