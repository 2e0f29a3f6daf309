"""One input to normalised IR: the checks, the compile stage for sources and the normaliser.

``.ll``/``.bc`` files are read as they are; C, C++, OpenCL C and CUDA sources are compiled to
bitcode (:func:`~mirencoder.pipelines.compile.compile_to_bitcode`); either is then normalised
(:func:`~mirencoder.pipelines.ir.normalize.normalize_ir`). Every problem with one input is an
:class:`~mirencoder.infra.errors.InputError` whose reason is in :data:`FRONTEND_REASONS`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ...infra.errors import InputError, MirError
from ..compile import CompileConfig, Toolchain, compile_to_bitcode
from ..inputs import special_file
from .language import LANGUAGES, SOURCE_SUFFIX_BY_LANGUAGE, detect_language

# Sources may be compiled from several threads (the embedder's workers): the toolchain is
# probed once. Module-level, not on the FrontEnd, which Ray pickles into its workers.
_PROBE_LOCK = threading.Lock()

if TYPE_CHECKING:
    from ..ir.normalize import NormalizedIR

__all__ = ["FRONTEND_REASONS", "FrontEnd"]

FRONTEND_REASONS = {
    "missing_file": "the file does not exist",
    "not_a_file": "a folder where a program file was expected",
    "unsupported_language": "not a program language (unknown suffix or language name)",
    "too_large": "file over the size limit (compile.max_file_bytes)",
    "toolchain_missing": "a source file, but no usable clang",
    "empty": "empty file or text (or only whitespace)",
    "binary_content": "a source, or IR text, that is not text",
    "compile_error": "clang rejected the source (or crashed)",
    "missing_header": "clang did not find an included header",
    "timeout": "clang (or llvm-as) ran past its time limit",
    "memory_limit": "clang ran past its memory limit",
    "malformed_ir": "IR text that does not parse",
    "truncated_bitcode": "bitcode cut short",
    "malformed_bitcode": "bitcode that does not parse",
    "invalid_ir": "IR that parses but fails LLVM's verifier",
    "normalize_failed": "the normalised text does not re-parse (a normaliser bug)",
    "graph_error": "the graph view cannot be built (a graph builder bug)",
    "internal_error": "any other exception while handling the input (a bug)",
}
"""Every ``InputError.reason`` of the front end, with its meaning (the manifest's reasons;
:data:`~mirencoder.pipelines.compile.COMPILE_REASONS` is a subset)."""


class FrontEnd:
    """Reads or compiles inputs and normalises their IR, with one set of checks.

    The clang toolchain is probed on the first source (or by :meth:`probe`); a missing one
    fails each source with reason ``toolchain_missing``.

    Args:
        config: compile settings (default: the pipeline's defaults); ``max_file_bytes``
            bounds every input, IR included.
    """

    def __init__(self, config: CompileConfig | None = None):
        self.config = config if config is not None else CompileConfig()
        self._toolchain: Toolchain | None = None
        self._toolchain_error: str | None = None

    @property
    def max_file_bytes(self) -> int:
        """The largest input accepted, in bytes."""
        return int(self.config.max_file_bytes)

    def probe(self) -> Toolchain:
        """The clang toolchain, probed once.

        Raises:
            FatalError: clang is missing or does not run.
        """
        if self._toolchain is None:
            self._toolchain = Toolchain.probe(self.config)
        return self._toolchain

    def llvm_as(self) -> str | None:
        """The ``llvm-as`` (14) for old textual IR: the toolchain's once probed, else found."""
        if self._toolchain is not None:
            return self._toolchain.llvm_as
        from ..ir.normalize import find_llvm_as

        return find_llvm_as()

    def _compiler(self) -> Toolchain:
        with _PROBE_LOCK:
            if self._toolchain is None and self._toolchain_error is None:
                try:
                    self.probe()
                except MirError as error:
                    self._toolchain_error = str(error)
        if self._toolchain is None:
            raise InputError("toolchain_missing", self._toolchain_error or "no clang")
        return self._toolchain

    def file_bytes(self, path: Path, language: str | None = None,
                   include_dirs: Sequence[Path] = ()) -> bytes:
        """The IR bytes of one file: IR as it is, a source compiled to bitcode.

        Args:
            path: the file.
            language: its language (default: from the suffix).
            include_dirs: extra include folders for a source (after the file's own folder).

        Raises:
            InputError: ``missing_file``, ``not_a_file``, ``unsupported_language``,
                ``too_large``, ``toolchain_missing`` or a compile reason.
        """
        path = Path(path)
        if not path.exists():
            raise InputError("missing_file", f"{path}: no such file")
        if path.is_dir():
            raise InputError("not_a_file", f"{path} is a folder (the CLI walks folders)")
        if (special := special_file(path)) is not None:  # a pipe's read would never return
            raise InputError(*special)
        language = language or detect_language(path)
        if language is None:
            raise InputError("unsupported_language",
                             f"{path}: unknown file type {path.suffix!r} (expected .c, .cc, "
                             ".cpp, .cl, .cu, .ll or .bc)")
        if language not in LANGUAGES:
            raise InputError("unsupported_language",
                             f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        size = path.stat().st_size
        if size > self.max_file_bytes:
            raise InputError("too_large", f"{size} bytes > limit {self.max_file_bytes}")
        if language == "ir":
            return path.read_bytes()
        return compile_to_bitcode(path, language, self._compiler(), self.config, include_dirs)

    def text_bytes(self, text: str | bytes, language: str, tmp: Path, index: int) -> bytes:
        """The IR bytes of one program held in memory (a source is compiled from ``tmp``).

        Args:
            text: IR text, bitcode or source text.
            language: one of :data:`~.language.LANGUAGES`.
            tmp: a scratch folder for sources.
            index: the text's position; messages name it ``text[index]``.

        Raises:
            InputError: as :meth:`file_bytes`.
        """
        if language not in LANGUAGES:
            raise InputError("unsupported_language",
                             f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        data = text.encode() if isinstance(text, str) else bytes(text)
        if language == "ir":
            return data
        path = Path(tmp) / f"input-{index}{SOURCE_SUFFIX_BY_LANGUAGE[language]}"
        path.write_bytes(data)
        try:
            return self.file_bytes(path, language)
        except InputError as error:  # name the text, not the temporary file
            raise InputError(error.reason, str(error).replace(str(path), f"text[{index}]")
                             ) from None

    def normalize(self, data: bytes, *, bitcode: bool = True) -> NormalizedIR:
        """Normalises IR bytes (see :func:`~mirencoder.pipelines.ir.normalize.normalize_ir`;
        ``bitcode=False`` is the embedder's text-only path, with the same canonical text).

        Raises:
            InputError: ``empty``, ``binary_content``, ``malformed_ir``, ``truncated_bitcode``,
                ``malformed_bitcode``, ``invalid_ir``, ``timeout`` or ``normalize_failed``.
        """
        from ..ir.normalize import normalize_ir

        return normalize_ir(data, llvm_as=self.llvm_as(), bitcode=bitcode)

    def program(self, path: Path, language: str | None = None,
                include_dirs: Sequence[Path] = (), *, bitcode: bool = True) -> NormalizedIR:
        """One file's normalised IR (:meth:`file_bytes`, then :meth:`normalize`)."""
        return self.normalize(self.file_bytes(path, language, include_dirs), bitcode=bitcode)
