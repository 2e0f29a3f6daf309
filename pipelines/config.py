"""Typed configuration of a dataset build, loaded from a ``datasets/*.yaml`` recipe.

The dataclasses and the recipe lookup by name live here; the merge (dataclass defaults, then
the recipe YAML, then ``--set section.key=value`` overrides) is the shared engine of
:mod:`mirencoder.infra.config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..infra.config import config_to_dict, load_config
from ..infra.errors import ConfigError
from ..infra.files import sha256_json
from .compile import CompileConfig
from .inputs import MAX_ARCHIVE_BYTES, MAX_ARCHIVE_MEMBERS

__all__ = [
    "REPO_ROOT", "InputSpec", "ShardConfig", "SplitConfig", "VocabularyConfig", "ArchiveConfig",
    "NEWER_IR_POLICIES", "BuildConfig",
    "recipe_path", "load_recipe", "config_to_dict", "config_hash",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(kw_only=True, slots=True)
class InputSpec:
    """One input of a recipe: a folder, a file or an archive (a bare string is its path)."""

    _scalar_field: ClassVar[str] = "path"
    path: str
    """Path; relative paths are resolved against the repository root."""
    corpus: str | None = None
    """Corpus label in the manifest and summaries (default: the folder or archive stem)."""
    include_dirs: list[str] = field(default_factory=list)
    """Extra ``-I`` folders (relative paths: against the repository root). The folder of each
    source file is always on the include path."""
    max_files: int | None = None
    """Keep at most this many program files of this input: those whose path inside the input
    has the lowest sha256, so the sample is the same in every build (None: all of them)."""

    def __post_init__(self) -> None:
        if self.max_files is not None and self.max_files < 1:
            raise ConfigError(f"inputs: max_files must be >= 1, got {self.max_files}")

    def resolved_path(self) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path)


@dataclass(kw_only=True, slots=True)
class SplitConfig:
    """Deterministic train/validation/test split by normalised-IR hash."""

    validation_fraction: float = 0.05
    """Share of the programs in the validation split."""
    test_fraction: float = 0.05
    """Share of the programs in the test split."""

    def __post_init__(self) -> None:
        if not (0 <= self.validation_fraction < 1 and 0 <= self.test_fraction < 1
                and self.validation_fraction + self.test_fraction < 1):
            raise ConfigError("split fractions must be in [0, 1) and sum to less than 1")


@dataclass(kw_only=True, slots=True)
class VocabularyConfig:
    """The token view's tokenizer and the graph view's node-text vocabulary."""

    tokenizer_vocab_size: int = 8192
    """BPE vocabulary size, special tokens included."""
    tokenizer_max_programs: int = 20000
    """Train-split programs (chosen by hash, deterministic) the tokenizer is trained on."""
    node_vocab_max_size: int = 4096
    """Node texts kept (most frequent first); the rest map to [UNK]."""
    node_vocab_min_count: int = 1
    """Node texts seen fewer times in the train split map to [UNK]."""
    from_dataset: str | None = None
    """A built dataset whose ``tokenizer.json`` and ``node_vocab.json`` this build copies instead
    of training its own (the options above are then unused), so that an encoder trained on that
    dataset can continue pre-training on this one (``init_from`` in the pre-training config).
    Relative paths: against the repository root."""

    def __post_init__(self) -> None:
        problems = []
        if self.tokenizer_vocab_size < 64:
            problems.append("vocab.tokenizer_vocab_size must be >= 64")
        if self.tokenizer_max_programs < 1:
            problems.append("vocab.tokenizer_max_programs must be >= 1")
        if self.node_vocab_max_size < 4:
            problems.append("vocab.node_vocab_max_size must be >= 4")
        if problems:
            raise ConfigError(problems)

    def source_dataset(self) -> Path | None:
        """The folder named by ``from_dataset``, resolved, or None."""
        if self.from_dataset is None:
            return None
        path = Path(self.from_dataset).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path)


@dataclass(kw_only=True, slots=True)
class ShardConfig:
    """Shard sizes and the size of one unit of distributed work."""

    max_records: int = 5000
    """A shard closes after this many records."""
    max_bytes: int = 64 * 2**20
    """A shard closes once it reaches this many bytes (WebDataset tar / Parquet file)."""
    inputs_per_task: int = 128
    """Inputs handled by one compile task (the unit of resumption)."""
    tasks_per_shard_task: int = 8
    """Compile tasks whose records one shard-writing task packs together."""
    write_bitcode: bool = True
    """Keep the canonical bitcode in the Parquet rows."""

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.max_bytes < 1024:
            raise ConfigError("shards.max_records must be >= 1 and shards.max_bytes >= 1024")
        if self.inputs_per_task < 1 or self.tasks_per_shard_task < 1:
            raise ConfigError("shards.inputs_per_task and shards.tasks_per_shard_task must be >= 1")


@dataclass(kw_only=True, slots=True)
class ArchiveConfig:
    """Caps on what one tar archive input may unpack, checked member by member while reading."""

    max_total_bytes: int = MAX_ARCHIVE_BYTES
    """Uncompressed bytes of the members read from one archive (extracted or not); past it the
    archive stops being read, and its manifest row says ``archive_limit``."""
    max_members: int = MAX_ARCHIVE_MEMBERS
    """Members (of any kind) read from one archive; past it, likewise."""

    def __post_init__(self) -> None:
        if self.max_total_bytes < 1 or self.max_members < 1:
            raise ConfigError("archives.max_total_bytes and archives.max_members must be >= 1")


NEWER_IR_POLICIES = ("accept", "warn", "reject")


@dataclass(kw_only=True, slots=True)
class BuildConfig:
    """Everything that determines the content of a built dataset."""

    name: str = "custom"
    """Recipe name, with a version (e.g. ``pretrain-c-cpp-v1``)."""
    description: str = ""
    """One line on what the recipe holds (not part of the hash)."""
    inputs: list[InputSpec] = field(default_factory=list)
    """The folders, files and archives to compile (``path``, ``corpus``, ``include_dirs``)."""
    compile: CompileConfig = field(default_factory=CompileConfig)
    vocab: VocabularyConfig = field(default_factory=VocabularyConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    shards: ShardConfig = field(default_factory=ShardConfig)
    archives: ArchiveConfig = field(default_factory=ArchiveConfig)
    newer_ir: str = "accept"
    """IR inputs written by an LLVM newer than the pinned clang's (read from the bitcode
    producer or the text, see ``pipelines/frontend/ir_version.py``): ``accept`` them, accept
    and ``warn`` (manifest message and a build warning), or ``reject`` them (status failed,
    reason ``newer_ir``)."""
    exclude_evaluation_kernels: bool = True
    """Drop (as ``excluded``) inputs whose normalised IR equals a DevMap or thread-coarsening
    kernel's, so that downstream evaluation measures transfer, not memory."""
    evaluation_data_dir: str = "../shared/data"
    """Where the evaluation kernels live (relative to the repository root)."""

    def __post_init__(self) -> None:
        problems = []
        if not self.name or any(c in self.name for c in "/\\ "):
            problems.append(f"recipe name {self.name!r} must be a non-empty word without slashes")
        if self.newer_ir not in NEWER_IR_POLICIES:
            problems.append(f"newer_ir must be one of {', '.join(NEWER_IR_POLICIES)}, "
                            f"got {self.newer_ir!r}")
        if problems:
            raise ConfigError(problems)

    def evaluation_data_path(self) -> Path:
        path = Path(self.evaluation_data_dir).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def recipe_path(path_or_name: str | Path) -> Path:
    """A recipe YAML path, or the file of a recipe name (``datasets/<name>.yaml``).

    Raises:
        ConfigError: neither a file nor a known recipe name (the known ones listed).
    """
    path = Path(path_or_name)
    if path.exists():
        return path
    candidate = REPO_ROOT / "datasets" / f"{path_or_name}.yaml"
    if not candidate.exists():
        names = sorted(p.stem for p in (REPO_ROOT / "datasets").glob("*.yaml"))
        raise ConfigError(f"no recipe {str(path_or_name)!r}; known recipes: {', '.join(names)}")
    return candidate


def load_recipe(path_or_name: str | Path | None, overrides: Sequence[str] = ()) -> BuildConfig:
    """Loads a recipe by path or by name, then applies ``section.key=value`` overrides (the
    engine of :func:`mirencoder.infra.config.load_config`); None gives the defaults."""
    path = recipe_path(path_or_name) if path_or_name is not None else None
    return load_config(BuildConfig, path, overrides)


def config_hash(config: BuildConfig, like: dict | None = None) -> str:
    """sha256 of the canonical JSON of everything that determines the dataset's content.

    ``like``: the stored config of a build made by an older version. Settings that did not
    exist then (absent from ``like``) and stand at their defaults now, which reproduce what
    that version did, are left out, so the build keeps its hash when a setting is added.
    """
    data = config_to_dict(config)
    data.pop("description", None)
    if like is not None:
        data = _without_new_defaults(data, like, config_to_dict(BuildConfig()))
    return sha256_json(data)


def _without_new_defaults(data: dict, like: dict, defaults: dict) -> dict:
    """``data`` less the keys (at any depth) absent from ``like`` whose value is the default."""
    kept = {}
    for key, value in data.items():
        if key not in like:
            if key in defaults and defaults[key] == value:
                continue
            kept[key] = value
        elif isinstance(value, dict) and isinstance(like[key], dict):
            kept[key] = _without_new_defaults(value, like[key], defaults.get(key) or {})
        else:
            kept[key] = value
    return kept
