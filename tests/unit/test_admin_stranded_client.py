"""A group request that expired strands its admin client (librdkafka 2.16 aborts the process when
the coordinator answers it later): the client is replaced once none of its calls awaits an
answer, and only then. Futures stand in for the client's answers; no request is sent."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from eventsub.kafka.admin import ClusterAdmin, expired
from eventsub.kafka.errors import KafkaUnavailable

# Nothing listens there, and no call below sends a request.
CONFIG = {"bootstrap.servers": "127.0.0.1:9"}


def _failed(code: int) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(KafkaException(KafkaError(code)))
    return future


def _answered() -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result("answer")
    return future


def test_only_an_expired_answer_counts_as_expired() -> None:
    assert expired([_failed(KafkaError._TIMED_OUT)], [])
    assert expired([_failed(KafkaError.REQUEST_TIMED_OUT)], [])
    still: Future[Any] = Future()
    assert expired([still], [still])  # not answered within the wait
    assert not expired([_answered(), _failed(KafkaError._TRANSPORT),
                        _failed(KafkaError.GROUP_ID_NOT_FOUND)], [])


def test_an_expired_group_request_replaces_the_client() -> None:
    admin = ClusterAdmin(CONFIG, request_timeout=1)
    first = admin._client
    answers = asyncio.run(admin._gather({"g": _failed(KafkaError._TIMED_OUT)}, "describe groups"))
    assert isinstance(answers["g"], KafkaUnavailable)
    assert admin._client is not first and admin.renewals == 1


def test_other_calls_and_other_errors_keep_the_client() -> None:
    admin = ClusterAdmin(CONFIG, request_timeout=1)
    first = admin._client

    async def calls() -> None:
        # A metadata-side call that expired is not a coordinator request.
        await admin._gather({"t": _failed(KafkaError._TIMED_OUT)}, "describe topics")
        await admin._gather({"g": _failed(KafkaError._TRANSPORT)}, "list committed offsets")
        await admin._gather({"g": _answered()}, "describe groups")

    asyncio.run(calls())
    assert admin._client is first and admin.renewals == 0


def test_the_client_is_replaced_only_once_no_call_awaits_its_answers() -> None:
    admin = ClusterAdmin(CONFIG, request_timeout=5)
    first = admin._client

    async def calls() -> None:
        pending: Future[Any] = Future()
        other = asyncio.create_task(admin._gather({"h": pending}, "describe groups"))
        await asyncio.sleep(0)  # the other call is awaiting its answer
        await admin._gather({"g": _failed(KafkaError._TIMED_OUT)}, "describe groups")
        assert admin._client is first  # destroying it now could abort the pending request
        pending.set_result("answer")
        await other
        assert admin._client is not first and admin.renewals == 1

    asyncio.run(calls())
