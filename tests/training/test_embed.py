"""The embedding API and `mirencoder embed` on a real (randomly initialised tiny) encoder package."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mirencoder.infra.errors import ConfigError, FatalError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo-corpus"


@pytest.fixture(scope="module")
def package(random_package) -> Path:
    return random_package


@pytest.fixture(scope="module")
def embedder(package):
    from mirencoder.training.embedding.embedder import Embedder

    return Embedder.from_uri(package)


def _long_c_program(functions: int = 40) -> str:
    body = "\n".join(f"int f{i}(int *a, int n) {{ int s = {i}; for (int j = 0; j < n; ++j) "
                     f"s += a[j] * {i + 1} - (s >> {i % 7 + 1}); return s; }}"
                     for i in range(functions))
    return body + "\nint main(void) { int a[4] = {1,2,3,4}; return f0(a, 4); }\n"


def test_one_bad_file_never_spoils_the_batch(embedder, require_clang, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.c").write_text("")
    (bad / "syntax.c").write_text("int main( { return 0 }\n")
    (bad / "truncated.bc").write_bytes(b"BC\xc0\xde" + b"\x00" * 13)
    (bad / "notes.txt").write_text("not a program")
    (bad / "malformed.ll").write_text("define i32 @f( {\n")
    good = [DEMO / "c" / "matmul.c", DEMO / "cpp" / "ring_buffer.cpp",
            DEMO / "opencl" / "saxpy.cl", DEMO / "ir" / "collatz.ll"]
    paths = [good[0], bad / "empty.c", good[1], bad / "syntax.c", good[2], bad / "truncated.bc",
             bad / "notes.txt", good[3], bad / "missing.c", bad / "malformed.ll", good[0]]
    result = embedder.embed_files(paths, batch_size=4, progress=False)

    assert result.vectors.shape == (len(paths), embedder.dim)
    assert result.vectors.dtype == np.float32
    assert sorted(result.errors) == [1, 3, 5, 6, 8, 9]
    reasons = {i: reason for i, (reason, _) in result.errors.items()}
    assert reasons[1] == "empty" and reasons[3] == "compile_error"
    assert reasons[6] == "unsupported_language" and reasons[8] == "missing_file"
    assert reasons[5] in {"truncated_bitcode", "malformed_ir"}
    assert reasons[9] == "malformed_ir"
    assert all(message for _, message in result.errors.values())
    assert np.isnan(result.vectors[sorted(result.errors)]).all()
    ok = result.ok
    assert ok.sum() == 5 and np.isfinite(result.vectors[ok]).all()
    # The same file twice in one run embeds identically; a file alone equals it in a batch.
    np.testing.assert_allclose(result.vectors[0], result.vectors[10], rtol=0, atol=1e-6)
    alone = embedder.embed_files([good[2]], progress=False)
    np.testing.assert_allclose(alone.vectors[0], result.vectors[4], rtol=1e-4, atol=1e-5)
    # Different programs get different embeddings.
    assert np.abs(result.vectors[0] - result.vectors[2]).max() > 1e-3


def test_results_do_not_depend_on_the_compile_workers(package, require_clang, tmp_path):
    from mirencoder.training.embedding.embedder import Embedder

    (tmp_path / "syntax.c").write_text("int main( { return 0 }\n")
    (tmp_path / "same.c").write_bytes((DEMO / "c" / "matmul.c").read_bytes())
    paths = [*sorted(DEMO.rglob("*.c")), tmp_path / "syntax.c", *sorted(DEMO.rglob("*.cl")),
             tmp_path / "missing.c", tmp_path / "same.c", *sorted(DEMO.rglob("*.ll"))]
    results = {workers: Embedder.from_uri(package, workers=workers).embed_files(
        paths, batch_size=3, progress=False) for workers in (1, 4)}
    one, four = results[1], results[4]
    assert one.errors == four.errors and len(one.errors) == 2
    np.testing.assert_array_equal(one.vectors, four.vectors)
    assert np.isfinite(one.vectors[one.ok]).all() and one.ok.sum() == len(paths) - 2
    with pytest.raises(ConfigError, match="workers must be >= 0"):
        Embedder.from_uri(package, workers=-1)


def test_a_failing_forward_pass_raises(package):
    """A model fault is not an input error: it raises instead of giving rows of NaN."""
    from mirencoder.training.embedding.embedder import Embedder

    embedder = Embedder.from_uri(package)  # its own instance: its model is broken below

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch in the graph encoder")

    embedder.model.embed_graphs = broken
    with pytest.raises(RuntimeError, match="shape mismatch"):
        embedder.embed_files([DEMO / "ir" / "collatz.ll", DEMO / "ir" / "clamp_scale.ll"],
                             modality="graph", progress=False)


def test_modalities_texts_and_long_program_windows(embedder, require_clang):
    from mirencoder.pipelines.frontend.language import detect_text_language

    ir_text = (DEMO / "ir" / "clamp_scale.ll").read_text()
    assert detect_text_language(ir_text) == "ir"
    assert detect_text_language("int main(void) { return 0; }") == "c"
    texts = ["int twice(int x) { return 2 * x; }", ir_text, "", "int x = ;",
             "__kernel void k(__global float *a) { a[get_global_id(0)] *= 2.0f; }"]
    languages = [None, None, None, "c", "opencl"]
    fused = embedder.embed_texts(texts, languages)
    assert sorted(fused.errors) == [2, 3]
    assert fused.errors[2][0] == "empty" and fused.errors[3][0] == "compile_error"
    assert "text[3]" in fused.errors[3][1]  # the message names the text, not a temp file
    tokens = embedder.embed_texts(texts[:2], modality="tokens")
    graph = embedder.embed_texts(texts[:2], modality="graph")
    for other in (tokens, graph):
        assert other.vectors.shape == (2, embedder.dim) and not other.errors
        assert np.abs(other.vectors - fused.vectors[:2]).max() > 1e-3
    with pytest.raises(ConfigError, match="modality"):
        embedder.embed_texts(texts[:1], modality="pixels")
    unknown = embedder.embed_texts(["x"], ["fortran"])
    assert unknown.errors[0][0] == "unsupported_language"

    long_program = _long_c_program()
    first = embedder.embed_texts([long_program], ["c"])
    mean = embedder.embed_texts([long_program], ["c"], windows="mean", max_windows=4)
    short_first = embedder.embed_texts(texts[:1])
    short_mean = embedder.embed_texts(texts[:1], windows="mean")
    assert np.isfinite(mean.vectors).all()
    assert np.abs(first.vectors - mean.vectors).max() > 1e-4  # more windows, another vector
    np.testing.assert_allclose(short_first.vectors, short_mean.vectors, atol=1e-5)


def test_fast_path_and_twins_equal_the_training_computation(embedder, package, tmp_path):
    import torch

    from mirencoder.training.core.data.collate import collate_records
    from mirencoder.training.embedding.embedder import Embedder

    irs = sorted((DEMO / "ir").glob("*.ll"))
    renamed = tmp_path / "renamed.ll"  # other bytes, same canonical text
    renamed.write_text("; a comment the normaliser drops\n" + irs[0].read_text())
    paths = [irs[0], irs[1], renamed, irs[0]]
    records = [embedder.prepare_file(p) for p in paths]
    batch = collate_records(records, context_length=embedder.context_length,
                            tokenizer_ids=embedder.tokenizer_ids,
                            max_graph_nodes=embedder.max_graph_nodes)
    with torch.enable_grad():  # the training computation, not the inference path
        reference = embedder.model(batch)
    every = Embedder.from_uri(package, deduplicate=False)
    for deduplicate, used in ((True, embedder), (False, every)):
        assert used.deduplicate is deduplicate
        for modality in ("fused", "tokens", "graph"):
            result = used.embed_files(paths, modality=modality, progress=False)
            assert not result.errors
            np.testing.assert_allclose(result.vectors, reference[modality].detach().numpy(),
                                       rtol=0, atol=1e-5)
            if deduplicate:  # twins are encoded once and share their row
                assert np.array_equal(result.vectors[0], result.vectors[2])
                assert np.array_equal(result.vectors[0], result.vectors[3])


def test_joint_is_the_three_outputs_side_by_side(embedder):
    irs = sorted((DEMO / "ir").glob("*.ll"))
    assert len(irs) >= 2
    parts = {m: embedder.embed_files(irs, modality=m, progress=False).vectors
             for m in ("fused", "tokens", "graph")}
    joint = embedder.embed_files(irs, modality="joint", progress=False).vectors
    d = embedder.dim
    assert joint.shape == (len(irs), 3 * d) and embedder.modality_dim("joint") == 3 * d
    np.testing.assert_allclose(np.linalg.norm(joint, axis=1), 1.0, atol=1e-5)
    for k, m in enumerate(("fused", "tokens", "graph")):
        part = joint[:, k * d:(k + 1) * d] * np.sqrt(3.0)
        expected = parts[m] / np.linalg.norm(parts[m], axis=1, keepdims=True)
        np.testing.assert_allclose(part, expected, atol=1e-5)
    # the cosine of two joint vectors is the mean of their three cosines
    cosines = [float(expected_a @ expected_b) for expected_a, expected_b in (
        (parts[m][0] / np.linalg.norm(parts[m][0]), parts[m][1] / np.linalg.norm(parts[m][1]))
        for m in ("fused", "tokens", "graph"))]
    assert float(joint[0] @ joint[1]) == pytest.approx(np.mean(cosines), abs=1e-5)


def test_every_output_from_one_pass_equals_each_alone(embedder, require_clang, tmp_path):
    from mirencoder.training.evaluation.features.encoder_embedding import SharedOutputs
    from mirencoder.training.evaluation.head_network import torch_threads

    (tmp_path / "syntax.c").write_text("int main( { return 0 }\n")
    paths = [*sorted(DEMO.rglob("*.ll")), tmp_path / "syntax.c", DEMO / "c" / "matmul.c",
             DEMO / "c" / "matmul.c"]
    modalities = ("fused", "tokens", "graph", "joint")
    with torch_threads(1):  # bitwise-reproducible reductions, as evaluations run
        together = embedder.embed_outputs(paths, modalities, batch_size=3, progress=False)
        alones = {m: embedder.embed_files(paths, modality=m, batch_size=3, progress=False)
                  for m in modalities}
    assert list(together) == list(modalities)
    for modality, alone in alones.items():
        got = together[modality]
        assert got.modality == modality and got.errors == alone.errors == {
            len(paths) - 3: got.errors[len(paths) - 3]}
        np.testing.assert_array_equal(got.vectors, alone.vectors)
    # Featurizers sharing one pass: each output's rows as alone, the programs embedded once.
    calls = []
    original = embedder.embed_outputs

    def counted(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)
    shared = SharedOutputs(embedder, ("fused", "graph"), progress=False)
    try:
        embedder.embed_outputs = counted
        with torch_threads(1):
            graph = shared.embed("graph")([str(p) for p in paths])
            fused = shared.embed("fused")([str(p) for p in paths])
            tokens = shared.embed("tokens")([str(p) for p in paths])  # not announced: own pass
    finally:
        del embedder.embed_outputs
    assert calls == [["fused", "graph"], ["fused", "graph", "tokens"]]
    with torch_threads(1):  # the default batch size, as the shared passes used
        for result in (graph, fused, tokens):
            alone = embedder.embed_files(paths, modality=result.modality, progress=False)
            np.testing.assert_array_equal(result.vectors, alone.vectors)
    with pytest.raises(ConfigError, match="modality must be one of"):
        embedder.embed_outputs(paths[:1], ["fused", "nope"], progress=False)


def test_the_embedder_takes_its_settings_from_one_config(package):
    from mirencoder.training.embedding.embed_config import EmbedConfig
    from mirencoder.training.embedding.embedder import Embedder

    config = EmbedConfig(model=str(package), token_batch_size=4, graph_batch_size=2,
                         max_graph_nodes=64, modality="graph", windows="mean", max_windows=2)
    embedder = Embedder.from_config(config)
    assert embedder.config is config and embedder.max_graph_nodes == 64
    assert (embedder.token_batch_size, embedder.graph_batch_size) == (4, 2)
    ir = (DEMO / "ir" / "collatz.ll").read_text()
    by_default = embedder.embed_texts([ir]).vectors  # modality, windows from the config
    explicit = embedder.embed_texts([ir], modality="graph", windows="mean", max_windows=2)
    np.testing.assert_array_equal(by_default, explicit.vectors)
    with pytest.raises(AttributeError):
        embedder.deduplicate = False  # settings are fixed at construction
    with pytest.raises(ConfigError) as error:
        Embedder.from_uri(package, precision="fp8", batch_size=0, nope=1)
    assert len(error.value.problems) == 3


def test_bf16_precision_stays_close_to_float32(package):
    import torch

    from mirencoder.training.embedding.embedder import Embedder

    irs = sorted((DEMO / "ir").glob("*.ll"))
    exact = Embedder.from_uri(package).embed_files(irs, progress=False)
    fast = Embedder.from_uri(package, precision="bf16")
    assert fast.precision == "bf16"
    assert next(fast.model.parameters()).dtype == torch.bfloat16
    for modality in ("fused", "graph"):
        result = fast.embed_files(irs, modality=modality, progress=False)
        reference = (exact if modality == "fused"
                     else Embedder.from_uri(package).embed_files(irs, modality=modality,
                                                                 progress=False))
        assert not result.errors and result.vectors.dtype == np.float32
        cosine = (result.vectors * reference.vectors).sum(1) / (
            np.linalg.norm(result.vectors, axis=1) * np.linalg.norm(reference.vectors, axis=1))
        assert cosine.min() > 0.999
        assert not np.array_equal(result.vectors, reference.vectors)  # really bf16
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        Embedder.from_uri(package, precision="fp8")
    with pytest.raises(ConfigError, match="load the encoder again"):
        fast.use_precision("fp32")  # bf16-rounded weights cannot give float32 embeddings
    rotary = fast.model.token_encoder.blocks[0].rotary  # the tiny config's rotary positions
    assert rotary.cos.dtype == rotary.sin.dtype == torch.float32  # angles stay exact


def test_corrupt_or_missing_packages_give_clear_errors(package, tmp_path):
    from mirencoder.training.embedding.embedder import Embedder

    with pytest.raises(ConfigError, match="no encoder at"):
        Embedder.from_uri(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="neither an encoder package"):
        Embedder.from_uri(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(package, broken)
    weights = broken / "encoder.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(FatalError, match="corrupt encoder package"):
        Embedder.from_uri(broken)
    missing = tmp_path / "missing"
    shutil.copytree(package, missing)
    (missing / "node_vocab.json").unlink()
    with pytest.raises(FatalError, match="node_vocab.json"):
        Embedder.from_uri(missing)


def test_embed_cli_writes_one_parquet_row_per_input(package, require_clang, tmp_path):
    from mirencoder.cli import main

    inputs = tmp_path / "inputs"
    shutil.copytree(DEMO / "opencl", inputs / "opencl")
    shutil.copy(DEMO / "ir" / "collatz.ll", inputs / "collatz.ll")
    (inputs / "broken.c").write_text("this is not C\n")
    out = tmp_path / "emb.parquet"
    code = main(["embed", str(inputs), str(DEMO / "c" / "crc32.c"), "--model", str(package),
                 "--out", str(out), "--modality", "graph", "--no-progress", "--batch-size", "4",
                 "--precision", "bf16"])
    assert code == 0
    table = pq.read_table(out)
    assert table.column_names == ["path", "status", "reason", "message", "embedding"]
    embedding_type = table.schema.field("embedding").type
    assert pa.types.is_list(embedding_type) and embedding_type.value_type == pa.float32()
    rows = table.to_pylist()
    expected = len(list((DEMO / "opencl").glob("*.cl"))) + 3
    assert len(rows) == expected
    by_name = {Path(row["path"]).name: row for row in rows}
    assert by_name["broken.c"]["status"] == "failed"
    assert by_name["broken.c"]["reason"] == "compile_error" and by_name["broken.c"]["embedding"] is None
    ok = [row for row in rows if row["status"] == "ok"]
    assert len(ok) == expected - 1
    assert all(len(row["embedding"]) == 128 and row["reason"] is None for row in ok)
    assert table.schema.metadata[b"mirencoder.modality"] == b"graph"
    assert table.schema.metadata[b"mirencoder.precision"] == b"bf16"
    assert main(["embed", str(tmp_path / "absent.c"), "--model", str(package),
                 "--out", str(out)]) == 2


def test_pooled_windows_equal_the_training_computation(embedder, require_clang, tmp_path):
    """``windows="pool"`` gives what the encoder computes on a ``collate_records(...,
    windows="all")`` batch (training's whole-program path); ``auto`` follows the package."""
    import torch

    from mirencoder.training.core.data.collate import collate_records

    long_program = _long_c_program()
    pooled = embedder.embed_texts([long_program, "int twice(int x) { return 2 * x; }"], ["c", "c"],
                                  windows="pool", max_windows=3, modality="fused")
    assert not pooled.errors
    source = tmp_path / "long.c"
    source.write_text(long_program)
    record = embedder.prepare_file(source)
    batch = collate_records([record], context_length=embedder.context_length,
                            tokenizer_ids=embedder.tokenizer_ids, windows="all", max_windows=3,
                            max_graph_nodes=embedder.max_graph_nodes)
    assert batch.tokens.size(0) == 3
    with torch.enable_grad():
        reference = embedder.model(batch)["fused"].detach().numpy()
    np.testing.assert_allclose(pooled.vectors[:1], reference, rtol=1e-4, atol=1e-4)
    first = embedder.embed_texts([long_program], ["c"], windows="first")
    assert np.abs(first.vectors - pooled.vectors[:1]).max() > 1e-4
    assert embedder.default_windows == "first"  # a package without data.windows=all


def test_window_policy_follows_the_package_lineage(tmp_path):
    import json

    from mirencoder.training.embedding.view_encoding import package_window_policy

    assert package_window_policy(tmp_path) == ("first", 16)  # no lineage: an older package
    (tmp_path / "lineage.json").write_text(json.dumps(
        {"config": {"data": {"windows": "all", "max_windows": 4}}}))
    assert package_window_policy(tmp_path) == ("pool", 4)
    (tmp_path / "lineage.json").write_text(json.dumps({"config": {"data": {"windows": "first"}}}))
    assert package_window_policy(tmp_path) == ("first", 16)


def test_one_path_or_text_where_a_list_goes_is_refused(embedder, tmp_path):
    """A bare string was taken character by character (12 'missing_file' rows for one path)."""
    one = tmp_path / "one.ll"
    one.write_text("define i32 @f(i32 %x) {\n  ret i32 %x\n}\n")
    for call, says in ((lambda: embedder.embed_files(str(one)), r"\[path\]"),
                       (lambda: embedder.embed_files(one), r"\[path\]"),
                       (lambda: embedder.embed_texts(one.read_text()), r"\[text\]")):
        with pytest.raises(ConfigError, match=f"takes a list of .*pass {says}"):
            call()
    assert embedder.embed_files([one], progress=False).vectors.shape[0] == 1
