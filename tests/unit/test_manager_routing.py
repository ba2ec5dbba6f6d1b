"""How the runtime routes watch events: what a change queues, and what a status write alone
does not (a topic's own status write must not start another pass over it)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from eventsub.runtime.cache import ObjectCache
from eventsub.runtime.contract import Body, Kind, Reference, Table, Watch, Worker
from eventsub.runtime.manager import BURST_KEYS, BURST_QUIET_SECONDS, Manager, only_status_changed
from eventsub.runtime.queue import WorkQueue


def _topic(status: dict[str, Any] | None = None, **meta: Any) -> Body:
    return {"apiVersion": "eventsub.io/v1alpha1", "kind": "EventTopic",
            "metadata": {"namespace": "a", "name": "t", "resourceVersion": "1", "generation": 1,
                         **meta},
            "spec": {"connectionRef": {"name": "c"}, "partitions": 1}, "status": status or {}}


def test_a_status_write_is_only_a_status_change() -> None:
    before = _topic()
    after = _topic({"topicId": "x"}, resourceVersion="2",
                   managedFields=[{"manager": "eventsub-topic"}])
    assert only_status_changed(before, after)


@pytest.mark.parametrize("change", [
    lambda b: b["spec"].update(partitions=3),
    lambda b: b["metadata"].update(generation=2),
    lambda b: b["metadata"].update(finalizers=["eventsub.io/delete-kafka-topic"]),
    lambda b: b["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z"),
    lambda b: b["metadata"].update(labels={"team": "x"}),
    lambda b: b.update(extra={"a": 1}),
])
def test_anything_else_is_more_than_a_status_change(change: Any) -> None:
    before = _topic()
    after = copy.deepcopy(before)
    change(after)
    assert not only_status_changed(before, after)


class _Nothing:
    async def reconcile(self, keys: Sequence[str]) -> None:
        pass


def _references(body: Body) -> Iterable[Reference]:
    return [("kafkaconnections", f"a/{body['spec']['connectionRef']['name']}")]


def _manager() -> tuple[Manager, WorkQueue, WorkQueue, WorkQueue]:
    topics, connections, subscriptions = WorkQueue(), WorkQueue(), WorkQueue()
    cache = ObjectCache(references={"eventtopics": _references,
                                    "eventsubscriptions": lambda b: [("eventtopics", "a/t")]})
    table = Table(kinds=(
        Kind("kafkaconnections", Worker("KafkaConnection", connections, _Nothing()),
             referred_by=("eventtopics",)),
        Kind("eventtopics", Worker("EventTopic", topics, _Nothing()), references=_references,
             status_change_matters=lambda before, after: "schema" in after["status"]),
        Kind("eventsubscriptions", Worker("EventSubscription", subscriptions, _Nothing()),
             references=lambda b: [("eventtopics", "a/t")], watches=(Watch("eventtopics"),)),
    ))
    return Manager(cache, table), topics, connections, subscriptions


def _queued(queue: WorkQueue) -> list[str]:
    return queue.take_ready(100)


def test_a_status_write_queues_the_watchers_but_not_the_object_or_what_it_refers_to() -> None:
    manager, topics, connections, subscriptions = _manager()
    manager.observe("eventsubscriptions", "ADDED", {
        "metadata": {"namespace": "a", "name": "s"}, "spec": {}})
    manager.observe("eventtopics", "ADDED", _topic())
    assert _queued(topics) == ["a/t"] and _queued(connections) == ["a/c"]
    assert _queued(subscriptions) == ["a/s"]
    for queue, key in ((topics, "a/t"), (connections, "a/c"), (subscriptions, "a/s")):
        queue.done(key)
    manager.observe("eventtopics", "MODIFIED", _topic({"conditions": [{"type": "Ready"}]},
                                                      resourceVersion="2"))
    assert _queued(topics) == [] and _queued(connections) == []
    assert _queued(subscriptions) == ["a/s"]  # it waits for the topic to be Ready
    subscriptions.done("a/s")
    # A part of the status the kind says matters (another writer's, that its Ready includes).
    manager.observe("eventtopics", "MODIFIED", _topic({"schema": {"value": {}}}, resourceVersion="3"))
    assert _queued(topics) == ["a/t"] and _queued(connections) == []


def test_a_spec_change_queues_the_object_and_what_it_refers_to() -> None:
    manager, topics, connections, _ = _manager()
    manager.observe("eventtopics", "ADDED", _topic())
    for queue, key in ((topics, "a/t"), (connections, "a/c")):
        _queued(queue)
        queue.done(key)
    changed = _topic(resourceVersion="2", finalizers=["eventsub.io/delete-kafka-topic"])
    manager.observe("eventtopics", "MODIFIED", changed)
    assert _queued(topics) == ["a/t"] and _queued(connections) == ["a/c"]


def test_a_burst_lasts_while_many_keys_are_at_hand_and_a_moment_more() -> None:
    now = {"t": 100.0}
    topics = WorkQueue()
    table = Table(kinds=(Kind("eventtopics", Worker("EventTopic", topics, _Nothing())),))
    manager = Manager(ObjectCache(references={}), table, clock=lambda: now["t"])
    for i in range(BURST_KEYS - 1):
        topics.add(f"a/t{i}")
    assert not manager.in_burst()  # a few changes are no burst
    topics.add("a/last")
    assert manager.in_burst()
    keys = topics.take_ready(1000)
    assert manager.in_burst()  # being processed
    for key in keys:
        topics.done(key)
        topics.add(key, delay=0.2)  # to be verified in a moment
    now["t"] += BURST_QUIET_SECONDS / 2
    assert manager.in_burst()  # between two passes: not over yet
    now["t"] += BURST_QUIET_SECONDS / 2
    assert not manager.in_burst()
    for i in range(BURST_KEYS // 2):  # a steady trickle of a few keys, for as long as it goes on
        topics.add(f"a/more{i}")
        now["t"] += BURST_QUIET_SECONDS
        assert not manager.in_burst()
