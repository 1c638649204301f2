"""The PNG plots, drawn from the results files with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

Row = dict[str, Any]


def _ok(runs: list[Row]) -> list[Row]:
    return [row for row in runs if "error" not in row]


def burst_cdf(document: Row, target: Path) -> Path | None:
    """Lateness CDF per system and burst size."""
    runs = _ok(document.get("runs", []))
    if not runs:
        return None
    figure, axes = plt.subplots(figsize=(8, 5))
    for row in runs:
        if not row.get("lateness_cdf_ms"):
            # Nothing arrived: keep the run in the legend so the loss is not hidden.
            name = f"{row['system']} {row.get('settings', '')} N={row.get('burst')}"
            axes.plot([], [], " ", label=f"{name}: none delivered")
    runs = [r for r in runs if r.get("lateness_cdf_ms")]
    for row in runs:
        values = row["lateness_cdf_ms"]
        fractions = [(i + 1) / len(values) for i in range(len(values))]
        # Scaled by what was delivered of what was due, so losses show as a lower plateau.
        share = row.get("unique", 0) / max(1, row.get("expected") or 1)
        label = f"{row['system']} {row.get('settings', '')} N={row.get('burst')}"
        axes.plot([max(v, 0.01) for v in values], [f * share for f in fractions], label=label)
    axes.set_xscale("log")
    axes.set_xlabel("lateness: sink receipt minus due instant (ms, log scale)")
    axes.set_ylabel("fraction of the burst delivered")
    axes.set_title("Burst: lateness CDF")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, target / "burst_lateness_cdf.png")


def _series(runs: list[Row], system: str, rate: int) -> list[Row]:
    chosen = [r for r in runs if r["system"] == system and r.get("rate") == rate]
    return sorted(chosen, key=lambda r: r["stored"])


def steady_vs_stored(document: Row, target: Path, rate: int) -> Path | None:
    """p99 lateness and RSS against the stored count, at one rate."""
    runs = _ok(document.get("runs", []))
    systems = sorted({r["system"] for r in runs})
    if not runs:
        return None
    figure, (late, rss) = plt.subplots(1, 2, figsize=(11, 4.5))
    for system in systems:
        series = _series(runs, system, rate)
        if not series:
            continue
        stored = [r["stored"] for r in series]
        late.plot(stored, [r["lateness_ms"]["p99"] for r in series], "o-", label=system)
        rss.plot(stored, [r.get("rss_mb_max") for r in series], "o-", label=system)
    for axes, label in ((late, "p99 lateness (ms)"), (rss, "peak RSS (MB)")):
        axes.set_xscale("log")
        axes.set_xlabel("stored events")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    late.set_yscale("log")
    rss.set_ylim(bottom=0)
    figure.suptitle(f"Steady state at {rate} fires/s")
    return _save(figure, target / "steady_vs_stored.png")


def steady_vs_rate(document: Row, target: Path) -> Path | None:
    """p50 and p99 lateness against the fire rate, each system at its largest store."""
    runs = _ok(document.get("runs", []))
    if not runs:
        return None
    figure, axes = plt.subplots(figsize=(8, 5))
    for system in sorted({r["system"] for r in runs}):
        mine = [r for r in runs if r["system"] == system]
        top = max(r["stored"] for r in mine)
        series = sorted((r for r in mine if r["stored"] == top), key=lambda r: r["rate"])
        rates = [r["rate"] for r in series]
        for key, style in (("p50", "o--"), ("p99", "o-")):
            values = [max(r["lateness_ms"][key], 0.01) for r in series]
            axes.plot(rates, values, style, label=f"{system} {key} ({top:,} stored)")
    axes.set_yscale("log")
    axes.set_xlabel("fires per second")
    axes.set_ylabel("lateness (ms, log scale)")
    axes.axhline(25, color="grey", linestyle=":", label="25 ms target")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title("Steady state: lateness against rate")
    return _save(figure, target / "steady_vs_rate.png")


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
