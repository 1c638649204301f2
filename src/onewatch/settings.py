"""All of Onewatch's configuration, in one place.

Values come, highest priority first, from: explicit overrides (CLI flags), ``ONEWATCH_*``
environment variables, a TOML file (``ONEWATCH_CONFIG_FILE``, or ``onewatch.toml`` in the
working directory when present), and the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from onewatch.errors import ConfigurationError
from onewatch.queue.sqs_address import SQS_SCHEMES, parse_queue_url

Role = Literal["api", "scheduler", "dispatcher"]
ALL_ROLES: tuple[Role, ...] = ("api", "scheduler", "dispatcher")


def _toml_file() -> Path | None:
    explicit = os.environ.get("ONEWATCH_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    default = Path("onewatch.toml")
    return default if default.is_file() else None


class AwsTargetGrant(BaseModel):
    """The Lambda functions and SQS queue URLs one service may call (fnmatch patterns)."""

    model_config = ConfigDict(extra="forbid")

    functions: list[str] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    """One object, built once at start-up and passed to whatever needs it."""

    model_config = SettingsConfigDict(env_prefix="ONEWATCH_", extra="ignore")

    # Where things live.
    data_dir: Path = Path("./onewatch-data")
    database_url: str | None = Field(
        default=None, description="Plain URL (sqlite:///file.db, postgresql://...)."
    )
    migrate_on_start: bool = True

    # The HTTP side.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    roles: list[Role] = Field(default_factory=lambda: list(ALL_ROLES))

    # Auth.
    jwt_secret: SecretStr | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256"])
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwt_public_key: str | None = Field(
        default=None, description="PEM public key for RS*/PS*/ES*/EdDSA tokens."
    )
    jwt_jwks_url: str | None = Field(default=None, description="JWKS URL for RS*/ES*/EdDSA.")
    jwt_jwks_cache_seconds: int = Field(default=300, ge=1, le=86400)
    jwt_jwks_refresh_cooldown_seconds: float = Field(default=30.0, ge=0, le=3600)

    # Webhook signing secrets: encrypted at rest (AES-GCM, 32-byte keys, base64).
    secrets_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="Key id -> base64 key; empty: one in data_dir."
    )
    secrets_active_key: str | None = None
    signing_secret_overlap_seconds: float = Field(default=86400.0, ge=0, le=30 * 86400)
    #: How long a dispatcher reuses a service's secrets before reading them again: a
    #: rotation or revocation takes effect on every node within this time.
    signing_secret_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # Outbound target policy (see SECURITY.md).
    outbound_allow_loopback: bool = True
    outbound_allow_private: bool = True
    outbound_allow_public: bool = True
    outbound_allow_link_local: bool = False
    outbound_allowed_networks: list[str] = Field(default_factory=list)
    outbound_denied_networks: list[str] = Field(default_factory=list)
    outbound_allowed_hosts: list[str] = Field(default_factory=list)
    outbound_denied_hosts: list[str] = Field(default_factory=list)
    #: Lambda and SQS targets (delivery.aws_policy): service name (``*``: every service)
    #: -> the functions and queues it may call. Empty: no service may call any.
    aws_targets: dict[str, AwsTargetGrant] = Field(default_factory=dict)

    # Per-service quotas (0: unlimited).
    quota_max_events: int = Field(default=100_000, ge=0)
    quota_requests_per_second: float = Field(default=50.0, ge=0)
    quota_request_burst: int = Field(default=100, ge=1)
    quota_max_concurrent_deliveries: int = Field(default=32, ge=0)

    # Logs.
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    # Firing.
    #: Rows per scheduler transaction and per dispatcher claim. Each batch is turned into
    #: deliveries (or tasks) on the event loop in one stretch, which every due send waits
    #: behind: 200 keeps that stretch short and drains a burst no slower than 500 did
    #: (BENCHMARKS.md, "Performance notes").
    scheduler_batch_size: int = Field(default=200, ge=1)
    #: Longest sleep between looks at the events table: bounds how late a change made by
    #: another process (an API-only node) is noticed; in-process changes wake it at once.
    scheduler_max_idle_seconds: float = Field(default=1.0, gt=0)
    misfire_fire_all_cap: int = Field(default=100, ge=1)
    #: Most occurrences one ``POST .../backfill`` may create: a larger range is refused
    #: (422 naming ``to``), so one request cannot flood the dispatchers.
    backfill_max_occurrences: int = Field(default=1000, ge=1, le=100_000)
    dispatcher_batch_size: int = Field(default=200, ge=1)
    dispatcher_concurrency: int = Field(default=256, ge=1)
    dispatcher_per_host_limit: int = Field(default=64, ge=1)
    dispatcher_lease_seconds: float = Field(default=60.0, gt=0)
    dispatcher_shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    http_total_timeout_seconds: float = Field(default=30.0, gt=0)
    response_excerpt_bytes: int = Field(default=4096, ge=0)
    history_retention_days: float = Field(default=30.0, gt=0)
    #: How long audit log entries are kept (pruned with the delivery history); 0: forever.
    audit_retention_days: float = Field(default=365.0, ge=0)
    # Deliveries are created and leased this far ahead of their due instant, then sent
    # by an exact-time timer, so the database round trips are off the critical path.
    scheduler_lookahead_seconds: float = Field(default=1.0, ge=0)
    dispatcher_lookahead_seconds: float = Field(default=1.0, ge=0)
    #: Longest idle wait before the dispatcher looks at the table again (other nodes).
    dispatcher_poll_seconds: float = Field(default=1.0, gt=0)
    #: Deliveries one dispatcher holds at once (waiting for their instant or in flight).
    #: Each costs about 12 KB while held (task, request, response): 2,000 keeps a burst
    #: of 10,000 under 150 MB of RSS at the same delivery rate as 4,000 did.
    dispatcher_max_held: int = Field(default=2000, ge=1)
    prune_interval_seconds: float = Field(default=600.0, gt=0)

    # Scale-out.
    queue_url: str | None = None
    #: Queue mode: a delivery published but not claimed for this long is published again
    #: (Redis lost it), and a stream entry a consumer left unacknowledged this long is
    #: taken over by another (the consumer died).
    queue_republish_seconds: float = Field(default=60.0, gt=0)
    #: Unset: ``node_takeover_seconds``, so a dead node's stream entries move on as
    #: soon as its leases do.
    queue_claim_idle_seconds: float | None = Field(default=None, gt=0)
    #: SQS mode: how long a dispatcher's ReceiveMessage waits for messages (a long poll;
    #: a clean stop may wait this long for the poll to end).
    queue_sqs_wait_seconds: int = Field(default=2, ge=1, le=20)
    #: SQS mode: how long a received message stays hidden; extended every third of it
    #: while its delivery is held, so it shows again this long after a node died.
    queue_sqs_visibility_timeout_seconds: int = Field(default=30, ge=1, le=43200)

    # Failover (docs/scale-out.md): each node beats this often; one silent for the
    # take-over time is dead, and any other node takes over its leased deliveries.
    # The gap between the two is how long an event-loop stall or a database blip may
    # last before a live node is taken for dead.
    node_heartbeat_seconds: float = Field(default=1.0, gt=0)
    node_takeover_seconds: float = Field(default=3.0, gt=0)

    @model_validator(mode="after")
    def _takeover_outlasts_missed_beats(self) -> Settings:
        if self.node_takeover_seconds < 2 * self.node_heartbeat_seconds:
            raise ValueError(
                "node_takeover_seconds must be at least twice node_heartbeat_seconds,"
                " or one late heartbeat gets a live node's deliveries taken over"
            )
        return self

    @field_validator("queue_url")
    @classmethod
    def _queue_url_names_a_queue(cls, value: str | None) -> str | None:
        if value and value.split("://", 1)[0] in SQS_SCHEMES:
            try:
                parse_queue_url(value)
            except ConfigurationError as exc:
                raise ValueError(exc.reason) from exc
        return value

    @property
    def resolved_queue_claim_idle_seconds(self) -> float:
        """How long a stream entry stays unacknowledged before another node takes it."""
        if self.queue_claim_idle_seconds is not None:
            return self.queue_claim_idle_seconds
        return self.node_takeover_seconds

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _toml_file()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        """The database URL users configured, or the embedded SQLite file by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'onewatch.db').resolve()}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, with CLI flags (non-None overrides) on top of everything."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})
