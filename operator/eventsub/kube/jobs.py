"""The Jobs of bounded replays."""

from __future__ import annotations

import contextlib
from typing import Any

from kubernetes import client

from eventsub.kube.client import Gone, api_client, call, unless_gone, write
from eventsub.kube.errors import Conflict


async def create_job(manifest: dict[str, Any]) -> None:
    """Creates the Job; one that exists already (a restart after creating it) is fine."""
    batch = client.BatchV1Api(api_client())
    with contextlib.suppress(Conflict):  # created by this replay before a restart
        await write("creating a Job", batch.create_namespaced_job, manifest["metadata"]["namespace"],
                    manifest)


async def job_outcome(namespace: str, name: str) -> str | None:
    """"Complete", "Failed", "Running", or None when the Job does not exist."""
    batch = client.BatchV1Api(api_client())
    job = await unless_gone(call(batch.read_namespaced_job_status, name, namespace))
    if isinstance(job, Gone):
        return None
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status == "True" and condition.type in ("Complete", "Failed"):
            return str(condition.type)
    return "Running"
