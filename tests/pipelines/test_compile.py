"""Compile stage: clang flags per language, include folders, toolchain probing, demo corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from mirencoder.infra.errors import ConfigError, FatalError, InputError
from mirencoder.pipelines.compile import (
    CompileConfig,
    Toolchain,
    compile_command,
    compile_to_bitcode,
    detect_language,
)
from mirencoder.pipelines.inputs import discover_inputs

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "compile"
DEMO = REPO / "datasets" / "demo-corpus"

pytestmark = pytest.mark.skipif(shutil.which("clang-14") is None and shutil.which("clang") is None,
                                reason="clang is not installed (apt-get install clang)")


@pytest.fixture(scope="module")
def toolchain() -> Toolchain:
    return Toolchain.probe(CompileConfig())


def _module(bitcode: bytes) -> llvm.ModuleRef:
    return llvm.parse_bitcode(bitcode)


def _defined(module: llvm.ModuleRef) -> set[str]:
    return {f.name for f in module.functions if not f.is_declaration}


def test_detect_language_by_suffix():
    assert detect_language("a/b.c") == "c"
    assert detect_language("x.cpp") == detect_language("x.cc") == detect_language("x.C") == "cpp"
    assert detect_language("k.cl") == "opencl"
    assert detect_language("k.cu") == "cuda"
    assert detect_language("m.ll") == detect_language("m.bc") == "ir"
    assert detect_language("h.h") is None and detect_language("Makefile") is None


def test_toolchain_probe_reads_versions(toolchain):
    assert Path(toolchain.clang).is_file()
    assert toolchain.clang_version.split(".")[0].isdigit()
    assert toolchain.llvm_version.count(".") >= 1
    if toolchain.llvm_as is not None:
        assert toolchain.llvm_version.split(".")[0] == toolchain.clang_version.split(".")[0]


def test_toolchain_probe_missing_clang_gives_install_hint():
    with pytest.raises(FatalError, match="apt-get install clang"):
        Toolchain.probe(CompileConfig(clang="/nonexistent/clang-99"))


def test_config_range_checks_list_every_problem():
    with pytest.raises(ConfigError) as info:
        CompileConfig(opt_level="O9", timeout_s=0, memory_limit_mb=1, extra_flags={"fortran": []})
    assert len(info.value.problems) == 4


def test_c_compiles_at_o0_without_optnone(toolchain):
    bitcode = compile_to_bitcode(DEMO / "c" / "reductions.c", "c", toolchain,
                                 CompileConfig(opt_level="O0"))
    module = _module(bitcode)
    assert {"sum", "dot", "min_max", "kahan_sum"} <= _defined(module)
    text = str(module)
    assert "optnone" not in text
    assert "alloca" in text  # really unoptimised


def test_c_o2_is_optimised(toolchain):
    o2 = str(_module(compile_to_bitcode(DEMO / "c" / "reductions.c", "c", toolchain,
                                        CompileConfig(opt_level="O2"))))
    assert "alloca" not in o2


def test_cpp_compiles_with_stl(toolchain):
    module = _module(compile_to_bitcode(DEMO / "cpp" / "stl_sort_unique.cpp", "cpp", toolchain,
                                        CompileConfig()))
    assert any("sorted_unique" in name for name in _defined(module))


def test_opencl_targets_spir64_and_keeps_address_spaces(toolchain):
    module = _module(compile_to_bitcode(DEMO / "opencl" / "reduction_local.cl", "opencl",
                                        toolchain, CompileConfig(opt_level="O0")))
    assert module.triple.startswith("spir64")
    assert "reduce_sum" in _defined(module)
    assert "addrspace(1)" in str(module) and "addrspace(3)" in str(module)


def test_cuda_device_code_best_effort(toolchain):
    try:
        bitcode = compile_to_bitcode(DEMO / "cuda" / "block_reduce.cu", "cuda", toolchain,
                                     CompileConfig())
    except InputError as exc:
        pytest.skip(f"this clang cannot compile CUDA device code without a toolkit: {exc}")
    module = _module(bitcode)
    assert module.triple.startswith("nvptx64")
    assert "atomicrmw fadd" in str(module)


def test_own_folder_is_on_the_include_path(toolchain):
    module = _module(compile_to_bitcode(FIXTURES / "with_header" / "uses_local.c", "c",
                                        toolchain, CompileConfig()))
    assert "scaled" in _defined(module)


def test_include_dirs_from_config_and_from_the_call(toolchain):
    source = FIXTURES / "uses_extra_include.c"
    with pytest.raises(InputError) as info:
        compile_to_bitcode(source, "c", toolchain, CompileConfig())
    assert info.value.reason == "missing_header"
    assert "shared_config.h" in str(info.value)
    extra = FIXTURES / "extra_include"
    by_config = compile_to_bitcode(source, "c", toolchain, CompileConfig(include_dirs=[str(extra)]))
    by_call = compile_to_bitcode(source, "c", toolchain, CompileConfig(), include_dirs=[extra])
    assert "below_limit" in _defined(_module(by_config))
    assert by_call == by_config


def test_extra_flags_per_language(toolchain):
    source = FIXTURES / "needs_define.c"
    with pytest.raises(InputError, match="DEMO_VALUE must be set"):
        compile_to_bitcode(source, "c", toolchain, CompileConfig())
    config = CompileConfig(extra_flags={"c": ["-DDEMO_VALUE=7"], "cpp": ["-DDEMO_VALUE=8"]})
    text = str(_module(compile_to_bitcode(source, "c", toolchain, config)))
    assert "ret i32 7" in text


def test_command_has_no_shell_and_writes_to_stdout(toolchain):
    argv = compile_command(Path("/src/a.c"), "c", toolchain, CompileConfig(opt_level="O0"))
    assert argv[0] == toolchain.clang
    assert argv[-3:] == ["-o", "-", "/src/a.c"]
    assert ["-I", "/src"] == argv[argv.index("-I"): argv.index("-I") + 2]
    assert "-w" in argv and "-disable-O0-optnone" in argv and "-O0" in argv


def test_same_input_gives_same_bitcode(toolchain):
    source = DEMO / "c" / "matmul.c"
    assert (compile_to_bitcode(source, "c", toolchain, CompileConfig())
            == compile_to_bitcode(source, "c", toolchain, CompileConfig()))


def test_every_demo_corpus_file_compiles(toolchain, tmp_path):
    items = discover_inputs([DEMO], tmp_path)
    by_language: dict[str, int] = {}
    for item in items:
        assert item.rejection is None, item
        assert item.corpus == "demo-corpus"
        by_language[item.language] = by_language.get(item.language, 0) + 1
        if item.language == "ir":
            llvm.parse_assembly(item.local_path.read_text())  # clang-14 C IR parses directly
            continue
        bitcode = compile_to_bitcode(item.local_path, item.language, toolchain, CompileConfig())
        assert _defined(_module(bitcode)), item.path
    assert by_language == {"c": 15, "cpp": 10, "opencl": 10, "cuda": 2, "ir": 2}
    assert not any(item.path.endswith(".h") for item in items)


def test_opt_levels_are_checked_and_split_into_one_level_configs():
    config = CompileConfig(opt_levels=["O0", "O3"])
    assert config.levels() == ("O0", "O3") and CompileConfig().levels() == ("O2",)
    assert config.at_level("O0").opt_level == "O0" and config.at_level("O0").opt_levels == []
    with pytest.raises(ConfigError) as info:
        CompileConfig(opt_level="O1", opt_levels=["O0", "O0", "O7"])
    assert len(info.value.problems) == 2


@pytest.mark.parametrize("level", ["O0", "O2"])
def test_precompiled_cuda_shim_gives_the_same_bitcode(toolchain, level):
    """The shim goes in as a precompiled header; the bitcode equals the plain -include's."""
    import subprocess

    config = CompileConfig(opt_level=level)
    source = DEMO / "cuda" / "block_reduce.cu"
    argv = compile_command(source, "cuda", toolchain, config)
    assert "-include" in argv
    plain = subprocess.run(argv, capture_output=True, check=True).stdout
    assert compile_to_bitcode(source, "cuda", toolchain, config) == plain


def test_cuda_shim_covers_math_vectors_atomics_and_curand(toolchain, tmp_path):
    source = tmp_path / "k.cu"
    source.write_text(
        '#include <cuda_runtime.h>\n#include "math_constants.h"\n'
        "__global__ void k(float2 *v, curandState *s, unsigned long long *n, size_t m) {\n"
        "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
        "  if (i < m) v[i] = make_float2(sqrtf(v[i].x) + __expf(v[i].y), curand_uniform(s));\n"
        "  atomicAdd(n, 1ull); v[0].x = min(i, 3) * CUDART_PI_F;\n}\n")
    module = _module(compile_to_bitcode(source, "cuda", toolchain, CompileConfig()))
    assert any(name.startswith("_Z1k") for name in _defined(module))
    text = str(module)
    assert "__nv_sqrtf" in text and "curand_uniform" in text and "atomicrmw add" in text
