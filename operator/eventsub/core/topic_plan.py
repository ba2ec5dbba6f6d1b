"""What to do to a Kafka topic so it matches its EventTopic: the diff of desired and observed.

Kafka can add partitions and change topic configuration; it cannot remove partitions, rename a
topic or change the replication factor in place. Those are refused, everything else converges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eventsub.core.refusal import Refusal

NOT_SUPPORTED = "NotSupported"
INVALID_SPEC = "InvalidSpec"
# The Kafka client's own limits (librdkafka): a request beyond them is refused before sending.
MAX_REPLICATION_FACTOR = 10000
MAX_PARTITIONS = 100000
# The KRaft controller refuses a whole CreateTopics (or CreatePartitions) request whose topics add
# up to more new partitions than this: every topic in it fails with PolicyViolation.
MAX_PARTITIONS_PER_REQUEST = 10000


@dataclass(frozen=True)
class DesiredTopic:
    name: str
    partitions: int
    replication_factor: int | None  # None: the broker's default
    config: Mapping[str, str]


@dataclass(frozen=True)
class ObservedTopic:
    name: str
    topic_id: str
    partitions: int
    replication_factor: int
    overrides: Mapping[str, str]  # topic-level configuration set on the topic (not defaults)


@dataclass(frozen=True)
class TopicPlan:
    create: bool = False
    grow_partitions_to: int | None = None
    set_config: Mapping[str, str] = field(default_factory=dict)
    delete_config: tuple[str, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    # For people: one phrase per change, e.g. "retention.ms 1000 -> 604800000".
    changes: tuple[str, ...] = ()

    @property
    def acts(self) -> bool:
        return bool(self.create or self.grow_partitions_to or self.set_config or self.delete_config)


def check_limits(desired: DesiredTopic) -> Refusal | None:
    """What the Kafka client would refuse to send for this topic, said in the spec's terms, so a
    bad value fails its own resource with a clear message and never the batch it travels in."""
    problems = []
    if desired.replication_factor is not None and \
            not 1 <= desired.replication_factor <= MAX_REPLICATION_FACTOR:
        problems.append(f"spec.replicationFactor {desired.replication_factor} is outside "
                        f"1..{MAX_REPLICATION_FACTOR}, the Kafka client's limit")
    if not 1 <= desired.partitions <= MAX_PARTITIONS:
        problems.append(f"spec.partitions {desired.partitions} is outside 1..{MAX_PARTITIONS}, "
                        "the Kafka client's limit")
    if any(not key.strip() for key in desired.config):
        problems.append("spec.config has an empty key: every setting needs a name")
    return Refusal(INVALID_SPEC, "; ".join(problems)) if problems else None


def request_batches(partitions: Mapping[str, int],
                    limit: int = MAX_PARTITIONS_PER_REQUEST) -> list[list[str]]:
    """Topic names grouped into requests of at most `limit` partitions in all (first fit, in
    order), so a large topic never fails the others of its batch. A topic above the limit goes
    alone, and Kafka refuses it alone."""
    batches: list[list[str]] = []
    sizes: list[int] = []
    for name, count in partitions.items():
        fits = next((i for i, size in enumerate(sizes) if size + count <= limit), None)
        if fits is None:
            batches.append([name])
            sizes.append(count)
        else:
            batches[fits].append(name)
            sizes[fits] += count
    return batches


def plan_topic(desired: DesiredTopic, observed: ObservedTopic | None) -> TopicPlan:
    if observed is None:
        return TopicPlan(create=True, changes=(f"created with {desired.partitions} partitions",))
    refusals: list[Refusal] = []
    changes: list[str] = []
    grow_to = None
    if desired.partitions > observed.partitions:
        grow_to = desired.partitions
        changes.append(f"partitions {observed.partitions} -> {desired.partitions}")
    elif desired.partitions < observed.partitions:
        refusals.append(Refusal(NOT_SUPPORTED, (
            f"spec.partitions is {desired.partitions} but the topic has {observed.partitions}: "
            "Kafka cannot remove partitions")))
    if desired.replication_factor is not None and \
            desired.replication_factor != observed.replication_factor:
        refusals.append(Refusal(NOT_SUPPORTED, (
            f"spec.replicationFactor is {desired.replication_factor} but the topic has "
            f"{observed.replication_factor}: changing it needs a partition reassignment, which "
            "eventsub does not do")))
    to_set = {k: v for k, v in sorted(desired.config.items()) if observed.overrides.get(k) != v}
    to_delete = tuple(sorted(k for k in observed.overrides if k not in desired.config))
    changes += [f"{k} {observed.overrides.get(k, '(default)')} -> {v}" for k, v in to_set.items()]
    changes += [f"{k} {observed.overrides[k]} -> (default)" for k in to_delete]
    return TopicPlan(grow_partitions_to=grow_to, set_config=to_set, delete_config=to_delete,
                     refusals=tuple(refusals), changes=tuple(changes))
