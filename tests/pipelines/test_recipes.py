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
