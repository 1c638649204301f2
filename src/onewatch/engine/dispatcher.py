"""The dispatcher: leased deliveries are sent at their instant and their results recorded.

Each claimed delivery waits for its due instant on one loop timer (a ``TimerHandle``, a
few hundred bytes, where a sleeping task with its coroutine and frame took over 2 KB:
with up to ``dispatcher_max_held`` in hand that was megabytes of RSS). When it fires, a
task checks the wall clock (never early), sends the delivery through the shared aiohttp
session and hands the outcome to the ``Recorder``. The claim loop keeps at most
``dispatcher_max_held`` deliveries in hand and sleeps until the next one is due, a
wake-up (trigger, redrive, new deliveries), or the poll interval. On stop it claims
nothing more, gives back what has not started, lets requests in flight finish within
the grace period, and releases those that did not (they are sent again, with the same
``webhook-id``). Until then the leases of everything held are renewed
(``engine.lease_renewal``), however long it waits. Right before a request leaves (in its
host slot) the dispatcher checks that no other node can have taken its lease over: a
node whose heartbeat was late looks dead to the others (``engine.beat_chain``), so after
such a gap it beats and renews first, and drops unsent whatever was taken over.

Claims skip a service that already has a whole quota's worth waiting for its slots (its
target is slow or hangs): that service's backlog cannot fill the hand while others' are due.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from functools import partial

import structlog

from onewatch.engine.attempt import AttemptTools, NotOurs, attempt
from onewatch.engine.lease_renewal import LeaseRenewer
from onewatch.engine.outage import report_step_failure
from onewatch.engine.recorder import Recorder
from onewatch.engine.sources import DeliverySource
from onewatch.engine.waiting import first_of, sleep_until
from onewatch.runtime import Runtime
from onewatch.security.quotas import DeliveryConcurrencyLimiter, NoFreeSlot
from onewatch.store.records import ClaimedDelivery, Outcome

log = structlog.get_logger("onewatch.dispatcher")

ERROR_BACKOFF_SECONDS = 1.0
#: Under steady load, claims per look-ahead: small claims keep each claim's synchronous
#: work on the event loop (rows to deliveries to tasks) short, as the scheduler's passes.
CLAIMS_PER_LOOKAHEAD = 20


class Dispatcher:
    """One dispatcher loop: claim, send at the due instant, record."""

    def __init__(self, runtime: Runtime, source: DeliverySource, tools: AttemptTools) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.source = source
        self.tools = replace(tools, before_send=self._still_ours)
        self.recorder = Recorder(runtime.store, runtime.clock, runtime.metrics, self._recorded)
        self.held: dict[str, ClaimedDelivery] = {}
        #: Held deliveries whose instant has not come yet: the timer that starts each one.
        self.timers: dict[str, asyncio.TimerHandle] = {}
        #: Held deliveries whose instant came: the task sending (or about to send) each.
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.sending: set[str] = set()
        #: Held deliveries (id, token) found taken over while in ``_send``: not sent; each
        #: leaves this set once recorded, dropped or given back.
        self._taken_over: set[tuple[str, str]] = set()
        #: The confirmation of this node's leases under way (``_confirm_leases``).
        self._confirming: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        #: Nothing is known to be ready before the current wait ends (a plain poll, or
        #: the start): the next round looks before it takes the writer's lock.
        self._polling = True
        #: Per-service cap on requests in flight, so one service cannot take them all.
        self.limiter = DeliveryConcurrencyLimiter.from_settings(self.settings)
        #: Keeps the leases of ``held`` alive while they wait, queue for a slot or send.
        self.renewer = LeaseRenewer(
            runtime.store,
            runtime.clock,
            lease_seconds=self.settings.dispatcher_lease_seconds,
            held=lambda: self.held,
            on_lost=self._lost,
        )

    # --- per delivery -----------------------------------------------------------------

    async def _deliver(self, item: ClaimedDelivery) -> None:
        await sleep_until(item.next_attempt_at, self.runtime.clock)
        try:
            # The renewer keeps the lease while this waits; the bound (half a lease) makes a
            # service at its quota give deliveries back for others rather than hoard them.
            wait = self.settings.dispatcher_lease_seconds / 2
            async with self.limiter.slot(item.service, wait=wait):
                outcome = await self._send(item)
        except NoFreeSlot:
            log.info("service at its concurrent delivery quota; released", delivery_id=item.id)
            await self._give_back(item)
            return
        if outcome is not None:
            self.recorder.put(outcome)

    async def _send(self, item: ClaimedDelivery) -> Outcome | None:
        self.sending.add(item.id)
        try:
            return await attempt(self.tools, item)
        except NotOurs:
            log.warning("lease taken over before sending; dropped unsent", delivery_id=item.id)
            self._drop(item)
            return None
        except Exception:
            # A bug, not a target's fault: give the delivery back rather than hold it.
            log.exception("attempt failed unexpectedly; releasing", delivery_id=item.id)
            await self._give_back(item)
            return None
        finally:
            self.sending.discard(item.id)

    def _drop(self, item: ClaimedDelivery) -> None:
        """Forget a delivery another node now holds (the task's end hands it on)."""
        self._taken_over.discard((item.id, item.lease_token))
        if (held := self.held.get(item.id)) is not None and held.lease_token == item.lease_token:
            del self.held[item.id]
        self._room.set()

    async def _still_ours(self, item: ClaimedDelivery) -> None:
        """``AttemptTools.before_send``: send only while no other node can have taken the
        lease over (``engine.beat_chain``); after a gap in this node's heartbeats, first
        confirm which leases are still its own."""
        while not self.runtime.beat_chain.is_safe():
            try:
                await self._confirm_leases()
            except Exception as exc:
                report_step_failure(log, "could not confirm leases before sending", exc)
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
        held = self.held.get(item.id)
        if held is None or held.lease_token != item.lease_token:
            raise NotOurs(item.id)  # dropped meanwhile, or claimed again under a new lease
        if (item.id, item.lease_token) in self._taken_over:
            raise NotOurs(item.id)

    async def _confirm_leases(self) -> None:
        """One confirmation for every send that waits for it: a beat, then a renewal."""
        if self._confirming is None or self._confirming.done():
            self._confirming = asyncio.create_task(self._confirm(), name="onewatch-confirm")
        await asyncio.shield(self._confirming)

    async def _confirm(self) -> None:
        chain = self.runtime.beat_chain
        stamp = await chain.beat_after(self.runtime.clock.now())
        # Taken over before that beat: the renewal finds it (``_lost``); after it, none
        # can be for a take-over time.
        await self.renewer.renew_once()
        chain.confirmed(stamp)

    async def _give_back(self, item: ClaimedDelivery) -> None:
        self.held.pop(item.id, None)
        self._taken_over.discard((item.id, item.lease_token))
        self._room.set()
        await self.runtime.store.release(
            [(item.id, item.lease_token)], now=self.runtime.clock.now()
        )

    def _take(self, item: ClaimedDelivery) -> None:
        self.held[item.id] = item
        delay = (item.next_attempt_at - self.runtime.clock.now()).total_seconds()
        if delay <= 0:
            self._start(item)
            return
        loop = asyncio.get_running_loop()
        self.timers[item.id] = loop.call_later(delay, self._start, item)

    def _start(self, item: ClaimedDelivery) -> None:
        """The delivery's instant came (by the loop's clock; ``_deliver`` checks the wall)."""
        self.timers.pop(item.id, None)
        task = asyncio.create_task(self._deliver(item), name=f"deliver-{item.id}")
        self.tasks[item.id] = task
        task.add_done_callback(partial(self._finished_task, item.id))

    def _finished_task(self, ident: str, task: asyncio.Task[None]) -> None:
        self.tasks.pop(ident, None)
        if ident not in self.held and not task.cancelled():
            # Released unsent (no result to record): the source may hand it on at once.
            self.source.given_back([ident])
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", delivery_id=ident, error=repr(task.exception()))

    def _recorded(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.held.pop(outcome.delivery_id, None)
            self._taken_over.discard((outcome.delivery_id, outcome.lease_token))
        self.source.settled([outcome.delivery_id for outcome in outcomes])
        self._room.set()

    # --- the claim loop ---------------------------------------------------------------

    async def claim_once(self) -> bool:
        """Claim what fits; True when the claim was full (more may be ready)."""
        room = min(
            self.settings.dispatcher_batch_size, self.settings.dispatcher_max_held - len(self.held)
        )
        if room <= 0:
            return False
        claimed = await self.source.claim(
            now=self.runtime.clock.now(), limit=room, skip_services=self.limiter.saturated()
        )
        for item in claimed:
            self._take(item)
        return len(claimed) == room

    def _idle_seconds(self, ready_at: datetime | None) -> float:
        poll = self.settings.dispatcher_poll_seconds
        if len(self.held) >= self.settings.dispatcher_max_held or ready_at is None:
            return poll
        until = (ready_at - self.runtime.clock.now()).total_seconds()
        # A slice of the look-ahead between claims batches a steady stream while every
        # delivery is still leased well before its instant (wake-ups cut the wait short).
        floor = self.settings.dispatcher_lookahead_seconds / CLAIMS_PER_LOOKAHEAD
        return min(max(until, floor), poll)

    async def step(self, stop: asyncio.Event) -> None:
        if self._polling and not self.source.waits_for_work:
            # Nothing was ready when this wait began: look (a read) before claiming (a
            # write transaction), so an idle node never takes the writer's lock. Under
            # load the wait ends at a known instant, or for room, and claims at once.
            ready_at = await self._next_ready_at()
            if ready_at is None or ready_at > self.runtime.clock.now():
                await self._wait(stop, ready_at)
                return
        if await self.claim_once():
            await asyncio.sleep(0)
            return
        if self.source.waits_for_work and len(self.held) < self.settings.dispatcher_max_held:
            return  # the claim waited on the queue already
        full = len(self.held) >= self.settings.dispatcher_max_held
        await self._wait(stop, None if full else await self._next_ready_at())

    async def _next_ready_at(self) -> datetime | None:
        """When the next delivery this node would claim is due: not one of a service
        skipped for now, whose past-due backlog would otherwise turn the wait into a
        claim every few milliseconds (it is claimed again once its waiters move, which
        records or gives back a delivery and so ends the wait: ``_room``)."""
        return await self.source.next_ready_at(skip_services=self.limiter.saturated())

    async def _wait(self, stop: asyncio.Event, ready_at: datetime | None) -> None:
        idle = self._idle_seconds(ready_at)
        full = len(self.held) >= self.settings.dispatcher_max_held
        self._polling = not full and idle >= self.settings.dispatcher_poll_seconds
        if idle > 0:
            self._room.clear()
            waits = [stop.wait(), self.runtime.dispatch_wakeup.wait(idle)]
            if full or self.limiter.saturated():
                waits.append(self._room.wait())
            await first_of(*waits, seconds=idle)

    async def run(self, stop: asyncio.Event) -> None:
        recorder = asyncio.create_task(self.recorder.run(), name="onewatch-recorder")
        drained = asyncio.Event()
        renewer = asyncio.create_task(self.renewer.run(drained), name="onewatch-lease-renewal")
        log.info("dispatcher started")
        try:
            while not stop.is_set():
                try:
                    await self.step(stop)
                except Exception as exc:
                    report_step_failure(log, "dispatcher step failed; retrying", exc)
                    await first_of(stop.wait(), seconds=ERROR_BACKOFF_SECONDS)
        finally:
            try:
                await self._drain(recorder)
            finally:
                drained.set()
                await renewer
            log.info("dispatcher stopped")

    # --- shutdown ---------------------------------------------------------------------

    async def _drain(self, recorder: asyncio.Task[None]) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        waiting = [ident for ident in self.tasks if ident not in self.sending]
        for ident in waiting:
            self.tasks[ident].cancel()
        in_flight = list(self.tasks.values())
        if in_flight:
            await asyncio.wait(in_flight, timeout=self.settings.dispatcher_shutdown_grace_seconds)
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        self.recorder.close()
        await recorder
        if self._confirming is not None:
            self._confirming.cancel()  # no send waits for it any more
            await asyncio.gather(self._confirming, return_exceptions=True)
        await self._release_unfinished()

    async def _release_unfinished(self) -> None:
        """Give back every delivery still held; one cut off mid-request is re-sent later."""
        held = [(item.id, item.lease_token) for item in self.held.values()]
        if not held:
            return
        released = await self.runtime.store.release(held, now=self.runtime.clock.now())
        log.info("released unfinished deliveries", count=released)
        self.held.clear()

    # --- lease renewal ----------------------------------------------------------------

    def _lost(self, lost: dict[str, str]) -> None:
        """Deliveries another dispatcher now leases: drop those not sending yet.

        One already sending is left alone: its result reaches the recorder, whose
        conditional update refuses it (logged there). One whose task is over is being
        recorded or released already. A delivery held again under a new token (given
        back and claimed anew meanwhile) is not the one that was lost.
        """
        dropped = []
        for ident, token in lost.items():
            item = self.held.get(ident)
            waiting = self.timers.get(ident) or self.tasks.get(ident)
            if item is None or item.lease_token != token or waiting is None:
                continue
            if ident in self.sending:
                # Not sent yet if it waits in ``_still_ours``: then it is dropped unsent.
                self._taken_over.add((ident, token))
                log.warning(
                    "lease lost while sending; the result will be refused", delivery_id=ident
                )
                continue
            waiting.cancel()
            self.timers.pop(ident, None)
            del self.held[ident]
            dropped.append(ident)
            log.warning("lease lost before sending; dropped unsent", delivery_id=ident)
        if dropped:
            # The store is the truth: whoever holds the rows now sends them.
            self.source.settled(dropped)
            self._room.set()
