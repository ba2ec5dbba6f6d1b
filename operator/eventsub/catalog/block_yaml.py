"""JSON-shaped data (dicts, lists, strings, numbers, booleans, None) as block-style YAML, fast.

PyYAML's dumpers build a node per value in Python before any emitter runs, libyaml's included:
about 3 s for a 1,000-topic AsyncAPI document. This writes the text directly. Scalars that could
read as anything else are written as JSON strings, which are valid YAML double-quoted scalars;
the tests load the output back with PyYAML and compare.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Plain (unquoted) only for what every YAML 1.1 and 1.2 reader takes as this very string.
_PLAIN_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")  # the whole text (fullmatch)
_SPECIAL_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
# Characters YAML does not allow unescaped in a stream, and those it reads as line breaks (C0
# controls are escaped by json.dumps already).
_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def dump(data: Any) -> str:
    lines: list[str] = []
    if isinstance(data, dict) and data:
        _mapping(data, "", lines)
    elif isinstance(data, list | tuple) and data:
        _sequence(data, "", lines)
    else:
        lines.append(_scalar(data))
    lines.append("")
    return "\n".join(lines)


# Exact type checks, not the Mapping/Sequence ABCs: an ABC check costs more than the rest of
# writing a value, and the documents written here are plain JSON-shaped data.
def _mapping(data: dict[Any, Any], indent: str, lines: list[str], first: str | None = None
             ) -> None:
    """first: the text before the first key on its line (a sequence's `- `)."""
    inner = indent + "  "
    for key, value in data.items():
        if first is None:
            head = f"{indent}{_key(key)}:"
        else:
            head, first = f"{first}{_key(key)}:", None
        kind = type(value)
        if kind is str:
            lines.append(f"{head} {_string(value)}")
        elif kind is dict and value:
            lines.append(head)
            _mapping(value, inner, lines)
        elif (kind is list or kind is tuple) and value:
            lines.append(head)
            _sequence(value, indent, lines)
        else:
            lines.append(f"{head} {_scalar(value)}")


def _sequence(items: list[Any] | tuple[Any, ...], indent: str, lines: list[str]) -> None:
    inner = indent + "  "
    dash = indent + "- "
    for item in items:
        kind = type(item)
        if kind is dict and item:
            _mapping(item, inner, lines, first=dash)
        elif (kind is list or kind is tuple) and item:
            lines.append(indent + "-")
            _sequence(item, inner, lines)
        else:
            lines.append(dash + _scalar(item))


_KEYS: dict[str, str] = {}  # keys repeat a lot: written once each


def _key(key: Any) -> str:
    text = _KEYS.get(key)
    if text is None:
        text = _string(str(key))
        if len(_KEYS) < 10_000:
            _KEYS[key] = text
    return text


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _string(str(value))


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    # YAML 1.1 reads a float only with a dot, and an exponent only with its sign.
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if exponent and exponent[0] not in "+-":
        exponent = "+" + exponent
    return f"{mantissa}e{exponent}" if exponent else mantissa


def _string(text: str) -> str:
    if _PLAIN(text) and text.lower() not in _SPECIAL_WORDS:
        return text
    quoted = _quote(text)
    if _NOT_PRINTABLE_SEARCH(quoted):
        quoted = _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
    return quoted


_PLAIN = _PLAIN_PATTERN.fullmatch  # not match with "$": that allows a trailing newline
_NOT_PRINTABLE_SEARCH = _NOT_PRINTABLE.search
_quote = json.JSONEncoder(ensure_ascii=False).encode
