"""The module-level structure of canonical IR text: types, globals, declarations, functions.

:func:`read_module` finds what the graph builder needs before it walks the instructions:
named struct bodies, the pointer type of each global, the declared functions and each
definition's parameters and body. ``INSTRUCTION`` then matches a body's instructions and
block labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .graph_syntax import BALANCED, fields, typed

__all__ = ["FunctionText", "ModuleText", "read_module", "parse_params", "INSTRUCTION",
           "CALL_PREFIX"]

# These search "\n" + text: a pattern that starts with a literal ("\ndefine ") is found fast,
# where a MULTILINE ``^`` is tried at every character.
_FUNCTION_HEADER = re.compile(r"\ndefine [^\n]*?(@[-\w$.]+|@\"[^\"]*\")\((" + BALANCED
                              + r")\)[^\n]*\{\n")
_DECLARE = re.compile(r"\ndeclare [^\n]*?(@[-\w$.]+|@\"[^\"]*\")\(")
_GLOBAL = re.compile(r"\n(@[-\w$.]+|@\"[^\"]*\") = ([^\n]*)")
_GLOBAL_ADDRSPACE = re.compile(r"\baddrspace\((\d+)\) (?:global|constant|alias|ifunc)\b")
_STRUCT = re.compile(r"\n(%[-\w$.]+|%\"[^\"]*\"|%\d+) = type ([^\n]*)")
# An instruction with its continuation lines (switch cases, landingpad clauses), or a block
# label; searched in "\n" + body. Groups: result number, opcode, operand text; block label.
INSTRUCTION = re.compile(r"\n  (?:%(\d+) = )?([a-z_]+)(?: ([^\n]*(?:\n(?:    |  \])[^\n]*)*))?"
                          r"|\n(\d+):")
# Words before ``call`` (``tail call``): the opcode is the next word.
CALL_PREFIX = frozenset(("tail", "musttail", "notail"))


@dataclass(frozen=True, slots=True)
class FunctionText:
    """One function definition: its name, parameter list text and body text."""

    name: str
    params: str
    body: str


@dataclass(frozen=True, slots=True)
class ModuleText:
    """What the module declares, read from its text before the instructions are walked."""

    struct_bodies: dict[str, str]  # named struct type -> its body
    global_types: dict[str, str]  # global name -> ``ptr`` or ``ptr addrspace(N)``
    declared: set[str]  # names of declared (external) functions
    functions: list[FunctionText]  # definitions, in module order


def _functions(module: str) -> list[FunctionText]:
    """The definitions of ``"\n" + text``.

    The body runs from after the header's ``{`` line to the next line that starts with ``}``
    (found with ``str.find``, not a lazy regex scan).
    """
    found = []
    position = 0
    while True:
        header = _FUNCTION_HEADER.search(module, position)
        if header is None:
            return found
        close = module.find("\n}", header.end() - 1)
        if close < 0:
            return found
        found.append(FunctionText(header[1], header[2], module[header.end():close + 1]))
        position = close + 2


def read_module(text: str) -> ModuleText:
    """Struct bodies, global pointer types, declarations and definitions of a module."""
    module = "\n" + text
    struct_bodies = {match[1]: match[2] for match in _STRUCT.finditer(module)}
    global_types = {}
    for match in _GLOBAL.finditer(module):
        space = _GLOBAL_ADDRSPACE.search(match[2])
        global_types[match[1]] = (f"ptr addrspace({space[1]})" if space
                                  and space[1] != "0" else "ptr")
    declared = {m[1] for m in _DECLARE.finditer(module)}
    return ModuleText(struct_bodies, global_types, declared, _functions(module))


def parse_params(params: str) -> list[tuple[str, int]]:
    """``(type, local number)`` of each named parameter of a definition."""
    result = []
    if not params.strip():
        return result
    for field in fields(params):
        if field == "...":
            continue
        type_text, rest = typed(field)
        number = rest.rsplit("%", 1)[-1] if "%" in rest else ""
        if number.isdigit():
            result.append((type_text, int(number)))
    return result

