"""The evaluation recipes name the evaluation data once; a data folder rebases them."""

from __future__ import annotations

from pathlib import Path

from mirencoder.pipelines.recipes import (
    EVALUATION_RECIPES,
    default_data_dir,
    evaluation_input,
    evaluation_inputs,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_recipes_name_the_archives_under_the_shared_data():
    found = evaluation_inputs()
    assert [f.recipe for f in found] == list(EVALUATION_RECIPES)
    assert [f.corpus for f in found] == ["devmap-ir", "thread-coarsening-ir", "devmap-opencl"]
    assert default_data_dir() == (REPO_ROOT / ".." / "shared" / "data").resolve()
    assert [f.path.relative_to(default_data_dir()).as_posix() for f in found] == [
        "devmap/ir2vec-669/kernels_ir.tar.gz", "thread-coarsening/kernels_ir.tar.gz",
        "devmap/opencl-kernels.tar.bz2"]
    assert found[0].folder == default_data_dir() / "devmap" / "ir2vec-669"


def test_a_data_folder_rebases_the_shared_data_only(tmp_path: Path):
    assert [f.path for f in evaluation_inputs(tmp_path)] == [
        tmp_path / "devmap" / "ir2vec-669" / "kernels_ir.tar.gz",
        tmp_path / "thread-coarsening" / "kernels_ir.tar.gz",
        tmp_path / "devmap" / "opencl-kernels.tar.bz2"]
    elsewhere = tmp_path / "mine" / "kernels.tar"
    recipe = tmp_path / "own-v1.yaml"
    recipe.write_text(f"name: own-v1\ninputs:\n  - path: {elsewhere}\n    corpus: own\n")
    assert evaluation_input(str(recipe), tmp_path / "other").path == elsewhere


def test_a_data_folder_elsewhere_is_read_by_the_build(tmp_path, capsys):
    """README: the real data is read from ../shared/data or from --data-dir; `dataset build`
    had no --data-dir, so a recipe could only be built from ../shared/data."""
    from mirencoder.cli import main
    from mirencoder.pipelines.config import load_recipe
    from mirencoder.pipelines.recipes import default_data_dir, with_data_dir

    recipe = load_recipe("pretrain-variants-2cpu-v1")
    moved = with_data_dir(recipe, tmp_path)
    assert [spec.path for spec in moved.inputs] == [
        str(tmp_path / "corpus" / Path(spec.path).name) for spec in recipe.inputs]
    assert moved.evaluation_data_dir == str(tmp_path)
    assert with_data_dir(recipe, default_data_dir()) == recipe  # the build keeps its identity
    demo = load_recipe("demo-v1")  # inputs inside the repository stay where they are
    assert [s.path for s in with_data_dir(demo, tmp_path).inputs] == [s.path for s in demo.inputs]
    assert main(["dataset", "build", "--recipe", "pretrain-variants-2cpu-v1", "--out",
                 str(tmp_path / "ds"), "--data-dir", str(tmp_path), "--dry-run"]) == 0
    assert f"path: {tmp_path / 'corpus' / 'jotaibench.tar.bz2'}" in capsys.readouterr().out
    assert main(["dataset", "build", "--recipe", "demo-v1", "--out", str(tmp_path / "ds"),
                 "--data-dir", str(tmp_path / "missing")]) == 2
    assert "--data-dir" in capsys.readouterr().err and not (tmp_path / "ds").exists()
