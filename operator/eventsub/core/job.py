"""The Job of a bounded replay, rendered from the subscription's pod template. Pure.

It consumes with its own group, from the start offsets the operator committed for that group
to the end offsets in EVENTSUB_END_OFFSETS, where eventsub.consumer stops and exits 0.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from eventsub.api.base import API_VERSION
from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.deployment import SubscriptionRef, wiring_env
from eventsub.core.replay import Move

REPLAY_LABEL = "eventsub.io/replay"


def job_group(group: str, replay: str) -> str:
    return f"{group}.replay.{replay}"[:249]


MAX_LABEL = 63  # a label value, and a Job's name (it becomes its pods' job-name label)


def label_safe(name: str, suffix: str = "") -> str:
    """`name` + `suffix`, fit for a label value or a Job name: at most 63 characters, ending in
    an alphanumeric. A longer name (a resource name may have 253) is cut, and kept unique by a
    hash of the whole of it."""
    whole = f"{name}{suffix}"
    if len(whole) <= MAX_LABEL:
        return whole
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    kept = name[:MAX_LABEL - len(suffix) - len(digest) - 1].rstrip("-.")
    return f"{kept}-{digest}{suffix}"


def job_name(replay: str) -> str:
    return label_safe(replay, "-replay")


def end_offsets_env(moves: Sequence[Move]) -> str:
    """Only partitions with something to replay: the consumer is done when it reached them all."""
    ends: dict[str, dict[str, int]] = {}
    for m in moves:
        if m.end is not None and m.end > m.new:
            ends.setdefault(m.topic, {})[str(m.partition)] = m.end
    return json.dumps(ends, sort_keys=True)


def render_job(replay: SubscriptionRef, subscription: SubscriptionRef, spec: EventSubscriptionSpec,
               connection: KafkaConnectionSpec, topics: Sequence[str], group: str,
               moves: Sequence[Move]) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "eventsub-replay", "app.kubernetes.io/managed-by": "eventsub",
              REPLAY_LABEL: label_safe(replay.name)}
    template = copy.deepcopy(spec.template)
    metadata = template.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    pod_spec = template.setdefault("spec", {})
    pod_spec["restartPolicy"] = "OnFailure"
    env = wiring_env(spec, connection, topics, group, subscription)
    env = [e for e in env if e["name"] != "EVENTSUB_GROUP_ID"] + [
        {"name": "EVENTSUB_GROUP_ID", "value": group},
        {"name": "EVENTSUB_END_OFFSETS", "value": end_offsets_env(moves)},
        {"name": "EVENTSUB_REPLAY", "value": f"{replay.namespace}/{replay.name}"}]
    ours = {e["name"] for e in env}
    for container in pod_spec.get("containers") or []:
        container["env"] = env + [e for e in container.get("env") or [] if e.get("name") not in ours]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(replay.name), "namespace": replay.namespace, "labels": labels,
                     "ownerReferences": [{"apiVersion": API_VERSION, "kind": "EventReplay",
                                          "name": replay.name, "uid": replay.uid,
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"backoffLimit": 3, "template": template},
    }
