"""Kafka's `__consumer_offsets` topic, decoded: the committed offsets and the group metadata of
the groups the operator asks about, as the group coordinator writes them (Burrow reads them so).

Record formats: Kafka 4.4's coordinator message definitions (group-coordinator's
common/message/*.json). A key starts with an int16 record type: 0 LegacyOffsetCommitKey and
1 OffsetCommitKey (group, topic, partition), 2 GroupMetadataKey (group); the other types belong to
groups of other protocols (3-8, 16: the consumer protocol of KIP-848; 9-15: share groups; 17-23:
streams groups) and are recognised and otherwise ignored. A value starts with an int16 version:
OffsetCommitValue 0-4 (4 flexible), GroupMetadataValue 0-4 (4 flexible). A null value (a
tombstone) deletes the key: an expired or deleted offset, a deleted group.

The state kept here is what a lag cycle needs and no more: per wanted group its committed offsets
and, from its last GroupMetadataValue, its members and who owns which partition. Reading and
seeking the topic is kafka/offsets_log.py's; this module decides from what it is given.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

TOPIC = "__consumer_offsets"
# Key types (the definitions' apiKey) that name a group of another protocol by its group-level
# metadata record: while one of these is live, the group is not a classic group.
OTHER_PROTOCOL_KEYS = {3: "Consumer", 11: "Share", 17: "Streams"}
OFFSET_KEYS = (0, 1)
GROUP_METADATA_KEY = 2
LAST_KEY_TYPE = 23  # StreamsGroupTargetAssignmentResolvedTopicIdsKey, the highest in Kafka 4.4


class DecodeError(ValueError):
    """A record this module cannot read: not of a known layout, or cut short."""


class UnexpectedPartition(Exception):
    """A group's record in another partition than partition_for says: the rewinds for groups
    asked about late would read the wrong partition, so the view cannot be trusted."""


@dataclass(frozen=True, slots=True)
class OffsetKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupKey:
    group: str


@dataclass(frozen=True, slots=True)
class OtherProtocolKey:
    """The group-level metadata record of a group of another protocol (consumer, share, streams)."""

    group: str
    protocol: str


@dataclass(frozen=True, slots=True)
class IgnoredKey:
    """A record of a kind the lag cycle does not need (members and assignments of the newer
    protocols, regular expressions, ...): recognised by its type."""

    key_type: int


Key = OffsetKey | GroupKey | OtherProtocolKey | IgnoredKey


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1
    expire_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    assignment: tuple[tuple[str, int], ...]  # (topic, partition), from the consumer protocol's bytes


@dataclass(frozen=True, slots=True)
class GroupMetadata:
    protocol_type: str  # "consumer" for consumer groups; others (e.g. "connect") carry no assignment
    generation: int
    protocol: str | None  # the assignor, e.g. "cooperative-sticky"
    leader: str | None
    members: tuple[Member, ...] = ()


class _Reader:
    """Kafka's protocol primitives over a bytes buffer: big-endian fixed widths; classic (int16
    string, int32 array and bytes lengths) or flexible (unsigned varint lengths plus one, tagged
    fields) encodings."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def _fixed(self, fmt: str, size: int) -> int:
        if self.pos + size > len(self.data):
            raise DecodeError(f"record cut short at byte {self.pos}")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return int(value)

    def int16(self) -> int:
        return self._fixed(">h", 2)

    def int32(self) -> int:
        return self._fixed(">i", 4)

    def int64(self) -> int:
        return self._fixed(">q", 8)

    def uvarint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.data):
                raise DecodeError(f"varint cut short at byte {self.pos}")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise DecodeError("varint longer than 5 bytes")

    def raw(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise DecodeError(f"{size} bytes wanted at byte {self.pos}, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def string(self, flexible: bool = False) -> str | None:
        size = self.uvarint() - 1 if flexible else self.int16()
        if size < 0:
            return None
        try:
            return self.raw(size).decode()
        except UnicodeDecodeError as error:
            raise DecodeError(f"string not UTF-8: {error}") from None

    def text(self, flexible: bool = False) -> str:
        value = self.string(flexible)
        if value is None:
            raise DecodeError(f"null where a string is required, at byte {self.pos}")
        return value

    def bytes_(self, flexible: bool = False) -> bytes | None:
        size = self.uvarint() - 1 if flexible else self.int32()
        return None if size < 0 else self.raw(size)

    def count(self, flexible: bool = False) -> int:
        size = self.uvarint() - 1 if flexible else self.int32()
        if size < 0:
            raise DecodeError("null array")
        return size

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.raw(self.uvarint())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError(f"{len(self.data) - self.pos} bytes left over")


def decode_key(data: bytes) -> Key:
    reader = _Reader(data)
    key_type = reader.int16()
    if key_type in OFFSET_KEYS:
        key: Key = OffsetKey(reader.text(), reader.text(), reader.int32())
    elif key_type == GROUP_METADATA_KEY:
        key = GroupKey(reader.text())
    elif key_type in OTHER_PROTOCOL_KEYS:
        key = OtherProtocolKey(reader.text(), OTHER_PROTOCOL_KEYS[key_type])
    elif 0 < key_type <= LAST_KEY_TYPE:
        return IgnoredKey(key_type)  # not read further: their fields differ by type
    else:
        raise DecodeError(f"unknown key type {key_type}")
    reader.end()
    return key


def decode_offset(data: bytes) -> CommittedOffset:
    """An OffsetCommitValue (versions 0-4; LegacyOffsetCommitValue is version 0's layout)."""
    reader = _Reader(data)
    version = reader.int16()
    if not 0 <= version <= 4:
        raise DecodeError(f"OffsetCommitValue version {version} unknown")
    flexible = version >= 4
    offset = reader.int64()
    leader_epoch = reader.int32() if version >= 3 else -1
    metadata = reader.text(flexible)
    commit_timestamp = reader.int64()
    expire_timestamp = reader.int64() if version == 1 else -1
    if flexible:
        reader.tagged_fields()  # topicId (tag 0)
    reader.end()
    return CommittedOffset(offset, leader_epoch, metadata, commit_timestamp, expire_timestamp)


def decode_group_metadata(data: bytes) -> GroupMetadata:
    """A GroupMetadataValue (versions 0-4), with each member's assignment decoded when the
    group is a consumer group."""
    reader = _Reader(data)
    version = reader.int16()
    if not 0 <= version <= 4:
        raise DecodeError(f"GroupMetadataValue version {version} unknown")
    flexible = version >= 4
    protocol_type = reader.text(flexible)
    generation = reader.int32()
    protocol = reader.string(flexible)
    leader = reader.string(flexible)
    if version >= 2:
        reader.int64()  # currentStateTimestamp
    members = []
    for _ in range(reader.count(flexible)):
        member_id = reader.text(flexible)
        instance_id = reader.string(flexible) if version >= 3 else None
        client_id = reader.text(flexible)
        reader.text(flexible)  # clientHost
        if version >= 1:
            reader.int32()  # rebalanceTimeout
        reader.int32()  # sessionTimeout
        reader.bytes_(flexible)  # subscription
        assignment = reader.bytes_(flexible)
        if flexible:
            reader.tagged_fields()
        owned = decode_assignment(assignment) if protocol_type == "consumer" and assignment else ()
        members.append(Member(member_id, instance_id, client_id, owned))
    if flexible:
        reader.tagged_fields()
    reader.end()
    return GroupMetadata(protocol_type, generation, protocol, leader, tuple(members))


def decode_assignment(data: bytes) -> tuple[tuple[str, int], ...]:
    """The consumer protocol's ConsumerProtocolAssignment (versions 0-3, none flexible; a newer
    version is read with the same layout, as Kafka's own client does)."""
    reader = _Reader(data)
    if reader.int16() < 0:
        raise DecodeError("ConsumerProtocolAssignment with a negative version")
    owned = []
    for _ in range(reader.count()):
        topic = reader.text()
        owned += [(topic, reader.int32()) for _ in range(reader.count())]
    reader.bytes_()  # userData
    return tuple(owned)


def partition_for(group: str, partitions: int) -> int:
    """The `__consumer_offsets` partition holding a group's records: Kafka's
    Utils.abs(groupId.hashCode()) % partitions, with Java's String.hashCode over UTF-16 units."""
    h = 0
    units = group.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    if h & 0x80000000:
        h -= 1 << 32
    return (0 if h == -(1 << 31) else abs(h)) % partitions


@dataclass(frozen=True, slots=True)
class GroupView:
    """What the topic says of one group: the lag cycle's inputs, as DescribeGroups and OffsetFetch
    would give them (state Dead when the group does not exist, Empty without members, else
    Stable: a rebalance in progress is not written to the topic)."""

    committed: Mapping[tuple[str, int], int]
    members: int
    state: str
    protocol: str
    owners: Mapping[tuple[str, int], str]


_NO_OWNERS: Mapping[tuple[str, int], str] = {}


@dataclass(slots=True)
class _Group:
    partition: int  # of the topic, where all its records are
    # topic -> committed offset by partition (-1: none); compact, as there are thousands of groups
    offsets: dict[str, array[int]] = field(default_factory=dict)
    members: int = 0
    owners: dict[tuple[str, int], str] | None = None
    other_protocol: str | None = None  # the live group-level record of another protocol
    metadata: bool = False  # a live GroupMetadataValue


class GroupsLog:
    """The groups the operator asked about, as the records of their partitions of the topic say.

    Fed in log order per partition. A group is known (its view can be trusted) once its partition
    has been read from the beginning up to the high watermark the partition had when reading
    started: caught up. A group asked for later was skipped while its partition was read; it
    needs that partition read again from the beginning (`want` says which partitions to rewind),
    applying only the newly wanted groups' records up to where the reader had got
    (`rescan_until`): meanwhile it is not known, and the other groups' records past that point
    wait until the rewound read reaches it again.
    """

    def __init__(self, partitions: int, high_watermarks: Mapping[int, int]) -> None:
        self.partitions = partitions
        self._groups: dict[str, _Group] = {}  # the wanted groups
        self._caught_up: set[int] = set()
        self._catch_up_to = dict(high_watermarks)
        self._next: dict[int, int] = {}  # partition -> the offset after the last record read
        self._rescan_until: dict[int, int] = {}  # partition -> offset where its rewound read ends
        self._rescanned: dict[int, set[str]] = {}  # partition -> the groups its rewind is for
        self._queued: dict[int, set[str]] = {}  # wanted while that partition is being rewound
        for p, end in high_watermarks.items():
            if end <= 0:
                self._caught_up.add(p)

    @property
    def caught_up(self) -> bool:
        return len(self._caught_up) == self.partitions

    def partition_of(self, group: str) -> int:
        return partition_for(group, self.partitions)

    def want(self, groups: Iterable[str]) -> dict[int, int]:
        """Sets the wanted groups: forgets the others, and returns the partitions to read again
        from their beginning (partition -> the offset to seek to: 0, the earliest there is) for
        groups newly wanted on partitions the reader has already read some of."""
        wanted = set(groups)
        for gone in [g for g in self._groups if g not in wanted]:
            del self._groups[gone]
        for queued in self._queued.values():
            queued &= wanted
        rewind: dict[int, int] = {}
        for group in wanted:
            if group in self._groups or any(group in q for q in self._queued.values()):
                continue
            p = self.partition_of(group)
            if self._next.get(p, 0) == 0:  # nothing read there yet: its records are all to come
                self._groups[group] = _Group(p)
            elif p in self._rescan_until:
                self._queued.setdefault(p, set()).add(group)
            else:
                self._groups[group] = _Group(p)
                self._rescanned.setdefault(p, set()).add(group)
                self._rescan_until[p] = self._next[p]
                rewind[p] = 0
        return rewind

    def known(self, group: str) -> bool:
        state = self._groups.get(group)
        if state is None:
            return False
        p = state.partition
        return p in self._caught_up and not (p in self._rescan_until and group in self._rescanned.get(p, ()))

    def view(self, group: str) -> GroupView | None:
        """The group's view when it is known and a classic group (or one with offsets only, which
        the coordinator keeps as an Empty classic group); None when a request must answer."""
        if not self.known(group):
            return None
        state = self._groups[group]
        if state.other_protocol is not None:
            return None
        committed = {(t, p): o for t, offsets in state.offsets.items()
                     for p, o in enumerate(offsets) if o >= 0}
        # As the coordinator describes them: a group with neither offsets nor metadata does not
        # exist (Dead); one without members is Empty, whether or not it ever had a member.
        exists = bool(committed) or state.metadata
        return GroupView(committed=committed, members=state.members,
                         state="Stable" if state.members else "Empty" if exists else "Dead",
                         protocol="Classic",
                         owners=state.owners or _NO_OWNERS)  # replaced, never changed, on a new record

    def record(self, partition: int, offset: int, key: bytes | None, value: bytes | None) -> int | None:
        """Applies one record read at (partition, offset). Returns the partition to rewind again
        (to 0) when a rewind of it just ended and other groups were queued behind it, else None.
        Raises DecodeError for a key or value it cannot read (the record is then skipped)."""
        # Which groups this record is for is decided before the position moves: a rewind that
        # ends here (and another that starts) does not change who this record belongs to.
        until = self._rescan_until.get(partition)
        only = self._rescanned.get(partition, set()) if until is not None and offset < until else None
        rewind = self._advance(partition, offset + 1)
        if key is None:
            return rewind
        decoded = decode_key(key)
        if isinstance(decoded, IgnoredKey):
            return rewind
        group = self._groups.get(decoded.group)
        if group is None or (only is not None and decoded.group not in only):
            return rewind
        if group.partition != partition:
            raise UnexpectedPartition(f"a record of group {decoded.group} in partition {partition}, "
                                      f"expected in {group.partition}")
        if isinstance(decoded, OffsetKey):
            _set_offset(group.offsets, decoded.topic, decoded.partition,
                        -1 if value is None else decode_offset(value).offset)
        elif isinstance(decoded, GroupKey):
            if value is None:  # the group was deleted (its offsets have their own tombstones)
                group.members, group.owners, group.metadata = 0, None, False
            else:
                metadata = decode_group_metadata(value)
                group.metadata = True
                group.members = len(metadata.members)
                group.owners = {tp: m.member_id for m in metadata.members for tp in m.assignment} or None
        else:
            group.other_protocol = None if value is None else decoded.protocol
        return rewind

    def end_of_partition(self, partition: int, offset: int) -> int | None:
        """The reader reached the end of the partition (the next offset there is `offset`)."""
        return self._advance(partition, offset)

    def _advance(self, partition: int, next_offset: int) -> int | None:
        self._next[partition] = max(self._next.get(partition, 0), next_offset)
        if partition not in self._caught_up and next_offset >= self._catch_up_to.get(partition, 0):
            self._caught_up.add(partition)
        until = self._rescan_until.get(partition)
        if until is None or next_offset < until:
            return None
        del self._rescan_until[partition]
        self._rescanned.pop(partition, None)
        queued = self._queued.pop(partition, set())
        if not queued:
            return None
        for group in queued:
            self._groups[group] = _Group(self.partition_of(group))
        self._rescanned[partition] = queued
        self._rescan_until[partition] = self._next[partition]
        return partition


@dataclass(frozen=True)
class Answer:
    """How one lag cycle reads its groups, given what the reader can say now: from `views`, by
    requests for those in `ask`, or not at all (`unreachable`: why no group request may go out)."""

    views: Mapping[str, GroupView]
    ask: tuple[str, ...]
    unreachable: str | None = None


def answer(log: GroupsLog | None, groups: Iterable[str], failed: str | None,
           trouble: str | None) -> Answer:
    """failed: the topic cannot be read for good (e.g. ACLs): requests answer every group.
    trouble: fetching the topic fails now. Its partitions' leaders are the groups' coordinators,
    so a DescribeGroups or OffsetFetch would go to a broker that is not answering either; and a
    group request that times out against an unreachable coordinator aborts the process in
    librdkafka (2.16) once the coordinator answers after all. So none is sent: every group is
    unreadable until the connection is probed again (and a fresh reader starts)."""
    wanted = tuple(dict.fromkeys(groups))
    if failed is not None or log is None:
        return Answer({}, wanted)
    if trouble is not None:
        return Answer({}, (), f"reading {TOPIC}: {trouble}")
    views = {g: v for g in wanted if (v := log.view(g)) is not None}
    return Answer(views, tuple(g for g in wanted if g not in views))


def _set_offset(offsets: dict[str, array[int]], topic: str, partition: int, offset: int) -> None:
    """Sets (or, with -1, removes) a committed offset in a group's compact table."""
    by_partition = offsets.get(topic)
    if by_partition is None:
        if offset < 0:
            return
        by_partition = offsets[sys.intern(topic)] = array("q")
    if len(by_partition) <= partition:
        if offset < 0:
            return
        by_partition.extend([-1] * (partition + 1 - len(by_partition)))
    by_partition[partition] = max(offset, -1)
    if offset < 0 and all(o < 0 for o in by_partition):
        del offsets[topic]
