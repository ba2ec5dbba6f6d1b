"""The cache's re-list: which cached objects a list proves deleted (core.relist), and the loop
that feeds those to the runtime as DELETED events (runtime.relist)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kopf._cogs.structs.references import match_namespace

from eventsub.config import OperatorConfig
from eventsub.core.relist import ghosts, in_scope, list_scopes, revision
from eventsub.kube import listing
from eventsub.kube.listing import Listing
from eventsub.runtime.cache import ObjectCache
from eventsub.runtime.relist import KINDS, Relister

# -- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("0", 0), ("42", 42), ("007", 7), ("18446744073709551616", 2**64),
    ("", None), (None, None), ("12a", None), ("-3", None), (" 4", None), ("²", None), (12, None),
])
def test_resource_versions_are_integers_or_unknown(raw: object, expected: int | None) -> None:
    assert revision(raw) == expected


@pytest.mark.parametrize(("cached", "listed", "list_version", "expected"), [
    # deleted before the list: cached at 5, absent from a list at 10
    ({"a/x": "5"}, set(), "10", {"a/x"}),
    # cached at the list's own version and absent: it was not there at 10
    ({"a/x": "10"}, set(), "10", {"a/x"}),
    # created (or changed) after the list was taken, its event already in: not the list's to judge
    ({"a/x": "11"}, set(), "10", set()),
    # listed: exists, whatever the versions say
    ({"a/x": "5"}, {"a/x"}, "10", set()),
    ({"a/x": "15"}, {"a/x"}, "10", set()),
    # only the absent ones, only those at or before the list
    ({"a/x": "3", "a/y": "4", "b/x": "12", "b/y": "9"}, {"a/y"}, "10", {"a/x", "b/y"}),
    # versions that are not integers prove nothing
    ({"a/x": "abc"}, set(), "10", set()),
    ({"a/x": None}, set(), "10", set()),
    ({"a/x": "5"}, set(), "", set()),
    ({"a/x": "5"}, set(), None, set()),
    ({"a/x": "5"}, set(), "ten", set()),
    # nothing cached, or an empty list of a kind that had objects
    ({}, {"a/x"}, "10", set()),
    ({"a/x": "1", "a/y": "2"}, set(), "10", {"a/x", "a/y"}),
    # versions compare as numbers, not as text
    ({"a/x": "9"}, set(), "10", {"a/x"}),
    ({"a/x": "100"}, set(), "99", set()),
])
def test_ghosts(cached: dict[str, str | None], listed: set[str], list_version: str | None,
                expected: set[str]) -> None:
    assert ghosts(cached, listed, list_version) == expected


@pytest.mark.parametrize(("namespaces", "expected"), [
    ((), (None,)),
    (("team-a",), ("team-a",)),
    (("team-a", "team-b", "team-a"), ("team-a", "team-b")),
    (("t-*",), (None,)),
    (("team-a", "t-?"), (None,)),
    (("!kube-system",), (None,)),
])
def test_scopes_are_the_exact_namespaces_or_the_whole_cluster(
        namespaces: tuple[str, ...], expected: tuple[str | None, ...]) -> None:
    assert list_scopes(namespaces) == expected


# A history of one kind: writes (create or modify) and deletes of a few names, one revision
# each; the list is its state at one revision, the cache what a watch made of it up to another,
# possibly across a gap after which kopf listed again (existing objects re-sent, no DELETEDs).

KEYS = ("a/x", "a/y", "b/x", "b/y")


@dataclass
class History:
    events: list[tuple[int, str, bool]] = field(default_factory=list)  # (revision, key, deleted)

    @property
    def last(self) -> int:
        return self.events[-1][0] if self.events else 0

    def state(self, at: int) -> dict[str, int]:
        """key -> revision of its last write, for the objects that exist at `at`."""
        objects: dict[str, int] = {}
        for rev, key, deleted in self.events:
            if rev <= at:
                _apply(objects, rev, key, deleted)
        return objects

    def watched(self, upto: int, gap: tuple[int, int] | None) -> dict[str, int]:
        """The cache after a watch delivered every event up to `upto`, except, with a gap
        (start, end), those in (start, end]: at `end` kopf's re-list re-sends what exists."""
        start, end = gap if gap is not None else (upto, upto)
        cache: dict[str, int] = {}
        for rev, key, deleted in self.events:
            if rev <= start:
                _apply(cache, rev, key, deleted)
        if gap is not None:
            cache.update(self.state(end))  # kopf's re-list: what exists, and no DELETED
            for rev, key, deleted in self.events:
                if end < rev <= upto:
                    _apply(cache, rev, key, deleted)
        return cache


def _apply(cache: dict[str, int], rev: int, key: str, deleted: bool) -> None:
    if deleted:
        cache.pop(key, None)
    else:
        cache[key] = rev


@st.composite
def histories(draw: st.DrawFn) -> History:
    history, existing = History(), set()
    for key, delete in draw(st.lists(st.tuples(st.sampled_from(KEYS), st.booleans()), max_size=40)):
        if delete and key not in existing:
            continue
        (existing.discard if delete else existing.add)(key)
        history.events.append((history.last + 1, key, delete))
    return history


@given(st.data())
def test_a_list_drops_exactly_the_cached_objects_it_proves_deleted(data: st.DataObject) -> None:
    history = data.draw(histories())
    list_at = data.draw(st.integers(0, history.last), label="list revision")
    watch_at = data.draw(st.integers(0, history.last), label="watch revision")
    gap = data.draw(st.one_of(st.none(), st.tuples(st.integers(0, watch_at), st.integers(0, watch_at))
                              .map(lambda g: (min(g), max(g)))), label="watch gap")
    cache = history.watched(watch_at, gap)
    listed = history.state(list_at)
    dropped = ghosts({k: str(v) for k, v in cache.items()}, set(listed), str(list_at))

    latest = history.state(max(watch_at, list_at))
    # Never an object that exists as far as anyone knows: only cached keys, all gone.
    assert dropped <= set(cache)
    assert not dropped & set(latest)
    # Every cached object absent from the list and not written after it.
    assert dropped == {k for k, v in cache.items() if k not in listed and v <= list_at}
    # A list no older than the watch leaves exactly what exists: no ghost survives it.
    if list_at >= watch_at:
        assert set(cache) - dropped == set(listed) & set(cache)
        assert set(cache) - dropped <= set(listed)


def test_the_model_keeps_ghosts_across_a_gap() -> None:
    # The model itself: a deletion inside the gap leaves the object cached, as kopf does.
    history = History([(1, "a/x", False), (2, "a/y", False), (3, "a/x", True), (4, "a/y", False)])
    assert history.watched(4, (2, 4)) == {"a/x": 1, "a/y": 4}
    assert history.watched(4, None) == {"a/y": 4}
    assert ghosts({"a/x": "1", "a/y": "4"}, set(history.state(4)), "4") == {"a/x"}


# -- the loop --------------------------------------------------------------------------------


def _body(namespace: str, name: str, version: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "eventsub.io/v1alpha1", "kind": "EventTopic",
            "metadata": {"namespace": namespace, "name": name, "resourceVersion": version,
                         "uid": f"uid-{name}"},
            "spec": spec}


class FakeApi:
    """Lists from a dict of namespace -> bodies, at a set resourceVersion; records the calls."""

    def __init__(self, version: str, objects: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.version, self.objects = version, objects or {}
        self.calls: list[tuple[str, str | None]] = []
        self.failure: Exception | None = None

    async def list(self, plural: str, namespace: str | None) -> Listing:
        self.calls.append((plural, namespace))
        if self.failure is not None:
            raise self.failure
        if plural != "eventtopics":
            return Listing([], self.version)
        items = [body for ns, bodies in self.objects.items() if namespace in (None, ns)
                 for body in bodies]
        return Listing(items, self.version)


class Observed:
    """Runtime.observe's stand-in: applies to the cache, records what it was fed."""

    def __init__(self, cache: ObjectCache) -> None:
        self.cache, self.events = cache, []  # type: list[tuple[str, str | None, dict[str, Any]]]

    def __call__(self, plural: str, event_type: str | None, body: dict[str, Any]) -> None:
        self.events.append((plural, event_type, body))
        self.cache.apply(plural, event_type, body)


def _relister(api: FakeApi, namespaces: tuple[str, ...] = ()) -> tuple[Relister, ObjectCache, Observed]:
    cache = ObjectCache()
    observed = Observed(cache)
    return Relister(cache, observed, namespaces, 60, lister=api.list), cache, observed


def test_a_ghost_is_fed_to_the_runtime_as_a_deletion_and_the_rest_is_left_alone() -> None:
    older, newer = _body("a", "older", "5", topicName="t"), _body("a", "newer", "7", topicName="t")
    api = FakeApi("20", {"a": [newer]})
    relister, cache, observed = _relister(api)
    cache.apply("eventtopics", None, older)
    cache.apply("eventtopics", None, newer)
    assert asyncio.run(relister.relist("eventtopics", None)) == {"a/older"}
    assert [(p, t, b["metadata"]["name"]) for p, t, b in observed.events] == [
        ("eventtopics", "DELETED", "older")]
    # The DELETED carries the cached body, at the list's version (the deletion's upper bound).
    deleted = observed.events[0][2]
    assert deleted["spec"] == older["spec"] and deleted["metadata"]["uid"] == "uid-older"
    assert deleted["metadata"]["resourceVersion"] == "20"
    assert cache.get("eventtopics", "a/older") is None
    assert cache.get("eventtopics", "a/newer") == newer


def test_an_object_created_after_the_list_was_taken_is_kept() -> None:
    # Its ADDED arrived before the list's answer: cached at 21, list at 20, not in it.
    api = FakeApi("20", {})
    relister, cache, observed = _relister(api)
    cache.apply("eventtopics", "ADDED", _body("a", "fresh", "21"))
    assert asyncio.run(relister.relist("eventtopics", None)) == frozenset()
    assert observed.events == [] and cache.get("eventtopics", "a/fresh") is not None


def test_a_listed_object_the_cache_lacks_is_left_to_the_watch() -> None:
    api = FakeApi("20", {"a": [_body("a", "listed", "9")]})
    relister, cache, observed = _relister(api)
    assert asyncio.run(relister.relist("eventtopics", None)) == frozenset()
    assert observed.events == [] and cache.items("eventtopics") == []


def test_a_newer_object_of_the_same_name_survives_the_ghosts_deletion() -> None:
    # The re-created object's ADDED lands between the decision and the DELETED (a handler
    # thread): the DELETED, at the list's version, is older than it and leaves it.
    api = FakeApi("20", {})
    cache = ObjectCache()
    cache.apply("eventtopics", None, _body("a", "t", "5"))
    recreated = _body("a", "t", "25")

    def observe(plural: str, event_type: str | None, body: dict[str, Any]) -> None:
        cache.apply(plural, "ADDED", recreated)
        cache.apply(plural, event_type, body)

    relister = Relister(cache, observe, (), 60, lister=api.list)
    assert asyncio.run(relister.relist("eventtopics", None)) == {"a/t"}
    assert cache.get("eventtopics", "a/t") == recreated


def test_exact_namespaces_are_listed_one_by_one_and_judge_only_their_own_objects() -> None:
    api = FakeApi("20", {"a": [_body("a", "kept", "3")], "b": []})
    relister, cache, observed = _relister(api, ("a", "b"))
    for namespace, name in (("a", "kept"), ("a", "gone"), ("b", "gone")):
        cache.apply("eventtopics", None, _body(namespace, name, "3"))
    asyncio.run(relister.relist_all())
    assert [call for call in api.calls if call[0] == "eventtopics"] == [
        ("eventtopics", "a"), ("eventtopics", "b")]
    assert {p for p, _ in api.calls} == set(KINDS)
    assert sorted(k for k, _ in cache.items("eventtopics")) == ["a/kept"]
    assert sorted(b["metadata"]["namespace"] + "/" + b["metadata"]["name"]
                  for _, t, b in observed.events if t == "DELETED") == ["a/gone", "b/gone"]


def test_a_namespace_list_leaves_other_namespaces_cached_objects_alone() -> None:
    api = FakeApi("20", {"a": []})
    relister, cache, _ = _relister(api, ("a", "b"))
    cache.apply("eventtopics", None, _body("b", "elsewhere", "3"))
    assert asyncio.run(relister.relist("eventtopics", "a")) == frozenset()
    assert cache.get("eventtopics", "b/elsewhere") is not None


@pytest.mark.parametrize("namespaces", [(), ("t-*",)])
def test_all_namespaces_and_patterns_list_once_cluster_wide(namespaces: tuple[str, ...]) -> None:
    api = FakeApi("20", {"t-1": [], "t-2": [_body("t-2", "kept", "4")]})
    relister, cache, _ = _relister(api, namespaces)
    cache.apply("eventtopics", None, _body("t-1", "gone", "4"))
    cache.apply("eventtopics", None, _body("t-2", "kept", "4"))
    asyncio.run(relister.relist_all())
    assert ("eventtopics", None) in api.calls and len(api.calls) == len(KINDS)
    assert [k for k, _ in cache.items("eventtopics")] == ["t-2/kept"]


def test_a_failed_list_changes_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeApi("20", {})
    api.failure = ConnectionError("refused")
    relister, cache, observed = _relister(api)
    cache.apply("eventtopics", None, _body("a", "t", "5"))
    with caplog.at_level(logging.WARNING, logger="eventsub.relist"):
        assert asyncio.run(relister.relist("eventtopics", None)) is None
    assert observed.events == [] and cache.get("eventtopics", "a/t") is not None
    assert "could not list eventtopics cluster-wide (ConnectionError: refused)" in caplog.text


def test_the_loop_lists_every_period_and_survives_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeApi("20", {})
    cache = ObjectCache()
    cache.apply("eventtopics", None, _body("a", "t", "5"))
    calls = []

    def observe(plural: str, event_type: str | None, body: dict[str, Any]) -> None:
        calls.append(body["metadata"]["name"])
        raise RuntimeError("a bug in a reaction")

    async def scenario() -> None:
        task = asyncio.create_task(Relister(cache, observe, (), 0.01, lister=api.list).run())
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with caplog.at_level(logging.ERROR, logger="eventsub.relist"):
        asyncio.run(asyncio.wait_for(scenario(), 5))
    assert calls[:2] == ["t", "t"]  # the observe failed, so the ghost is still there next time
    assert "checking the cache against a list failed" in caplog.text


# -- the setting -----------------------------------------------------------------------------


def test_the_relist_period_is_a_setting() -> None:
    assert OperatorConfig.from_env({}).relist_seconds == 60
    assert OperatorConfig.from_env({"EVENTSUB_RELIST_SECONDS": "5"}).relist_seconds == 5
    with pytest.raises(ValueError, match="EVENTSUB_RELIST_SECONDS must be a positive"):
        OperatorConfig.from_env({"EVENTSUB_RELIST_SECONDS": "0"})


# -- the list call ---------------------------------------------------------------------------


class FakeCustomObjectsApi:
    """Two pages of EventTopics; the second page is asked for with the first's continue token."""

    calls: ClassVar[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    def __init__(self, _: object) -> None:
        pass

    def _page(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, args, kwargs))
        if kwargs.get("_continue") is None:
            return {"kind": "EventTopicList", "apiVersion": "eventsub.io/v1alpha1",
                    "metadata": {"resourceVersion": "41", "continue": "page-2"},
                    "items": [{"metadata": {"namespace": "a", "name": "x"}}]}
        assert kwargs["_continue"] == "page-2"
        return {"kind": "EventTopicList", "apiVersion": "eventsub.io/v1alpha1",
                "metadata": {"resourceVersion": "41", "continue": ""},
                "items": [{"kind": "EventTopic", "metadata": {"namespace": "b", "name": "y"}}]}

    def list_cluster_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._page("cluster", args, kwargs)

    def list_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._page("namespaced", args, kwargs)


@pytest.mark.parametrize(("namespace", "call", "args"), [
    (None, "cluster", ("eventsub.io", "v1alpha1", "eventtopics")),
    ("a", "namespaced", ("eventsub.io", "v1alpha1", "a", "eventtopics")),
])
def test_a_list_reads_every_page_of_one_snapshot(monkeypatch: pytest.MonkeyPatch, namespace: str | None,
                                                 call: str, args: tuple[str, ...]) -> None:
    FakeCustomObjectsApi.calls = []
    monkeypatch.setattr(listing.client, "CustomObjectsApi", FakeCustomObjectsApi)
    monkeypatch.setattr(listing, "api_client", lambda: None)
    result = asyncio.run(listing.list_objects("eventtopics", namespace))
    assert result.resource_version == "41"
    assert [(i["kind"], i["apiVersion"], i["metadata"]["name"]) for i in result.items] == [
        ("EventTopic", "eventsub.io/v1alpha1", "x"), ("EventTopic", "eventsub.io/v1alpha1", "y")]
    assert [(name, a) for name, a, _ in FakeCustomObjectsApi.calls] == [(call, args)] * 2
    assert all(kw["limit"] == listing.PAGE_SIZE and kw["_request_timeout"]
               for _, _, kw in FakeCustomObjectsApi.calls)


def test_stale_finds_what_changed_behind_the_watch() -> None:
    from eventsub.core.relist import stale
    cached = {"ns/a": "10", "ns/b": "12", "ns/c": "7", "ns/odd": "x"}
    listed = {"ns/a": "15", "ns/b": "12", "ns/c": "5", "ns/new": "20", "ns/odd": "30"}
    assert stale(cached, listed) == frozenset({"ns/a"})


def test_priming_fills_the_cache_referents_first_and_keeps_newer_bodies() -> None:
    listed_old, held_new = _body("a", "t", "9"), _body("a", "t", "12")
    api = FakeApi("20", {"a": [listed_old, _body("a", "u", "10")]})
    relister, cache, _ = _relister(api, ("a",))
    cache.apply("eventtopics", "ADDED", held_new)  # the watch was quicker for this one
    asyncio.run(relister.prime())
    assert [c[0] for c in api.calls] == [
        "kafkaconnections", "eventtopics", "eventsubscriptions", "eventreplays"]
    assert cache.get("eventtopics", "a/u") is not None
    assert cache.get("eventtopics", "a/t") == held_new


def test_priming_with_patterns_keeps_only_the_namespaces_they_match() -> None:
    api = FakeApi("20", {"team-a": [_body("team-a", "t", "9")], "other": [_body("other", "t", "9")]})
    relister, cache, _ = _relister(api, ("team-*",))
    asyncio.run(relister.prime())
    assert [key for key, _ in cache.items("eventtopics")] == ["team-a/t"]


@pytest.mark.parametrize(("namespace", "namespaces", "expected"), [
    ("anything", (), True),
    ("team-a", ("team-a",), True),
    ("team-ab", ("team-a",), False),
    ("team-b", ("team-a", "team-b"), True),
    ("t-1", ("t-*",), True),
    ("t-", ("t-*",), True),
    ("st-1", ("t-*",), False),
    ("t-1", ("t-?",), True),
    ("t-12", ("t-?",), False),
    ("T-1", ("t-*",), False),  # namespaces are lower case; matching is exact
    # a leading exclusion stands after an implied `*`
    ("default", ("!kube-*",), True),
    ("kube-system", ("!kube-*",), False),
    # exclusions within one pattern, and a later glob that takes one back
    ("myapp-test", ("myapp-*, !*-pr-*, *pr-123",), True),
    ("myapp-pr-123", ("myapp-*, !*-pr-*, *pr-123",), True),
    ("myapp-pr-456", ("myapp-*, !*-pr-*, *pr-123",), False),
    ("otherapp-pr-123", ("myapp-*, !*-pr-*, *pr-123",), False),
    ("otherapp-pr-123", ("!*-pr-*, *pr-123",), True),
    ("myapp-pr-456", ("!*-pr-*, *pr-123",), False),
    # several patterns: any one that matches
    ("team-x", ("team-*", "!team-x"), True),
    ("other", ("team-*", "!team-x"), True),
    ("other", ("team-*", "dev"), False),
    ("dev", ("team-*", "dev"), True),
])
def test_namespaces_in_scope_match_as_kopf_matches_them(namespace: str, namespaces: tuple[str, ...],
                                                       expected: bool) -> None:
    assert in_scope(namespace, namespaces) is expected
    if len(namespaces) == 1:  # as kopf itself matches one pattern
        assert match_namespace(namespace, namespaces[0]) is expected


def test_priming_goes_on_when_a_list_fails() -> None:
    api = FakeApi("20", {"a": [_body("a", "t", "9")]})
    api.failure = RuntimeError("API server unreachable")
    relister, cache, _ = _relister(api)
    asyncio.run(relister.prime())  # logged; the watch fills the cache instead
    assert len(api.calls) == 4 and cache.items("eventtopics") == []
