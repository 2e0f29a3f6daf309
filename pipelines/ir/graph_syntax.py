"""Types and operand fields of canonical IR text: balanced-bracket regexes and small splitters.

Used by the graph builder (``graph.py``); the canonical text is described in ``normalize.py``.
"""

from __future__ import annotations

import re

__all__ = ["BALANCED", "TYPE", "TYPED", "drop_flags", "fields", "typed", "is_scalar_type",
           "return_type", "vector_of", "element_of", "vector_length", "member_type"]

# --- balanced-bracket building blocks ------------------------------------------------------
_L0 = r'(?:[^()\[\]{}<>"]|"[^"]*")*'


def _nest(inner: str) -> str:
    return (r'(?:[^()\[\]{}<>"]|"[^"]*"|\(' + inner + r"\)|\[" + inner + r"\]|\{" + inner
            + r"\}|<" + inner + r">)*")


# Text with balanced brackets and strings, nesting depth <= 3.
BALANCED = _nest(_nest(_nest(_L0)))
_L3 = BALANCED
# One top-level comma-separated field (brackets and strings balanced, nesting depth <= 4).
_FIELD = re.compile(r'(?:[^,()\[\]{}<>"]|"[^"]*"|\(' + _L3 + r"\)|\[" + _L3 + r"\]|\{" + _L3
                    + r"\}|<" + _L3 + r">)+")
TYPE = (r"(?:i\d+|half|bfloat|float|double|x86_fp80|fp128|ppc_fp128|x86_amx|void|label|"
        r'metadata|token|ptr(?: addrspace\(\d+\))?|%[-\w$.]+|%"[^"]*"|<' + _L3 + r">|\["
        + _L3 + r"\]|\{" + _L3 + r"\}|target\(" + _L3 + r"\))")
TYPED = re.compile(r"(" + TYPE + r") (.+)$", re.S)
_TYPE_AT_END = re.compile(r"(" + TYPE + r")$")
_BRACKETS = re.compile(r'[(\[{<"]')
_FLAGS = re.compile(r"^(?:(?:nuw|nsw|exact|disjoint|nneg|samesign|fast|nnan|ninf|nsz|arcp|"
                    r"contract|afn|reassoc|inbounds|nusw|inrange\(-?\d+, ?-?\d+\)|volatile|"
                    r"atomic|weak|inalloca|swifterror) )+")
_VECTOR = re.compile(r"^<(\d+) x (.+)>$")

_SCALAR_TYPES = frozenset("half bfloat float double x86_fp80 fp128 ppc_fp128 x86_amx void label "
                          "metadata token".split())


def drop_flags(rest: str) -> str:
    """``rest`` without its leading flags (``nuw``, ``inbounds``, ``volatile``, ...)."""
    match = _FLAGS.match(rest)
    return rest if match is None else rest[match.end():]


def fields(rest: str) -> list[str]:
    """Top-level comma-separated fields of an operand list."""
    if _BRACKETS.search(rest) is None:
        return rest.split(", ")
    return [f.strip() for f in _FIELD.findall(rest)]


def is_scalar_type(word: str) -> bool:
    """``word`` is a one-word type of `TYPE` other than ``ptr`` (``i32``, ``float``, ...)."""
    return word in _SCALAR_TYPES or (word[:1] == "i" and word[1:].isascii()
                                     and word[1:].isdigit())


def typed(field: str) -> tuple[str, str]:
    """Splits ``TYPE VALUE``; a field without a recognisable type is all value."""
    head, _, tail = field.partition(" ")
    # Fast path, same result as the regex: a scalar type, or ``ptr`` without an address space.
    if tail and (is_scalar_type(head)
                 or (head == "ptr" and not tail.startswith("addrspace("))):
        return head, tail
    match = TYPED.match(field)
    if match is None:
        return "", field
    return match[1], match[2]


def return_type(prefix: str) -> str:
    """The type at the end of a call's prefix (``fastcc zeroext i1`` -> ``i1``), or ``?``."""
    last = prefix.rpartition(" ")[2]
    # A bare scalar last word is the match (no multi-word type ends with one); else the regex.
    if last == "ptr" or is_scalar_type(last):
        return last
    ret = _TYPE_AT_END.search(prefix)
    return ret[1] if ret else "?"


def vector_of(type_text: str, element: str) -> str:
    """``element`` as a vector of ``type_text``'s length when ``type_text`` is a vector."""
    vector = _VECTOR.match(type_text)
    return f"<{vector[1]} x {element}>" if vector else element


def element_of(type_text: str) -> str:
    """The element type of a vector type; any other type is returned as is."""
    vector = _VECTOR.match(type_text)
    return vector[2] if vector else type_text


def vector_length(type_text: str) -> str | None:
    """The length (as text) of a vector type, else None."""
    vector = _VECTOR.match(type_text)
    return vector[1] if vector else None


def member_type(struct_bodies: dict[str, str], aggregate: str, index: int) -> str:
    """The type of member ``index`` of a struct, array or named struct type, or ``?``."""
    aggregate = aggregate.strip()
    if aggregate.startswith("%"):
        aggregate = struct_bodies.get(aggregate, aggregate)
    if aggregate.startswith("<{") and aggregate.endswith("}>"):
        aggregate = aggregate[1:-1]
    if aggregate.startswith("{") and aggregate.endswith("}"):
        members = [f.strip() for f in _FIELD.findall(aggregate[1:-1])]
        return members[index] if 0 <= index < len(members) else "?"
    if aggregate.startswith("[") and " x " in aggregate:
        return aggregate[1:-1].split(" x ", 1)[1]
    return "?"
