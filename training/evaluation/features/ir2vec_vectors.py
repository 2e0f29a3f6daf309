"""Peer baseline: IR2Vec program vectors (flow-aware or symbolic), computed in a subprocess."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..programs import EvalProgram
from .ir2vec_vocab import VOCAB_FILE

__all__ = ["IR2VEC_DIM", "ir2vec_available", "IR2VecFeaturizer"]

IR2VEC_DIM = 300
_WORKER = Path(__file__).with_name("ir2vec_worker.py")


def ir2vec_available() -> bool:
    """Whether the ``ir2vec`` package is importable (``pip install ir2vec==2.1.1``)."""
    return importlib.util.find_spec("ir2vec") is not None


class IR2VecFeaturizer:
    """IR2Vec 300-d program vectors of ``.ll``/``.bc`` files (clang-14 IR or older).

    IR2Vec terminates the whole process when it cannot parse a file, so batches run in a child
    process that reports each finished file; a file that kills the child is recorded as an
    error and the batch resumes after it.

    Args:
        mode: ``fa`` (flow-aware) or ``sym`` (symbolic).
        vocabulary: a folder holding another ``seedEmbeddingVocab.txt`` (an untrained twin's,
            ``ir2vec_vocab.py``); the name becomes ``ir2vec-<mode>@<folder>``.
        batch_size: files per child process.
        timeout_s: limit per child process (plus 2 s per file).

    Raises:
        ValueError: another mode, or a vocabulary folder without the file.
    """

    def __init__(self, mode: str = "fa", vocabulary: Path | None = None, batch_size: int = 400,
                 timeout_s: float = 60.0):
        if mode not in {"fa", "sym"}:
            raise ValueError(f"IR2Vec mode must be 'fa' or 'sym', got {mode!r}")
        if vocabulary is not None and not (Path(vocabulary) / VOCAB_FILE).is_file():
            raise ValueError(f"IR2Vec vocabulary folder {vocabulary} holds no {VOCAB_FILE} "
                             "(write one: python -m mirencoder.training.evaluation.features."
                             "ir2vec_vocab --out DIR)")
        self.mode = mode
        self.vocabulary = None if vocabulary is None else Path(vocabulary)
        self.name = f"ir2vec-{mode}" + (f"@{vocabulary}" if vocabulary is not None else "")
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.errors: dict[str, str] = {}
        try:
            version = importlib.metadata.version("ir2vec")
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        kind = "flow-aware" if mode == "fa" else "symbolic"
        self.description = f"IR2Vec {version} {kind} program vector ({IR2VEC_DIM}-d)" + (
            f", seed vocabulary {vocabulary}" if vocabulary is not None else "")

    def _run_child(self, items: list[tuple[int, str]], work: Path) -> tuple[dict[int, list],
                                                                             str]:
        list_path, out_path = work / "items.json", work / "out.jsonl"
        list_path.write_text(json.dumps(items))
        out_path.write_text("")
        note = ""
        try:
            proc = subprocess.run([sys.executable, str(_WORKER), self.mode, str(list_path),
                                   str(out_path), str(self.vocabulary or "")],
                                  capture_output=True, text=True,
                                  timeout=self.timeout_s + 2 * len(items))
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                note = f"ir2vec exited with code {proc.returncode}: {' | '.join(tail)[:300]}"
        except subprocess.TimeoutExpired:
            note = "ir2vec timed out"
        done: dict[int, list] = {}
        for line in out_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the crash
            done[int(record["i"])] = record["v"]
        return done, note

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        if not ir2vec_available():
            raise RuntimeError("ir2vec is not installed: pip install ir2vec==2.1.1")
        out = np.full((len(programs), IR2VEC_DIM), np.nan, dtype=np.float64)
        self.errors = {}
        pending = [(i, str(p.path)) for i, p in enumerate(programs)]
        with tempfile.TemporaryDirectory(prefix="ir2vec-") as tmp, tqdm(
                total=len(pending), desc=self.name, unit="file", leave=False,
                disable=None) as bar:
            while pending:
                batch = pending[: self.batch_size]
                done, note = self._run_child(batch, Path(tmp))
                for index, vector in done.items():
                    out[index] = vector
                bar.update(len(done))
                finished = len(done)
                if finished < len(batch):
                    # The child processes files in order: the first unfinished one killed it.
                    bad_index = batch[finished][0]
                    self.errors[programs[bad_index].key] = note or "ir2vec produced no vector"
                    bar.update(1)
                    finished += 1
                pending = batch[finished:] + pending[len(batch):]
        bad = ~np.isfinite(out).all(axis=1)
        for index in np.flatnonzero(bad):
            self.errors.setdefault(programs[index].key, "ir2vec returned a non-finite vector")
            out[index] = np.nan
        # IR2Vec's sums differ in the last bit between child processes on a few programs
        # (1 of 800 probe programs, relative 3e-16), and the decision probe's logistic
        # regressions turned that into up to 0.4 macro-F1 points on one corpus between two
        # runs on the same programs. Rounded to float32, as the encoder's own vectors are,
        # the control repeats (two runs checked equal to every digit).
        return out.astype(np.float32).astype(np.float64)
