"""The consumer helper's settings from the wiring environment."""

from __future__ import annotations

from eventsub.consumer import consumer_settings

WIRED = {"EVENTSUB_BOOTSTRAP_SERVERS": "kafka:9092", "EVENTSUB_TOPICS": "orders",
         "EVENTSUB_GROUP_ID": "shop.emails", "EVENTSUB_POD_NAME": "emails-consumer-7d9f-x2k4"}


def test_a_subscriptions_consumer_is_a_static_member_named_after_its_pod() -> None:
    assert consumer_settings(WIRED)["group.instance.id"] == "emails-consumer-7d9f-x2k4"


def test_a_bounded_replays_consumer_is_not_a_static_member_so_it_leaves_its_group() -> None:
    bounded = {**WIRED, "EVENTSUB_END_OFFSETS": '{"orders": {"0": 40}}'}
    assert "group.instance.id" not in consumer_settings(bounded)
