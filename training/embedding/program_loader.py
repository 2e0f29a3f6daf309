"""From an embedder's input to LLVM IR bytes: files, in-memory texts, folders and archives.

IR (``.ll``/``.bc``, or text that looks like IR) is read as is; C, C++, OpenCL C and CUDA
sources go through the dataset build's compile stage
(:func:`mirencoder.pipelines.compile.compile_to_bitcode`) with the embedder's compile settings.
Every problem is an :class:`~mirencoder.infra.errors.InputError` with a reason, never an exception
that stops a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ...infra.errors import InputError, MirError

if TYPE_CHECKING:
    from .embedder import Embedder, EmbeddingResult

__all__ = ["LANGUAGES", "SOURCE_SUFFIX_BY_LANGUAGE", "ProgramLoader", "detect_text_language",
           "embed_inputs"]

LANGUAGES = ("c", "cpp", "opencl", "cuda", "ir")
# Source texts given in memory are written to a file with this suffix before compiling.
SOURCE_SUFFIX_BY_LANGUAGE = {"c": ".c", "cpp": ".cpp", "opencl": ".cl", "cuda": ".cu"}


def detect_text_language(text: str | bytes) -> str:
    """``ir`` for LLVM IR (text with ``define``/``target triple``/``declare``, or bitcode),
    else ``c``."""
    if isinstance(text, bytes):
        from ...pipelines.ir.normalize import BITCODE_MAGICS

        if text[:4] in BITCODE_MAGICS:
            return "ir"
        text = text.decode("utf-8", errors="replace")
    head = text[:20000]
    if ("target triple" in head or "target datalayout" in head or "\ndefine " in "\n" + head
            or "\ndeclare " in "\n" + head or "; ModuleID" in head):
        return "ir"
    return "c"


class ProgramLoader:
    """Reads or compiles one input into IR bytes (the clang toolchain is probed on first use).

    Args:
        compile_config: compile settings for sources (default: the pipeline's defaults).
    """

    def __init__(self, compile_config=None):
        self.compile_config = compile_config
        self._toolchain = None
        self._toolchain_error: tuple[str, str] | None = None

    def _toolchain_or_error(self):
        """The probed clang toolchain, or None with ``_toolchain_error`` set."""
        if self._toolchain is None and self._toolchain_error is None:
            from ...pipelines.compile import CompileConfig, Toolchain

            if self.compile_config is None:
                self.compile_config = CompileConfig()
            try:
                self._toolchain = Toolchain.probe(self.compile_config)
            except MirError as error:
                self._toolchain_error = ("toolchain_missing", str(error))
        return self._toolchain

    def llvm_as(self) -> str | None:
        """The ``llvm-as`` (14) for old textual IR: the toolchain's when probed, else found."""
        if self._toolchain is not None:
            return self._toolchain.llvm_as
        from ...pipelines.ir.normalize import find_llvm_as

        return find_llvm_as()

    def bitcode_of_file(self, path: Path, language: str | None) -> bytes:
        """The IR bytes of one file (read, or compiled from source)."""
        if not path.exists():
            raise InputError("missing_file", f"{path}: no such file")
        if path.is_dir():
            raise InputError("not_a_file", f"{path} is a folder (the CLI walks folders)")
        if language is None:
            raise InputError("unsupported_language",
                             f"{path}: unknown file type {path.suffix!r} (expected .c, .cc, "
                             ".cpp, .cl, .cu, .ll or .bc)")
        max_bytes = self.max_file_bytes()
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError("too_large", f"{size} bytes > limit {max_bytes}")
        if language == "ir":
            data = path.read_bytes()
            if not data.strip():
                raise InputError("empty", f"{path} is empty")
            return data
        toolchain = self._toolchain_or_error()
        if toolchain is None:
            raise InputError(*self._toolchain_error)
        from ...pipelines.compile import compile_to_bitcode

        return compile_to_bitcode(path, language, toolchain, self.compile_config)

    def max_file_bytes(self) -> int:
        """The largest input accepted (the compile settings' ``max_file_bytes``)."""
        if self.compile_config is not None:
            return int(self.compile_config.max_file_bytes)
        from ...pipelines.compile import CompileConfig

        return int(CompileConfig().max_file_bytes)

    def bitcode_of_text(self, text: str | bytes, language: str, tmp: Path,
                        index: int) -> bytes:
        """The IR bytes of one in-memory text (sources are written to ``tmp`` and compiled)."""
        if language not in LANGUAGES:
            raise InputError("unsupported_language",
                             f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        data = text.encode() if isinstance(text, str) else bytes(text)
        if not data.strip():
            raise InputError("empty", "empty program text")
        if language == "ir":
            return data
        path = tmp / f"input-{index}{SOURCE_SUFFIX_BY_LANGUAGE[language]}"
        path.write_bytes(data)
        try:
            return self.bitcode_of_file(path, language)
        except InputError as error:  # name the text, not the temporary file
            raise InputError(error.reason, str(error).replace(str(path), f"text[{index}]")
                             ) from None


def embed_inputs(embedder: Embedder, paths: Sequence[str | Path], *, work_dir: str | Path,
                 modality: str = "fused", batch_size: int = 32, progress: bool = True,
                 windows: str = "first", max_windows: int = 8) -> EmbeddingResult:
    """Embeds files, folders (walked recursively) and tar archives (extracted safely).

    Folders and archives expand to their program files in sorted order (headers stay on disk
    for includes); unsafe archive members and unsupported files become error rows.

    Raises:
        ConfigError: when some of ``paths`` do not exist (all are listed).
    """
    from ...pipelines.inputs import discover_inputs

    items = discover_inputs([Path(p) for p in paths], Path(work_dir), corpus="embed",
                            max_file_bytes=embedder.loader.max_file_bytes())
    result = embedder.embed_files(
        [item.local_path if item.local_path is not None else item.path for item in items],
        modality=modality, batch_size=batch_size, progress=progress, windows=windows,
        max_windows=max_windows, languages=[item.language for item in items],
        rejections={i: item.rejection for i, item in enumerate(items) if item.rejection})
    result.keys = [item.path for item in items]
    return result
