"""What a fresh list of a kind says about the object cache: which cached objects are gone. Pure.

kopf rebuilds its watch after a gap (watch expired, connection lost, 410 Gone) by listing again:
objects that exist come back as events, but objects deleted during the gap produce no DELETED,
so a cache fed only by watch events keeps them ("ghosts"). A periodic list finds them.

The list is a snapshot of the kind at one resourceVersion R (an etcd revision: every write gets a
higher one, and an object's resourceVersion is that of its last write). The watch runs
independently and may be behind the list or ahead of it, so "cached but not listed" alone is not
proof of a deletion: an object created after R, whose ADDED arrived before the list's answer, is
cached and not listed. The rule:

  a cached object absent from the list is gone when its cached resourceVersion is <= R.

Why it is right: the cached body was that object's state at its resourceVersion c. If c <= R and
the object still existed at R, the snapshot at R would contain it; it does not, so it was
deleted in (c, R]. If c > R, the object was written after the list was taken: the list cannot
speak for it (it stays; its own DELETED, or the next list, settles it). A re-created object
(same name) is no exception: the new incarnation's writes all come after the old one's deletion.
The creation timestamp is no substitute: it has second resolution, comes from the API server's
clock rather than being ordered with the list, and says nothing about an object modified since.

The other direction (listed but not cached) is left to kopf: its re-list reports every object
that exists, so a gap loses only deletions. Taking such objects from our list instead would race
with kopf's: an object created and deleted within a watch gap, caught by our list in between
and processed after kopf's re-list, would come back as a ghost.

resourceVersion is opaque by the API's contract; the API server's is an integer in practice. An
object (or a list) whose version is not an integer is never dropped on this evidence.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Container, Mapping


def revision(resource_version: object) -> int | None:
    """metadata.resourceVersion as an integer, or None when it is missing or not one."""
    if isinstance(resource_version, str) and resource_version.isascii() and resource_version.isdigit():
        return int(resource_version)
    return None


def ghosts(cached: Mapping[str, str | None], listed: Container[str],
           list_version: str | None) -> frozenset[str]:
    """The cached keys a list proves deleted.

    cached: key -> resourceVersion of each cached object (of one kind, in the list's scope);
    listed: the keys in the list; list_version: the list's resourceVersion."""
    at = revision(list_version)
    if at is None:
        return frozenset()
    return frozenset(key for key, version in cached.items()
                     if key not in listed and (seen := revision(version)) is not None and seen <= at)


def stale(cached: Mapping[str, str | None], listed: Mapping[str, str | None]) -> frozenset[str]:
    """The listed keys the cache holds at an older resourceVersion: changes the watch missed
    (kopf, given namespace patterns, stops watching a namespace once it sees it being deleted,
    so a topic's deletion there would never arrive). Fed as MODIFIED events, in the same
    uninterrupted step as the list's comparison, so nothing newer can arrive in between."""
    return frozenset(
        key for key, version in listed.items() if key in cached
        and (new := revision(version)) is not None and (old := revision(cached[key])) is not None
        and new > old)


def list_scopes(namespaces: tuple[str, ...]) -> tuple[str | None, ...]:
    """Where to list: None for cluster-wide. Exact namespace names are listed one by one (a
    namespaced install may list nowhere else); with no namespaces, or any kopf pattern among
    them (`*`, `?`, `!`, as in `team-*`), once cluster-wide."""
    if not namespaces or any(mark in name for name in namespaces for mark in "*?!,"):
        return (None,)
    return tuple(dict.fromkeys(namespaces))


def in_scope(namespace: str, namespaces: tuple[str, ...]) -> bool:
    """Does the operator watch this namespace? All when `namespaces` is empty; else when any of
    them matches it, each an exact name or a kopf-style pattern: comma-separated globs (`*`,
    `?`), read left to right, where `!glob` excludes what the globs before it matched, a later
    plain glob takes back a namespace the first one matched, and a leading `!glob` stands after
    an implied `*` (so `!kube-*` alone is every namespace but those)."""
    return not namespaces or any(_matches(namespace, pattern) for pattern in namespaces)


def _matches(namespace: str, pattern: str) -> bool:
    globs = [glob.strip() for glob in pattern.split(",")]
    if globs[0].startswith("!"):
        globs.insert(0, "*")
    first = matched = fnmatch.fnmatchcase(namespace, globs[0])
    for glob in globs[1:]:
        if glob.startswith("!"):
            matched = matched and not fnmatch.fnmatchcase(namespace, glob.lstrip("!"))
        else:
            matched = matched or (first and fnmatch.fnmatchcase(namespace, glob))
    return matched
