"""The one front end: its checks and reasons, and the same programs and views for the dataset
build and the embedder (training and serving)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import InputError
from mirencoder.pipelines.compile import COMPILE_REASONS, CompileConfig
from mirencoder.pipelines.frontend.language import detect_text_language, is_bitcode
from mirencoder.pipelines.frontend.loader import FRONTEND_REASONS, FrontEnd
from mirencoder.pipelines.frontend.views import build_views, graph_view, id_views
from mirencoder.pipelines.inputs import REJECTION_REASONS
from mirencoder.pipelines.ir.node_vocab import NodeTextVocabulary
from mirencoder.pipelines.ir.tokenizer import IRTokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_IR = REPO_ROOT / "datasets" / "demo-corpus" / "ir"


def _reason(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value.reason


def test_reason_vocabulary_covers_compile_and_file_checks():
    assert set(COMPILE_REASONS) <= set(FRONTEND_REASONS)
    assert {"too_large", "unsupported_language"} <= set(REJECTION_REASONS) & set(FRONTEND_REASONS)


def test_file_checks_give_one_reason_each(tmp_path: Path):
    frontend = FrontEnd(CompileConfig(max_file_bytes=64))
    (tmp_path / "notes.txt").write_text("not a program")
    (tmp_path / "big.ll").write_text("; " + "x" * 100 + "\n")
    (tmp_path / "empty.ll").write_text("  \n")
    assert _reason(lambda: frontend.file_bytes(tmp_path / "nope.c")) == "missing_file"
    assert _reason(lambda: frontend.file_bytes(tmp_path)) == "not_a_file"
    assert _reason(lambda: frontend.file_bytes(tmp_path / "notes.txt")) == "unsupported_language"
    assert _reason(lambda: frontend.file_bytes(tmp_path / "big.ll")) == "too_large"
    assert _reason(lambda: frontend.file_bytes(tmp_path / "big.ll", "fortran")) == (
        "unsupported_language")
    assert _reason(lambda: frontend.program(tmp_path / "empty.ll")) == "empty"
    assert _reason(lambda: frontend.text_bytes("x", "fortran", tmp_path, 0)) == (
        "unsupported_language")


def test_language_of_texts_and_bitcode():
    module = FrontEnd().program(sorted(DEMO_IR.glob("*.ll"))[0])
    assert is_bitcode(module.bitcode) and not is_bitcode(module.text.encode())
    assert detect_text_language(module.bitcode) == "ir"
    assert detect_text_language(module.text) == "ir"
    assert detect_text_language("int main(void) { return 0; }") == "c"


def test_build_views_is_the_builds_two_phases():
    frontend = FrontEnd()
    irs = [frontend.program(path) for path in sorted(DEMO_IR.glob("*.ll"))]
    tokenizer = IRTokenizer.train([ir.text for ir in irs], vocab_size=300)
    vocab = NodeTextVocabulary.build(Counter(t for ir in irs for t in graph_view(ir).node_texts))
    for ir in irs:
        graph = graph_view(ir)  # the compile phase
        tokens, node_text = id_views(ir.text, list(graph.node_texts), tokenizer, vocab)
        both_tokens, both_graph = build_views(ir, tokenizer, vocab)
        np.testing.assert_array_equal(tokens, both_tokens)
        np.testing.assert_array_equal(node_text, both_graph.node_text)
        np.testing.assert_array_equal(graph.edge_src, both_graph.edge_src)
        head, _ = build_views(ir, tokenizer, vocab, max_tokens=10)
        np.testing.assert_array_equal(head, tokens[:10])


def test_embedder_path_gives_the_records_of_the_build(demo_dataset: Path):
    """Serving (text-only normalisation + build_views) equals every record the build wrote."""
    tokenizer = IRTokenizer.load(demo_dataset / "tokenizer.json")
    vocab = NodeTextVocabulary.load(demo_dataset / "node_vocab.json")
    frontend = FrontEnd()
    rows = [row for path in sorted((demo_dataset / "parquet").rglob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]
    assert len(rows) >= 30
    for row in rows:
        ir = frontend.program(Path(row["source_path"]), bitcode=False)
        assert ir.sha256 == row["ir_sha256"], row["source_path"]
        tokens, graph = build_views(ir, tokenizer, vocab)
        np.testing.assert_array_equal(tokens, row["tokens"])
        for column, array in graph.columns().items():  # every graph column, by its stored name
            np.testing.assert_array_equal(array, row[column])
