"""The harness's side of Onewatch: prepared stores, then server processes per run.

Flavours: the embedded default (one node on SQLite), and PostgreSQL with one, two or
three nodes on the same database (every node runs every role), with the deliveries
table as the dispatch queue or, in queue mode, a private Redis or a private moto server
(SQS; a local emulator, so its figures measure moto, not Amazon SQS) per run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bench import postgres, profiling
from bench.context import Context
from bench.moto_server import AWS_ENV_TO_UNSET, MotoServer, aws_env, create_sqs_queue
from bench.onewatch_node import OnewatchNode, admin_token
from bench.onewatch_store import (
    copy_store,
    database_path,
    insert_events,
    migrate,
    one_shots,
    sqlite_url,
)
from bench.procs import ProcessSampler, sqlite_size_bytes
from bench.redis_server import RedisServer
from bench.runs import sleep_until, waiting_for
from bench.stats import summarize
from bench.workload import background_events, due_instant


@dataclass(frozen=True)
class Flavour:
    system: str
    backend: str
    nodes: int
    #: The dispatch queue: the deliveries table, Redis Streams or SQS (on moto), the
    #: last two through ``ONEWATCH_QUEUE_URL``.
    queue: Literal["table", "redis", "sqs"] = "table"


SQLITE = Flavour("onewatch-sqlite", "sqlite", 1)
POSTGRES = Flavour("onewatch-postgres", "postgres", 1)
POSTGRES_2 = Flavour("onewatch-postgres-2", "postgres", 2)
POSTGRES_3 = Flavour("onewatch-postgres-3", "postgres", 3)
POSTGRES_REDIS = Flavour("onewatch-postgres-redis", "postgres", 1, queue="redis")
POSTGRES_2_REDIS = Flavour("onewatch-postgres-2-redis", "postgres", 2, queue="redis")
POSTGRES_3_REDIS = Flavour("onewatch-postgres-3-redis", "postgres", 3, queue="redis")
POSTGRES_SQS = Flavour("onewatch-postgres-sqs", "postgres", 1, queue="sqs")
POSTGRES_2_SQS = Flavour("onewatch-postgres-2-sqs", "postgres", 2, queue="sqs")
POSTGRES_3_SQS = Flavour("onewatch-postgres-3-sqs", "postgres", 3, queue="sqs")
FLAVOURS = (SQLITE, POSTGRES, POSTGRES_3)
#: The scale-out scenario: every node count, with the table, Redis and SQS as the queue.
SCALE_FLAVOURS = (
    SQLITE,
    POSTGRES,
    POSTGRES_2,
    POSTGRES_3,
    POSTGRES_REDIS,
    POSTGRES_2_REDIS,
    POSTGRES_3_REDIS,
    POSTGRES_SQS,
    POSTGRES_2_SQS,
    POSTGRES_3_SQS,
)
SYSTEM = SQLITE.system
#: Written into a SQLite template once it is complete, with its build figures.
TEMPLATE_BUILT = "template.json"
#: Rows per second the loader manages here, to leave room for inserting a run's events.
INSERT_RATE_ESTIMATE = 5_000

DuesFor = Callable[[datetime], list[datetime]]


def _fill(ctx: Context, url: str, stored: int) -> None:
    migrate(url)
    insert_events(url, background_events(stored, datetime.now(UTC)), ctx.sink.url("/background"))


def template(ctx: Context, stored: int) -> Path:
    """A migrated SQLite store holding ``stored`` background events; built once."""
    key = (SQLITE.system, stored)
    if key not in ctx.templates:
        data_dir = ctx.work_dir / "templates" / f"onewatch-{stored}"
        built = data_dir / TEMPLATE_BUILT
        if built.exists():  # an earlier run in this work dir built it
            ctx.template_info[key] = json.loads(built.read_text())
        else:
            if data_dir.exists():  # a build that was cut off: start over
                shutil.rmtree(data_dir)
            started = time.monotonic()
            _fill(ctx, sqlite_url(data_dir), stored)
            ctx.template_info[key] = {
                "stored": stored,
                "build_seconds": time.monotonic() - started,
                "store_bytes": sqlite_size_bytes(database_path(data_dir)),
            }
            built.write_text(json.dumps(ctx.template_info[key]))
        ctx.templates[key] = data_dir
    return ctx.templates[key]


def postgres_template(ctx: Context, stored: int) -> str:
    """The name of a PostgreSQL database holding ``stored`` background events."""
    key = ("postgres", stored)
    name = postgres.database_name(f"template_{stored}")
    if key not in ctx.templates:
        started = time.monotonic()
        ctx.cleanups.append(lambda: postgres.drop(name))
        _fill(ctx, postgres.create(name), stored)
        ctx.template_info[key] = {
            "stored": stored,
            "build_seconds": time.monotonic() - started,
            "store_bytes": postgres.size_bytes(name),
        }
        ctx.templates[key] = Path(name)
    return name


@dataclass
class Prepared:
    """One run's store: the data folder every node shares, and the database URL."""

    data_dir: Path
    url: str
    size: Callable[[], int]


def prepare(ctx: Context, flavour: Flavour, stored: int, run_id: str) -> Prepared:
    data_dir = ctx.run_dir(run_id) / "data"
    if flavour.backend == "sqlite":
        copy_store(template(ctx, stored), data_dir)
        return Prepared(
            data_dir, sqlite_url(data_dir), lambda: sqlite_size_bytes(database_path(data_dir))
        )
    name = postgres.database_name(run_id)
    url = postgres.create(name, postgres_template(ctx, stored))
    ctx.cleanups.append(lambda: postgres.drop(name))
    data_dir.mkdir(parents=True, exist_ok=True)
    return Prepared(data_dir, url, lambda: postgres.size_bytes(name))


def _insert_run_events(
    ctx: Context, prepared: Prepared, dues_for: DuesFor, run_id: str, nodes: int
) -> list[datetime]:
    # Leave room to insert the run's own events and start every node before the first
    # is due (nodes start side by side on few cores, so each one adds to the lead).
    probe = len(dues_for(datetime.now(UTC)))
    lead = ctx.sizes.startup_lead_seconds * nodes + probe / INSERT_RATE_ESTIMATE
    dues = dues_for(due_instant(lead, datetime.now(UTC)))
    insert_events(prepared.url, one_shots(run_id, dues), ctx.sink.url(f"/{run_id}"))
    return dues


class QueueServer:
    """The run's private queue server (Redis or moto), and what points a node at it."""

    def __init__(self, flavour: Flavour, logs: Path, run_id: str) -> None:
        self.redis = RedisServer(logs) if flavour.queue == "redis" else None
        self.moto = MotoServer() if flavour.queue == "sqs" else None
        self.env: dict[str, str] = {}
        if self.redis is not None:
            self.env["ONEWATCH_QUEUE_URL"] = self.redis.url
        if self.moto is not None:
            self.moto.start()
            name = f"onewatch-{run_id}"[:80]
            create_sqs_queue(self.moto.endpoint_url, name)
            self.env |= {"ONEWATCH_QUEUE_URL": f"sqs://{name}"}
            self.env |= aws_env(self.moto.endpoint_url, logs)
            # Nodes inherit the harness's environment: none of the machine's own AWS
            # set-up (a profile, another endpoint) may take a run to real AWS.
            for name in AWS_ENV_TO_UNSET:
                os.environ.pop(name, None)

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.moto is not None:
            self.moto.stop()


class Cluster:
    """The nodes of one run, started together, watched and stopped together."""

    def __init__(self, ctx: Context, flavour: Flavour, prepared: Prepared, run_id: str) -> None:
        # Made before any node starts, so no two nodes race to create the secret.
        self.token = admin_token(prepared.data_dir)
        logs = ctx.run_dir(run_id)
        self.queue = QueueServer(flavour, logs, run_id)
        env = {"ONEWATCH_DATABASE_URL": prepared.url, **self.queue.env}
        #: What a node started later (a restart) needs besides its data folder.
        self.env = env
        self.profiles = [
            logs / f"profile-{index}.txt" if ctx.profile else None for index in range(flavour.nodes)
        ]
        self.nodes = [
            OnewatchNode(prepared.data_dir, logs / f"onewatch-{index}.log", profile, **env)
            for index, profile in enumerate(self.profiles)
        ]
        self.samplers: list[ProcessSampler] = []

    def wait_ready(self) -> float:
        try:
            return max(node.wait_ready() for node in self.nodes)
        except RuntimeError:
            self.stop()
            raise

    def sample(self) -> None:
        self.samplers = [ProcessSampler(node.pid) for node in self.nodes]

    def usage(self) -> dict[str, Any]:
        each = [sampler.stop() for sampler in self.samplers]
        if not each:
            return {}
        return {
            "nodes": len(each),
            "rss_mb_max": max(u["rss_mb_max"] for u in each),
            "cpu_percent_mean": sum(u["cpu_percent_mean"] for u in each),
            "cpu_seconds": sum(u["cpu_seconds"] for u in each),
        }

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.queue.stop()

    def profile_summaries(self) -> list[str]:
        """Where each node's profile summary went (``--profile`` only)."""
        summaries = [profiling.summarize(path) for path in self.profiles if path is not None]
        return [str(path) for path in summaries if path is not None]


def run_due(
    ctx: Context, stored: int, dues_for: DuesFor, label: str, flavour: Flavour = SQLITE
) -> dict[str, Any]:
    """Insert the run's one-shots (``dues_for(first_due)``), start the nodes, measure."""
    run_id = ctx.run_id(label)
    prepared = prepare(ctx, flavour, stored, run_id)
    dues = _insert_run_events(ctx, prepared, dues_for, run_id, flavour.nodes)
    cluster = Cluster(ctx, flavour, prepared, run_id)
    try:
        ready_seconds = cluster.wait_ready()
        ready_margin = (dues[0] - datetime.now(UTC)).total_seconds()
        # CPU is measured over the firing window, not the wait before it.
        sleep_until(dues[0])
        cluster.sample()
        ctx.sink.wait_for(len(dues), f"/{run_id}", waiting_for(max(dues), ctx.sizes))
        usage = cluster.usage()
    finally:
        cluster.stop()
    summary = summarize(ctx.sink.receipts(f"/{run_id}"), expected=len(dues))
    profiles = cluster.profile_summaries()
    store_bytes = prepared.size()
    # A million-event copy per run adds up; the logs stay, the store goes.
    shutil.rmtree(prepared.data_dir, ignore_errors=True)
    return {
        **({"profiles": profiles} if profiles else {}),
        "system": flavour.system,
        "nodes": flavour.nodes,
        "queue": flavour.queue,
        "settings": "default",
        "stored": stored,
        "run_id": run_id,
        "startup_seconds": ready_seconds,
        "ready_before_due_s": ready_margin,
        "first_due": dues[0].isoformat(),
        **summary,
        **usage,
        "store_bytes": store_bytes,
    }


def start_node(ctx: Context, stored: int, label: str) -> tuple[OnewatchNode, str]:
    """A SQLite node on a copy of the ``stored`` template, ready, and an admin token."""
    run_id = ctx.run_id(label)
    prepared = prepare(ctx, SQLITE, stored, run_id)
    cluster = Cluster(ctx, SQLITE, prepared, run_id)
    cluster.wait_ready()
    return cluster.nodes[0], cluster.token
