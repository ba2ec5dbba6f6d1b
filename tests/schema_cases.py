"""Schema histories and changes for every schema type and compatibility level, with the outcome
the registry gives them: the table the compatibility tests run through EventTopics.

Each case registers `history` in order, then declares `change`. The transitive Avro cases use a
change that is compatible with the latest version but not with the first one, so they pass only
if the level really covers every version. The outcomes are the registry's (Apicurio Registry's
rules, checked against it): notably, for Protobuf it counts an added field as a break under
FORWARD and FULL, and for JSON Schema it counts a new property of an open object as narrowing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

REGISTERED, REFUSED = "Registered", "IncompatibleSchema"
LEVELS = ("BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE",
          "FULL_TRANSITIVE", "NONE")


@dataclass(frozen=True)
class Case:
    type: str  # Avro, JsonSchema, Protobuf
    level: str
    history: tuple[str, ...]
    change: str
    expected: str  # REGISTERED or REFUSED
    what: str  # the change, for a person

    @property
    def id(self) -> str:
        return f"{self.type}-{self.level}-{self.what}"


def avro(*fields: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop",
                       "fields": [{"name": "id", "type": "string"}, *fields]})


def json_schema(closed: bool, optional: tuple[str, ...] = (), required: tuple[str, ...] = (),
                description: str | None = None) -> str:
    props: dict[str, Any] = {"id": {"type": "string"}}
    props.update({name: {"type": "integer"} for name in (*optional, *required)})
    doc: dict[str, Any] = {"type": "object", "properties": props, "required": ["id", *required]}
    if closed:
        doc["additionalProperties"] = False
    if description:
        doc["description"] = description
    return json.dumps(doc)


def proto(body: str) -> str:
    return f'syntax = "proto3";\npackage shop;\n\nmessage Order {{\n{body}\n}}\n'


B_DEFAULT = {"name": "b", "type": "int", "default": 0}
B_REQUIRED = {"name": "b", "type": "int"}
C_DEFAULT = {"name": "c", "type": "string", "default": ""}
A, A_B_DEF, A_B, A_B_DEF_C_DEF = avro(), avro(B_DEFAULT), avro(B_REQUIRED), avro(B_DEFAULT, C_DEFAULT)

# (level, history, compatible change, incompatible change)
AVRO = [
    ("BACKWARD", (A,), A_B_DEF, A_B),
    ("FORWARD", (A_B,), A_B_DEF, A),
    ("FULL", (A,), A_B_DEF, A_B),
    # compatible with the latest (A_B_DEF) but not with the first version
    ("BACKWARD_TRANSITIVE", (A, A_B_DEF), A_B_DEF_C_DEF, A_B),
    ("FORWARD_TRANSITIVE", (A_B, A_B_DEF), A_B_DEF_C_DEF, A),
    ("FULL_TRANSITIVE", (A, A_B_DEF), A_B_DEF_C_DEF, A_B),
    ("NONE", (A,), A_B_DEF, A_B),
]

J_CLOSED, J_CLOSED_B, J_CLOSED_B_REQ = (json_schema(True), json_schema(True, ("b",)),
                                        json_schema(True, required=("b",)))
J_CLOSED_B_C = json_schema(True, ("b", "c"))
J_OPEN, J_OPEN_B = json_schema(False), json_schema(False, ("b",))
J_OPEN_DESCRIBED = json_schema(False, description="An order")
JSON_CHANGES = {
    "BACKWARD": ((J_CLOSED,), J_CLOSED_B, J_CLOSED_B_REQ),
    "FORWARD": ((J_CLOSED_B,), J_CLOSED, J_CLOSED_B_C),
    "FULL": ((J_OPEN,), J_OPEN_DESCRIBED, J_OPEN_B),
}

P_ID, P_ID_N = proto("  string id = 1;"), proto("  string id = 1;\n  int32 n = 2;")
P_INT_ID, P_ID_N64 = proto("  int32 id = 1;"), proto("  string id = 1;\n  int64 n = 2;")
P_ID_COMMENTED = proto("  // the order's id\n  string id = 1;")
PROTO_CHANGES = {
    "BACKWARD": ((P_ID,), P_ID_N, P_INT_ID),
    "FORWARD": ((P_ID_N,), P_ID, P_ID_N64),
    "FULL": ((P_ID,), P_ID_COMMENTED, P_ID_N),
}


def _same_as_plain(changes: dict[str, tuple[tuple[str, ...], str, str]],
                   none: tuple[tuple[str, ...], str, str]) -> list[tuple[str, tuple[str, ...], str, str]]:
    """The transitive levels with the plain level's changes (one earlier version), and NONE."""
    rows = [(level, *changes[level]) for level in ("BACKWARD", "FORWARD", "FULL")]
    rows += [(f"{level}_TRANSITIVE", *changes[level]) for level in ("BACKWARD", "FORWARD", "FULL")]
    return [*rows, ("NONE", *none)]


def cases() -> list[Case]:
    table = [("Avro", AVRO),
             ("JsonSchema", _same_as_plain(JSON_CHANGES, ((J_OPEN,), J_OPEN_B, J_CLOSED_B_REQ))),
             ("Protobuf", _same_as_plain(PROTO_CHANGES, ((P_ID,), P_ID_N, P_INT_ID)))]
    found = []
    for type_, rows in table:
        for level, history, compatible, incompatible in rows:
            # Under NONE nothing is checked: the otherwise breaking change is registered too.
            breaking = REGISTERED if level == "NONE" else REFUSED
            found += [Case(type_, level, tuple(history), compatible, REGISTERED, "compatible"),
                      Case(type_, level, tuple(history), incompatible, breaking, "breaking")]
    return found


def serialize(registry: SchemaRegistryClient, topic: str, type_: str, schema: str,
              value: dict[str, Any]) -> bytes:
    """A value as a producer writes it: with a schema the EventTopic registered (the serializer
    looks its id up and never registers)."""
    conf = {"auto.register.schemas": False}
    serializer = (AvroSerializer(registry, schema, conf=conf) if type_ == "Avro"
                  else JSONSerializer(schema, registry, conf=conf))
    data: bytes = serializer(value, SerializationContext(topic, MessageField.VALUE))
    return data
