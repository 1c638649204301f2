"""The tables, with every invariant the database can hold written as a constraint.

Migrations in ``migrations/versions`` create exactly this schema; a test compares a
migrated database with this metadata, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from onewatch.domain.jitter import MAX_JITTER_SECONDS
from onewatch.domain.overlap import OVERLAP_POLICIES
from onewatch.domain.statuses import (
    DELIVERY_STATUSES,
    EVENT_STATUSES,
    READY_STATUSES,
    AttemptOutcome,
    DeliveryKind,
    DeliveryStatus,
    EventStatus,
)
from onewatch.store.types import BigId, Json, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ACTION_TYPES = ("webhook", "graphql", "lambda", "sqs")
DELIVERY_KINDS = tuple(DeliveryKind)
ATTEMPT_OUTCOMES = tuple(AttemptOutcome)
MISFIRE_POLICIES = ("fire_once", "fire_all", "skip")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _is(column: str, value: str) -> str:
    return f"{column} = '{value}'"


#: A skipped delivery says why; no other delivery has a skip reason.
SKIP_REASON_RULE = (
    f"({_is('status', DeliveryStatus.SKIPPED)} AND skip_reason IS NOT NULL)"
    f" OR (status <> '{DeliveryStatus.SKIPPED}' AND skip_reason IS NULL)"
)


actions = Table(
    "actions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    # webhook: {endpoint, method, headers, timeout}; graphql: {endpoint, query};
    # lambda: {function, invocationType, timeout}; sqs: {queueUrl}
    Column("target", Json, nullable=False),
    Column("payload", Json, nullable=False, server_default=text("'{}'")),
    Column("retry_policy", Json, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("service", "key"),
    CheckConstraint(_one_of("type", ACTION_TYPES), name="type"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    Column("title", Text, nullable=True),
    # Either an action of the same service, or an inline target of the same shape.
    Column("action_key", String(200), nullable=True),
    Column("target_type", String(16), nullable=True),
    Column("target", Json, nullable=True),
    Column("params", Json, nullable=False, server_default=text("'{}'")),
    Column("pattern", String(300), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("separation", Integer, nullable=False, server_default=text("1")),
    Column("max_occurrences", Integer, nullable=True),
    Column("start_at", UTCDateTime, nullable=True),
    Column("end_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("next_occurrence", UTCDateTime, nullable=True),
    Column("occurrences", Integer, nullable=False, server_default=text("0")),
    Column("retry_policy", Json, nullable=True),
    Column("misfire_policy", String(16), nullable=False, server_default=text("'fire_once'")),
    Column("misfire_grace_seconds", Integer, nullable=False, server_default=text("60")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # What an occurrence due while the previous delivery is unfinished becomes.
    Column("overlap", String(16), nullable=False, server_default=text("'allow'")),
    # Each delivery is due up to this much after its nominal instant (domain.jitter).
    Column("jitter_seconds", Integer, nullable=False, server_default=text("0")),
    # A business calendar of the same service (``calendars``), and a copy of its rules:
    # the scheduler plans from the row alone, and a calendar change rewrites the copies
    # in its own transaction (``application.calendar_ops``). No CHECK constraints here:
    # adding one to ``events`` rebuilds the table on SQLite, whose foreign keys would
    # cascade the drop to every delivery; the API validates these values.
    Column("calendar_key", String(200), nullable=True),
    Column("calendar_rules", Json, nullable=True),
    Column("non_business_day", String(16), nullable=True),
    Column("business_day", Integer, nullable=True),
    UniqueConstraint("service", "key"),
    CheckConstraint(_one_of("status", EVENT_STATUSES), name="status"),
    CheckConstraint(_one_of("overlap", OVERLAP_POLICIES), name="overlap"),
    CheckConstraint(
        f"jitter_seconds >= 0 AND jitter_seconds <= {MAX_JITTER_SECONDS}", name="jitter_seconds"
    ),
    CheckConstraint(_one_of("misfire_policy", MISFIRE_POLICIES), name="misfire_policy"),
    CheckConstraint("separation >= 1", name="separation"),
    CheckConstraint("max_occurrences IS NULL OR max_occurrences >= 1", name="max_occurrences"),
    CheckConstraint("occurrences >= 0", name="occurrences"),
    CheckConstraint(
        "(action_key IS NOT NULL AND target IS NULL AND target_type IS NULL)"
        " OR (action_key IS NULL AND target IS NOT NULL AND target_type IS NOT NULL)",
        name="action_or_target",
    ),
    CheckConstraint(
        "target_type IS NULL OR " + _one_of("target_type", ACTION_TYPES), name="target_type"
    ),
)
# What the scheduler asks for: the earliest due active events.
Index(
    "ix_events_due",
    events.c.next_occurrence,
    sqlite_where=text(_is("status", EventStatus.ACTIVE)),
    postgresql_where=text(_is("status", EventStatus.ACTIVE)),
)
Index("ix_events_service_status", events.c.service, events.c.status, events.c.id)
Index("ix_events_service_action", events.c.service, events.c.action_key)
Index("ix_events_service_calendar", events.c.service, events.c.calendar_key)

# Business calendars: which days a service's events count as business days.
calendars = Table(
    "calendars",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    # {"holidays": {"country", "subdivision"} | null, "exclude": [...], "include": [...],
    #  "weekend": ["SAT", "SUN"]}: ``CalendarDocument.rules``.
    Column("rules", Json, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("service", "key"),
)

deliveries = Table(
    "deliveries",
    metadata,
    # Text so it can travel as the webhook-id: unique across databases, not a counter.
    Column("id", String(40), primary_key=True),
    Column(
        "event_id",
        BigId,
        ForeignKey("events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("service", String(100), nullable=False),
    Column("event_key", String(200), nullable=False),
    Column("kind", String(16), nullable=False, server_default=text("'scheduled'")),
    Column("scheduled_for", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # When the next attempt may start (the due instant, then each retry's backoff).
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("lease_token", String(40), nullable=True),
    # The node (``nodes.id``) holding the lease: once its heartbeat goes stale, any
    # other node takes the delivery over without waiting for ``locked_until``.
    Column("leased_by", String(40), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # A redrive gives a fresh retry budget: attempts before it and its age do not count.
    Column("attempt_base", Integer, nullable=False, server_default=text("0")),
    Column("redriven_at", UTCDateTime, nullable=True),
    # Queue mode only: when the relay last put this delivery on the Redis stream. The
    # table stays the truth; a ready row not published since its ``next_attempt_at``
    # (or for too long) is published again, so a lost stream loses nothing.
    Column("published_at", UTCDateTime, nullable=True),
    # Why a skipped delivery was not sent (the overlap policy's reason); only those have one.
    Column("skip_reason", Text, nullable=True),
    UniqueConstraint("event_id", "kind", "scheduled_for"),
    CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
    CheckConstraint(SKIP_REASON_RULE, name="skip_reason"),
    CheckConstraint(_one_of("kind", DELIVERY_KINDS), name="kind"),
    CheckConstraint("attempts >= 0", name="attempts"),
)
# What the dispatcher asks for: work that may start now.
Index(
    "ix_deliveries_ready",
    deliveries.c.next_attempt_at,
    sqlite_where=text(_one_of("status", READY_STATUSES)),
    postgresql_where=text(_one_of("status", READY_STATUSES)),
)
# Leases to reclaim after a dispatcher died.
Index(
    "ix_deliveries_running",
    deliveries.c.locked_until,
    sqlite_where=text(_is("status", DeliveryStatus.RUNNING)),
    postgresql_where=text(_is("status", DeliveryStatus.RUNNING)),
)
Index("ix_deliveries_service_status", deliveries.c.service, deliveries.c.status, deliveries.c.id)
Index("ix_deliveries_event", deliveries.c.event_id, deliveries.c.scheduled_for)
Index("ix_deliveries_finished", deliveries.c.finished_at)
# What releasing a buffered delivery asks for (rare rows: a partial index stays tiny).
Index(
    "ix_deliveries_buffered",
    deliveries.c.event_id,
    sqlite_where=text(_is("status", DeliveryStatus.BUFFERED)),
    postgresql_where=text(_is("status", DeliveryStatus.BUFFERED)),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        String(40),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("latency_ms", Integer, nullable=True),
    Column("status_code", Integer, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("response_excerpt", Text, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("delivery_id", "attempt"),
    CheckConstraint(_one_of("outcome", ATTEMPT_OUTCOMES), name="outcome"),
)

# Standard Webhooks signing secrets, sealed (AES-GCM) under the key named by key_id.
# Active: expires_at is NULL or later than now; during a rotation two are active.
signing_secrets = Table(
    "signing_secrets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    CheckConstraint("expires_at IS NULL OR expires_at >= created_at", name="expiry"),
)
Index("ix_signing_secrets_service", signing_secrets.c.service, signing_secrets.c.created_at)

# The nodes of a cluster, each writing its own row: who runs what, and who is alive.
nodes = Table(
    "nodes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("roles", Json, nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    # Set by a clean shutdown; a node that died keeps NULL and its heartbeat goes stale.
    Column("stopped_at", UTCDateTime, nullable=True),
)
Index("ix_nodes_heartbeat_at", nodes.c.heartbeat_at)

# One-time dashboard sign-in links (``onewatch ui-link``): a link's id is inserted when it
# is used, so the primary key makes a second use fail on every node at once.
ui_link_uses = Table(
    "ui_link_uses",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("used_at", UTCDateTime, nullable=False),
    # After this the link's token has expired anyway, so the row may be pruned.
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_ui_link_uses_expires_at", ui_link_uses.c.expires_at)

# Who changed what, and when: one row per change of an action, event, calendar or
# signing secret, written in the transaction of the change itself (``store.audit``).
# ``before``/``after`` are the documents as the API shows them, secrets left out.
AUDIT_RESOURCE_TYPES = ("action", "event", "calendar", "signing_secret")
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_key", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    # The token's subject (``sub``), and whether it spoke with the admin scope.
    Column("actor", String(200), nullable=False),
    Column("actor_scope", String(16), nullable=False),
    # The front door: api, ui, cli (``onewatch import``) or system (the node itself).
    Column("via", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("before", Json, nullable=True),
    Column("after", Json, nullable=True),
    CheckConstraint(_one_of("resource_type", AUDIT_RESOURCE_TYPES), name="resource_type"),
)
# GET /v1/audit: a service's entries newest first, optionally one resource's.
Index("ix_audit_log_service", audit_log.c.service, audit_log.c.id)
Index(
    "ix_audit_log_resource",
    audit_log.c.service,
    audit_log.c.resource_type,
    audit_log.c.resource_key,
    audit_log.c.id,
)
