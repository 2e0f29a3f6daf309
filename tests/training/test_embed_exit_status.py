"""`mirencoder embed` exit status: non-zero when nothing was embedded (no inputs included),
and on any failure with --strict; the per-file report and the Parquet file stay as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo-corpus"


def _embed(package: Path, out: Path, *inputs: Path, strict: bool = False) -> int:
    from mirencoder.cli import main

    argv = ["embed", *map(str, inputs), "--model", str(package), "--out", str(out),
            "--no-progress"]
    return main(argv + (["--strict"] if strict else []))


def test_no_inputs_at_all_is_a_failure(random_package, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _embed(random_package, tmp_path / "e.parquet", empty) == 1
    captured = capsys.readouterr()
    assert "embedded 0/0 inputs" in captured.out
    assert "no input found" in captured.err
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def test_exit_status_with_failed_inputs_and_strict(random_package, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "broken.ll").write_text("this is not LLVM IR\n")
    assert _embed(random_package, tmp_path / "bad.parquet", inputs) == 1
    assert "no input could be embedded" in capsys.readouterr().err
    shutil.copy(DEMO / "ir" / "collatz.ll", inputs / "collatz.ll")
    out = tmp_path / "mixed.parquet"
    assert _embed(random_package, out, inputs) == 0
    captured = capsys.readouterr()
    assert "embedded 1/2 inputs" in captured.out and "failed:" in captured.out
    assert _embed(random_package, out, inputs, strict=True) == 1
    assert "1 of 2 inputs failed (--strict)" in capsys.readouterr().err
    rows = {Path(r["path"]).name: r["status"] for r in pq.read_table(out).to_pylist()}
    assert rows == {"broken.ll": "failed", "collatz.ll": "ok"}
    (inputs / "broken.ll").unlink()
    assert _embed(random_package, out, inputs, strict=True) == 0


def test_the_exit_status_is_in_the_command_help(capsys):
    from mirencoder.cli import main

    try:
        main(["embed", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--strict" in text and "exit status: 0 when at least one input was embedded" in text


def test_an_unusable_out_is_refused_before_the_encoder_loads(tmp_path, capsys):
    """A folder, another format's suffix or a path under a file: exit 2 with the reason, before
    any work (the model path does not even exist), and nothing written."""
    from mirencoder.cli import main

    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    for out, said in ((tmp_path, "is a folder"), (tmp_path / "e.csv", "name it e.parquet"),
                      (a_file / "e.parquet", "is a file, not a folder")):
        argv = ["embed", str(DEMO / "ir" / "collatz.ll"), "--model", str(tmp_path / "no-model"),
                "--out", str(out), "--no-progress"]
        assert main(argv) == 2
        assert said in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
