"""The leader-election Lease: read it, and write it only over the version that was read."""

from __future__ import annotations

import datetime
from typing import Any

from kubernetes import client

from eventsub.core.leadership import LeaseRecord
from eventsub.kube.client import Gone, call_lease, lease_client, unless_gone
from eventsub.kube.errors import Conflict

# A renewal that hangs must not outlast the renew deadline: fail fast and try again.
LEASE_REQUEST_TIMEOUT = (2, 4)


class LeaseConflict(Exception):
    """Someone else wrote the Lease since it was read (HTTP 409): the claim lost the race."""


def _micro_time(now: datetime.datetime) -> str:
    # MicroTime wants exactly six fractional digits; isoformat() drops them at .000000.
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseStore:
    def __init__(self, namespace: str, name: str) -> None:
        self.namespace, self.name = namespace, name

    def _api(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(lease_client())

    async def read(self) -> LeaseRecord | None:
        lease = await unless_gone(call_lease(self._api().read_namespaced_lease, self.name,
                                             self.namespace, timeout=LEASE_REQUEST_TIMEOUT))
        if isinstance(lease, Gone):
            return None
        spec = lease.spec or client.V1LeaseSpec()
        return LeaseRecord(holder=spec.holder_identity or None,
                           duration_seconds=int(spec.lease_duration_seconds or 0),
                           transitions=int(spec.lease_transitions or 0),
                           version=_version(lease))

    async def write(self, previous: LeaseRecord | None, holder: str | None, duration_seconds: int,
                    acquired: bool) -> LeaseRecord:
        """Creates the Lease, or patches the version `previous` was read at.

        acquired: this write takes the lease (acquireTime set, one more transition); otherwise
        it renews or releases it and acquireTime stays. Raises LeaseConflict when another
        writer got there first: the patch carries the resourceVersion, so the API server
        refuses it if anyone wrote the lease since it was read.
        """
        now = _micro_time(datetime.datetime.now(datetime.UTC))
        transitions = 0 if previous is None else previous.transitions + (1 if acquired else 0)
        spec: dict[str, Any] = {"holderIdentity": holder, "leaseDurationSeconds": duration_seconds,
                                "renewTime": now, "leaseTransitions": transitions}
        if acquired:
            spec["acquireTime"] = now
        api = self._api()
        try:
            if previous is None:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}
                written = await call_lease(api.create_namespaced_lease, self.namespace, body,
                                           timeout=LEASE_REQUEST_TIMEOUT)
            else:
                patch = {"metadata": {"resourceVersion": previous.version}, "spec": spec}
                written = await call_lease(api.patch_namespaced_lease, self.name, self.namespace,
                                           patch, timeout=LEASE_REQUEST_TIMEOUT)
        except Conflict:
            raise LeaseConflict() from None
        return LeaseRecord(holder, duration_seconds, transitions, _version(written))


def _version(lease: client.V1Lease) -> str:
    return str(lease.metadata.resource_version if lease.metadata is not None else "")
