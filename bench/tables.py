"""Markdown tables from the results files; nothing here measures anything."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def lateness(row: Row, key: str) -> str:
    return fmt((row.get("lateness_ms") or {}).get(key))


def _last_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _errors(runs: Sequence[Row]) -> str:
    failed = [
        f"- {r.get('system')} {r.get('label')}: `{_last_line(r['error'])}`"
        for r in runs
        if "error" in r
    ]
    return ("\n\nFailed runs:\n" + "\n".join(failed)) if failed else ""


def _rows(runs: Sequence[Row], cells: Callable[[Row], list[str]]) -> list[list[str]]:
    return [cells(row) for row in runs if "error" not in row]


def _delivered(row: Row) -> str:
    return f"{fmt(row.get('unique'))} / {fmt(row.get('expected'))}"


def _readiness(runs: Sequence[Row]) -> str:
    late = [
        f"- {r['system']} {r.get('label')}: ready {fmt(-r['ready_before_due_s'])} s after due"
        for r in runs
        if "error" not in r and (r.get("ready_before_due_s") or 0) < 0
    ]
    note = "\n\nNot valid (the server was not ready before the due instant):\n"
    return (note + "\n".join(late)) if late else ""


def burst(document: Row) -> str:
    runs = document.get("runs", [])
    headers = [
        "system",
        "settings",
        "burst",
        "stored",
        "add s",
        "delivered",
        "missed (APS)",
        "dup",
        "early",
        "p50 ms",
        "p99 ms",
        "max ms",
        "deliveries/s",
        "RSS MB",
    ]

    def cells(r: Row) -> list[str]:
        return [
            r["system"],
            r.get("settings", ""),
            fmt(r.get("burst")),
            fmt(r.get("stored")),
            fmt(r.get("add_seconds")),
            _delivered(r),
            fmt(r.get("missed")),
            fmt(r.get("duplicates")),
            fmt(r.get("early")),
            lateness(r, "p50"),
            lateness(r, "p99"),
            lateness(r, "max"),
            fmt(r.get("deliveries_per_s"), 0),
            fmt(r.get("rss_mb_max"), 0),
        ]

    notes = _build_note(document) + _readiness(runs) + _killed(runs) + _errors(runs)
    return table(headers, _rows(runs, cells)) + notes


def _killed(runs: list[Row]) -> str:
    killed = [f"- {r['system']} {r.get('label', '')}" for r in runs if r.get("worker_killed")]
    note = (
        "\n\nStill busy when stopped (killed after the grace, so its own counts are unknown;"
        " delivered is what the sink received):\n"
    )
    return (note + "\n".join(killed)) if killed else ""


def _build_note(document: Row) -> str:
    build = document.get("apscheduler_build") or {}
    if not build:
        return ""
    return (
        f"\n\nAPScheduler store: `add_job` stored {fmt(build.get('added'))} of "
        f"{fmt(build.get('requested'))} background jobs in {fmt(build.get('add_seconds'))} s "
        f"({fmt(build.get('add_ms_per_job'), 2)} ms per job)."
    )


def steady(document: Row) -> str:
    runs = document.get("runs", [])
    headers = [
        "system",
        "stored",
        "rate/s",
        "span s",
        "delivered",
        "dup",
        "early",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU % of a core",
        "RSS MB",
        "store MB",
        "on time",
    ]

    def cells(r: Row) -> list[str]:
        return [
            r["system"],
            fmt(r.get("stored")),
            fmt(r.get("rate")),
            fmt(r.get("seconds"), 0),
            _delivered(r),
            fmt(r.get("duplicates")),
            fmt(r.get("early")),
            lateness(r, "p50"),
            lateness(r, "p99"),
            lateness(r, "max"),
            fmt(r.get("cpu_percent_mean"), 0),
            fmt(r.get("rss_mb_max"), 0),
            fmt((r.get("store_bytes") or 0) / 2**20, 0),
            fmt(r.get("on_time")),
        ]

    best = document.get("best_on_time_rate") or {}
    note = "\n\nHighest on-time rate tested (p99 <= 25 ms, none lost, early or doubled): " + (
        ", ".join(f"{system} {fmt(rate)}/s" for system, rate in best.items())
    )
    notes = note + _build_note(document) + _readiness(runs) + _errors(runs)
    return table(headers, _rows(runs, cells)) + notes


def scale(document: Row) -> str:
    runs = document.get("runs", [])
    headers = [
        "system",
        "nodes",
        "queue",
        "burst",
        "stored",
        "delivered",
        "dup",
        "early",
        "p50 ms",
        "p99 ms",
        "max ms",
        "deliveries/s",
        "CPU % of a core (all nodes)",
    ]

    def cells(r: Row) -> list[str]:
        return [
            r["system"],
            fmt(r.get("nodes")),
            fmt(r.get("queue")),
            fmt(r.get("burst")),
            fmt(r.get("stored")),
            _delivered(r),
            fmt(r.get("duplicates")),
            fmt(r.get("early")),
            lateness(r, "p50"),
            lateness(r, "p99"),
            lateness(r, "max"),
            fmt(r.get("deliveries_per_s"), 0),
            fmt(r.get("cpu_percent_mean"), 0),
        ]

    return table(headers, _rows(runs, cells)) + _readiness(runs) + _errors(runs)


def idle(document: Row) -> str:
    runs = document.get("runs", [])
    headers = ["system", "stored", "bytes per event", "load s", "RSS MB", "idle CPU %"]

    def cells(r: Row) -> list[str]:
        return [
            r["system"],
            fmt(r.get("stored")),
            fmt(r.get("bytes_per_event"), 0),
            fmt(r.get("load_seconds")),
            fmt(r.get("rss_mb"), 0),
            fmt(r.get("idle_cpu_percent"), 2),
        ]

    return table(headers, _rows(runs, cells)) + _errors(runs)


def api(document: Row) -> str:
    runs = document.get("runs", [])
    headers = [
        "system",
        "stored",
        "kind",
        "ok / requests",
        "per s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "statuses",
    ]
    rows = []
    for r in runs:
        if "error" in r:
            continue
        for kind in ("creates", "list"):
            part = r.get(kind) or {}
            latency = part.get("latency_ms") or {}
            rows.append(
                [
                    r["system"],
                    fmt(r.get("stored")),
                    kind,
                    f"{fmt(part.get('ok'))} / {fmt(part.get('requests'))}",
                    fmt(part.get("per_second"), 0),
                    fmt(latency.get("p50")),
                    fmt(latency.get("p99")),
                    fmt(latency.get("max")),
                    fmt(json.dumps(part.get("statuses", {}))),
                ]
            )
    return table(headers, rows) + _errors(runs)


def batch(document: Row) -> str:
    runs = document.get("runs", [])
    headers = [
        "system",
        "path",
        "clients",
        "items / request",
        "stored",
        "events per s",
        "request p50 ms",
        "request p99 ms",
        "node CPU s",
        "statuses",
    ]

    def cells(r: Row) -> list[str]:
        latency = r.get("request_ms") or {}
        return [
            r["system"],
            r["path"],
            fmt(r.get("clients")),
            fmt(r.get("batch_size")),
            fmt(r.get("stored")),
            fmt(r.get("events_per_second"), 0),
            fmt(latency.get("p50")),
            fmt(latency.get("p99")),
            fmt(r.get("cpu_seconds"), 2),
            fmt(json.dumps(r.get("statuses", {}))),
        ]

    return table(headers, _rows(runs, cells)) + _errors(runs)


def engine(document: Row) -> str:
    if "skipped" in document:
        return f"Not run: {document['skipped']}."
    result = document.get("result", {})
    if isinstance(result, dict) and isinstance(result.get("medians_us"), dict):
        return _engine_medians(result)
    rows = result.get("rows") if isinstance(result, dict) else None
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        headers = list(rows[0])
        return table(headers, [[fmt(r.get(h), 2) for h in headers] for r in rows])
    return "```json\n" + json.dumps(result, indent=1) + "\n```"


def _engine_medians(result: Row) -> str:
    medians: dict[str, dict[str, float]] = result["medians_us"]
    modes = list(next(iter(medians.values())))
    ours = medians.get("onewatch", {})
    headers = ["library"] + [f"{mode} µs" for mode in modes]
    headers += [f"{mode}: x slower than onewatch" for mode in modes]
    rows = []
    for name, values in medians.items():
        ratios = [values[m] / ours[m] if ours.get(m) else None for m in modes]
        rows.append([name] + [fmt(values[m], 1) for m in modes] + [fmt(r, 1) for r in ratios])
    unit = result.get("unit", "")
    return f"{unit}; {len(result.get('patterns', []))} patterns x " + (
        f"{len(result.get('zones', []))} zones.\n\n" + table(headers, rows)
    )


SECTIONS: dict[str, Callable[[Row], str]] = {
    "burst": burst,
    "steady": steady,
    "idle": idle,
    "api": api,
    "engine": engine,
    "scale": scale,
    "batch": batch,
}
