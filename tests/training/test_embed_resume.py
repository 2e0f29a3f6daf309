"""`mirencoder embed` keeps its finished rows while it runs: an interrupted run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.embedding.embed_journal import EmbedJournal, journal_folder


def _programs(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        (folder / f"p{i:03d}.c").write_text(
            f"int f(int *a, int n) {{ int s = {i}; for (int j = 0; j < n; ++j) "
            f"s += a[j] * {i + 3} - (s >> {i % 5 + 1}); return s + {i}; }}\n")


def _embed_in_process(package: Path, inputs: Path, out: Path) -> int:
    from mirencoder.cli import main

    return main(["embed", str(inputs), "--model", str(package), "--out", str(out),
                 "--no-progress", "--batch-size", "2"])


def _rows(out: Path) -> dict[str, np.ndarray | None]:
    table = pq.read_table(out).to_pylist()
    return {Path(r["path"]).name: (None if r["embedding"] is None else np.asarray(r["embedding"]))
            for r in table}


def test_an_interrupted_embedding_resumes_from_its_finished_rows(random_package, require_clang,
                                                                 tmp_path, capsys):
    inputs = tmp_path / "inputs"
    _programs(inputs, 96)
    (inputs / "broken.c").write_text("int main( {\n")
    out = tmp_path / "e.parquet"
    partial = journal_folder(out)
    command = [sys.executable, "-m", "mirencoder", "embed", str(inputs), "--model",
               str(random_package), "--out", str(out), "--no-progress", "--batch-size", "2",
               "--workers", "1"]
    # Ctrl-C. A shell's background job (a CI runner's, say) ignores SIGINT, and its children
    # inherit that: the command gets Python's default handling back here.
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (partial / "part-000001.parquet").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no segment saved in 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err
    assert not out.exists() and len(list(partial.glob("part-*.parquet"))) >= 2

    saved = EmbedJournal.open(partial, {"unused": True})  # another identity: replaced ...
    assert saved.replaced and not partial.exists()
    # ... so run again and kill it (a killed job: no clean-up at all), then change one saved
    # file before resuming.
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (partial / "part-000001.parquet").exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    (inputs / "p000.c").write_text("int f(int x) { return x * 7; }\n")

    assert _embed_in_process(random_package, inputs, out) == 0
    text = capsys.readouterr().out
    reused = int(text.split("resuming: ")[1].split(" of 97")[0])
    assert 8 <= reused < 96  # two segments (4 x 2 files) or more, less the changed file;
    # broken.c is never saved: its failure is tried again
    assert "embedded 96/97 inputs" in text and not partial.exists()

    clean = tmp_path / "clean.parquet"
    assert _embed_in_process(random_package, inputs, clean) == 0
    assert "resuming" not in capsys.readouterr().out
    resumed, fresh = _rows(out), _rows(clean)
    assert resumed.keys() == fresh.keys() and resumed["broken.c"] is None
    for name, vector in fresh.items():
        if vector is not None:
            np.testing.assert_allclose(resumed[name], vector, rtol=1e-4, atol=1e-5)
    assert pq.read_table(out).column("status").to_pylist().count("failed") == 1


def test_the_journal_keeps_embeddings_by_path_and_file_digest(tmp_path):
    folder = tmp_path / "e.parquet.partial"
    journal = EmbedJournal.open(folder, {"model": "a"})
    journal.append([("x.c", "d1", np.arange(3, dtype=np.float32)),
                    ("y.c", "d2", np.ones(3, dtype=np.float32))])
    again = EmbedJournal.open(folder, {"model": "a"})
    assert not again.replaced
    np.testing.assert_array_equal(again.lookup("x.c", "d1"), [0, 1, 2])
    np.testing.assert_array_equal(again.lookup("y.c", "d2"), [1, 1, 1])
    assert again.lookup("x.c", "changed") is None and again.lookup("x.c", None) is None
    (folder / "part-000000.parquet").write_bytes(b"PAR1 damaged")
    damaged = EmbedJournal.open(folder, {"model": "a"})
    assert damaged.replaced and damaged.rows == {} and not folder.exists()
    # A folder of that name with someone else's files is never replaced.
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="did not write \\(notes.txt\\)"):
        EmbedJournal.open(folder, {"model": "a"})
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_file_where_the_journal_goes_is_refused_before_work(random_package, tmp_path, capsys):
    out = tmp_path / "e.parquet"
    journal_folder(out).write_text("keep me")
    from mirencoder.cli import main

    assert main(["embed", str(tmp_path), "--model", str(random_package), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--out: its partial results folder" in err and "is a file" in err
    assert journal_folder(out).read_text() == "keep me"
