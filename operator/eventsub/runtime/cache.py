"""The latest body of every watched object, fed by kopf's watch events (and by the re-list's
DELETEDs for what the watch missed: runtime/relist.py)."""

from __future__ import annotations

import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eventsub.core.relist import revision
from eventsub.runtime.contract import Body, Reference

__all__ = ["Body", "ObjectCache", "key_of"]

SHARED_STRING_LENGTH = 64  # longer ones (messages) are rarely equal across objects


def _held(body: Body) -> Body:
    """The copy the cache keeps: without metadata.managedFields, which nothing reads here and
    which, with several field managers, outweighs the rest of an object (memory per object
    counts: an operator may watch tens of thousands)."""
    copied = {sys.intern(k): _copy(v) for k, v in body.items() if k != "metadata"}
    copied["metadata"] = {sys.intern(k): _copy(v) for k, v in body["metadata"].items()
                          if k != "managedFields"}
    return copied


def _copy(value: Any) -> Any:
    """A deep copy of parsed JSON whose keys and short strings are shared: every object repeats
    the same keys and many of the same values (condition types and reasons, namespaces, topic
    names), each parsed into a string of its own. Shared, a subscription with its status holds
    5.6 KB instead of 11 (56 MB at 10,000)."""
    if isinstance(value, dict):
        return {sys.intern(k): _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, str) and len(value) <= SHARED_STRING_LENGTH:
        return sys.intern(value)
    return value  # numbers, booleans, None, long strings: immutable


def key_of(body: Body) -> str:
    return f"{body['metadata']['namespace']}/{body['metadata']['name']}"


class ObjectCache:
    """Bodies by kind and namespace, and an index of references: "who refers to X" (asked on
    every change of a topic or connection) is a lookup, not a scan."""

    def __init__(self, references: Mapping[str, Callable[[Body], Iterable[Reference]]]
                 | None = None) -> None:
        self._objects: dict[str, dict[str, dict[str, Body]]] = {}  # plural -> namespace -> key
        self._references = dict(references or {})  # plural -> what its objects refer to
        self._refers_to: dict[Reference, set[Reference]] = {}  # object -> what it refers to
        self._referrers: dict[Reference, set[Reference]] = defaultdict(set)  # the reverse
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
        copied = None if event_type == "DELETED" else _held(body)
        with self._lock:
            namespaces = self._objects.setdefault(plural, {})
            if copied is not None:
                held = namespaces.get(namespace, {}).get(key)
                if held is not None and _older(copied, held):
                    return key  # an older state than the one held (the re-list's, raced)
                namespaces.setdefault(namespace, {})[key] = copied
                self._index(plural, key, copied)
                return key
            bucket = namespaces.get(namespace, {})
            held = bucket.get(key)
            if held is not None and _older(body, held):
                return key
            bucket.pop(key, None)
            self._index(plural, key, None)
            if not bucket:
                namespaces.pop(namespace, None)
        return key

    def _index(self, plural: str, key: str, body: Body | None) -> None:
        """Keeps the reference index in step with one object (None: it is gone)."""
        me = (plural, key)
        for target in self._refers_to.pop(me, set()):
            self._referrers[target].discard(me)
            if not self._referrers[target]:
                del self._referrers[target]
        find = self._references.get(plural)
        if body is None or find is None:
            return
        targets = set(find(body))
        self._refers_to[me] = targets
        for target in targets:
            self._referrers[target].add(me)

    def references(self, plural: str, key: str) -> list[Reference]:
        """What a cached object refers to, as (plural, key)."""
        with self._lock:
            return sorted(self._refers_to.get((plural, key), ()))

    def referrers(self, plural: str, key: str) -> list[Reference]:
        """The cached objects that refer to this one, as (plural, key)."""
        with self._lock:
            return sorted(self._referrers.get((plural, key), ()))

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
