"""Featurizers: opcode histogram, kernel identity, encoder wrapper, IR2Vec (when installed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mirencoder.training.evaluation.features.base import Featurizer, failed_rows
from mirencoder.training.evaluation.features.encoder_embedding import EncoderFeaturizer
from mirencoder.training.evaluation.features.ir2vec_vectors import (
    IR2VecFeaturizer,
    ir2vec_available,
)
from mirencoder.training.evaluation.features.kernel_identity import KernelIdentityFeaturizer
from mirencoder.training.evaluation.features.opcode_histogram import (
    LLVM_OPCODES,
    OpcodeHistogramFeaturizer,
    opcode_counts,
)
from mirencoder.training.evaluation.features.program_size import ProgramSizeFeaturizer
from mirencoder.training.evaluation.features.registry import BUILTIN_FEATURIZERS, build_featurizer
from mirencoder.training.evaluation.ir_repair import repair_ir_file, repair_untyped_byval
from mirencoder.training.evaluation.programs import EvalProgram

IR = """; ModuleID = 'k.cl'
source_filename = "k.cl"
%struct.s = type { i32 }

define i32 @f(i32 %a, i32* %p) {
entry:
  %b = add nsw i32 %a, 1
  %c = tail call i32 @g(i32 %b)
  store i32 %c, i32* %p, align 4
  switch i32 %c, label %done [
    i32 0, label %zero
    i32 1, label %zero
  ]

zero:                                             ; preds = %entry, %entry
  br label %done

done:                                             ; preds = %zero, %entry
  %r = phi i32 [ %b, %entry ], [ 0, %zero ]
  ret i32 %r
}

declare i32 @g(i32)
"""


def test_opcode_counts_on_handwritten_ir() -> None:
    counts = opcode_counts(IR)
    assert counts == {"add": 1, "call": 1, "store": 1, "switch": 1, "br": 1, "phi": 1, "ret": 1}


def test_opcode_histogram_featurizer(tmp_path: Path) -> None:
    good = tmp_path / "k.ll"
    good.write_text(IR)
    bad = tmp_path / "bad.bc"
    bad.write_bytes(b"BC\xc0\xde" + b"\x00garbage" * 3)
    featurizer = OpcodeHistogramFeaturizer()
    assert isinstance(featurizer, Featurizer)
    out = featurizer.featurize([EvalProgram(key="k", kernel="k", path=good),
                                EvalProgram(key="bad", kernel="bad", path=bad)])
    assert out.shape == (2, len(LLVM_OPCODES) + 1)
    assert out[0, LLVM_OPCODES.index("add")] == pytest.approx(np.log1p(1))
    assert out[0].sum() == pytest.approx(7 * np.log1p(1))
    assert failed_rows(out).tolist() == [False, True]
    assert set(featurizer.errors) == {"bad"}


def test_program_size_is_the_log_instruction_count(tmp_path: Path) -> None:
    good = tmp_path / "k.ll"
    good.write_text(IR)
    bigger = tmp_path / "k2.ll"
    bigger.write_text(IR.replace("  ret i32 %r", "  %s = add i32 %r, %r\n  ret i32 %s"))
    missing = tmp_path / "gone.ll"
    featurizer = ProgramSizeFeaturizer()
    assert isinstance(featurizer, Featurizer)
    out = featurizer.featurize([EvalProgram(key=p.stem, kernel=p.stem, path=p)
                                for p in (good, bigger, missing)])
    assert out.shape == (3, 1)
    assert out[0, 0] == pytest.approx(np.log1p(7)) and out[1, 0] == pytest.approx(np.log1p(8))
    assert failed_rows(out).tolist() == [False, False, True] and set(featurizer.errors) == {"gone"}


SPIR_IR = """define spir_kernel void @k(ptr addrspace(1) %out, ptr addrspace(3) %tile,
                                 ptr addrspace(2) %c) {
entry:
  %v = load float, ptr addrspace(1) %out, align 4
  %w = load float, ptr addrspace(2) %c, align 4
  %p = load ptr addrspace(3), ptr addrspace(1) %out, align 8
  store float %v, ptr addrspace(3) %tile, align 4
  store ptr addrspace(3) %p, ptr addrspace(1) %out, align 8
  %old = atomicrmw add ptr addrspace(1) %out, i32 1 seq_cst
  %x = cmpxchg ptr addrspace(7) %c, i32 0, i32 1 seq_cst seq_cst
  %q = alloca i32, align 4
  store i32 1, ptr %q, align 4
  ret void
}
"""


def test_memory_op_counts_per_address_space(tmp_path: Path) -> None:
    from mirencoder.training.evaluation.features.memory_ops import (
        MemoryOpsFeaturizer,
        memory_op_counts,
    )

    assert memory_op_counts(SPIR_IR) == {"load:1": 2, "load:2": 1, "store:3": 1, "store:1": 1,
                                         "store:0": 1, "atomic:1": 1, "atomic:other": 1}
    typed = "  %v = load float, float addrspace(3)* %t\n  store i32 %c, i32* %p, align 4\n"
    assert memory_op_counts(typed) == {"load:3": 1, "store:0": 1}
    assert memory_op_counts(IR) == {"store:0": 1}
    good, bad = tmp_path / "k.ll", tmp_path / "bad.ll"
    good.write_text(IR)
    bad.write_text("not ir")
    featurizer = MemoryOpsFeaturizer()
    out = featurizer.featurize([EvalProgram(key="k", kernel="k", path=good),
                                EvalProgram(key="bad", kernel="bad", path=bad)])
    assert out.shape == (2, 15) and out[0].sum() == pytest.approx(np.log1p(1))
    assert np.isnan(out[1]).all() and list(featurizer.errors) == ["bad"]


def test_kernel_identity_one_hot() -> None:
    programs = [EvalProgram(key=f"{k}_{i}", kernel=k, path=Path("x"))
                for i, k in enumerate("bab")]
    out = KernelIdentityFeaturizer().featurize(programs)
    assert out.tolist() == [[0, 1], [1, 0], [0, 1]]


def test_registry_builds_every_builtin_and_runtime_only_is_empty() -> None:
    for name in BUILTIN_FEATURIZERS:
        assert build_featurizer(name).name == name
    with pytest.raises(ValueError, match="known"):
        build_featurizer("nope")
    out = build_featurizer("runtime-only").featurize(
        [EvalProgram(key="a", kernel="a", path=Path("a.ll"))] * 3)
    assert out.shape == (3, 0) and failed_rows(out).tolist() == [False] * 3


def test_byval_repair(tmp_path: Path) -> None:
    text = "define void @k(%struct.par* byval nocapture align 4, i32* byval(i32) %x)"
    repaired, count = repair_untyped_byval(text)
    assert count == 1
    assert "%struct.par* byval(%struct.par) nocapture" in repaired
    assert repair_untyped_byval(repaired) == (repaired, 0)
    original = tmp_path / "k.ll"
    original.write_text(text)
    fixed, count = repair_ir_file(original, tmp_path / "repaired")
    assert count == 1 and fixed.read_text() == repaired and original.read_text() == text
    assert repair_ir_file(original, tmp_path / "repaired") == (fixed, 1)  # reported every time


@pytest.mark.parametrize("errors", [
    {1: "compile_error: boom"},
    {1: ("compile_error", "boom")},
    {"b.ll": "boom"},
    [None, "boom"],
    [(1, "compile_error", "boom")],
    [SimpleNamespace(index=1, reason="compile_error", message="boom")],
])
def test_encoder_featurizer_maps_errors_to_nan_rows(errors) -> None:
    programs = [EvalProgram(key=k, kernel=k, path=Path(f"{k}.ll")) for k in "ab"]

    def embed(paths: list[str]):
        assert paths == ["a.ll", "b.ll"]
        return SimpleNamespace(vectors=np.ones((2, 3)), errors=errors)

    featurizer = EncoderFeaturizer("encoder", embed)
    out = featurizer.featurize(programs)
    assert failed_rows(out).tolist() == [False, True]
    assert list(featurizer.errors) == ["b"] and "boom" in featurizer.errors["b"]


def test_encoder_featurizer_from_embedder_passes_modality() -> None:
    calls = []

    class FakeEmbedder:
        def embed_files(self, paths, modality="fused"):
            calls.append(modality)
            return np.zeros((len(paths), 4))

    featurizer = EncoderFeaturizer.from_embedder("encoder-graph", FakeEmbedder(), "graph")
    out = featurizer.featurize([EvalProgram(key="a", kernel="a", path=Path("a.ll"))])
    assert out.shape == (1, 4) and calls == ["graph"] and featurizer.errors == {}


def test_encoder_featurizer_embeds_on_one_thread_and_restores_the_count() -> None:
    import torch

    seen = []

    def embed(paths: list[str]):
        seen.append(torch.get_num_threads())
        return np.zeros((len(paths), 2))

    before = torch.get_num_threads()
    EncoderFeaturizer("encoder", embed).featurize(
        [EvalProgram(key="a", kernel="a", path=Path("a.ll"))])
    assert seen == [1] and torch.get_num_threads() == before


def test_an_evaluation_loads_its_encoder_on_the_threads_it_embeds_on(monkeypatch) -> None:
    import torch

    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.evaluation.features.encoder_embedding import (
        EMBED_THREADS,
        load_embedder,
    )

    seen = []
    monkeypatch.setattr(Embedder, "from_uri", classmethod(
        lambda cls, uri, **settings: seen.append((torch.get_num_threads(), uri, settings))))
    before = torch.get_num_threads()
    load_embedder("runs/x/encoder", windows="first")
    assert seen == [(EMBED_THREADS, "runs/x/encoder", {"windows": "first"})]
    assert torch.get_num_threads() == before


@pytest.mark.skipif(not ir2vec_available(), reason="ir2vec not installed "
                                                   "(pip install ir2vec==2.1.1)")
def test_ir2vec_survives_a_file_that_kills_it(tmp_path: Path) -> None:
    good = tmp_path / "k.ll"
    good.write_text(IR)
    broken = tmp_path / "broken.ll"
    broken.write_text("define i32 @f( {\n")
    programs = [EvalProgram(key=p.stem, kernel=p.stem, path=p) for p in (good, broken, good)]
    for mode in ("fa", "sym"):
        featurizer = IR2VecFeaturizer(mode)
        out = featurizer.featurize(programs)
        assert out.shape == (3, 300)
        assert failed_rows(out).tolist() == [False, True, False]
        assert np.allclose(out[0], out[2]) and np.abs(out[0]).sum() > 0
        assert np.array_equal(out[0], out[0].astype(np.float32))  # rounded: repeatable
        assert list(featurizer.errors) == ["broken"]


def test_a_random_vocabulary_keeps_the_entities_and_their_norms(tmp_path: Path) -> None:
    from mirencoder.training.evaluation.features.ir2vec_vocab import (
        main,
        parse_seeds,
        random_vocabulary,
        read_vocabulary,
        write_vocabulary,
    )

    source = tmp_path / "seedEmbeddingVocab.txt"
    source.write_text("add:[3.0, 4.0, 0.0],\nload:[0.0, 0.0, 2.0]\n")  # the released format
    trained = read_vocabulary(source)
    assert list(trained) == ["add", "load"] and trained["add"].tolist() == [3.0, 4.0, 0.0]
    twin = random_vocabulary(trained, seed=1)
    assert list(twin) == ["add", "load"]
    assert np.linalg.norm(twin["add"]) == pytest.approx(5.0)
    assert np.linalg.norm(twin["load"]) == pytest.approx(2.0)
    assert not np.allclose(twin["add"], trained["add"])
    assert all(np.array_equal(v, random_vocabulary(trained, 1)[k]) for k, v in twin.items())
    path = write_vocabulary(twin, tmp_path / "rand1")
    assert path.read_text().count(",\n") == 1 and path.read_text().endswith("]\n")
    again = read_vocabulary(path)
    assert all(np.allclose(again[k], twin[k]) for k in twin)
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("2,5") == [2, 5]
    for bad in ("x", "", "-1"):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)
    (tmp_path / "bad.txt").write_text("add:[1.0, 2.0]\nload 3.0\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        read_vocabulary(tmp_path / "bad.txt")
    assert main(["--out", str(tmp_path / "twins"), "--seeds", "0,1",
                 "--vocabulary", str(source)]) == 0
    assert read_vocabulary(tmp_path / "twins" / "rand1" / "seedEmbeddingVocab.txt")[
        "add"].tolist() == pytest.approx(twin["add"].tolist())


def test_an_ir2vec_vocabulary_folder_is_named_and_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds no seedEmbeddingVocab.txt"):
        build_featurizer(f"ir2vec-fa@{tmp_path}")
    (tmp_path / "seedEmbeddingVocab.txt").write_text("add:[1.0]\n")
    featurizer = build_featurizer(f"ir2vec-sym@{tmp_path}")
    assert featurizer.name == f"ir2vec-sym@{tmp_path}" and featurizer.mode == "sym"
    assert str(tmp_path) in featurizer.description
    with pytest.raises(ValueError, match="ir2vec-fa@DIR"):
        build_featurizer("opcode-histogram@x")


@pytest.mark.skipif(not ir2vec_available(), reason="ir2vec not installed "
                                                   "(pip install ir2vec==2.1.1)")
def test_ir2vec_reads_another_vocabulary_and_the_released_one_written_again(tmp_path: Path
                                                                           ) -> None:
    from mirencoder.training.evaluation.features.ir2vec_vocab import (
        random_vocabulary,
        read_vocabulary,
        released_vocabulary,
        write_vocabulary,
    )

    good = tmp_path / "k.ll"
    good.write_text(IR)
    programs = [EvalProgram(key="k", kernel="k", path=good)]
    trained = read_vocabulary(released_vocabulary())
    write_vocabulary(trained, tmp_path / "same")
    write_vocabulary(random_vocabulary(trained, 0), tmp_path / "rand0")
    released = IR2VecFeaturizer("fa").featurize(programs)
    assert np.array_equal(IR2VecFeaturizer("fa", vocabulary=tmp_path / "same").featurize(
        programs), released)
    twin = IR2VecFeaturizer("fa", vocabulary=tmp_path / "rand0").featurize(programs)
    assert np.isfinite(twin).all() and not np.allclose(twin, released)
