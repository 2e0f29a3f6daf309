"""Untrained encoder packages: random weights, vocabularies fitted on a few IR texts."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...infra.errors import ConfigError
from ..core.models.encoder import MIREncoder

__all__ = ["random_encoder_package"]


def random_encoder_package(out_dir: str | Path, ir_texts: Sequence[str], *,
                           config: str | Path = "tiny", vocab_size: int = 512, seed: int = 0,
                           overrides: Sequence[str] = ()) -> Path:
    """An *untrained* encoder package (random weights) with vocabularies fitted on ``ir_texts``.

    For tests, benchmarks without a trained model, and the "untrained encoder" ablation; its
    ``lineage.json`` says ``"untrained": true``.

    Args:
        out_dir: the package folder to write.
        ir_texts: a few IR texts (any LLVM version normalisation accepts) to fit the tokenizer
            and the node-text vocabulary on.
        config: a config name under ``training/configs`` (``tiny``, ``base``) or a YAML path.
        vocab_size: the tokenizer's target vocabulary size.
        seed: seeds the weights.
        overrides: ``section.key=value`` config overrides (e.g. ``model.layers=1``).
    """
    from collections import Counter

    import torch

    from ...pipelines.ir.graph import build_graph
    from ...pipelines.ir.node_vocab import NodeTextVocabulary
    from ...pipelines.ir.normalize import find_llvm_as, normalize_ir
    from ...pipelines.ir.tokenizer import IRTokenizer
    from ..core.package import save_encoder_package
    from ..pretraining.config import BUNDLED_CONFIG_DIR, config_hash, load_pretrain_config

    yaml_path = Path(config)
    if not yaml_path.suffix:
        yaml_path = BUNDLED_CONFIG_DIR / f"{config}.yaml"
    pretrain_config = load_pretrain_config(yaml_path, list(overrides))
    llvm_as = find_llvm_as()
    irs = [normalize_ir(t.encode() if isinstance(t, str) else t, llvm_as=llvm_as)
           for t in ir_texts]
    if not irs:
        raise ConfigError("random_encoder_package needs at least one IR text")
    tokenizer = IRTokenizer.train([ir.text for ir in irs], vocab_size=vocab_size, min_frequency=1)
    counter: Counter = Counter()
    for ir in irs:
        counter.update(build_graph(ir).node_texts)
    node_vocab = NodeTextVocabulary.build(counter)
    torch.manual_seed(seed)
    model = MIREncoder(pretrain_config.model, vocab_size=tokenizer.vocab_size,
                                        node_vocab_size=len(node_vocab),
                                        pad_id=tokenizer.pad_id)
    with tempfile.TemporaryDirectory(prefix="mirencoder-package-") as tmp:
        tok_path = tokenizer.save(Path(tmp) / "tokenizer.json")
        vocab_path = node_vocab.save(Path(tmp) / "node_vocab.json")
        lineage = {"untrained": True, "seed": seed, "config_name": str(config),
                   "config_sha256": config_hash(pretrain_config),
                   "tokenizer_sha256": tokenizer.sha256, "node_vocab_sha256": node_vocab.sha256,
                   "dataset_name": f"random-package ({len(irs)} IR texts)",
                   "max_graph_nodes": pretrain_config.data.max_graph_nodes}
        return save_encoder_package(out_dir, model, pretrain_config.model, tok_path, vocab_path,
                                    lineage)
