"""How big each scenario is: the full suite of the issue, and a quick smoke test."""

from __future__ import annotations

from dataclasses import dataclass

SCENARIOS = ("burst", "steady", "idle", "api", "engine", "scale", "batch", "scale-kill")
SYSTEMS = (
    "onewatch-sqlite",
    "onewatch-postgres",
    "onewatch-postgres-2",
    "onewatch-postgres-3",
    "onewatch-postgres-redis",
    "onewatch-postgres-2-redis",
    "onewatch-postgres-3-redis",
    "onewatch-postgres-sqs",
    "onewatch-postgres-2-sqs",
    "onewatch-postgres-3-sqs",
    "apscheduler",
)


@dataclass(frozen=True)
class Sizes:
    """Counts and time bounds; every wait in the suite is bounded by one of these."""

    burst_sizes: tuple[int, ...]
    burst_background: int
    burst_lead_seconds: float
    drain_bound_seconds: float
    quiet_seconds: float
    steady_seconds: float
    steady_rates: tuple[int, ...]
    steady_stored: int
    steady_stored_sweep: tuple[int, ...]
    steady_sweep_rate: int
    aps_background: int
    aps_build_bound_seconds: float
    aps_steady_rates: tuple[int, ...]
    idle_seconds: float
    api_seconds: float
    api_clients: int
    api_list_requests: int
    startup_lead_seconds: float
    #: Scale-out: one burst on 1, 2 and 3 PostgreSQL nodes (with and without Redis).
    scale_burst: int
    scale_background: int


FULL = Sizes(
    burst_sizes=(1_000, 10_000),
    burst_background=100_000,
    burst_lead_seconds=20.0,
    drain_bound_seconds=300.0,
    quiet_seconds=30.0,
    steady_seconds=60.0,
    steady_rates=(100, 500, 1_000, 2_000, 3_000),
    steady_stored=1_000_000,
    steady_stored_sweep=(10_000, 100_000, 1_000_000),
    steady_sweep_rate=1_000,
    aps_background=1_000_000,
    aps_build_bound_seconds=300.0,
    aps_steady_rates=(100, 500, 1_000),
    idle_seconds=30.0,
    api_seconds=20.0,
    api_clients=32,
    api_list_requests=200,
    startup_lead_seconds=20.0,
    scale_burst=10_000,
    scale_background=10_000,
)

QUICK = Sizes(
    burst_sizes=(200,),
    burst_background=1_000,
    burst_lead_seconds=6.0,
    drain_bound_seconds=30.0,
    quiet_seconds=4.0,
    steady_seconds=3.0,
    steady_rates=(50,),
    steady_stored=1_000,
    steady_stored_sweep=(1_000,),
    steady_sweep_rate=50,
    aps_background=1_000,
    aps_build_bound_seconds=20.0,
    aps_steady_rates=(50,),
    idle_seconds=2.0,
    api_seconds=2.0,
    api_clients=32,
    api_list_requests=20,
    startup_lead_seconds=8.0,
    scale_burst=500,
    scale_background=1_000,
)
