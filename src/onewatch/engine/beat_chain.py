"""Until when this node's leases are safe from a take-over: the chain of its heartbeats.

Other nodes take over a node's leases once its heartbeat is ``node_takeover_seconds``
old (``store.deliveries``, re-checked as the take-over is written). A live node can look
dead that way: its event loop starved on a loaded machine, its beat late. Its hand is
then sent by another node, so it must not send what it holds before it knows which of
those leases are still its own.

A beat stamped ``r`` that committed keeps the node's rows from being taken over until
``r + node_takeover_seconds``. So while each beat commits before the previous one's
window ends (the chain is unbroken), nothing this node holds can have been taken over,
and it may send until the last beat's window (minus a margin for the request itself to
leave) ends. Once the chain breaks, only a confirmation re-opens it: a beat, then a lease
renewal after it (``Dispatcher``), which finds every lease taken over before that beat;
none can be taken after it for another window. (One narrow race is left: a take-over
statement that began before that beat committed, judged the node by the older beat,
and reached the row only after the renewal: the node may then send it too.)
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from onewatch.clock import Clock

#: The part of the take-over time a send may start in: the rest is the margin for the
#: request to leave (and for clocks of different hosts to differ).
SAFE_SHARE = 2 / 3


class BeatChain:
    """This node's heartbeats as the dispatcher needs them (see the module docstring)."""

    def __init__(self, clock: Clock, takeover_seconds: float) -> None:
        self.clock = clock
        self.window = timedelta(seconds=takeover_seconds * SAFE_SHARE)
        #: Sends may start before this instant; None: not known safe (no chain yet).
        self.safe_until: datetime | None = None
        #: Whether a heartbeat loop reports here: without one the node has no row in
        #: ``nodes``, so no heartbeat-based take-over can touch its leases.
        self.running = False
        self._last_beat: datetime | None = None
        self._beaten = asyncio.Event()
        #: Set when someone waits for a beat: the heartbeat loop beats at once.
        self.wanted = asyncio.Event()

    def beaten(self, stamp: datetime) -> None:
        """A beat stamped ``stamp`` committed (the heartbeat loop, right after)."""
        committed = self.clock.now()
        if self.safe_until is not None and committed <= self.safe_until:
            self.safe_until = max(self.safe_until, stamp + self.window)
        self._last_beat = stamp
        self._beaten.set()
        self._beaten = asyncio.Event()

    def is_safe(self) -> bool:
        if not self.running:
            return True
        return self.safe_until is not None and self.clock.now() < self.safe_until

    async def beat_after(self, moment: datetime) -> datetime:
        """Wait for a beat stamped at ``moment`` or later to commit; its stamp."""
        while self._last_beat is None or self._last_beat < moment:
            beaten = self._beaten
            self.wanted.set()
            await beaten.wait()
        return self._last_beat

    def confirmed(self, stamp: datetime) -> None:
        """Every lease still held was found ours after the beat stamped ``stamp``."""
        until = stamp + self.window
        if self.safe_until is None or until > self.safe_until:
            self.safe_until = until
