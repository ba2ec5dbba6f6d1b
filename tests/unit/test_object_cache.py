"""The object cache: latest bodies by kind and namespace, as watch events leave them."""

from __future__ import annotations

import json
import sys
import threading

import pytest

from eventsub.runtime.cache import ObjectCache


def _body(namespace: str, name: str, partitions: int = 1) -> dict[str, object]:
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"partitions": partitions}}


def test_latest_body_wins_and_deletion_forgets() -> None:
    cache = ObjectCache()
    assert cache.apply("eventtopics", "ADDED", _body("a", "t")) == "a/t"
    cache.apply("eventtopics", "MODIFIED", _body("a", "t", 3))
    assert cache.get("eventtopics", "a/t") == _body("a", "t", 3)
    cache.apply("eventtopics", "DELETED", _body("a", "t", 3))
    assert cache.get("eventtopics", "a/t") is None and cache.items("eventtopics") == []


def test_items_of_one_namespace_or_all() -> None:
    cache = ObjectCache()
    for namespace, name in (("a", "x"), ("a", "y"), ("b", "x")):
        cache.apply("eventtopics", None, _body(namespace, name))
    cache.apply("eventsubscriptions", None, _body("a", "s"))
    assert sorted(k for k, _ in cache.items("eventtopics", "a")) == ["a/x", "a/y"]
    assert sorted(k for k, _ in cache.items("eventtopics")) == ["a/x", "a/y", "b/x"]
    assert cache.items("eventtopics", "c") == [] and cache.items("kafkaconnections") == []


def test_the_cache_keeps_its_own_copy() -> None:
    cache, body = ObjectCache(), _body("a", "t")
    cache.apply("eventtopics", None, body)
    body["spec"] = {"partitions": 9}
    assert cache.get("eventtopics", "a/t") == _body("a", "t")


def test_managed_fields_are_not_held() -> None:
    cache, body = ObjectCache(), _body("a", "t")
    body["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    body["metadata"]["labels"] = {"team": "x"}
    cache.apply("eventtopics", None, body)
    held = cache.get("eventtopics", "a/t")
    assert held is not None and "managedFields" not in held["metadata"]
    assert held["metadata"]["labels"] == {"team": "x"} and held["spec"] == {"partitions": 1}
    body["metadata"]["labels"]["team"] = "y"  # still a copy
    assert held["metadata"]["labels"] == {"team": "x"}


def test_the_copy_is_deep_and_shares_equal_strings() -> None:
    text = json.dumps({"metadata": {"namespace": "a", "name": "t"}, "spec": {"replicas": 2},
                       "status": {"conditions": [{"type": "Ready", "status": "True",
                                                  "observedGeneration": 3, "ok": True,
                                                  "message": "m" * 200, "none": None}]}})
    first, second = json.loads(text), json.loads(text)
    cache = ObjectCache()
    cache.apply("eventtopics", None, first)
    cache.apply("eventtopics", None, {**second, "metadata": {"namespace": "b", "name": "t"}})
    held, other = cache.get("eventtopics", "a/t"), cache.get("eventtopics", "b/t")
    assert held == json.loads(text) and other is not None
    ready, again = held["status"]["conditions"][0], other["status"]["conditions"][0]
    assert ready["type"] is again["type"] and next(iter(ready)) is next(iter(again))
    first["status"]["conditions"][0]["type"] = "Gone"  # nested: still a copy
    first["status"]["conditions"].append({})
    assert held == json.loads(text)


def _versioned(namespace: str, name: str, version: str) -> dict[str, object]:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": version}}


@pytest.mark.parametrize(("held", "deleted", "kept"), [
    ("7", "9", False),  # a watch's DELETED: at the deletion, after every write
    ("7", "7", False),
    ("12", "9", True),  # older than the body held: a newer object of the same name
    ("7", None, False),  # versions unknown: deleted, as before
    ("x", "9", False),
])
def test_a_deletion_older_than_the_body_held_leaves_it(held: str, deleted: str | None,
                                                       kept: bool) -> None:
    cache = ObjectCache()
    cache.apply("eventtopics", "ADDED", _versioned("a", "t", held))
    gone = _versioned("a", "t", deleted) if deleted is not None else _body("a", "t")
    cache.apply("eventtopics", "DELETED", gone)
    assert (cache.get("eventtopics", "a/t") is not None) == kept
    assert (cache.items("eventtopics") != []) == kept


def test_watch_threads_and_readers_may_run_at_once() -> None:
    # kopf runs the event handlers in threads while the event loop reads the cache.
    cache = ObjectCache()

    def churn(namespace: str) -> None:
        for i in range(2000):
            cache.apply("eventtopics", None, _body(namespace, f"t{i % 7}"))
            cache.apply("eventtopics", "DELETED", _body(namespace, f"t{(i + 3) % 7}"))

    threads = [threading.Thread(target=churn, args=(f"ns{n}",)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: unguarded, iterating fails at once
    try:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for key, body in cache.items("eventtopics"):
                assert key == f"{body['metadata']['namespace']}/{body['metadata']['name']}"
    finally:
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)
    expected: set[str] = set()  # one thread's sequence, alone
    for i in range(2000):
        expected.add(f"t{i % 7}")
        expected.discard(f"t{(i + 3) % 7}")
    for n in range(4):
        remaining = {k for k, _ in cache.items("eventtopics", f"ns{n}")}
        assert remaining == {f"ns{n}/{name}" for name in expected}
