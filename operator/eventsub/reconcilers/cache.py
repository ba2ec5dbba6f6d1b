"""The latest body of every watched object, fed by kopf's watch events."""

from __future__ import annotations

import copy
from typing import Any

Body = dict[str, Any]


def key_of(body: Body) -> str:
    return f"{body['metadata']['namespace']}/{body['metadata']['name']}"


class ObjectCache:
    """Bodies by kind and namespace: "what in this namespace refers to X" (asked on every watch
    event of a topic or connection) looks at that namespace only, not at every object."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, dict[str, Body]]] = {}  # plural -> namespace -> key

    def apply(self, plural: str, event_type: str | None, body: Body) -> str:
        """Records one watch event; returns the object's key."""
        key = key_of(body)
        namespaces = self._objects.setdefault(plural, {})
        bucket = namespaces.setdefault(body["metadata"]["namespace"], {})
        if event_type == "DELETED":
            bucket.pop(key, None)
            if not bucket:
                del namespaces[body["metadata"]["namespace"]]
        else:
            bucket[key] = copy.deepcopy(dict(body))
        return key

    def get(self, plural: str, key: str) -> Body | None:
        namespace = key.split("/", 1)[0]
        return self._objects.get(plural, {}).get(namespace, {}).get(key)

    def items(self, plural: str, namespace: str | None = None) -> list[tuple[str, Body]]:
        """Every object of a kind, or of a kind in one namespace."""
        namespaces = self._objects.get(plural, {})
        if namespace is not None:
            return list(namespaces.get(namespace, {}).items())
        return [item for bucket in namespaces.values() for item in bucket.items()]
