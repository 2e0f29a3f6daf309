"""The IR token view: a BPE tokenizer (Hugging Face ``tokenizers``) trained on normalised IR.

Text policy (applied by :meth:`IRTokenizer.prepare`, before the tokenizer proper):

* the ``target datalayout`` / ``target triple`` header lines are dropped (one string shared
  by every program of a target; the graph and bitcode keep them);
* every numbered local value ``%123`` (argument, instruction result, block reference) becomes
  the placeholder ``%v``, and every block label line ``123:`` becomes ``bb:``. The numbers
  carry no meaning beyond identity, which the graph view already encodes as data flow; left in,
  they would spend the vocabulary on thousands of numerals and make the token sequence of a
  function depend on how many values precede it. Global names (``@foo``), struct type names
  and constants are kept;
* indentation and line breaks are whitespace like any other.

Pre-tokenization splits on whitespace, then isolates IR words: ``%v``, identifiers and
keywords (``getelementptr``, ``i32``, ``struct.foo``, ``_Z13get_global_idj``), numbers and
single punctuation characters (``%``, ``@``, ``,``, ``(``, ``)``, ``*``, ``[``, ``]``, ``{``,
``}``, ``<``, ``>``, ``=``, ``:``, ``!``, ``#``, ``"``). BPE merges then work inside those
words only. Special tokens have fixed ids: ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3,
``[MASK]`` 4. :meth:`IRTokenizer.encode` returns the program's tokens *without* special tokens
and without truncation; long programs are cut (or chunked) by the consumer at its context
length (``num_tokens`` in a record is the full length).

Training is deterministic (same texts in the same order, same vocabulary size: same JSON, same
hash), and the ``sha256`` identifying a tokenizer is the hash of its saved JSON.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ...infra.errors import ConfigError
from ...infra.files import write_text_atomic

__all__ = ["IRTokenizer", "SPECIAL_TOKENS", "LOCAL_PLACEHOLDER", "LABEL_PLACEHOLDER"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
LOCAL_PLACEHOLDER = "%v"
LABEL_PLACEHOLDER = "bb:"
# Every non-space character belongs to one alternative, so splitting on whitespace and then
# isolating these matches (the Hugging Face pre-tokenizer) equals `findall` over the text.
_PRE_TOKEN = r"%v(?![-\w.$])|[A-Za-z_.$][-\w.$]*|\d+|[^\s\w]|\w+"
_WORDS = re.compile(_PRE_TOKEN)
_HEADER = re.compile(r"\A(?:target (?:datalayout|triple) = [^\n]*\n)+")
_LOCAL = re.compile(r"%\d+\b")
_LABEL = re.compile(r"^\d+:", re.M)
_MIN_VOCAB, _MAX_VOCAB = 64, 1_000_000
_CACHE_LIMIT = 500_000


class IRTokenizer:
    """A trained IR tokenizer (wraps a ``tokenizers.Tokenizer``).

    Attributes:
        sha256: hex sha256 of the tokenizer's JSON (as :meth:`save` writes it).
        vocab_size: number of tokens, special tokens included.
        pad_id, unk_id, cls_id, sep_id, mask_id: the special token ids (0..4).
    """

    pad_id, unk_id, cls_id, sep_id, mask_id = range(5)

    def __init__(self, tokenizer) -> None:
        """Wraps a trained ``tokenizers.Tokenizer``; use :meth:`train` or :meth:`load`."""
        for expected, token in enumerate(SPECIAL_TOKENS):
            if tokenizer.token_to_id(token) != expected:
                raise ConfigError(f"tokenizer special token {token} must have id {expected}")
        self._tokenizer = tokenizer
        self._json = tokenizer.to_str()
        self.sha256 = hashlib.sha256(self._json.encode()).hexdigest()
        self.vocab_size = tokenizer.get_vocab_size()
        # Word -> token ids. BPE works inside pre-tokenized words only, so caching per word
        # gives exactly the ids of `Tokenizer.encode` (tests check this) about 5x faster.
        self._model = tokenizer.model
        self._cache: dict[str, list[int]] = {}

    @staticmethod
    def prepare(text: str) -> str:
        """Applies the text policy (header lines dropped, ``%N`` → ``%v``, ``N:`` → ``bb:``)."""
        text = _HEADER.sub("", text, count=1)
        return _LABEL.sub(LABEL_PLACEHOLDER, _LOCAL.sub(LOCAL_PLACEHOLDER, text))

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8192, *,
              min_frequency: int = 2) -> IRTokenizer:
        """Trains a BPE tokenizer on normalised IR texts.

        Args:
            texts: canonical IR texts (``NormalizedIR.text``), in a fixed order.
            vocab_size: the vocabulary size to reach (special tokens included).
            min_frequency: a pair must occur this often to be merged.

        Returns:
            The trained tokenizer.

        Raises:
            ConfigError: on an out-of-range ``vocab_size`` or ``min_frequency``.
        """
        problems = []
        if not _MIN_VOCAB <= vocab_size <= _MAX_VOCAB:
            problems.append(f"vocab_size must be in [{_MIN_VOCAB}, {_MAX_VOCAB}], got "
                            f"{vocab_size}")
        if min_frequency < 1:
            problems.append(f"min_frequency must be >= 1, got {min_frequency}")
        if problems:
            raise ConfigError(problems)
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex(_PRE_TOKEN), behavior="isolated"),
        ])
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(SPECIAL_TOKENS),
                                      show_progress=False)
        tokenizer.train_from_iterator((cls.prepare(text) for text in texts), trainer=trainer)
        return cls(tokenizer)

    def encode(self, text: str, max_tokens: int | None = None) -> np.ndarray:
        """The token ids of one canonical IR text (no special tokens).

        Equal to ``tokenizers.Tokenizer.encode(prepare(text)).ids`` (see :meth:`encode_reference`).

        Args:
            text: a canonical IR text.
            max_tokens: return only the first ``max_tokens`` ids (default: all). Only a
                prefix of the text is tokenized: the text policy and the pre-tokenizer act
                within lines, so the ids of the first lines are the first ids of the text.
        """
        if max_tokens is None or max_tokens < 0:
            return self._encode_prepared(self.prepare(text))
        size = 6 * max_tokens + 512  # characters; IR averages about 4 per token
        while size < len(text):
            cut = text.rfind("\n", 0, size) + 1  # whole lines only
            if cut > 0:
                ids = self._encode_prepared(self.prepare(text[:cut]))
                if ids.shape[0] >= max_tokens:
                    return ids[:max_tokens]
            size *= 2
        return self._encode_prepared(self.prepare(text))[:max_tokens]

    def _encode_prepared(self, prepared: str) -> np.ndarray:
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        get = cache.get
        ids: list[int] = []
        extend = ids.extend
        for word in _WORDS.findall(prepared):
            word_ids = get(word)
            if word_ids is None:
                word_ids = cache[word] = [token.id for token in self._model.tokenize(word)]
            extend(word_ids)
        return np.asarray(ids, dtype=np.int32)

    def encode_reference(self, text: str) -> np.ndarray:
        """Token ids through the Hugging Face pipeline itself (slower; for checks)."""
        return np.asarray(self._tokenizer.encode(self.prepare(text), add_special_tokens=False)
                          .ids, dtype=np.int32)

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of several texts."""
        return [self.encode(text) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens back to (prepared) text, for inspection; special tokens are dropped."""
        return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def id_to_token(self, token_id: int) -> str | None:
        """The text of one token id."""
        return self._tokenizer.id_to_token(int(token_id))

    def save(self, path: str | Path) -> Path:
        """Writes the tokenizer JSON (atomically); its hash is :attr:`sha256`."""
        return write_text_atomic(path, self._json)

    @classmethod
    def load(cls, path: str | Path) -> IRTokenizer:
        """Reads a tokenizer JSON written by :meth:`save`."""
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return f"IRTokenizer(vocab_size={self.vocab_size}, sha256={self.sha256[:12]})"
