"""The pure halves of overlap policies and jitter: what an occurrence becomes, and when
it is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onewatch.domain.jitter import MAX_JITTER_SECONDS, jitter_offset, jittered
from onewatch.domain.overlap import InFlight, OverlapPolicy, Settled, SkipCause, settle
from onewatch.domain.statuses import DeliveryStatus

PENDING = Settled(DeliveryStatus.PENDING)
BUFFERED = Settled(DeliveryStatus.BUFFERED)


def _statuses(fates: list[Settled]) -> list[str]:
    return [fate.status for fate in fates]


def test_allow_sends_every_occurrence_whatever_is_unfinished() -> None:
    fates = settle(OverlapPolicy.ALLOW, InFlight(blocking="d0"), ["d1", "d2"])
    assert fates == [PENDING, PENDING]


def test_skip_sends_the_first_of_a_burst_and_skips_the_rest_with_the_reason() -> None:
    fates = settle(OverlapPolicy.SKIP, InFlight(), ["d1", "d2", "d3"])
    assert _statuses(fates) == ["pending", "skipped", "skipped"]
    assert fates[1].skip_reason == "overlap skip: delivery d1 is still unfinished"
    skipped = SkipCause.PREVIOUS_UNFINISHED
    assert [fate.skip_cause for fate in fates] == [None, skipped, skipped]


def test_skip_behind_an_unfinished_delivery() -> None:
    (fate,) = settle(OverlapPolicy.SKIP, InFlight(blocking="d0"), ["d1"])
    assert fate.status == DeliveryStatus.SKIPPED
    assert fate.skip_reason is not None and "d0" in fate.skip_reason


def test_buffer_one_lets_one_wait_and_skips_further_ones() -> None:
    fates = settle(OverlapPolicy.BUFFER_ONE, InFlight(blocking="d0"), ["d1", "d2"])
    assert fates[0] == BUFFERED
    assert fates[1].status == DeliveryStatus.SKIPPED
    assert fates[1].skip_reason == "overlap buffer_one: delivery d1 already waits for delivery d0"
    assert (fates[0].skip_cause, fates[1].skip_cause) == (None, SkipCause.ONE_ALREADY_BUFFERED)


def test_buffer_one_with_one_waiting_already_skips() -> None:
    found = InFlight(blocking="d0", buffered="d1")
    assert _statuses(settle(OverlapPolicy.BUFFER_ONE, found, ["d2"])) == ["skipped"]


def test_buffer_one_with_nothing_unfinished_sends() -> None:
    assert settle(OverlapPolicy.BUFFER_ONE, InFlight(), ["d1", "d2"]) == [PENDING, BUFFERED]


NOMINAL = datetime(2030, 1, 1, 1, 0, tzinfo=UTC)


def test_no_jitter_is_the_nominal_instant() -> None:
    assert jittered("billing", "nightly", NOMINAL, 0) == NOMINAL


def test_the_offset_is_the_same_on_every_recompute_and_differs_between_events() -> None:
    first = jitter_offset("billing", "nightly", NOMINAL, 600)
    assert jitter_offset("billing", "nightly", NOMINAL, 600) == first
    # The same instant in another zone's notation is the same occurrence.
    assert jitter_offset("billing", "nightly", NOMINAL.astimezone(), 600) == first
    others = {jitter_offset("billing", f"event-{n}", NOMINAL, 600) for n in range(20)}
    assert len(others) > 10, "events sharing a pattern spread out"
    later = {
        jitter_offset("billing", "nightly", NOMINAL + timedelta(hours=n), 600) for n in range(20)
    }
    assert len(later) > 10, "each occurrence has its own offset"


@given(
    key=st.text(min_size=1, max_size=30),
    minutes=st.integers(min_value=0, max_value=10_000_000),
    jitter=st.integers(min_value=0, max_value=MAX_JITTER_SECONDS),
)
def test_the_offset_stays_within_the_jitter_and_is_never_early(
    key: str, minutes: int, jitter: int
) -> None:
    nominal = NOMINAL + timedelta(minutes=minutes)
    due = jittered("svc", key, nominal, jitter)
    assert nominal <= due <= nominal + timedelta(seconds=jitter)
