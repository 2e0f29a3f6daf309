"""Shared fixtures: the real data folder, toolchain checks and a built demo dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
DEMO_CORPUS = REPO_ROOT / "datasets" / "demo-corpus"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/data/expected/ from this machine's builds")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden tests rewrite their expected files instead of comparing."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data of ../shared/data; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (see README: --data-dir)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def require_clang() -> str:
    """The clang used by the compile stage; skips when none is installed."""
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed (infra/bootstrap.sh installs it with apt)")
    return clang


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory, require_clang: str) -> Path:
    """The bundled demo corpus built once per test session with the demo-v1 recipe."""
    from mirencoder.pipelines.build import build_dataset
    from mirencoder.pipelines.config import load_recipe

    out = tmp_path_factory.mktemp("demo") / "dataset"
    build_dataset(load_recipe("demo-v1"), out, num_cpus=2, show_progress=False)
    return out


@pytest.fixture(scope="session")
def random_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One untrained tiny encoder package per session (vocabularies fitted on the demo IR)."""
    from mirencoder.training.registry.random_package import random_encoder_package

    path = tmp_path_factory.getbasetemp() / "shared-random-encoder-package"
    texts = [p.read_text() for p in sorted((DEMO_CORPUS / "ir").glob("*.ll"))]
    return random_encoder_package(path, texts, vocab_size=400)
