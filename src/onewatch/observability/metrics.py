"""Prometheus metrics, one registry per runtime so apps and tests never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Seconds; fine at the low end, where the lateness target (25 ms) lives.
_LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def status_class(status_code: int | None) -> str:
    """``2xx`` .. ``5xx``, or ``error`` when no HTTP status came back."""
    return f"{status_code // 100}xx" if status_code is not None else "error"


class Metrics:
    """Everything the scheduler and dispatcher report, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.occurrences_fired = Counter(
            "onewatch_occurrences_fired", "Deliveries created by the scheduler.", registry=registry
        )
        self.occurrences_skipped = Counter(
            "onewatch_occurrences_skipped",
            "Occurrences the event's overlap policy recorded as skipped, never sent.",
            ["service", "reason"],
            registry=registry,
        )
        self.occurrences_buffered = Counter(
            "onewatch_occurrences_buffered",
            "Occurrences the overlap policy buffered behind an unfinished delivery.",
            ["service"],
            registry=registry,
        )
        self.deliveries = Counter(
            "onewatch_deliveries",
            "Attempts finished, by the delivery's resulting state.",
            ["outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "onewatch_attempts",
            "Attempts by HTTP status class of the target (error: no response).",
            ["status_class"],
            registry=registry,
        )
        self.attempt_latency = Histogram(
            "onewatch_attempt_latency_seconds",
            "Time from sending a request to reading its response.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.lateness = Histogram(
            "onewatch_lateness_seconds",
            "Send time minus due time of each attempt.",
            buckets=_LATENESS_BUCKETS,
            registry=registry,
        )
        self.queue = Gauge(
            "onewatch_deliveries_queued",
            "Deliveries waiting or running, by status (read at scrape time).",
            ["status"],
            registry=registry,
        )
        self.oldest_pending_age = Gauge(
            "onewatch_oldest_pending_age_seconds",
            "How long the longest-waiting due delivery has waited (read at scrape time).",
            registry=registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
