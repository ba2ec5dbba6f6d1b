"""Leader election: one replica of the operator acts, the others keep their caches warm and wait.

Every replica watches and caches all resources; only the one holding the Lease runs the
reconcilers and the scaler. A leader that cannot renew within the renew deadline stops acting
(the caller exits the process) before the lease can expire for anyone else, so two replicas never
act at once; a leader that stops cleanly releases the lease so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from eventsub import metrics
from eventsub.core.leadership import Claim, LeaseRecord, Sighting, Timing, claim, must_step_down, sight
from eventsub.kube.errors import KubeError
from eventsub.kube.leases import LeaseConflict, LeaseStore

logger = logging.getLogger("eventsub.leadership")


class LeaderElector:
    def __init__(self, store: LeaseStore, identity: str, timing: Timing,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.identity, self.timing, self.clock = store, identity, timing, clock
        self.leading = False
        self._record: LeaseRecord | None = None
        self._sighting: Sighting | None = None
        self._last_renewed = 0.0
        self._holder_logged: str | None = None
        # Why the last look at the lease failed (None: it did not). /readyz reports it: a
        # replica that cannot even read its Lease is no standby anyone can count on.
        self.problem: str | None = None

    def current(self) -> bool:
        """True while this replica leads and renewed recently enough that nobody else can."""
        return self.leading and not must_step_down(self._last_renewed, self.clock(), self.timing)

    async def run(self, on_elected: Callable[[], None],
                  on_lost: Callable[[], Awaitable[None]]) -> None:
        """Campaigns, then renews; returns only after leadership was lost and on_lost ran."""
        logger.info("campaigning for leadership on Lease %s/%s as %s", self.store.namespace,
                    self.store.name, self.identity)
        while True:
            started = self.clock()
            won = await self._attempt(started)
            if won and not self.leading:
                self.leading = True
                metrics.LEADER.set(1)
                logger.info("became the leader (Lease %s/%s)", self.store.namespace, self.store.name)
                on_elected()
            if self.leading and must_step_down(self._last_renewed, self.clock(), self.timing):
                logger.error("could not renew the Lease for %.0fs: stepping down",
                             self.clock() - self._last_renewed)
                self.leading = False
                metrics.LEADER.set(0)
                await on_lost()
                return
            await asyncio.sleep(max(0.0, self.timing.retry_seconds - (self.clock() - started)))

    async def _attempt(self, started: float) -> bool:
        """One look at the lease, and a claim if it is ours to take; True if we hold it now."""
        try:
            record = await self.store.read()
            # A version is seen when the read returns, not when it was sent: a slow read must
            # not backdate the wait (the leader may have written it at the very end).
            seen = self.clock()
            self._sighting = sight(self._sighting, record, seen)
            action = claim(record, self._sighting, self.identity, seen)
            if self.leading and action is not Claim.RENEW:
                # Someone else holds it: we were too slow to renew. Stop acting right away.
                self._last_renewed = float("-inf")
                self._set_problem(None)
                return False
            if action is Claim.WAIT:
                self._note_holder(record)
                self._set_problem(None)
                return False
            written = await self.store.write(record, self.identity, self.timing.lease_seconds,
                                             acquired=action is not Claim.RENEW)
        except LeaseConflict:
            self._set_problem(None)  # the API server answered: someone else wrote it first
            return False  # look again next round
        except Exception as error:  # the API server's refusals and any transport error alike
            self._set_problem(f"could not read or write Lease {self.store.namespace}/"
                              f"{self.store.name}: {_short(error)}")
            return self.leading and not must_step_down(self._last_renewed, self.clock(), self.timing)
        # The problem clears only once a whole attempt got through: a read that works while the
        # write keeps failing (e.g. the Lease's namespace does not exist) is the same problem.
        self._set_problem(None)
        # Measured from before the request: the deadline errs on the early side.
        self._last_renewed = started
        self._record = written
        self._sighting = Sighting(written.version, started)
        return True

    def _set_problem(self, problem: str | None) -> None:
        if problem is not None and problem != self.problem:
            logger.warning("%s", problem)  # once per distinct problem, not every retry
        elif problem is None and self.problem is not None:
            logger.info("the Lease is reachable again")
        self.problem = problem

    def _note_holder(self, record: LeaseRecord | None) -> None:
        holder = record.holder if record else None
        if holder != self._holder_logged:
            self._holder_logged = holder
            logger.info("standing by: %s holds the Lease", holder)

    async def release(self) -> None:
        """Gives the lease up after a clean stop, so a standby need not wait for it to expire."""
        if not self.leading or self._record is None:
            return
        self.leading = False
        metrics.LEADER.set(0)
        try:
            await self.store.write(self._record, None, 1, acquired=False)
            logger.info("released the Lease")
        except Exception as error:
            logger.warning("could not release the Lease (it expires by itself): %s", _short(error))


class Campaign:
    """The elector's loop on a thread of its own, with its own event loop.

    Renewals must not wait behind the operator's work: with thousands of subscriptions the main
    loop's queue of ready tasks delays a timer or an answer by seconds, and a leader that cannot
    renew within the renew deadline steps down (measured: with 10,000 new subscriptions on two
    busy cores, the fence refused writes for want of a renewal). on_elected and on_lost run on
    the loop that started the campaign.
    """

    def __init__(self, elector: LeaderElector, on_elected: Callable[[], None],
                 on_lost: Callable[[], Awaitable[None]]) -> None:
        self._main = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancelled = False
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(elector, on_elected, on_lost),
                                        name="leader-election", daemon=True)
        self._thread.start()

    def _run(self, elector: LeaderElector, on_elected: Callable[[], None],
             on_lost: Callable[[], Awaitable[None]]) -> None:
        main = self._main

        def elected() -> None:
            main.call_soon_threadsafe(on_elected)

        async def lost() -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_lost(), main))  # type: ignore[arg-type]

        loop = asyncio.new_event_loop()
        try:
            with self._lock:
                self._loop = loop
                self._task = loop.create_task(elector.run(elected, lost))
                if self._cancelled:
                    self._task.cancel()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("the leader election loop failed")
        finally:
            loop.close()
            self._finished.set()

    def done(self) -> bool:
        return self._finished.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel)

    async def stopped(self, timeout: float) -> bool:
        """Waits (without blocking the caller's loop) until the thread finished; True if it did."""
        return await asyncio.to_thread(self._finished.wait, timeout)


def _short(error: BaseException) -> str:
    if isinstance(error, KubeError):
        return error.message
    return str(error) or type(error).__name__
