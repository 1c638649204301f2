"""What a new occurrence becomes while the event's previous delivery is unfinished.

Pure: the store hands in what it found unfinished for the event (inside the transaction
that fires the occurrence, so the answer cannot go stale before it is written) and the
new occurrences in schedule order; this decides, for each, whether it is sent, waits
behind the unfinished one (``buffer_one``) or is recorded as skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from onewatch.domain.statuses import DeliveryStatus


class OverlapPolicy(StrEnum):
    """How an event treats an occurrence that comes due while an earlier one is unfinished."""

    #: Send it anyway: runs may overlap (the behaviour before overlap policies existed).
    ALLOW = "allow"
    #: Do not send it; record it as skipped.
    SKIP = "skip"
    #: Let one wait until the unfinished one finishes; skip any further ones.
    BUFFER_ONE = "buffer_one"


OVERLAP_POLICIES = tuple(OverlapPolicy)


class SkipCause(StrEnum):
    """Why an occurrence was skipped, in one word from a closed set (the metric label);
    the skip reason says the same in a sentence, with the deliveries it names."""

    #: Overlap ``skip``: the event's previous delivery is unfinished.
    PREVIOUS_UNFINISHED = "previous_unfinished"
    #: Overlap ``buffer_one``: one occurrence already waits behind the unfinished one.
    ONE_ALREADY_BUFFERED = "one_already_buffered"


@dataclass(frozen=True)
class InFlight:
    """The event's unfinished deliveries as the firing transaction found them."""

    #: An unfinished delivery that is not buffered (pending, running, retrying), if any.
    blocking: str | None = None
    #: The delivery already waiting behind it (``buffer_one``), if any.
    buffered: str | None = None


@dataclass(frozen=True)
class Settled:
    """What one new occurrence becomes."""

    status: DeliveryStatus
    skip_reason: str | None = None
    skip_cause: SkipCause | None = None


def _skipped(policy: OverlapPolicy, cause: SkipCause, because: str) -> Settled:
    return Settled(DeliveryStatus.SKIPPED, f"overlap {policy}: {because}", cause)


def _settle_one(policy: OverlapPolicy, state: InFlight, ident: str) -> tuple[Settled, InFlight]:
    if state.blocking is None and state.buffered is None:
        return Settled(DeliveryStatus.PENDING), InFlight(blocking=ident)
    if policy is OverlapPolicy.SKIP:
        because = f"delivery {state.blocking} is still unfinished"
        return _skipped(policy, SkipCause.PREVIOUS_UNFINISHED, because), state
    if state.buffered is None:
        return Settled(DeliveryStatus.BUFFERED), InFlight(state.blocking, buffered=ident)
    reason = f"delivery {state.buffered} already waits for delivery {state.blocking}"
    return _skipped(policy, SkipCause.ONE_ALREADY_BUFFERED, reason), state


def settle(policy: OverlapPolicy, found: InFlight, idents: Sequence[str]) -> list[Settled]:
    """The fate of each new occurrence (``idents``: their delivery ids, in schedule order).

    Each one sent becomes the unfinished one the next must wait for, so a burst of
    occurrences fired together (a missed span under ``fire_all``) overlaps no more than
    occurrences fired one by one would.
    """
    if policy is OverlapPolicy.ALLOW:
        return [Settled(DeliveryStatus.PENDING) for _ in idents]
    if found.blocking is None and found.buffered is not None:
        # Buffered with nothing ahead of it: about to be released; it counts as ahead.
        found = InFlight(blocking=found.buffered)
    fates = []
    for ident in idents:
        fate, found = _settle_one(policy, found, ident)
        fates.append(fate)
    return fates
