"""The latest body of every watched object, fed by kopf's watch events (and by the re-list's
DELETEDs for what the watch missed: reconcilers/relist.py)."""

from __future__ import annotations

import copy
import threading
from typing import Any

from eventsub.core.relist import revision

Body = dict[str, Any]


def key_of(body: Body) -> str:
    return f"{body['metadata']['namespace']}/{body['metadata']['name']}"


class ObjectCache:
    """Bodies by kind and namespace: "what in this namespace refers to X" (asked on every watch
    event of a topic or connection) looks at that namespace only, not at every object."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, dict[str, Body]]] = {}  # plural -> namespace -> key
        # kopf runs the (sync) event handlers in threads and the re-list runs in the event loop:
        # every change, and every read that iterates, holds the lock.
        self._lock = threading.Lock()

    def apply(self, plural: str, event_type: str | None, body: Body) -> str:
        """Records one watch event; returns the object's key.

        A DELETED older (by resourceVersion) than the body held leaves it: that body is a newer
        object of the same name. A watch's DELETED is never older than what that watch
        delivered before it; the re-list's can be, when a watch event lands in between.
        """
        key, namespace = key_of(body), body["metadata"]["namespace"]
        copied = None if event_type == "DELETED" else copy.deepcopy(dict(body))
        with self._lock:
            namespaces = self._objects.setdefault(plural, {})
            if copied is not None:
                namespaces.setdefault(namespace, {})[key] = copied
                return key
            bucket = namespaces.get(namespace, {})
            held = bucket.get(key)
            if held is not None and _older(body, held):
                return key
            bucket.pop(key, None)
            if not bucket:
                namespaces.pop(namespace, None)
        return key

    def get(self, plural: str, key: str) -> Body | None:
        namespace = key.split("/", 1)[0]
        return self._objects.get(plural, {}).get(namespace, {}).get(key)

    def items(self, plural: str, namespace: str | None = None) -> list[tuple[str, Body]]:
        """Every object of a kind, or of a kind in one namespace."""
        with self._lock:
            namespaces = self._objects.get(plural, {})
            if namespace is not None:
                return list(namespaces.get(namespace, {}).items())
            return [item for bucket in namespaces.values() for item in bucket.items()]


def _older(body: Body, than: Body) -> bool:
    version = revision(body["metadata"].get("resourceVersion"))
    held = revision(than["metadata"].get("resourceVersion"))
    return version is not None and held is not None and version < held
