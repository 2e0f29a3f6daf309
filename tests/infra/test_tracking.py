"""Where tracking stores go: ``runs/mlflow.db`` by default, never MLflow's ``./mlflow.db``.

MLflow 3 falls back to ``sqlite:///mlflow.db`` in the current directory when no URI is set,
which is how a tracking store once got committed at the repository root. Library code
therefore names its store on every client and runs MLflow's fluent API only inside
:func:`mirencoder.infra.tracking.using_tracking_uri`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mirencoder.infra.tracking import resolve_tracking_uri, sqlite_uri

REPO_ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("infra", "pipelines", "training", "mirencoder")
# Fluent calls that touch no store.
_STORELESS = {"mlflow.active_run", "mlflow.set_tracking_uri", "mlflow.set_registry_uri",
              "mlflow.models.set_model"}


def test_default_store_is_under_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == sqlite_uri(REPO_ROOT / "runs" / "mlflow.db")
    assert resolve_tracking_uri("") == resolve_tracking_uri(None)


def test_no_tracking_store_in_the_repository_root() -> None:
    assert not (REPO_ROOT / "mlflow.db").exists()
    assert not (REPO_ROOT / "mlruns").exists()


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _library_trees():
    for folder in LIBRARY:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            yield path.relative_to(REPO_ROOT), ast.parse(path.read_text())


def test_clients_and_loggers_name_their_store() -> None:
    unnamed = [f"{path}:{node.lineno}" for path, tree in _library_trees()
               for node in ast.walk(tree) if isinstance(node, ast.Call)
               and _dotted(node.func).rpartition(".")[2] in ("MlflowClient", "MLFlowLogger")
               and "tracking_uri" not in {k.arg for k in node.keywords}]
    assert not unnamed, f"MLflow clients without tracking_uri=: {unnamed}"


def _fluent_calls_outside_using(tree: ast.AST) -> list[ast.Call]:
    """``mlflow.*(...)`` calls not lexically inside ``with using_tracking_uri(...)``."""
    found = []

    def visit(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            inside = inside or any(isinstance(item.context_expr, ast.Call)
                                   and _dotted(item.context_expr.func) == "using_tracking_uri"
                                   for item in node.items)
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name.startswith("mlflow.") and name not in _STORELESS and not inside:
                found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def test_fluent_mlflow_calls_run_under_a_named_store() -> None:
    outside = [f"{path}:{call.lineno} {_dotted(call.func)}" for path, tree in _library_trees()
               if str(path) != "infra/tracking.py"
               for call in _fluent_calls_outside_using(tree)]
    assert not outside, f"MLflow fluent calls outside using_tracking_uri: {outside}"


def test_a_store_that_cannot_serve_is_named_before_any_work(tmp_path, monkeypatch, capsys):
    """A damaged SQLite file was a database traceback; a tracking server that is down kept
    `registry list` retrying for minutes. Both are one line, at once."""
    import socket
    import sqlite3

    from mirencoder.cli import main
    from mirencoder.infra.tracking import store_problem

    damaged = tmp_path / "damaged.db"
    damaged.write_text("not a database")
    assert "is not an SQLite database" in store_problem(f"sqlite:///{damaged}")
    sqlite3.connect(tmp_path / "real.db").execute("create table t (x)").connection.close()
    assert store_problem(f"sqlite:///{tmp_path / 'real.db'}") is None
    assert store_problem(f"sqlite:///{tmp_path / 'new.db'}") is None  # MLflow creates it
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert store_problem(f"http://127.0.0.1:{port}") is None
    assert "no MLflow server answers at http://127.0.0.1" in store_problem(
        f"http://127.0.0.1:{port}")
    # A scheme MLflow has no store for was MLflow's UnsupportedModelRegistryStoreURI traceback.
    assert "the scheme 'foo' is not one of" in store_problem("foo://bar")
    assert store_problem("postgresql+psycopg2://u@127.0.0.1/db") is None  # a driver suffix
    assert store_problem(str(tmp_path / "mlruns")) is None  # a plain path: a file store
    for uri, said in ((f"sqlite:///{damaged}", "is not an SQLite database"),
                      (f"http://127.0.0.1:{port}", "no MLflow server answers"),
                      ("foo://bar", "MLflow cannot keep runs at foo://bar")):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        assert main(["registry", "list"]) == 1
        assert said in capsys.readouterr().err
