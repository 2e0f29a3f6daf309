"""Model size is computed from the config and checked (limit, weights header) before any
allocation: a package whose config says ``d_model: 100000`` fails fast and small."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from mirencoder.infra.errors import FatalError
from mirencoder.infra.files import sha256_file
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.core.model_size import expected_state_shapes, parameter_count
from mirencoder.training.core.models.encoder import MIREncoder
from mirencoder.training.core.package import (
    DEFAULT_MAX_MODEL_BYTES,
    load_encoder_package,
    save_encoder_package,
)

REPO = Path(__file__).resolve().parents[2]
SMALL = ModelConfig(d_model=16, heads=2, ffn=32, gnn_hidden=16, fusion_dim=16,
                    context_length=16, layers=1, gnn_layers=1)


READOUTS = {"size": "mean_max_size", "counts": "mean_max_size_counts",
            "loops": "mean_max_size_loop_counts", "looponly": "mean_max_size_loop_only_counts",
            "sparse": "mean_max_size_loop_only_counts"}
FUSIONS_BY_VARIANT = {"raw": "residual_raw", "gated": "residual_gated",
                      "sparse": "residual_sparse"}


def _config(name: str) -> ModelConfig:
    return ModelConfig(**yaml.safe_load((REPO / "training" / "configs" / f"{name}.yaml")
                                        .read_text())["model"])


@pytest.mark.parametrize("name", ["tiny", "base", "small-learned", "small-rotary",
                                  "small-size", "small-blocks", "small-counts", "small-raw",
                                  "small-loops", "small-looponly", "small-gated",
                                  "small-sparse"])
def test_sizes_from_the_config_equal_a_built_model(name):
    if name.startswith("small"):
        variant = name.split("-")[1]
        config = ModelConfig(**{**{f: getattr(SMALL, f) for f in SMALL.__dataclass_fields__},
                                "positions": variant if variant in ("learned", "rotary") else
                                "learned" if variant == "blocks" else "rotary",
                                "graph_readout": READOUTS.get(variant, "mean_max"),
                                "layers": 3, "gnn_layers": 2,
                                "gnn_block_pooling": variant == "blocks",
                                "fusion": FUSIONS_BY_VARIANT.get(variant, SMALL.fusion)})
    else:
        config = _config(name)
    vocab, node_vocab = 8000, 3000
    model = MIREncoder(config, vocab_size=vocab, node_vocab_size=node_vocab, pad_id=0)
    built = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert expected_state_shapes(config, vocab, node_vocab) == built
    assert parameter_count(config, vocab, node_vocab) == sum(p.numel()
                                                             for p in model.parameters())


def _package(root: Path) -> Path:
    torch.manual_seed(0)
    model = MIREncoder(SMALL, vocab_size=50, node_vocab_size=10, pad_id=0)
    return save_encoder_package(root / "pkg", model, SMALL, None, None, {})


def _edit_config(package: Path, changes: dict[tuple[str, ...], object]) -> None:
    """Changes encoder_config.json as an attacker would (the config is in no hash list)."""
    path = package / "encoder_config.json"
    config = json.loads(path.read_text())
    for (*sections, key), value in changes.items():
        node = config
        for section in sections:
            node = node[section]
        node[key] = value
    path.write_text(json.dumps(config))


_LOAD = textwrap.dedent("""
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # old code would need 120 GB
    from mirencoder.infra.errors import FatalError
    from mirencoder.training.core.package import load_encoder_package
    start = time.perf_counter()
    try:
        load_encoder_package(sys.argv[1])
        outcome = "loaded"
    except FatalError as error:
        outcome = str(error)
    except BaseException as error:
        outcome = f"{type(error).__name__}: {error}"
    print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def test_a_huge_config_is_refused_before_any_allocation(tmp_path):
    package = _package(tmp_path)
    _edit_config(package, {("model", "d_model"): 100000, ("model", "ffn"): 400000})
    result = subprocess.run([sys.executable, "-c", _LOAD, str(package)], capture_output=True,
                            text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "above the limit of 2.0 GiB" in report["outcome"], report
    assert "nothing was allocated" in report["outcome"]
    assert report["seconds"] < 2.0 and report["max_rss_mb"] < 1500, report
    print(f"refused in {report['seconds'] * 1000:.1f} ms, peak RSS {report['max_rss_mb']:.0f} MB")


def test_the_limit_is_configurable(tmp_path):
    from mirencoder.training.embedding.embed_config import EmbedConfig

    package = _package(tmp_path)
    assert EmbedConfig().max_model_bytes == DEFAULT_MAX_MODEL_BYTES == 2 << 30
    with pytest.raises(FatalError, match=r"above the limit of 0\.0 GiB"):
        load_encoder_package(package, max_bytes=1000, verify=False)
    load_encoder_package(package, max_bytes=parameter_count(SMALL, 50, 10) * 4, verify=False)


def _rewrite_weights(package: Path, state: dict) -> None:
    """Replaces the weights and updates their hash in the config, as an attacker would."""
    from safetensors.torch import save_file

    save_file(state, str(package / "encoder.safetensors"))
    _edit_config(package, {("files", "encoder.safetensors"):
                           sha256_file(package / "encoder.safetensors")})


def test_the_weights_header_must_fit_the_config(tmp_path):
    package = _package(tmp_path)
    from safetensors.torch import load_file

    state = load_file(str(package / "encoder.safetensors"))
    cases = {
        "lacks tensors fusion.fuse.3.bias": {k: v for k, v in state.items()
                                             if k != "fusion.fuse.3.bias"},
        "has unexpected tensors extra": {**state, "extra": torch.zeros(3)},
        "mismatched tensors token_encoder.embedding.weight F32[60, 16]":
            {**state, "token_encoder.embedding.weight": torch.zeros(60, 16)},
        "mismatched tensors fusion.fuse.0.bias I64": {**state, "fusion.fuse.0.bias":
                                                      torch.zeros(16, dtype=torch.int64)},
    }
    for expected, tampered in cases.items():
        _rewrite_weights(package, tampered)
        with pytest.raises(FatalError, match=expected.replace("[", r"\[")):
            load_encoder_package(package)
    _rewrite_weights(package, state)
    load_encoder_package(package)
    # A header that promises more data than the file holds.
    weights = package / "encoder.safetensors"
    data = weights.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header["fusion.fuse.3.bias"]["data_offsets"][1] += 4
    text = json.dumps(header).encode()
    weights.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length:])
    _edit_config(package, {("files", "encoder.safetensors"): sha256_file(weights)})
    with pytest.raises(FatalError, match="corrupt weights file"):
        load_encoder_package(package)


def test_the_parameter_count_in_the_config_is_checked(tmp_path):
    package = _package(tmp_path)
    _edit_config(package, {("num_parameters",): 12})
    with pytest.raises(FatalError, match="says 12 parameters"):
        load_encoder_package(package)
