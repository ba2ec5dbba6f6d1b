"""The latest body of every watched object, fed by kopf's watch events."""

from __future__ import annotations

import copy
from typing import Any

Body = dict[str, Any]


def key_of(body: Body) -> str:
    return f"{body['metadata']['namespace']}/{body['metadata']['name']}"


class ObjectCache:
    def __init__(self) -> None:
        self._objects: dict[str, dict[str, Body]] = {}

    def apply(self, plural: str, event_type: str | None, body: Body) -> str:
        """Records one watch event; returns the object's key."""
        key = key_of(body)
        bucket = self._objects.setdefault(plural, {})
        if event_type == "DELETED":
            bucket.pop(key, None)
        else:
            bucket[key] = copy.deepcopy(dict(body))
        return key

    def get(self, plural: str, key: str) -> Body | None:
        return self._objects.get(plural, {}).get(key)

    def items(self, plural: str) -> list[tuple[str, Body]]:
        return list(self._objects.get(plural, {}).items())
