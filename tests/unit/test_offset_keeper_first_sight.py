"""The retention guard waits for a new subscription's first wiring: until status shows the
commit of the start offsets (or a renewal), an Empty group is not renewed, since the lag cycle
reads bodies from the cache, which may not show that stamp yet. Once stamped with a commit, the
renewal falls due at half the retention after it; stamped without one, at once."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from eventsub.api.subscription import ScalingPolicy
from eventsub.core.lag import PartitionOffsets
from eventsub.kafka.admin import ClusterAdmin
from eventsub.kafka.lag import GroupRead
from eventsub.kafka.registry import Entry
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.contracts import Target
from eventsub.reconcilers.offset_keeper import OffsetKeeper

NOW = 2_000_000_000.0
RETENTION = 7 * 24 * 3600.0
EMPTY_WITH_OFFSETS = GroupRead(offsets=(PartitionOffsets("orders", 0, 0, 10, 4),), state="Empty")


def target() -> Target:
    return Target(key="team/readers", ref=ObjectRef("EventSubscription", "eventsubscriptions", "team",
                                                    "readers", "uid-1"),
                  deployment="readers-consumer", group="team.readers", topics=("orders",),
                  policy=ScalingPolicy(), start_position="Latest", connection="team/local")


def stamp(seconds_ago: float) -> str:
    moment = datetime.datetime.fromtimestamp(NOW - seconds_ago, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def renewals_started(bodies: list[dict[str, Any]]) -> list[bool]:
    async def scenario() -> list[bool]:
        keeper = OffsetKeeper(kube=None, clock=lambda: NOW)  # type: ignore[arg-type]
        keeper._retention["team/local"] = (RETENTION, NOW)  # as read from the broker
        entry = Entry(admin=ClusterAdmin({"bootstrap.servers": "127.0.0.1:1"}), fingerprint="f",
                      config={})
        seen, subject = [], target()
        for body in bodies:
            await keeper.observe(subject, EMPTY_WITH_OFFSETS, entry, body)
            seen.append(not keeper._idle(subject.key))
            keeper.forget(subject.key)
        return seen

    return asyncio.run(scenario())


def test_an_unstamped_subscription_is_not_renewed_until_its_stamp_shows() -> None:
    fresh = {"status": {"startOffsetsTime": stamp(5), "startOffsetsCommitted": True}}
    assert renewals_started([{}, {"status": {}}, fresh, fresh]) == [False, False, False, False]


def test_a_stamp_older_than_half_the_retention_makes_the_renewal_due() -> None:
    old = {"status": {"startOffsetsTime": stamp(RETENTION * 0.6), "startOffsetsCommitted": True}}
    assert renewals_started([{}, old]) == [False, True]


def test_a_start_settled_without_a_commit_restarted_no_clock_so_the_renewal_is_due_at_once() -> None:
    # The group had offsets on every partition (or members): settling its start committed
    # nothing, so that moment says nothing of when Kafka's retention clock started.
    settled = {"status": {"startOffsetsTime": stamp(5), "startOffsetsCommitted": False}}
    assert renewals_started([settled]) == [True]


def test_a_stamp_from_a_version_that_did_not_say_whether_it_committed_is_not_trusted() -> None:
    earlier = {"status": {"startOffsetsTime": stamp(5)}}
    assert renewals_started([earlier]) == [True]


def test_a_renewal_stamp_counts_even_when_the_start_committed_nothing() -> None:
    renewed = {"status": {"startOffsetsTime": stamp(RETENTION), "startOffsetsCommitted": False,
                          "offsetsRenewedTime": stamp(5)}}
    assert renewals_started([renewed]) == [False]
