"""The special token ids and vocabulary sizes a dataset's tokenizer defines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ....infra.errors import ConfigError

__all__ = ["TokenizerIds", "tokenizer_ids_from_dataset", "tokenizer_ids_from_files",
           "SPECIAL_TOKEN_NAMES"]

# Names tried in tokenizer.json's added tokens, per role (first match wins).
SPECIAL_TOKEN_NAMES = {
    "pad_id": ("[PAD]", "<pad>"), "unk_id": ("[UNK]", "<unk>"), "cls_id": ("[CLS]", "<cls>", "<s>"),
    "sep_id": ("[SEP]", "<sep>", "</s>"), "mask_id": ("[MASK]", "<mask>"),
}
_DEFAULT_IDS = {"pad_id": 0, "unk_id": 1, "cls_id": 2, "sep_id": 3, "mask_id": 4}


@dataclass(frozen=True, slots=True)
class TokenizerIds:
    """Special ids of the IR tokenizer and the sizes of both vocabularies."""

    pad_id: int
    unk_id: int
    cls_id: int
    sep_id: int
    mask_id: int
    vocab_size: int  # IR tokenizer vocabulary
    node_vocab_size: int  # node-text vocabulary (pad 0, unk 1)

    def __post_init__(self) -> None:
        special = (self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id)
        if min(special) < 0 or max(special) >= self.vocab_size:
            raise ConfigError(f"special token ids {special} outside vocabulary of "
                              f"{self.vocab_size}")
        if self.node_vocab_size < 2:
            raise ConfigError(f"node_vocab_size must be >= 2, got {self.node_vocab_size}")

    @property
    def special_ids(self) -> tuple[int, ...]:
        return (self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _ids_from_tokenizer_json(path: Path) -> dict[str, int]:
    try:
        from ....pipelines.ir.tokenizer import IRTokenizer
    except ImportError:
        IRTokenizer = None  # noqa: N806 - optional class
    if IRTokenizer is not None:
        tokenizer = IRTokenizer.load(path)
        return {role: int(getattr(tokenizer, role)) for role in _DEFAULT_IDS}
    added = {token["content"]: token["id"]
             for token in json.loads(path.read_text()).get("added_tokens", [])}
    ids = {}
    for role, names in SPECIAL_TOKEN_NAMES.items():
        found = [added[name] for name in names if name in added]
        if not found:
            raise ConfigError(f"{path}: no {role[:-3]} token among {names}")
        ids[role] = found[0]
    return ids


def tokenizer_ids_from_dataset(dataset_dir: str | Path, index: dict) -> TokenizerIds:
    """Reads the special ids from ``tokenizer.json`` when present, else from ``index.json``.

    A dataset without ``tokenizer.json`` (synthetic test data) may give ``special_ids`` in its
    index; otherwise the defaults pad 0, unk 1, cls 2, sep 3, mask 4 apply.
    """
    path = Path(dataset_dir) / "tokenizer.json"
    if path.exists():
        ids = _ids_from_tokenizer_json(path)
    else:
        ids = {**_DEFAULT_IDS, **index.get("special_ids", {})}
    missing = [key for key in ("vocab_size", "node_vocab_size") if key not in index]
    if missing:
        raise ConfigError(f"{dataset_dir}/index.json lacks {', '.join(missing)}")
    return TokenizerIds(**ids, vocab_size=int(index["vocab_size"]),
                        node_vocab_size=int(index["node_vocab_size"]))


def tokenizer_ids_from_files(tokenizer_path: str | Path | None, *, vocab_size: int,
                             node_vocab_size: int) -> TokenizerIds:
    """Special ids from a ``tokenizer.json`` (defaults when there is none) plus the sizes."""
    path = Path(tokenizer_path) if tokenizer_path is not None else None
    ids = _ids_from_tokenizer_json(path) if path is not None and path.exists() else _DEFAULT_IDS
    return TokenizerIds(**ids, vocab_size=vocab_size, node_vocab_size=node_vocab_size)
