"""Normalises LLVM IR (bitcode or text, any LLVM from 14 on) into one canonical module.

Every view of a program (tokens, graph) and its dedup key derive from the canonical text this
module produces, and the canonical artifact is bitcode written from that same text.

Steps:

1. **Parse** with llvmlite (LLVM 22 inside). Bitcode is read directly (bitcode is
   forward-compatible). Text is parsed directly when LLVM 22 accepts it (clang 14 text mostly
   is: typed pointers are upgraded on read). When it does not (C++ vtables with ``inrange``,
   removed constant expressions), the text is assembled to bitcode by the matching
   ``llvm-as`` (``llvm-as-14``; a subprocess without a shell, with a timeout) and the bitcode
   is parsed. One documented **repair** is applied to old text before giving up: a ``byval``
   parameter attribute without its type (``%T* byval``, accepted by very old LLVM, rejected
   since LLVM 11) gets the pointee type (``%T* byval(%T)``); this makes DevMap's
   ``rodinia-3.1-lavaMD-kernel_gpu_opencl.ll`` parse. The module is then verified.
2. **Canonical local names**: when any argument, block or instruction carries a name, all
   local names are cleared in the module, so LLVM numbers them (``%0``, ``%1``, ...); two
   modules that differ only in local value names print, and hash, the same. Global symbols
   (functions, global variables) and struct type names are kept: they carry meaning (callee
   names such as ``@_Z13get_global_idj``), and renaming them would change the linkage.
3. **Strip** from the printed text: comments, ``; ModuleID`` and ``source_filename``, debug
   records (``#dbg_value``/``#dbg_declare``) and all metadata attachments and definitions
   (debug info, TBAA, loop metadata, OpenCL kernel-argument metadata, ``llvm.ident``, module
   flags), attribute groups (``#N`` and ``attributes #N = {...}``), and the parameter/return
   attributes that are analysis results or hints (``noundef``, ``nocapture``/``captures(..)``,
   ``readonly``, ``nonnull``, ``dereferenceable(N)``, ``range(..)``, ...), and
   ``dso_local``/``local_unnamed_addr``/``unnamed_addr``. ABI-relevant attributes (``byval``,
   ``sret``, ``signext``, ``zeroext``, ``inreg``, ``align``) stay. Metadata used as a call
   operand (rare intrinsics, e.g. noalias scope declarations) keeps the definitions it needs,
   renumbered in LLVM's printing order so that the canonical text is a fixed point.
4. **Re-parse** the stripped text with LLVM 22 (proving it is valid IR) and write the
   canonical bitcode from it (skipped with ``bitcode=False``, the embedder's text-only mode).

``target triple`` and ``target datalayout`` are **kept** in the text, the bitcode and the
hash: they fix pointer widths, alignment and address spaces, so the same source compiled for
two targets is two programs; dropping them would make the bitcode unusable for later
compilation. (The token view skips these two header lines, see ``tokenizer.py``.)

The dedup key is the sha256 of the canonical text.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import llvmlite.binding as llvm

from ...infra.errors import InputError

__all__ = ["NormalizedIR", "normalize_ir", "find_llvm_as", "BITCODE_MAGICS"]

# Raw bitcode starts with 'BC' 0xC0DE; the Darwin wrapper with 0x0B17C0DE (little endian).
BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_LLVM_AS_TIMEOUT_S = 30.0
_MAX_MESSAGE = 600


@dataclass(frozen=True, slots=True)
class NormalizedIR:
    """One program in canonical form.

    Attributes:
        text: the canonical textual IR (LLVM 22 syntax) every view derives from.
        bitcode: canonical bitcode written from ``text``.
        sha256: hex sha256 of ``text`` (UTF-8), the dedup key.
        num_functions: functions with a body.
        num_instructions: instructions in those bodies.
    """

    text: str
    bitcode: bytes
    sha256: str
    num_functions: int
    num_instructions: int


@lru_cache(maxsize=8)
def find_llvm_as(preferred: str | None = None) -> str | None:
    """The ``llvm-as`` used for old textual IR: ``preferred``, else llvm-as-14, else llvm-as."""
    for name in ((preferred,) if preferred else ("llvm-as-14", "llvm-as")):
        path = shutil.which(name)
        if path:
            return path
    return None


def _short(message: str) -> str:
    message = message.replace("LLVM IR parsing error\n", "").replace(
        "LLVM bitcode parsing error\n", "").strip()
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + " ..."


# --- parsing -------------------------------------------------------------------------------

def _parse_bitcode(data: bytes) -> llvm.ModuleRef:
    # A fresh context per parse attempt: LLVM uniques struct type names per context, and even
    # a failed parse may have claimed `%struct.P`, so that the next one gets `%struct.P.0`.
    try:
        return llvm.parse_bitcode(data, context=llvm.create_context())
    except RuntimeError as error:
        message = _short(str(error))
        lowered = message.lower()
        # With a valid magic, a cut-off file shows as a length that is not a multiple of 4
        # ("invalid bitcode signature"), a jump past the end, or a missing module block.
        truncated = len(data) % 4 != 0 or any(word in lowered for word in (
            "wrapper header", "unexpected end", "premature", "truncated", "skip to bit",
            "single module", "never resolved", "size"))
        raise InputError("truncated_bitcode" if truncated else "malformed_bitcode",
                         f"bitcode does not parse ({len(data)} bytes): {message}") from None


# `%T* byval` (untyped byval, pre LLVM 11) -> `%T* byval(%T)`; the pointee type is simple.
_UNTYPED_BYVAL = re.compile(
    r"((?:%[-\w.$]+|%\"[^\"]*\"|i\d+|half|float|double|<\d+ x [\w.%]+>))\*"
    r"( addrspace\(\d+\))? byval(?!\()")


def _repair_untyped_byval(text: str) -> str:
    return _UNTYPED_BYVAL.sub(lambda m: f"{m[1]}*{m[2] or ''} byval({m[1]})", text)


def _assemble(text: str, llvm_as: str) -> bytes:
    """Assembles old textual IR with an external llvm-as; raises InputError on failure."""
    try:
        done = subprocess.run([llvm_as, "-", "-o", "-"], input=text.encode(),
                              capture_output=True, timeout=_LLVM_AS_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise InputError("timeout", f"{llvm_as} ran past {_LLVM_AS_TIMEOUT_S:.0f} s") from None
    except OSError as error:
        raise InputError("malformed_ir", f"cannot run {llvm_as}: {error}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").replace("<stdin>", "").strip()
        raise InputError("malformed_ir", _short(message))
    return done.stdout


@lru_cache(maxsize=64)
def _upgraded_layout(layout: str, triple: str) -> str:
    """The data layout as the bitcode reader upgrades it (the text parser leaves it as is)."""
    header = f'target datalayout = "{layout}"\ntarget triple = "{triple}"\n'
    try:
        bitcode = llvm.parse_assembly(header, context=llvm.create_context()).as_bitcode()
        return llvm.parse_bitcode(bitcode, context=llvm.create_context()).data_layout
    except RuntimeError:
        return layout


def _parse_text(text: str, llvm_as: str | None) -> tuple[llvm.ModuleRef, bool]:
    """Parses textual IR; returns the module and whether the external assembler was used."""
    try:
        return llvm.parse_assembly(text, context=llvm.create_context()), False
    except RuntimeError as error:
        first_error = _short(str(error))
    candidates = [text]
    repaired = _repair_untyped_byval(text)
    if repaired != text:
        try:
            return llvm.parse_assembly(repaired, context=llvm.create_context()), False
        except RuntimeError:
            candidates.insert(0, repaired)
    assembler = find_llvm_as(llvm_as)
    if assembler is None:
        raise InputError("malformed_ir", f"LLVM 22 rejects this IR ({first_error}) and no "
                         "llvm-as (14) is installed to read older IR")
    old_error = ""
    for candidate in candidates:
        try:
            return _parse_bitcode(_assemble(candidate, assembler)), True
        except InputError as error:
            if error.reason == "timeout":
                raise
            old_error = str(error)
    raise InputError("malformed_ir", f"IR does not parse: {first_error}"
                     + (f" | llvm-as: {old_error}" if old_error and old_error != first_error
                        else ""))


def _decode_text(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise InputError("binary_content", "neither LLVM bitcode nor text (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError("binary_content",
                         f"neither LLVM bitcode nor UTF-8 text ({error.reason} at byte "
                         f"{error.start})") from None
    return text


def _parse_any(data: bytes, llvm_as: str | None) -> llvm.ModuleRef:
    if not data.strip():
        raise InputError("empty", "empty input")
    if data[:4] in BITCODE_MAGICS:
        module = _parse_bitcode(data)
    else:
        module, from_bitcode = _parse_text(_decode_text(data), llvm_as)
        if not from_bitcode and module.data_layout:
            # Bitcode and text of one module must normalise alike.
            module.data_layout = _upgraded_layout(module.data_layout, module.triple)
    try:
        module.verify()
    except RuntimeError as error:
        module.close()
        raise InputError("invalid_ir", f"IR fails verification: {_short(str(error))}") from None
    return module


# --- canonical names -----------------------------------------------------------------------

# A named (not numbered) local: an instruction result, a block label or an argument name.
# Searched in "\n" + text: each pattern then starts with a literal, which the regex engine
# finds fast (a ``^``-anchored MULTILINE pattern is tried at every character).
_NAMED_LOCAL = (
    re.compile(r"\n  %(?:[-A-Za-z$._]|\")[^=\n]* = "),
    re.compile(r"\n(?:[-A-Za-z$._][-\w$.]*|\"[^\"\n]*\"):(?: |\n|\Z)"),
    re.compile(r"\ndefine [^\n]*?(?<=\s)%(?:[-A-Za-z$._][-\w$.]*|\"[^\"]*\")(?=[,)])"),
)


def _has_named_locals(printed: str) -> bool:
    text = "\n" + printed
    return any(pattern.search(text) is not None for pattern in _NAMED_LOCAL)


def _clear_local_names(module: llvm.ModuleRef) -> None:
    for function in module.functions:
        if function.is_declaration:
            continue
        for argument in function.arguments:
            argument.name = ""
        for block in function.blocks:
            block.name = ""
            for instruction in block.instructions:
                if instruction.name:
                    instruction.name = ""


# --- stripping -----------------------------------------------------------------------------

_NOISE_ATTRIBUTES = (
    r"noundef|nocapture|captures\([^)]*\)|readonly|readnone|writeonly|writable|nonnull|"
    r"noalias|nofree|nosync|returned|immarg|noundef|dead_on_unwind|dead_on_return|"
    r"dereferenceable(?:_or_null)?\(\d+\)|range\([^)]*\)|nofpclass\([^)]*\)|"
    r"initializes\((?:\([^)]*\)(?:, )?)*\)|dso_local|dso_preemptable|local_unnamed_addr|"
    r"unnamed_addr")
# The safe pass: group 1 (a quoted string) is kept as is, every other alternative is dropped.
_STRIP_SAFE = re.compile(
    r"(\"[^\"\n]*\")"
    r"|^(?:; ModuleID[^\n]*|source_filename[^\n]*|attributes #\d+ = [^\n]*|![^\n]*"
    r"|[ \t]+#dbg_\w+\([^\n]*)\n"  # whole lines
    r"|[ \t]*;[^\n]*"  # comments
    r"| #\d+\b"  # attribute group references
    r"|,? !(?:[A-Za-z_.][-\w.]*) !\d+"  # metadata attachments
    r"| (?:" + _NOISE_ATTRIBUTES + r")(?=[\s,)])",
    re.M)
# The fast passes give the same result when no quoted string holds a comment, attribute or
# metadata look-alike; `_RISKY` checks that first. They run on "\n" + text so that every
# line-anchored pass starts with a literal "\n" (fast to find) instead of a MULTILINE ``^``.
_STRING = re.compile(r"\"[^\"\n]*\"")
_RISKY = re.compile(r"[;#!]| (?:" + _NOISE_ATTRIBUTES + r")(?=[\s,)\"])")
_FAST_PASSES = (
    (re.compile(r"\n(?:; |source_filename|attributes #|!|[ \t]+#dbg_)[^\n]*(?=\n)"), ""),
    (re.compile(r"\n((?:[-\w$.]+|\"[^\"\n]*\"):) +;[^\n]*"), r"\n\1"),
    (re.compile(r" #\d+\b"), ""),
    (re.compile(r", ![A-Za-z_.][-\w.]* !\d+"), ""),
    (re.compile(r" ![A-Za-z_.][-\w.]* !\d+"), ""),
    # The look-ahead on the attributes' first letters rejects most spaces at once.
    (re.compile(r" (?=[cdilnruw])(?:" + _NOISE_ATTRIBUTES + r")(?=[\s,)])"), ""),
)
_METADATA_REF = re.compile(r"!\d+")
# A quoted string (kept as is) or a metadata reference (group 2: its number).
_METADATA_OR_STRING = re.compile(r"(\"[^\"\n]*\")|!(\d+)\b")
_METADATA_DEF = re.compile(r"^(!\d+) = [^\n]*$", re.M)
_BLANK_RUNS = re.compile(r"\n{3,}")
# Instruction lines (switch cases and landingpad clauses continue on deeper-indented lines),
# searched in "\n" + text.
_INSTRUCTION_START = re.compile(r"\n  [^ \]]")


def _keep(match: re.Match) -> str:
    return match.group(1) or ""


def _with_needed_metadata(printed: str, stripped: str) -> str:
    """``stripped`` followed by the definitions of metadata it still references as operands
    (and what those reference); unchanged when it references none.

    They are renumbered ``!0, !1, ...`` in the order LLVM's printer numbers them (first
    reference in the text, then its operands, depth first), so that the canonical text is a
    fixed point: normalising its own bitcode gives it back.
    """
    definitions = {m[1]: m[0] for m in _METADATA_DEF.finditer(printed)}
    order: list[str] = []
    seen: set[str] = set()
    for root in (m[2] for m in _METADATA_OR_STRING.finditer(stripped) if m[2]):
        stack = ["!" + root]
        while stack:
            ref = stack.pop()
            if ref in seen or ref not in definitions:
                continue
            seen.add(ref)
            order.append(ref)
            body = definitions[ref].split("=", 1)[1]
            stack.extend(reversed(["!" + m[2] for m in _METADATA_OR_STRING.finditer(body)
                                   if m[2]]))
    if not order:
        return stripped
    number = {ref[1:]: str(index) for index, ref in enumerate(order)}

    def renumber(text: str) -> str:
        return _METADATA_OR_STRING.sub(
            lambda m: m[1] or "!" + number.get(m[2], m[2]), text)

    return (renumber(stripped).rstrip("\n") + "\n\n"
            + "\n".join(renumber(definitions[ref]) for ref in order) + "\n")


def _strip(printed: str, *, safe: bool = False) -> str:
    if safe or _RISKY.search("\n".join(_STRING.findall(printed))):
        text = _STRIP_SAFE.sub(_keep, printed)
    else:
        text = "\n" + printed
        for pattern, replacement in _FAST_PASSES:
            text = pattern.sub(replacement, text)
        text = text[1:]
    if "!" in text and _METADATA_REF.search(text):
        text = _with_needed_metadata(printed, text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n") + "\n"


def normalize_ir(data: bytes, *, llvm_as: str | None = None,
                 bitcode: bool = True) -> NormalizedIR:
    """Normalises one program's IR (see the module docstring for the steps).

    Args:
        data: LLVM bitcode (raw or wrapped) or textual IR, from any LLVM release since 14.
        llvm_as: the ``llvm-as`` for old text that LLVM 22 rejects (default: llvm-as-14).
        bitcode: re-parse the canonical text (a check of the stripping) and write the
            canonical bitcode from it. ``False`` (the embedder, which needs the text only)
            skips both and leaves ``NormalizedIR.bitcode`` empty: the text is the same, as the
            fast stripping passes are only taken when they equal the safe one (``_RISKY``), and
            every program of a dataset build is checked.

    Returns:
        The canonical text, bitcode, sha256 and counts.

    Raises:
        InputError: reason ``empty``, ``binary_content``, ``malformed_ir``,
            ``truncated_bitcode``, ``malformed_bitcode``, ``invalid_ir`` or ``timeout``.
    """
    module = _parse_any(bytes(data), llvm_as)
    try:
        printed = str(module)
        if _has_named_locals(printed):
            _clear_local_names(module)
            printed = str(module)
    finally:
        module.close()
    text = _strip(printed)
    if not bitcode:
        return _normalized(text, b"")
    try:
        canonical = llvm.parse_assembly(text, context=llvm.create_context())
    except RuntimeError:
        text = _strip(printed, safe=True)
        try:
            canonical = llvm.parse_assembly(text, context=llvm.create_context())
        except RuntimeError as error:  # a stripping bug, never the input's fault
            raise InputError("normalize_failed",
                             f"normalised IR does not re-parse: {_short(str(error))}") from None
    try:
        written = canonical.as_bitcode()
    finally:
        canonical.close()
    return _normalized(text, written)


def _normalized(text: str, bitcode: bytes) -> NormalizedIR:
    return NormalizedIR(
        text=text,
        bitcode=bitcode,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        num_functions=text.count("\ndefine ") + text.startswith("define "),
        num_instructions=len(_INSTRUCTION_START.findall("\n" + text)),
    )
