"""Setting up a pre-training run: its folders, dataset facts, hashes and the resolved config."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ...infra.config import config_to_yaml
from ...infra.errors import ConfigError
from ...infra.files import write_text_atomic
from ...infra.tracking import code_version
from ..core.data.token_ids import TokenizerIds, tokenizer_ids_from_dataset
from .config import PretrainConfig, config_hash, learning_settings, load_pretrain_config
from .datamodule import dataset_name, load_dataset_index, load_mixed_datasets

__all__ = ["RunContext", "check_fresh", "first_process", "check_resumable", "describe_run",
           "setup_run", "save_run_package",
           "code_version", "default_output_dir", "learning_changes", "run_output_dir"]


def default_output_dir(config: PretrainConfig) -> Path:
    """``<repo>/runs/pretrain/<name>`` (the project's data folder)."""
    from ...infra.tracking import runs_dir

    return runs_dir() / "pretrain" / config.name


def run_output_dir(config: PretrainConfig) -> Path:
    """The run folder: ``trainer.output_dir`` (made absolute), else :func:`default_output_dir`."""
    if config.trainer.output_dir:
        return Path(config.trainer.output_dir).resolve()
    return default_output_dir(config)


def learning_changes(config: PretrainConfig, output_dir: Path) -> list[str] | None:
    """How the settings of what ``config`` learns differ from those the run in ``output_dir``
    saved (``"key: old -> new"``, empty when none), or None when it saved none this code can
    read (no ``config.yaml``, or one written by a version with other fields)."""
    saved = output_dir / "config.yaml"
    if not saved.is_file():
        return None
    try:
        before = learning_settings(load_pretrain_config(saved))
    except ConfigError:
        return None
    now = learning_settings(config)
    return [f"{key}: {before.get(key)!r} -> {now.get(key)!r}"
            for key in sorted(set(before) | set(now)) if before.get(key) != now.get(key)]


@dataclass(frozen=True, slots=True)
class RunContext:
    """Facts of one run, fixed before training starts (plain data: it crosses to Ray workers)."""

    output_dir: Path
    checkpoint_dir: Path
    package_dir: Path
    dataset_dir: Path
    dataset_index_sha256: str
    dataset_content_sha256: str
    dataset_name: str
    tokenizer_sha256: str
    node_vocab_sha256: str
    tokenizer_ids: TokenizerIds
    config_hash: str
    code_version: str
    mixed_datasets: tuple[dict, ...] = ()   # data.mix_dataset_dirs: name, dir and hashes each

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.ckpt"

    def lineage(self) -> dict:
        """The lineage every artifact of the run carries."""
        return {"dataset_index_sha256": self.dataset_index_sha256,
                "dataset_content_sha256": self.dataset_content_sha256,
                "dataset_name": self.dataset_name, "dataset_dir": str(self.dataset_dir),
                "tokenizer_sha256": self.tokenizer_sha256,
                "node_vocab_sha256": self.node_vocab_sha256, "config_hash": self.config_hash,
                "config_sha256": self.config_hash, "code_version": self.code_version,
                **({"mixed_datasets": list(self.mixed_datasets)} if self.mixed_datasets else {})}


def describe_run(config: PretrainConfig) -> RunContext:
    """The run's facts (folders, dataset hashes, vocabularies), read without writing anything.

    Raises:
        ConfigError: no dataset folder, or it is not a built dataset.
        FatalError: its tokenizer or node vocabulary differs from index.json.
    """
    from ...pipelines.dataset import content_sha256, index_sha256, verify_dataset_files

    if not config.data.dataset_dir:
        raise ConfigError("data.dataset_dir is not set (--set data.dataset_dir=DIR)")
    dataset_dir = Path(config.data.dataset_dir).resolve()
    index = load_dataset_index(dataset_dir)
    # The vocabularies are read here; the shards are checked by the data module.
    verify_dataset_files(dataset_dir, index, (), side_files=("tokenizer.json", "node_vocab.json"))
    ids = tokenizer_ids_from_dataset(dataset_dir, index)
    mixed = tuple({"dataset_name": dataset_name(folder, other),
                   "dataset_dir": str(folder), "dataset_index_sha256": index_sha256(folder),
                   "dataset_content_sha256": content_sha256(other)}
                  for folder, other in load_mixed_datasets(config.data, index))
    output_dir = run_output_dir(config)
    return RunContext(
        output_dir=output_dir, checkpoint_dir=output_dir / "checkpoints",
        package_dir=output_dir / "encoder",
        dataset_dir=dataset_dir, dataset_index_sha256=index_sha256(dataset_dir),
        dataset_content_sha256=content_sha256(index),
        dataset_name=dataset_name(dataset_dir, index),
        tokenizer_sha256=str(index.get("tokenizer_sha256", "")),
        node_vocab_sha256=str(index.get("node_vocab_sha256", "")), tokenizer_ids=ids,
        config_hash=config_hash(config), code_version=code_version(), mixed_datasets=mixed)


def check_resumable(config: PretrainConfig, run: RunContext) -> None:
    """Before ``--resume`` continues a run's checkpoint: the settings that decide what it learns
    (everything but where and how it executes, see :func:`config.config_hash`) must be the ones
    it started with, or the resumed run would be neither the old run nor the new one.

    Raises:
        ConfigError: naming each setting that differs, old and new value; or a last
            checkpoint that is not a whole file.
    """
    if run.last_checkpoint.exists() and not zipfile.is_zipfile(run.last_checkpoint):
        intact = sorted(p.name for p in run.checkpoint_dir.glob("step-*.ckpt")
                        if zipfile.is_zipfile(p))
        raise ConfigError(f"--resume: {run.last_checkpoint} is damaged (no zip index: copied or "
                          "written in part?); restore it"
                          + (f", copy the newest intact one ({intact[-1]}) over it" if intact
                             else "")
                          + ", or move it aside to start the run again from step 0")
    if not run.last_checkpoint.exists():
        return
    changed = learning_changes(config, run.output_dir)
    if changed is None:
        print(f"[pretrain] --resume: {run.output_dir / 'config.yaml'} is missing or written by "
              "another version of this code; resuming without comparing settings", flush=True)
    elif changed:
        raise ConfigError([f"--resume: {run.output_dir} started with other settings of what it "
                           "learns; resume with the same ones, or start another run "
                           "(trainer.output_dir) from its weights (init_from: "
                           f"{run.last_checkpoint})", *changed])


def check_fresh(run: RunContext) -> None:
    """Before a run without ``--resume`` starts at step 0: a run folder that already holds a
    run's checkpoints or finished result would be overwritten by it (a forgotten ``--resume``
    would throw away hours of training at the first checkpoint).

    Raises:
        ConfigError: naming what the folder holds and the ways on.
    """
    held = []
    result = run.output_dir / "result.json"
    if result.is_file():
        held.append(f"a run's result ({result.name})")
    checkpoints = sorted(p.name for p in run.checkpoint_dir.glob("*.ckpt"))
    if checkpoints:
        held.append(f"{len(checkpoints)} checkpoint(s): {', '.join(checkpoints[-3:])}")
    if held:
        raise ConfigError(f"{run.output_dir} already holds a run ({'; '.join(held)}); a new "
                          "run from step 0 would overwrite it: continue it with --resume, start "
                          "this one in another folder (--set name=OTHER or "
                          "trainer.output_dir=DIR), or move the folder aside")


def first_process() -> bool:
    """False in the processes Lightning's DDP launcher starts beside the first."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def setup_run(config: PretrainConfig, *, resume: bool = False, fresh_check: bool = False,
              run: RunContext | None = None) -> RunContext:
    """:func:`describe_run` (unless ``run`` is given: its result), then with ``resume``
    :func:`check_resumable`, without it and with ``fresh_check`` (the process that owns the
    run, :func:`first_process`) :func:`check_fresh`; then creates the run folder and saves the
    resolved config in it."""
    run = run if run is not None else describe_run(config)
    if resume:
        check_resumable(config, run)
    elif fresh_check:
        check_fresh(run)
    run.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    # Every DDP rank runs this; the content is identical, so an atomic replace is enough.
    write_text_atomic(run.output_dir / "config.yaml", config_to_yaml(config))
    return run


def save_run_package(config: PretrainConfig, run: RunContext, encoder, out_dir: Path, *,
                     steps: int, **lineage) -> Path:
    """Writes ``encoder`` as the run's package in ``out_dir``: the dataset's vocabularies and
    the run's lineage (its hashes, ``steps``, the config, plus ``lineage``)."""
    from ..core.package import save_encoder_package

    lineage = {**run.lineage(), "steps": steps, "config_name": config.name,
               "config": config.to_dict(), **lineage}
    return save_encoder_package(out_dir, encoder, config.model,
                                run.dataset_dir / "tokenizer.json",
                                run.dataset_dir / "node_vocab.json", lineage,
                                tokenizer_ids=run.tokenizer_ids)
