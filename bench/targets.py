"""The issue's targets, checked against the results files: met, missed or not measured.

Each check reads only the JSON documents, so the verdicts are regenerated with the
tables and can never disagree with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.tables import fmt, table

Row = dict[str, Any]
Documents = dict[str, Row | None]
#: (measured text, met) or None when the results do not hold the figure.
Verdict = tuple[str, bool] | None

ONEWATCH = "onewatch-sqlite"
APSCHEDULER = "apscheduler"


def _runs(documents: Documents, name: str) -> list[Row]:
    document = documents.get(name) or {}
    return [row for row in document.get("runs", []) if "error" not in row]


def _p99(row: Row) -> float | None:
    value = (row.get("lateness_ms") or {}).get("p99")
    return float(value) if value is not None else None


def _burst(documents: Documents, system: str, settings: str | None = None) -> Row | None:
    rows = [
        r
        for r in _runs(documents, "burst")
        if r["system"] == system and (settings is None or r.get("settings") == settings)
    ]
    return max(rows, key=lambda r: r.get("burst") or 0, default=None)


def burst_all_delivered(documents: Documents) -> Verdict:
    row = _burst(documents, ONEWATCH)
    if row is None:
        return None
    return f"{fmt(row.get('unique'))} / {fmt(row.get('expected'))}", row.get("lost") == 0


def burst_rate(documents: Documents) -> Verdict:
    row = _burst(documents, ONEWATCH)
    rate = row.get("deliveries_per_s") if row else None
    return None if rate is None else (f"{fmt(rate, 0)}/s", rate >= 2_000)


def burst_ratio(documents: Documents) -> Verdict:
    ours, theirs = _burst(documents, ONEWATCH), _burst(documents, APSCHEDULER, "tuned")
    if ours is None or theirs is None or ours.get("burst") != theirs.get("burst"):
        return None
    mine, other = _p99(ours), _p99(theirs)
    if mine is None or other is None:
        return None
    return f"{fmt(mine)} ms vs {fmt(other)} ms", mine <= other / 5


def _steady(documents: Documents, rate: int) -> Row | None:
    rows = [r for r in _runs(documents, "steady") if r["system"] == ONEWATCH]
    top = max((r["stored"] for r in rows), default=None)
    return next((r for r in rows if r["stored"] == top and r.get("rate") == rate), None)


def steady_best(documents: Documents) -> Verdict:
    document = documents.get("steady") or {}
    best = (document.get("best_on_time_rate") or {}).get(ONEWATCH)
    if not document:
        return None
    return (f"{fmt(best)}/s" if best else "none on time"), bool(best and best >= 2_000)


def steady_1000(documents: Documents) -> Verdict:
    row = _steady(documents, 1_000)
    if row is None:
        return None
    late = row.get("lateness_ms") or {}
    p50, p99 = late.get("p50"), late.get("p99")
    met = p50 is not None and p99 is not None and p50 <= 1 and p99 <= 5 and row["early"] == 0
    return f"p50 {fmt(p50)} ms, p99 {fmt(p99)} ms, early {fmt(row.get('early'))}", met


def disk(documents: Documents) -> Verdict:
    rows = [r for r in _runs(documents, "idle") if r["system"] == ONEWATCH]
    if not rows:
        return None
    size = float(rows[0]["bytes_per_event"])
    return f"{fmt(size, 0)} B", size <= 500


def rss(documents: Documents) -> Verdict:
    rows = [r for r in _runs(documents, "steady") + _runs(documents, "burst")]
    peaks = [
        r["rss_mb_max"]
        for r in rows
        if r["system"].startswith("onewatch") and r.get("rss_mb_max") is not None
    ]
    return None if not peaks else (f"{fmt(max(peaks), 0)} MB", max(peaks) < 150)


def idle_cpu(documents: Documents) -> Verdict:
    rows = [r for r in _runs(documents, "idle") if r["system"] == ONEWATCH]
    if not rows:
        return None
    cpu = float(rows[0]["idle_cpu_percent"])
    return f"{fmt(cpu, 2)} % ({fmt(rows[0]['stored'])} stored)", cpu <= 1


def api_creates(documents: Documents) -> Verdict:
    rows = [r for r in _runs(documents, "api") if r["system"] == ONEWATCH]
    if not rows:
        return None
    creates = rows[0]["creates"]
    rate, p99 = creates.get("per_second") or 0, (creates.get("latency_ms") or {}).get("p99")
    met = rate >= 3_000 and p99 is not None and p99 <= 50
    return f"{fmt(rate, 0)}/s, p99 {fmt(p99)} ms", met


CHECKS: list[tuple[str, str, Callable[[Documents], Verdict]]] = [
    ("burst of 10,000 (largest run), SQLite", "every one delivered", burst_all_delivered),
    ("burst, SQLite", ">= 2,000 deliveries/s", burst_rate),
    ("burst p99, SQLite vs APScheduler tuned", "<= 1/5 of APScheduler's", burst_ratio),
    ("steady, largest store", "on time at >= 2,000/s", steady_best),
    ("steady at 1,000/s, largest store", "p50 <= 1 ms, p99 <= 5 ms, none early", steady_1000),
    ("disk per stored event", "<= 500 bytes", disk),
    ("peak RSS, any Onewatch run", "< 150 MB", rss),
    ("idle CPU, nothing due", "<= 1 % of a core", idle_cpu),
    ("API creates, 32 clients", ">= 3,000/s, p99 <= 50 ms", api_creates),
]


def verdicts(documents: Documents) -> str:
    rows = []
    for what, target, check in CHECKS:
        verdict = check(documents)
        measured, outcome = (
            ("-", "not measured")
            if verdict is None
            else (verdict[0], "met" if verdict[1] else "**missed**")
        )
        rows.append([what, target, measured, outcome])
    return table(["what", "target", "measured", "verdict"], rows)
