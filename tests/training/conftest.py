"""Fixtures of the training tests: a synthetic learnable dataset and small model overrides."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from mirencoder.training.core.data.stream import init_worker, worker_context

_FIXTURES = Path(__file__).resolve().with_name("fixtures.py")


def _load_fixtures():
    spec = importlib.util.spec_from_file_location("mirencoder_training_fixtures", _FIXTURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic = _load_fixtures()

# A model small enough for many steps on 2 CPU cores, same structure as tiny.
SMALL_MODEL = {"model.d_model": 64, "model.heads": 4, "model.ffn": 128, "model.layers": 2,
               "model.context_length": 64, "model.gnn_hidden": 64, "model.gnn_layers": 2,
               "model.fusion_dim": 64, "model.dropout": 0.0, "model.positions": "rotary"}


@pytest.fixture(scope="session")
def worker_loader():
    """``worker_loader(stream, workers)``: the pre-training loader's settings (``batch_size=None``,
    ``init_worker``, workers from the fork server as ``data.worker_start``'s default)."""

    def make(stream, workers: int) -> DataLoader:
        return DataLoader(stream, batch_size=None, num_workers=workers, worker_init_fn=init_worker,
                          multiprocessing_context=worker_context("forkserver") if workers else None)

    return make


@pytest.fixture(scope="session")
def small_model() -> dict:
    """Model-size overrides: the tiny structure at a size that trains fast on 2 cores."""
    return dict(SMALL_MODEL)


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A learnable dataset folder (4 train shards of 48, 1 validation, 1 test; no tokenizer)."""
    return synthetic.make_synthetic_dataset(tmp_path_factory.mktemp("synthetic") / "dataset")


@pytest.fixture()
def small_overrides(synthetic_dataset: Path, tmp_path: Path) -> dict:
    """Overrides for a fast run of the tiny config on the synthetic dataset (no MLflow)."""
    return {**SMALL_MODEL, "data.dataset_dir": str(synthetic_dataset), "data.batch_size": 8,
            "data.num_workers": 0, "data.shuffle_buffer": 32, "trainer.output_dir":
            str(tmp_path / "run"), "trainer.log_every": 1, "trainer.val_every_n_steps": 0,
            "optim.warmup_steps": 2, "tracking.enabled": False}
