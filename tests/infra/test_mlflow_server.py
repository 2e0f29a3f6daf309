"""A real MLflow tracking server on loopback: register an encoder through HTTP and pull it back."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError, FatalError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo-corpus"


def test_server_config_is_checked():
    from mirencoder.infra.mlflow_server import ServerConfig

    with pytest.raises(ConfigError) as error:
        ServerConfig(port=70000, workers=0, backend_store_uri="just/a/path.db")
    assert len(error.value.problems) == 3


def test_server_command_resolves_its_config_like_every_command(tmp_path, capsys):
    import yaml

    from mirencoder.infra.mlflow_server import main

    path = tmp_path / "server.yaml"
    path.write_text("workers: 3\nhost: 0.0.0.0\nallow_remote: true\n")
    assert main(["--config", str(path), "--set", "workers=2", "--dry-run"]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert (resolved["port"], resolved["workers"], resolved["host"]) == (5000, 2, "0.0.0.0")
    assert main(["--port", "0", "--dry-run"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["port"] == 0


def test_register_and_pull_through_a_tracking_server(random_package, tmp_path):
    from mirencoder.infra.mlflow_server import MlflowServer, ServerConfig
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.registry.model_registry import list_versions, promote, register_encoder

    package = random_package
    ir_text = (DEMO / "ir" / "collatz.ll").read_text()
    local = Embedder.from_uri(package).embed_texts([ir_text]).vectors
    server = MlflowServer(ServerConfig(root=str(tmp_path / "server"), start_timeout_s=120))
    with server:
        assert server.healthy() and server.uri.startswith("http://127.0.0.1:")
        info = register_encoder(package, tracking_uri=server.uri)
        assert info.version == 1 and info.aliases == ("candidate",)
        promote(1, "champion", tracking_uri=server.uri)
        assert [v.aliases for v in list_versions(tracking_uri=server.uri)] == [
            ("candidate", "champion")]
        pulled = Embedder.from_uri("models:/mirencoder@champion", tracking_uri=server.uri,
                                   cache_dir=tmp_path / "cache")
        np.testing.assert_allclose(pulled.embed_texts([ir_text]).vectors, local, atol=1e-6)
        # The artifacts went through the server into its own artifact root.
        stored = list((server.artifact_root).rglob("encoder.safetensors"))
        assert len(stored) == 1
    assert not server.healthy() and server.process is None
    start = time.monotonic()
    with pytest.raises(FatalError, match="cannot reach the MLflow registry"):
        Embedder.from_uri("models:/mirencoder@champion", tracking_uri=server.uri,
                          cache_dir=tmp_path / "cache2")
    assert time.monotonic() - start < 15


def test_a_port_in_use_is_named_before_the_server_starts(tmp_path, capsys):
    """It was an exit after seconds with the whole server log (earlier starts' lines included)
    and the reason buried in it."""
    import socket

    from mirencoder.infra.mlflow_server import main, port_in_use

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_in_use("127.0.0.1", port) == "Address already in use"
        started = time.monotonic()
        assert main(["--port", str(port), "--set", f"root={tmp_path}"]) != 0
        assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in err
    assert port_in_use("127.0.0.1", port) is None
