"""The command table: every command is documented, importable and answers --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mirencoder.cli import COMMANDS, build_parser, main

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_readme_documents_exactly_the_command_table():
    readme = (REPO_ROOT / "README.md").read_text()
    documented = set()
    for words in re.findall(r"^\| `mirencoder ([a-z\- ]+?)(?: [A-Z\-\[]| --|`)", readme, re.M):
        documented.add(tuple(words.split()))
    assert documented == set(COMMANDS)


def test_readme_gives_two_setup_commands_and_ci_runs_the_test_one():
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("## Set up and run", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash infra/demo.sh", "bash infra/test.sh"]
    assert "bash infra/test.sh" in (REPO_ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_every_command_builds_its_parser(words):
    parser = build_parser(words)
    assert parser.format_help().startswith("usage: mirencoder " + " ".join(words))


def test_unknown_command_is_a_clear_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "mirencoder", "--help"], capture_output=True,
                            text=True, check=True)
    for words in COMMANDS:
        assert " ".join(words) in result.stdout


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_every_command_takes_config_set_and_dry_run(words):
    options = build_parser(words)._option_string_actions
    assert {"--config", "--set", "--dry-run"} <= set(options)
    assert "settings (YAML keys of --config; --set KEY=VALUE):" in build_parser(words).format_help()


def test_one_override_parser_in_the_tree():
    # infra/config.py is the only place that splits "section.key=value" overrides.
    sources = [p for folder in ("infra", "pipelines", "training", "mirencoder")
               for p in (REPO_ROOT / folder).rglob("*.py")]
    parsers = [p for p in sources if "def parse_override" in p.read_text()
               or "def apply_overrides" in p.read_text()]
    assert [p.relative_to(REPO_ROOT).as_posix() for p in parsers] == ["infra/config.py"]


@pytest.mark.parametrize("argv", [
    ["dataset", "build", "{input}", "--out", "{file}"],
    ["dataset", "graph", "{input}", "--out", "{dir}/graph.svg"],
    ["embed", "{input}", "--model", "{dir}/no-model", "--out", "{dir}"],
    ["embed", "basis", "--model", "{dir}/no-model", "--dataset", "{dir}", "--out", "{dir}/b.np"],
    ["pretrain", "twin", "--model", "{dir}/no-model", "--out", "{file}"],
    ["pretrain", "export", "--checkpoint", "{dir}/no.ckpt", "--out", "{file}/package"],
    ["eval", "devmap", "--out-dir", "{file}"],
    ["eval", "thread-coarsening", "--out-dir", "{file}"],
    ["eval", "probes", "--out-dir", "{dir}", "--report-dir", "{file}"],
], ids=lambda argv: " ".join(word for word in argv if not word.startswith(("{", "-"))))
def test_an_unusable_output_path_is_refused_before_any_work(argv, tmp_path, capsys):
    """A file where a folder goes, a folder or another format's name where a file goes: exit 2
    naming the flag, before any input, model or data is read (none of them exists here), and
    the file in the way is left as it was."""
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("keep me")
    source = tmp_path / "loop.c"
    source.write_text("int f(int n) { int s = 0; for (int i = 0; i < n; i++) s += i; return s; }\n")
    filled = [word.format(dir=tmp_path, file=in_the_way, input=source) for word in argv]
    assert main(filled) == 2
    err = capsys.readouterr().err
    assert any(flag in err for flag in ("--out", "--report-dir")), err
    assert any(why in err for why in ("is a file, not a folder", "is a folder", "name it")), err
    assert in_the_way.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.c", "notes.txt"]


def test_infra_scripts_answer_help_and_refuse_stray_arguments_before_any_work():
    """`bash infra/ablations.sh --help` started the whole ablation study (its settings are
    environment variables, and arguments were ignored). Every job script answers --help with
    its header comment and refuses arguments it does not take, before it installs or runs."""
    jobs = sorted(p for p in (REPO_ROOT / "infra").glob("*.sh")
                  if p.name not in {"bootstrap.sh", "resolved_config.sh", "score_package.sh",
                                    "script_args.sh", "demo.sh", "test.sh"})
    assert {p.name for p in jobs} >= {"ablations.sh", "reproduce.sh", "evaluate_run.sh"}
    for script in jobs:
        assert 'script_args ' in script.read_text(), f"{script.name} does not check its arguments"
        shown = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True,
                               timeout=30)
        assert shown.returncode == 0 and shown.stdout.strip(), script.name
        assert shown.stdout.splitlines()[0] in script.read_text(), script.name
    for script, args in (("ablations.sh", ["now"]), ("reproduce.sh", ["--fast"]),
                         ("evaluate_run.sh", ["a", "b", "c"])):
        refused = subprocess.run(["bash", str(REPO_ROOT / "infra" / script), *args],
                                 capture_output=True, text=True, timeout=30)
        assert refused.returncode == 2 and "takes at most" in refused.stderr, script


def test_the_interrupted_hint_is_true_for_each_command():
    """Ctrl-C printed "rerun the same command to resume" for every command: pretrain restarted
    from step 0 that way (it needs --resume) and evaluations keep nothing."""
    from mirencoder.cli import COMMANDS, interrupted_hint

    hints = {words: interrupted_hint(words, ["x"]) for words in COMMANDS}
    resuming = {w for w, hint in hints.items() if hint.startswith("rerun the same command")}
    assert resuming == {("dataset", "build"), ("embed",), ("dataset", "decision-labels"),
                        ("demo",)}
    assert hints[("pretrain",)].startswith("add --resume")
    assert interrupted_hint(("pretrain",), ["pretrain", "--resume"]).startswith(
        "rerun the same command to continue")
    assert hints[("eval", "devmap")].startswith("nothing of this run was kept")
