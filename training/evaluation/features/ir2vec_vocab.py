"""IR2Vec's seed vocabulary and its untrained twins: random vocabularies of the same shape.

IR2Vec's program vector is a fixed, flow-aware aggregation of one learned vector per entity
(opcodes, types, operand kinds), the seed vocabulary its authors trained with TransE. An
untrained twin keeps the aggregation and every entity's norm and draws each direction at
random: what is left of IR2Vec without its pre-training, as an untrained twin is what is left
of the encoder without its own::

    python -m mirencoder.training.evaluation.features.ir2vec_vocab --out runs/ir2vec-twins \\
        --seeds 0-7

writes ``runs/ir2vec-twins/rand<k>/seedEmbeddingVocab.txt``; score one as the control
``ir2vec-fa@runs/ir2vec-twins/rand0``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["VOCAB_FILE", "released_vocabulary", "read_vocabulary", "random_vocabulary",
           "write_vocabulary", "parse_seeds", "main"]

VOCAB_FILE = "seedEmbeddingVocab.txt"
"""The file IR2Vec reads from the folder ``ir2vec.setSeedEmbdPath`` names."""


def released_vocabulary() -> Path:
    """The seed vocabulary the ``ir2vec`` package ships (TransE-trained by its authors).

    Raises:
        FileNotFoundError: ``ir2vec`` is not installed or ships no vocabulary.
    """
    spec = importlib.util.find_spec("ir2vec")
    if spec is None or not spec.origin:
        raise FileNotFoundError("ir2vec is not installed: pip install ir2vec==2.1.1")
    path = Path(spec.origin).with_name(VOCAB_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"the ir2vec package ships no {VOCAB_FILE} ({path})")
    return path


def read_vocabulary(path: Path) -> dict[str, np.ndarray]:
    """``entity -> vector`` of a ``seedEmbeddingVocab.txt`` (lines ``name:[x, y, ...],``, the
    comma optional).

    Raises:
        ValueError: a line that is not ``name:[numbers]`` (its number in the message), or
            vectors of different lengths.
    """
    vocabulary: dict[str, np.ndarray] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        name, sep, values = line.partition(":")
        values = values.strip().removesuffix(",")
        if not sep or not name or not (values.startswith("[") and values.endswith("]")):
            raise ValueError(f"{path}:{number}: expected name:[x, y, ...], got {line[:60]!r}")
        try:
            vocabulary[name] = np.asarray([float(v) for v in values[1:-1].split(",")])
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from None
    if len({v.shape for v in vocabulary.values()}) > 1:
        raise ValueError(f"{path}: vectors of different lengths")
    return vocabulary


def random_vocabulary(vocabulary: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """The same entities, each with its own norm and a direction drawn uniformly at random
    (``seed`` decides them all)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, vector in vocabulary.items():
        direction = rng.standard_normal(vector.shape)
        out[name] = direction / np.linalg.norm(direction) * np.linalg.norm(vector)
    return out


def write_vocabulary(vocabulary: dict[str, np.ndarray], folder: Path) -> Path:
    """Writes ``folder/seedEmbeddingVocab.txt`` in the released file's format (``name:[x,
    ...]`` per line, a comma after every line but the last) and returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / VOCAB_FILE
    path.write_text(",\n".join(f"{name}:[{', '.join(repr(float(x)) for x in vector)}]"
                               for name, vector in vocabulary.items()) + "\n")
    return path


def parse_seeds(text: str) -> list[int]:
    """``"0-7"`` or ``"0,3,5"`` -> seeds.

    Raises:
        ValueError: anything else, or a negative seed.
    """
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(part) for part in text.split(",") if part]
    except ValueError:
        raise ValueError(f"seeds must look like 0-7 or 0,3,5, not {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"seeds must be non-negative and at least one, not {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for rand<seed>/seedEmbeddingVocab.txt")
    parser.add_argument("--seeds", default="0-7", help="seeds: 0-7 or 0,3,5 (default 0-7)")
    parser.add_argument("--vocabulary", type=Path, default=None,
                        help="the trained vocabulary (default: the one ir2vec ships)")
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        trained = read_vocabulary(args.vocabulary or released_vocabulary())
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    for seed in seeds:
        path = write_vocabulary(random_vocabulary(trained, seed), args.out / f"rand{seed}")
        print(f"{path}: {len(trained)} entities, random directions, trained norms (seed {seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
