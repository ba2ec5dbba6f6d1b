"""core.offsets_log: the records of __consumer_offsets, built here byte by byte from Kafka 4.4's
message definitions (group-coordinator common/message/*.json), decoded; and the bookkeeping of
the groups the lag cycle asks about (catching up, groups asked about late, forgetting)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.offsets_log import (
    TOPIC,
    Answer,
    CommittedOffset,
    DecodeError,
    GroupKey,
    GroupMetadata,
    GroupsLog,
    GroupView,
    IgnoredKey,
    Member,
    OffsetKey,
    OtherProtocolKey,
    UnexpectedPartition,
    answer,
    decode_assignment,
    decode_group_metadata,
    decode_key,
    decode_offset,
    partition_for,
)

# -- an encoder of Kafka's primitives, written from the protocol guide --------------------------


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def string(v: str | None, flexible: bool = False) -> bytes:
    if v is None:
        return uvarint(0) if flexible else i16(-1)
    data = v.encode()
    return (uvarint(len(data) + 1) if flexible else i16(len(data))) + data


def blob(v: bytes | None, flexible: bool = False) -> bytes:
    if v is None:
        return uvarint(0) if flexible else i32(-1)
    return (uvarint(len(v) + 1) if flexible else i32(len(v))) + v


def array(items: list[bytes], flexible: bool = False) -> bytes:
    return (uvarint(len(items) + 1) if flexible else i32(len(items))) + b"".join(items)


def tags(fields: dict[int, bytes] | None = None) -> bytes:
    fields = fields or {}
    return uvarint(len(fields)) + b"".join(uvarint(t) + uvarint(len(v)) + v for t, v in fields.items())


def offset_key(group: str, topic: str, partition: int, key_type: int = 1) -> bytes:
    return i16(key_type) + string(group) + string(topic) + i32(partition)


def group_key(group: str, key_type: int = 2) -> bytes:
    return i16(key_type) + string(group)


def offset_value(version: int, offset: int, *, leader_epoch: int = -1, metadata: str = "",
                 commit: int = 1_700_000_000_000, expire: int = -1, topic_id: bytes | None = None) -> bytes:
    flexible = version >= 4
    out = i16(version) + i64(offset)
    if version >= 3:
        out += i32(leader_epoch)
    out += string(metadata, flexible) + i64(commit)
    if version == 1:
        out += i64(expire)
    if flexible:
        out += tags({0: topic_id} if topic_id is not None else None)
    return out


def assignment(owned: dict[str, list[int]], version: int = 0, user_data: bytes | None = None) -> bytes:
    return i16(version) + array([string(t) + array([i32(p) for p in ps]) for t, ps in owned.items()]) \
        + blob(user_data)


def group_value(version: int, members: list[dict[str, object]], *, protocol_type: str = "consumer",
                generation: int = 3, protocol: str | None = "range", leader: str | None = None) -> bytes:
    flexible = version >= 4
    out = i16(version) + string(protocol_type, flexible) + i32(generation) + string(protocol, flexible)
    out += string(leader, flexible)
    if version >= 2:
        out += i64(1_700_000_000_000)
    encoded = []
    for m in members:
        member = string(str(m["id"]), flexible)
        if version >= 3:
            member += string(m.get("instance"), flexible)  # type: ignore[arg-type]
        member += string("client", flexible) + string("/127.0.0.1", flexible)
        if version >= 1:
            member += i32(300_000)
        member += i32(45_000) + blob(b"\x00\x01subscription", flexible)
        member += blob(m.get("assignment"), flexible)  # type: ignore[arg-type]
        if flexible:
            member += tags()
        encoded.append(member)
    out += array(encoded, flexible)
    if flexible:
        out += tags()
    return out


# -- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", [0, 1])
def test_offset_commit_keys_of_both_versions(key_type: int) -> None:
    assert decode_key(offset_key("g", "orders", 7, key_type)) == OffsetKey("g", "orders", 7)


def test_group_metadata_key() -> None:
    assert decode_key(group_key("payments.billing")) == GroupKey("payments.billing")


@pytest.mark.parametrize(("key_type", "protocol"), [(3, "Consumer"), (11, "Share"), (17, "Streams")])
def test_the_group_records_of_other_protocols_are_recognised(key_type: int, protocol: str) -> None:
    assert decode_key(group_key("g", key_type)) == OtherProtocolKey("g", protocol)


@pytest.mark.parametrize("key_type", [4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23])
def test_other_records_are_ignored_by_type(key_type: int) -> None:
    # Their fields differ (member ids, regular expressions...): not read at all.
    assert decode_key(i16(key_type) + string("g") + string("member-1")) == IgnoredKey(key_type)


@pytest.mark.parametrize("data", [i16(24) + string("g"), i16(-1), b"", b"\x00",
                                  i16(1) + string("g") + string("t"),  # cut short
                                  group_key("g") + b"\x00",  # bytes left over
                                  i16(2) + i16(-1)])  # a null group id
def test_keys_it_cannot_read_raise(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_key(data)


# -- offset values ----------------------------------------------------------------------------


def test_offset_commit_values_of_every_version() -> None:
    assert decode_offset(offset_value(0, 42, metadata="m")) == CommittedOffset(42, -1, "m", 1_700_000_000_000)
    assert decode_offset(offset_value(1, 42, expire=99)) == CommittedOffset(42, -1, "", 1_700_000_000_000, 99)
    assert decode_offset(offset_value(2, 42)) == CommittedOffset(42, -1, "", 1_700_000_000_000)
    assert decode_offset(offset_value(3, 42, leader_epoch=5)) == CommittedOffset(42, 5, "", 1_700_000_000_000)
    assert decode_offset(offset_value(4, 42, leader_epoch=5, metadata="é")) == \
        CommittedOffset(42, 5, "é", 1_700_000_000_000)
    # Version 4's tagged topicId (tag 0, a 16-byte UUID) is skipped.
    assert decode_offset(offset_value(4, 2**40, topic_id=bytes(range(16)))).offset == 2**40


@pytest.mark.parametrize("data", [i16(5) + i64(1), i16(-1) + i64(1), offset_value(3, 1)[:-1],
                                  offset_value(1, 1) + b"\x00", offset_value(2, 1)[:9]])
def test_offset_values_it_cannot_read_raise(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_offset(data)


@given(version=st.integers(0, 4), offset=st.integers(0, 2**63 - 1), epoch=st.integers(-1, 2**31 - 1),
       metadata=st.text(max_size=40))
def test_offset_values_round_trip(version: int, offset: int, epoch: int, metadata: str) -> None:
    decoded = decode_offset(offset_value(version, offset, leader_epoch=epoch, metadata=metadata))
    assert (decoded.offset, decoded.metadata) == (offset, metadata)
    assert decoded.leader_epoch == (epoch if version >= 3 else -1)


# -- group metadata values --------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_group_metadata_of_every_version_with_the_members_assignments(version: int) -> None:
    value = group_value(version, [
        {"id": "m-1", "instance": "pod-a", "assignment": assignment({"orders": [0, 2], "refunds": [1]})},
        {"id": "m-2", "assignment": assignment({"orders": [1, 3]}, version=3, user_data=b"sticky")},
    ], leader="m-1")
    metadata = decode_group_metadata(value)
    assert metadata == GroupMetadata("consumer", 3, "range", "m-1", (
        Member("m-1", "pod-a" if version >= 3 else None, "client",
               (("orders", 0), ("orders", 2), ("refunds", 1))),
        Member("m-2", None, "client", (("orders", 1), ("orders", 3)))))


@pytest.mark.parametrize("version", [0, 4])
def test_an_empty_group_has_no_protocol_and_no_members(version: int) -> None:
    metadata = decode_group_metadata(group_value(version, [], protocol=None))
    assert metadata == GroupMetadata("consumer", 3, None, None, ())


def test_a_member_without_an_assignment_yet_owns_nothing() -> None:
    metadata = decode_group_metadata(group_value(4, [{"id": "m", "assignment": b""},
                                                     {"id": "n", "assignment": None}]))
    assert [m.assignment for m in metadata.members] == [(), ()]


def test_the_assignment_of_another_protocol_type_is_not_read() -> None:
    # Kafka Connect's workers use the group protocol with their own assignment format.
    metadata = decode_group_metadata(group_value(3, [{"id": "w", "assignment": b"\xff\xffconnect"}],
                                                 protocol_type="connect"))
    assert metadata.members[0].assignment == ()


def test_flexible_group_metadata_with_tagged_fields_everywhere() -> None:
    value = bytearray(group_value(4, [{"id": "m", "assignment": assignment({"t": [0]})}]))
    # A tagged field of the last member (tag 7, 2 bytes) and one at the end (tag 1, 3 bytes).
    assert value[-2:] == b"\x00\x00"
    value[-2:] = tags({7: b"ab"}) + tags({1: b"xyz"})
    assert decode_group_metadata(bytes(value)).members[0].assignment == (("t", 0),)


@pytest.mark.parametrize("data", [i16(5), i16(0) + string("consumer"), group_value(2, [])[:-3],
                                  group_value(4, []) + b"\x00", i16(0) + string(None) + i32(1)])
def test_group_values_it_cannot_read_raise(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_group_metadata(data)


def test_assignments_it_cannot_read_raise() -> None:
    with pytest.raises(DecodeError):
        decode_assignment(assignment({"orders": [0, 1]})[:-6])
    with pytest.raises(DecodeError):
        decode_assignment(i16(-1))


# -- which partition holds a group ------------------------------------------------------------


@pytest.mark.parametrize(("group", "java_hash"), [
    ("", 0), ("a", 97), ("hello", 99162322), ("payments.billing", None),
    ("polygenelubricants", -(2**31)),  # Integer.MIN_VALUE: Kafka's Utils.abs makes it 0
    ("\U0001f600", 0xD83D * 31 + 0xDE00),  # a surrogate pair: two UTF-16 units, as Java hashes
])
def test_the_partition_of_a_group_is_kafkas(group: str, java_hash: int | None) -> None:
    if java_hash is None:  # computed as Java does, from its definition
        java_hash = 0
        for ch in group:
            java_hash = (31 * java_hash + ord(ch)) % 2**32
        java_hash = java_hash - 2**32 if java_hash >= 2**31 else java_hash
    expected = 0 if java_hash == -(2**31) else abs(java_hash) % 50
    assert partition_for(group, 50) == expected


# -- the groups' bookkeeping ------------------------------------------------------------------

N = 4  # partitions of the topic in these tests


def groups_on(partition: int, count: int, prefix: str = "g") -> list[str]:
    found = [f"{prefix}{i}" for i in range(1000) if partition_for(f"{prefix}{i}", N) == partition]
    return found[:count]


def commit(log: GroupsLog, at: int, group: str, topic: str, partition: int, offset: int | None) -> None:
    p = partition_for(group, N)
    value = None if offset is None else offset_value(3, offset)
    assert log.record(p, at, offset_key(group, topic, partition), value) is None


def test_a_group_is_known_once_its_partition_caught_up() -> None:
    a, b = groups_on(0, 2)
    log = GroupsLog(N, {0: 3, 1: 0, 2: 0, 3: 5})
    assert log.want([a, b]) == {}
    commit(log, 0, a, "t", 0, 10)
    assert log.view(a) is None and not log.caught_up
    commit(log, 1, a, "t", 1, 11)
    commit(log, 2, a, "t", 0, 12)  # offset 2 is the last before the high watermark 3
    assert log.view(a) == GroupView({("t", 0): 12, ("t", 1): 11}, 0, "Empty", "Classic", {})
    assert log.view(b) == GroupView({}, 0, "Dead", "Classic", {})  # no record: no such group
    assert not log.caught_up  # partition 3 is not read yet
    log.end_of_partition(3, 5)
    assert log.caught_up


def test_the_groups_it_was_not_asked_about_are_not_kept() -> None:
    a, other = groups_on(1, 2)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    commit(log, 0, other, "t", 0, 5)
    assert log.view(other) is None  # not wanted: nothing kept
    log.want([])
    assert log.view(a) is None


def test_members_owners_and_state_from_the_last_group_metadata() -> None:
    (a,) = groups_on(2, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    members = [{"id": "m-1", "assignment": assignment({"t": [0, 1]})},
               {"id": "m-2", "assignment": assignment({"t": [2]})}]
    log.record(2, 0, group_key(a), group_value(3, members))
    commit(log, 1, a, "t", 0, 4)
    view = log.view(a)
    assert view == GroupView({("t", 0): 4}, 2, "Stable", "Classic",
                             {("t", 0): "m-1", ("t", 1): "m-1", ("t", 2): "m-2"})
    # A rebalance to one member, then everyone leaves: Empty, offsets kept.
    log.record(2, 2, group_key(a), group_value(4, members[:1]))
    assert log.view(a).members == 1 and set(log.view(a).owners.values()) == {"m-1"}  # type: ignore[union-attr]
    log.record(2, 3, group_key(a), group_value(4, [], protocol=None))
    assert log.view(a) == GroupView({("t", 0): 4}, 0, "Empty", "Classic", {})


def test_tombstones_delete_offsets_and_groups() -> None:
    (a,) = groups_on(3, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    log.record(3, 0, group_key(a), group_value(0, [{"id": "m", "assignment": assignment({"t": [0]})}]))
    commit(log, 1, a, "t", 0, 4)
    commit(log, 2, a, "t", 1, 5)
    commit(log, 3, a, "t", 1, None)  # offset deleted (or expired)
    assert log.view(a).committed == {("t", 0): 4}  # type: ignore[union-attr]
    commit(log, 4, a, "t", 0, None)
    log.record(3, 5, group_key(a), None)  # group deleted
    assert log.view(a) == GroupView({}, 0, "Dead", "Classic", {})
    commit(log, 6, a, "u", 0, None)  # a tombstone for an offset it never saw
    assert log.view(a).committed == {}  # type: ignore[union-attr]


def test_a_group_of_another_protocol_is_left_to_the_requests() -> None:
    (a,) = groups_on(0, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    commit(log, 0, a, "t", 0, 1)
    log.record(0, 1, group_key(a, 3), b"\x00\x00whatever")  # ConsumerGroupMetadataValue
    log.record(0, 2, i16(5) + string(a) + string("member"), b"\x00\x00")  # a member: ignored
    assert log.view(a) is None
    log.record(0, 3, group_key(a, 3), None)  # converted back to classic (or deleted)
    assert log.view(a) == GroupView({("t", 0): 1}, 0, "Empty", "Classic", {})


def test_a_group_asked_about_late_is_read_again_from_the_beginning() -> None:
    old, late = groups_on(1, 2)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([old])
    commit(log, 0, late, "t", 0, 1)  # skipped: not wanted yet
    commit(log, 1, old, "t", 0, 2)
    commit(log, 2, late, "t", 0, 3)
    assert log.want([old, late]) == {1: 0}  # partition 1, from its beginning
    assert log.view(late) is None and log.view(old) is not None
    # Read again: the late group's records only (the old one has these already)...
    commit(log, 0, late, "t", 0, 1)
    commit(log, 1, old, "t", 0, 99)  # would go back in time for the old group: not applied
    assert log.view(late) is None and log.view(old).committed == {("t", 0): 2}  # type: ignore[union-attr]
    commit(log, 2, late, "t", 0, 3)  # ...up to where the reader had got: known again
    assert log.view(late).committed == {("t", 0): 3}  # type: ignore[union-attr]
    commit(log, 3, old, "t", 0, 4)  # and on from there for both
    commit(log, 4, late, "t", 0, 5)
    assert log.view(old).committed == {("t", 0): 4}  # type: ignore[union-attr]
    assert log.view(late).committed == {("t", 0): 5}  # type: ignore[union-attr]


def test_a_partition_not_read_yet_needs_no_rewind_and_an_end_finishes_one() -> None:
    first, second, third = groups_on(2, 3)
    log = GroupsLog(N, {p: 10 for p in range(N)})
    assert log.want([first]) == {}  # nothing read on partition 2: its records are all to come
    log.record(2, 5, None, None)  # a record without a key (not the coordinator's): skipped
    assert log.want([first, second]) == {2: 0}
    # Asked about while partition 2 is read again: queued for the next rewind.
    assert log.want([first, second, third]) == {}
    assert log.end_of_partition(2, 10) == 2  # the rewind ended; the queued group's starts
    assert log.view(second) is not None and log.view(third) is None
    assert log.end_of_partition(2, 10) is None
    assert log.view(third) is not None


def test_a_group_no_longer_wanted_is_dropped_also_from_the_queue() -> None:
    first, second, third = groups_on(0, 3)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([first])
    commit(log, 0, first, "t", 0, 1)
    log.want([first, second])
    log.want([first, second, third])
    log.want([first, second])  # third dropped while queued
    assert log.end_of_partition(0, 1) is None
    assert log.view(third) is None and log.view(second) is not None


def test_records_it_cannot_decode_raise_and_leave_the_state_as_it_was() -> None:
    (a,) = groups_on(3, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    commit(log, 0, a, "t", 0, 1)
    with pytest.raises(DecodeError):
        log.record(3, 1, offset_key(a, "t", 0), b"\x00\x09garbage")
    assert log.view(a).committed == {("t", 0): 1}  # type: ignore[union-attr]


def test_a_record_in_another_partition_than_kafkas_hash_says_is_refused() -> None:
    (a,) = groups_on(1, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    with pytest.raises(UnexpectedPartition):
        log.record(2, 0, offset_key(a, "t", 0), offset_value(3, 1))


# -- what a lag cycle reads from the reader, and when it must send no group request ----------


def test_a_caught_up_log_answers_its_groups_and_leaves_the_others_to_requests() -> None:
    known, late = groups_on(1, 2)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([known])
    commit(log, 0, known, "t", 0, 3)
    got = answer(log, [known, late, known], failed=None, trouble=None)
    assert got == Answer({known: GroupView({("t", 0): 3}, 0, "Empty", "Classic", {})}, (late,))


def test_before_reading_and_once_failed_for_good_requests_answer_every_group() -> None:
    (a,) = groups_on(0, 1)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a])
    assert answer(None, [a], failed=None, trouble=None) == Answer({}, (a,))
    assert answer(log, [a], failed="not allowed to read it", trouble=None) == Answer({}, (a,))


def test_while_fetching_fails_no_group_is_answered_nor_asked() -> None:
    # The topic's partition leaders are the groups' coordinators: a group request would go to
    # a broker that does not answer the reader either.
    a, b = groups_on(2, 2)
    log = GroupsLog(N, {p: 0 for p in range(N)})
    log.want([a, b])
    got = answer(log, [a, b], failed=None, trouble="Local: Broker transport failure")
    assert got.views == {} and got.ask == ()
    assert got.unreachable == f"reading {TOPIC}: Local: Broker transport failure"
    # Failed for good wins: requests are then the only way, trouble or not.
    assert answer(log, [a], failed="denied", trouble="x") == Answer({}, (a,))


@given(st.lists(st.integers(0, 5), max_size=12), st.sets(st.integers(0, 5)))
def test_every_group_is_answered_or_asked_exactly_once(asked: list[int], known: set[int]) -> None:
    names = [f"g{i}" for i in range(6)]
    log = GroupsLog(1, {0: 0})
    log.want([names[i] for i in known])
    got = answer(log, [names[i] for i in asked], failed=None, trouble=None)
    assert set(got.views).isdisjoint(got.ask)
    assert set(got.views) | set(got.ask) == {names[i] for i in asked}
    assert set(got.views) == {names[i] for i in set(asked) & known}
    assert len(got.ask) == len(set(got.ask))
