"""The fields an event's inline schema declares, so people can find events by field and read
them on the event's page. Avro and JSON Schema are JSON documents; a Protobuf schema is read
line by line for its messages and fields (enough for a listing, not a Protobuf parser). A schema
held elsewhere (`ref`) has no fields here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_FIELDS = 500  # a page lists at most this many; deeper schemas are cut
MAX_DEPTH = 8  # nesting followed at most this deep (recursive types stop here)
CACHED_SIZE = 32768  # schemas up to this long are read once; the cache holds at most 1,024


@dataclass(frozen=True)
class SchemaField:
    path: str  # dotted: customer.address.city; array items as items[]
    type: str


@dataclass(frozen=True)
class SchemaFields:
    fields: tuple[SchemaField, ...] = ()
    problem: str | None = None  # why the inline schema could not be read


def schema_fields(schema: Mapping[str, Any] | None) -> SchemaFields:
    if not schema or not isinstance(schema.get("inline"), str):
        return SchemaFields()
    format_, text = str(schema.get("format") or ""), schema["inline"]
    return _cached(format_, text) if len(text) <= CACHED_SIZE else _parsed(format_, text)


@lru_cache(maxsize=1024)  # a search reads every schema: each is parsed once, not per request
def _cached(format_: str, text: str) -> SchemaFields:
    return _parsed(format_, text)


def _parsed(format_: str, text: str) -> SchemaFields:
    if format_ == "Protobuf":
        return SchemaFields(tuple(_limited(_protobuf(text))))
    try:
        document = json.loads(text)
    except ValueError as error:
        return SchemaFields(problem=f"not valid JSON: {error}")
    walk = _avro(document, "", 0) if format_ == "Avro" else _json_schema(document, "", 0)
    return SchemaFields(tuple(_limited(walk)))


def _limited(fields: Iterator[SchemaField]) -> Iterator[SchemaField]:
    for count, found in enumerate(fields):
        if count == MAX_FIELDS:
            return
        yield found


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _avro(node: Any, prefix: str, depth: int) -> Iterator[SchemaField]:
    """The fields of a record, then of the records nested in them."""
    if depth > MAX_DEPTH or not isinstance(node, dict):
        return
    if node.get("type") == "record":
        for entry in node.get("fields") or ():
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                path = _join(prefix, entry["name"])
                yield SchemaField(path, _avro_type(entry.get("type")))
                yield from _avro_nested(entry.get("type"), path, depth + 1)


def _avro_nested(kind: Any, path: str, depth: int) -> Iterator[SchemaField]:
    if isinstance(kind, list):  # a union: the record in it, e.g. ["null", {record}]
        for member in kind:
            yield from _avro_nested(member, path, depth)
    elif isinstance(kind, dict) and kind.get("type") == "record":
        yield from _avro(kind, path, depth)
    elif isinstance(kind, dict) and kind.get("type") == "array":
        yield from _avro_nested(kind.get("items"), f"{path}[]", depth)


def _avro_type(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return " | ".join(_avro_type(member) for member in kind)
    if isinstance(kind, dict):
        name = kind.get("type")
        if name == "array":
            return f"array<{_avro_type(kind.get('items'))}>"
        if name == "map":
            return f"map<{_avro_type(kind.get('values'))}>"
        if name in ("record", "enum", "fixed"):
            return str(kind.get("name") or name)
        if isinstance(kind.get("logicalType"), str):
            return str(kind["logicalType"])
        return _avro_type(name)
    return "?"


def _json_schema(node: Any, prefix: str, depth: int) -> Iterator[SchemaField]:
    if depth > MAX_DEPTH or not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            path = _join(prefix, str(name))
            yield SchemaField(path, _json_type(sub))
            yield from _json_schema(sub, path, depth + 1)
    items = node.get("items")
    if isinstance(items, dict) and prefix:
        yield from _json_schema(items, f"{prefix}[]", depth + 1)


def _json_type(node: Any) -> str:
    if not isinstance(node, dict):
        return "?"
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array<{_json_type(node['items'])}>"
    if isinstance(kind, str):
        return f"{kind} ({node['format']})" if isinstance(node.get("format"), str) else kind
    if isinstance(node.get("$ref"), str):
        return str(node["$ref"])
    return "any"


_BLOCK = re.compile(r"^\s*(message|enum|oneof|service|extend)\s+(\w+)\s*$")
_FIELD = re.compile(r"^\s*(?:(repeated|optional|required)\s+)?([\w.]+|map\s*<[^>]*>)\s+(\w+)\s*=\s*\d+")


def _protobuf(text: str) -> Iterator[SchemaField]:
    """Each message's fields as Message.field, nested messages as Outer.Inner.field (a oneof's
    fields belong to its message; an enum's values are no fields)."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.S)
    blocks: list[tuple[str, str]] = []  # (kind, name) of each open block
    pieces = re.split(r"([{};])", text)
    for piece, closer in zip(pieces[::2], [*pieces[1::2], ""], strict=True):
        if closer == "{":
            opened = _BLOCK.match(piece)
            blocks.append((opened.group(1), opened.group(2)) if opened else ("other", ""))
        elif closer == "}":
            if blocks:
                blocks.pop()
        elif closer == ";" and blocks and blocks[-1][0] in ("message", "oneof"):
            field = _FIELD.match(piece)
            if field:
                label, kind, name = field.groups()
                path = [n for k, n in blocks if k == "message"]
                yield SchemaField(".".join([*path, name]),
                                  f"{label} {kind}" if label == "repeated" else kind)
