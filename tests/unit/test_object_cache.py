"""The object cache: latest bodies by kind and namespace, as watch events leave them."""

from __future__ import annotations

from eventsub.reconcilers.cache import ObjectCache


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
