"""The vocabulary of graph node texts (opcodes and LLVM types) shared by a dataset's graphs."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...infra.errors import ConfigError
from ...infra.files import write_text_atomic

__all__ = ["LLVM_OPCODES", "NodeTextVocabulary", "PAD_TEXT", "UNK_TEXT"]

LLVM_OPCODES = (
    "ret", "br", "switch", "indirectbr", "invoke", "resume", "unreachable", "cleanupret",
    "catchret", "catchswitch", "callbr", "fneg", "add", "fadd", "sub", "fsub", "mul", "fmul",
    "udiv", "sdiv", "fdiv", "urem", "srem", "frem", "shl", "lshr", "ashr", "and", "or", "xor",
    "extractelement", "insertelement", "shufflevector", "extractvalue", "insertvalue", "alloca",
    "load", "store", "fence", "cmpxchg", "atomicrmw", "getelementptr", "trunc", "zext", "sext",
    "fptrunc", "fpext", "fptoui", "fptosi", "uitofp", "sitofp", "inttoptr", "ptrtoint", "bitcast",
    "addrspacecast", "icmp", "fcmp", "phi", "select", "call", "va_arg", "landingpad", "catchpad",
    "cleanuppad", "freeze",
)
"""Every LLVM instruction opcode (LLVM 14-22): the node texts of instruction nodes."""

PAD_TEXT, UNK_TEXT = "[PAD]", "[UNK]"
_ADDRSPACE = re.compile(r" addrspace\(\d+\)")
_FORMAT = "mirencoder.node_vocab/1"


class NodeTextVocabulary:
    """Maps node texts to ids: 0 is ``[PAD]``, 1 is ``[UNK]``, then texts by frequency.

    Texts are ordered by descending count, ties broken by the text itself, so the same counts
    always give the same ids and the same :attr:`sha256` (the hash of the saved JSON).
    """

    pad_id, unk_id = 0, 1

    def __init__(self, texts: Iterable[str]) -> None:
        """Builds from an ordered list of texts (without the two special entries)."""
        self._texts = [PAD_TEXT, UNK_TEXT, *texts]
        self._ids = {text: index for index, text in enumerate(self._texts)}
        if len(self._ids) != len(self._texts):
            raise ConfigError("node vocabulary texts must be unique and must not be "
                              f"{PAD_TEXT} or {UNK_TEXT}")
        self._json = json.dumps({"format": _FORMAT, "texts": self._texts[2:]},
                                ensure_ascii=True, indent=0)
        self.sha256 = hashlib.sha256(self._json.encode()).hexdigest()

    @classmethod
    def build(cls, texts_counter: Counter, max_size: int = 4096,
              min_count: int = 1) -> NodeTextVocabulary:
        """Keeps the ``max_size - 2`` most frequent texts seen at least ``min_count`` times.

        Args:
            texts_counter: node text -> count over the training graphs.
            max_size: the vocabulary size including ``[PAD]`` and ``[UNK]`` (>= 2).
            min_count: minimum count for a text to get its own id (>= 1).
        """
        problems = []
        if max_size < 2:
            problems.append(f"max_size must be >= 2, got {max_size}")
        if min_count < 1:
            problems.append(f"min_count must be >= 1, got {min_count}")
        if problems:
            raise ConfigError(problems)
        ranked = sorted(((text, count) for text, count in texts_counter.items()
                         if count >= min_count and text not in (PAD_TEXT, UNK_TEXT)),
                        key=lambda item: (-item[1], item[0]))
        return cls(text for text, _ in ranked[: max_size - 2])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Ids of node texts. A text the vocabulary lacks falls back to the same text without
        its address spaces (``ptr addrspace(1)`` -> ``ptr``) when that one is known, else to
        :attr:`unk_id`: a vocabulary built on CPU code has never seen a GPU kernel's global
        and local pointers, and its ``[UNK]`` row was never trained."""
        get, unk = self._ids.get, self.unk_id

        def known(text: str) -> int:
            found = get(text)
            if found is None and "addrspace(" in text:
                found = get(_ADDRSPACE.sub("", text))
            return unk if found is None else found

        return np.fromiter((known(text) for text in texts), dtype=np.int32, count=len(texts))

    def text(self, node_text_id: int) -> str:
        """The text of one id."""
        return self._texts[int(node_text_id)]

    @property
    def texts(self) -> tuple[str, ...]:
        """Every text by id: ``[PAD]``, ``[UNK]``, then by frequency."""
        return tuple(self._texts)

    def save(self, path: str | Path) -> Path:
        """Writes the vocabulary as JSON (atomically)."""
        return write_text_atomic(path, self._json)

    @classmethod
    def load(cls, path: str | Path) -> NodeTextVocabulary:
        """Reads a vocabulary written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ConfigError(f"{path}: not a node vocabulary ({data.get('format')!r})")
        return cls(data["texts"])

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, text: str) -> bool:
        return text in self._ids

    def __repr__(self) -> str:
        return f"NodeTextVocabulary(size={len(self)}, sha256={self.sha256[:12]})"
