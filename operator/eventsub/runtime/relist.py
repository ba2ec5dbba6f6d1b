"""The object cache checked against a periodic list of each kind (the rule: core/relist.py).

kopf's watch feeds the cache, but after a watch gap kopf lists again without reporting what was
deleted meanwhile: a ghost EventTopic would keep a false ResourceConflict on a newer one, a ghost
EventSubscription would keep being scaled. Every replica runs this, leading or not: each keeps a
warm cache to take over from. What a list shows deleted is fed to the runtime as a DELETED watch
event, so the reconcilers react exactly as to a real deletion.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from eventsub.api.resources import EVENT_REPLAY, EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.core.relist import ghosts, in_scope, list_scopes, stale
from eventsub.kube.listing import Listing, list_objects
from eventsub.runtime.cache import Body, ObjectCache, key_of

logger = logging.getLogger("eventsub.relist")

# Referrers before what they refer to: a ghost subscription is gone before its ghost topic's
# deletion re-queues the subscriptions that use the topic.
KINDS = tuple(r.plural for r in (EVENT_REPLAY, EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION))

Observe = Callable[[str, str | None, Body], None]
Lister = Callable[[str, str | None], Awaitable[Listing]]


class Relister:
    def __init__(self, cache: ObjectCache, observe: Observe, namespaces: tuple[str, ...],
                 period_seconds: float, lister: Lister = list_objects) -> None:
        self.cache, self.observe, self.lister = cache, observe, lister
        self.namespaces = namespaces
        self.scopes = list_scopes(namespaces)
        self.period_seconds = period_seconds

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period_seconds)
            try:
                await self.relist_all()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: logged, and the cache is checked again next period
                logger.exception("checking the cache against a list failed")

    async def prime(self) -> None:
        """Fills the cache with a list of every kind, what others refer to first, before the
        reconcilers start: kopf's watches deliver each kind on its own, and a subscription
        reconciled before its EventTopic arrived would be reported TopicNotFound (with an
        Event) by an operator that merely restarted."""
        for plural in reversed(KINDS):
            for namespace in self.scopes:
                try:
                    listing = await self.lister(plural, namespace)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # the watch fills the cache instead, a little later
                    logger.warning("could not list %s %s before starting (%s: %s)", plural,
                                   f"in {namespace}" if namespace else "cluster-wide",
                                   type(error).__name__, error)
                    continue
                # Patterns are listed cluster-wide: only the namespaces they match are ours.
                for body in listing.items:  # an older body than one held is ignored
                    if in_scope(body["metadata"].get("namespace", ""), self.namespaces):
                        self.observe(plural, "ADDED", body)

    async def relist_all(self) -> None:
        for plural in KINDS:
            for namespace in self.scopes:
                await self.relist(plural, namespace)

    async def relist(self, plural: str, namespace: str | None) -> frozenset[str] | None:
        """Lists one kind in one scope and forgets what the list shows deleted; returns those
        keys, or None when the list failed."""
        try:
            listing = await self.lister(plural, namespace)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the API server's trouble: the next period tries again
            logger.warning("could not list %s %s (%s: %s); the cache is checked again in %s s",
                           plural, f"in {namespace}" if namespace else "cluster-wide",
                           type(error).__name__, error, self.period_seconds)
            return None
        # Nothing awaits from here on. A watch event applied meanwhile (kopf's handlers run in
        # threads) is no hazard: a newer body of a dropped key survives its DELETED below.
        cached = dict(self.cache.items(plural, namespace))
        gone = ghosts({key: body["metadata"].get("resourceVersion") for key, body in cached.items()},
                      {key_of(body) for body in listing.items}, listing.resource_version)
        for key in sorted(gone):
            logger.info("%s %s was deleted while the watch was not looking: forgetting it",
                        plural, key)
            self.observe(plural, "DELETED", _deleted_by(cached[key], listing.resource_version))
        listed = {key_of(body): body for body in listing.items}
        versions = {key: body["metadata"].get("resourceVersion") for key, body in listed.items()}
        for key in sorted(stale({k: b["metadata"].get("resourceVersion") for k, b in cached.items()},
                                versions)):
            logger.info("%s %s changed while the watch was not looking: refreshed", plural, key)
            self.observe(plural, "MODIFIED", listed[key])
        return gone


def _deleted_by(body: Body, list_version: str) -> Body:
    """The body as a DELETED event carries it: at the deletion's resourceVersion, which is no
    later than the list's. The list's is what is known of it, and it is newer than any body of
    that object the watch can still deliver (so the cache lets such a body go too)."""
    return {**body, "metadata": {**body["metadata"], "resourceVersion": list_version}}
