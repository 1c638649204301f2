"""The JSON documents clients send, in the seed's camelCase shape, with their rules.

These models accept the original system's exported documents as they are: MongoDB's
``{"$date": ...}`` instants or plain ISO strings, and the server-owned fields (``_id``,
``nextOccurrence``, ``createdAt``...) which are dropped before validation. Any other
unknown field is refused, so a typo (``schedulingPatern``) is reported, not ignored.
No web framework and no I/O here: the server (API, dashboard, importer) validates with
these models and the Python client builds and reads with them, so both sides hold one
definition of a document and the client needs none of the server's code.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from onewatch.delivery.aws_request import lambda_function_problem, queue_url_problem
from onewatch.delivery.header_rules import header_name_problem, header_value_problem
from onewatch.delivery.url_values import url_value_problem
from onewatch.domain.jitter import MAX_JITTER_SECONDS
from onewatch.domain.names import MAX_SERVICE_LENGTH, key_problem, service_name_problem

MAX_KEY_LENGTH = 200
MAX_ENDPOINT_LENGTH = 2048
MAX_PATTERN_LENGTH = 300
#: Dates an ``exclude`` or ``include`` list of a calendar may hold (years of them).
MAX_CALENDAR_DATES = 5000
#: The most business days a month can have (no weekend at all).
MAX_BUSINESS_DAY = 31
#: The largest value an ``Integer`` column holds on PostgreSQL (int4; SQLite's is wider):
#: a count past it is refused here as a 422, not by the database as a 500.
MAX_STORED_INTEGER = 2**31 - 1

#: Fields the server owns: accepted in a body (so exported documents load) and ignored.
SERVER_OWNED_FIELDS = frozenset(
    {"_id", "id", "nextOccurrence", "occurrences", "createdAt", "updatedAt", "version", "__v"}
)

#: ``<name>`` or ``{name}`` in an endpoint template, filled from an event's ``params.url``.
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>|\{([A-Za-z0-9_.-]+)\}")


def _refused_if(problem: str | None, value: str) -> str:
    """``value``, or the ``ValueError`` pydantic reports (with the field's path)."""
    if problem is not None:
        raise ValueError(problem)
    return value


def _key(value: str) -> str:
    return _refused_if(key_problem(value), value)


def _service_name(value: str) -> str:
    return _refused_if(service_name_problem(value), value)


def _header_name(value: str) -> str:
    return _refused_if(header_name_problem(value), value)


def _header_value(value: str) -> str:
    return _refused_if(header_value_problem(value), value)


def _url_value(value: Any) -> Any:
    # Not a scalar: ``EventParams`` refuses it with its own reason.
    if value is None or isinstance(value, dict | list):
        return value
    problem = url_value_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _unwrap_mongo_date(value: Any) -> Any:
    """``{"$date": "..."}``, ``{"$date": millis}`` or ``{"$date": {"$numberLong": ".."}}``."""
    if isinstance(value, dict) and set(value) == {"$date"}:
        inner = value["$date"]
        if isinstance(inner, dict) and set(inner) == {"$numberLong"}:
            inner = int(inner["$numberLong"])
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            try:
                return datetime.fromtimestamp(inner / 1000, tz=UTC)
            except (OverflowError, OSError) as exc:  # not ValueError: pydantic would not catch
                raise ValueError(f"{inner} milliseconds is out of the range of dates") from exc
        return inner
    return value


def _finite_numbers(value: Any) -> Any:
    """JSON has no Infinity or NaN, yet ``1e999`` parses as infinity: such a value would be
    stored and then fail every answer that shows it."""
    if _has_non_finite(value):
        raise ValueError("numbers must be finite (1e999 and beyond are infinity)")
    return value


def _has_non_finite(value: Any) -> bool:
    # A walk, not json.dumps(allow_nan=False): it allocates no text and is several times
    # cheaper per event.
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


Instant = Annotated[AwareDatetime, BeforeValidator(_unwrap_mongo_date)]
JsonValue = Annotated[Any, AfterValidator(_finite_numbers)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_finite_numbers)]
Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH), AfterValidator(_key)]
ServiceName = Annotated[
    str, Field(min_length=1, max_length=MAX_SERVICE_LENGTH), AfterValidator(_service_name)
]
#: Tenant headers (``delivery.header_rules``): an error names ``<field>.<header name>``.
Headers = dict[
    Annotated[str, AfterValidator(_header_name)], Annotated[str, AfterValidator(_header_value)]
]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def placeholders(endpoint: str) -> set[str]:
    """The placeholder names in an endpoint template."""
    return {angle or brace for angle, brace in PLACEHOLDER.findall(endpoint)}


@lru_cache(maxsize=4096)  # a few endpoints serve most events; a refusal is not cached
def _check_endpoint(endpoint: str) -> str:
    # Fill placeholders with a dummy so the template itself parses as a URL.
    parts = urlsplit(PLACEHOLDER.sub("x", endpoint))
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL scheme must be http or https")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    return endpoint


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


class ServerOwnedIgnored(CamelModel):
    """A top-level document: drops the server-owned fields before validating."""

    @model_validator(mode="before")
    @classmethod
    def _drop_server_owned(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if name not in SERVER_OWNED_FIELDS}
        return data


class WebhookTarget(CamelModel):
    endpoint: str = Field(min_length=1, max_length=MAX_ENDPOINT_LENGTH)
    method: HttpMethod = "POST"
    headers: Headers = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0, le=300, description="Seconds.")

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _check_endpoint(value)


class GraphqlTarget(CamelModel):
    endpoint: str = Field(min_length=1, max_length=MAX_ENDPOINT_LENGTH)
    query: str = Field(min_length=1, max_length=65536)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _check_endpoint(value)


MAX_LAMBDA_FUNCTION_LENGTH = 256


def _lambda_function(value: str) -> str:
    return _refused_if(lambda_function_problem(value), value)


def _queue_url(value: str) -> str:
    return _refused_if(queue_url_problem(value), value)


class LambdaTarget(CamelModel):
    """An AWS Lambda function, invoked with ``params.body`` as its JSON payload."""

    function: Annotated[
        str,
        Field(min_length=1, max_length=MAX_LAMBDA_FUNCTION_LENGTH),
        AfterValidator(_lambda_function),
    ]
    invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse"
    timeout: float | None = Field(default=None, gt=0, le=300, description="Seconds.")


class SqsTarget(CamelModel):
    """An Amazon SQS queue, sent ``params.body`` as the JSON text of one message."""

    queue_url: Annotated[
        str, Field(min_length=1, max_length=MAX_ENDPOINT_LENGTH), AfterValidator(_queue_url)
    ]


Target = WebhookTarget | GraphqlTarget | LambdaTarget | SqsTarget
TargetKind = Literal["webhook", "graphql", "lambda", "sqs"]
#: Every kind of target, in the order an error lists them.
TARGET_KINDS: tuple[str, ...] = ("webhook", "graphql", "lambda", "sqs")
#: Targets sent through AWS's API (``delivery.aws_targets``), not as an HTTP request.
AWS_TARGET_KINDS = frozenset({"lambda", "sqs"})


class RetryPolicy(CamelModel):
    """How a failed delivery is retried: exponential backoff with full jitter."""

    max_attempts: int = Field(default=5, ge=1, le=100)
    min_backoff_seconds: float = Field(default=1, ge=0, le=86400)
    max_backoff_seconds: float = Field(default=300, ge=0, le=86400)
    max_age_seconds: float = Field(default=86400, gt=0, le=30 * 86400)

    @model_validator(mode="after")
    def _ordered(self) -> RetryPolicy:
        if self.max_backoff_seconds < self.min_backoff_seconds:
            raise ValueError("maxBackoffSeconds must be at least minBackoffSeconds")
        return self


class _Targets(ServerOwnedIgnored):
    """The target fields a document may carry, exactly one of them set."""

    webhook: WebhookTarget | None = None
    graphql: GraphqlTarget | None = None
    lambda_: LambdaTarget | None = Field(default=None, alias="lambda")
    sqs: SqsTarget | None = None

    def _given_targets(self) -> list[tuple[str, Target]]:
        given = (self.webhook, self.graphql, self.lambda_, self.sqs)
        return [(kind, value) for kind, value in zip(TARGET_KINDS, given, strict=True) if value]

    def _exactly_one_target(self, kind: str | None) -> None:
        given = [name for name, _value in self._given_targets()]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(TARGET_KINDS)} (got {len(given)})")
        if kind is not None and kind != given[0]:
            raise ValueError(f"type is {kind!r} but the target given is {given[0]!r}")

    @property
    def given_target(self) -> tuple[str, Target] | None:
        """(kind, target) of the target given; None when there is none."""
        given = self._given_targets()
        return given[0] if given else None


class ActionDocument(_Targets):
    """How to call a target (a webhook, a GraphQL mutation, a Lambda function, an SQS
    queue), and its retry policy."""

    service: ServiceName | None = None
    key: Key
    type: TargetKind
    payload: JsonObject = Field(default_factory=dict)
    retry_policy: RetryPolicy | None = None

    @model_validator(mode="after")
    def _target(self) -> ActionDocument:
        self._exactly_one_target(self.type)
        return self

    @property
    def target(self) -> Target:
        given = self.given_target
        assert given is not None  # checked by the validator
        return given[1]


class EventParams(CamelModel):
    """What an event fills into its target: URL placeholders, JSON body, extra headers."""

    url: Annotated[
        dict[str, Annotated[Any, AfterValidator(_url_value)]], AfterValidator(_finite_numbers)
    ] = Field(default_factory=dict)
    body: JsonValue = Field(default_factory=dict)
    header: Headers = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _scalar_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            if item is None or isinstance(item, dict | list):
                raise ValueError(f"{name!r} must be a string, number or boolean")
        return value


class SchedulingPattern(CamelModel):
    """When an event fires; checked with the schedule engine before anything is stored."""

    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_LENGTH)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    separation: int = Field(
        default=1, ge=0, le=MAX_STORED_INTEGER, description="Fire every N-th match; 0 means 1."
    )
    max_occurrences: int | None = Field(default=None, ge=1, le=MAX_STORED_INTEGER)
    start_at: Instant | None = None
    end_at: Instant | None = None
    jitter_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_JITTER_SECONDS,
        description="Send each occurrence up to this many seconds after its instant.",
    )
    calendar: Key | None = Field(
        default=None, description="Key of a business calendar of the event's service."
    )
    non_business_day: Literal["skip", "next", "previous"] | None = Field(
        default=None, description="An occurrence on a day off: skipped (default) or moved."
    )
    business_day: int | None = Field(
        default=None,
        ge=-MAX_BUSINESS_DAY,
        le=MAX_BUSINESS_DAY,
        description="The N-th business day of the month (negative: from the end; -1 = last).",
    )

    @model_validator(mode="after")
    def _window(self) -> SchedulingPattern:
        if self.start_at and self.end_at and self.end_at < self.start_at:
            raise ValueError("endAt is before startAt")
        return self


Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _default_weekend() -> list[Weekday]:
    return ["SAT", "SUN"]


class HolidayRules(CamelModel):
    """Whose public holidays are days off (the ``holidays`` package's codes)."""

    country: str = Field(min_length=2, max_length=3, description="ISO 3166-1 code, e.g. BR.")
    subdivision: str | None = Field(default=None, min_length=1, max_length=10)

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        return value.upper()


class CalendarDocument(ServerOwnedIgnored):
    """Which days are business days for a service's events (``schedulingPattern.calendar``)."""

    service: ServiceName | None = None
    key: Key
    holidays: HolidayRules | None = None
    exclude: list[date] = Field(
        default_factory=list, max_length=MAX_CALENDAR_DATES, description="Extra days off."
    )
    include: list[date] = Field(
        default_factory=list,
        max_length=MAX_CALENDAR_DATES,
        description="Forced business days, e.g. a working Saturday (wins over all else).",
    )
    weekend: list[Weekday] = Field(default_factory=_default_weekend, max_length=6)

    @field_validator("weekend", mode="before")
    @classmethod
    def _upper_weekend(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [item.upper() if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarDocument:
        both = sorted(set(self.exclude) & set(self.include))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both in exclude and in include")
        return self

    def rules(self) -> dict[str, Any]:
        """The calendar as stored and as events carry it (``domain.schedule.business``)."""
        holiday_rules = self.holidays
        return {
            "holidays": None if holiday_rules is None else holiday_rules.model_dump(),
            "exclude": sorted({day.isoformat() for day in self.exclude}),
            "include": sorted({day.isoformat() for day in self.include}),
            "weekend": sorted(set(self.weekend), key=_WEEKDAY_ORDER.index),
        }


_WEEKDAY_ORDER = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class EventDocument(_Targets):
    """What to fire and when: an action of the same service, or an inline target."""

    service: ServiceName | None = None
    key: Key
    title: str | None = Field(default=None, max_length=1000)
    action: Key | None = None
    type: TargetKind | None = None
    params: EventParams = Field(default_factory=EventParams)
    scheduling_pattern: SchedulingPattern
    status: Literal["active", "paused"] | None = None
    retry_policy: RetryPolicy | None = None
    misfire_policy: Literal["fire_once", "fire_all", "skip"] = "fire_once"
    misfire_grace_seconds: int = Field(default=60, ge=0, le=30 * 86400)
    overlap: Literal["allow", "skip", "buffer_one"] = "allow"

    @model_validator(mode="after")
    def _target(self) -> EventDocument:
        if self.action is not None:
            if self.given_target is not None:
                raise ValueError("give either action or an inline target, not both")
            return self
        if self.given_target is None:
            raise ValueError(f"give an action key, or an inline {', '.join(TARGET_KINDS)} target")
        self._exactly_one_target(self.type)
        return self

    @property
    def inline_target(self) -> Target | None:
        given = self.given_target
        return None if given is None else given[1]

    @property
    def inline_kind(self) -> str | None:
        """The kind of the inline target (``webhook``...), None for an action's event."""
        given = self.given_target
        return None if given is None else given[0]


class SchedulePreviewRequest(CamelModel):
    #: Whose calendar ``schedulingPattern.calendar`` and whose event ``key`` name (default:
    #: the caller's service).
    service: ServiceName | None = None
    scheduling_pattern: SchedulingPattern
    count: int = Field(default=5, ge=1, le=100)
    after: Instant | None = None
    #: The event whose jitter offsets to show (they depend on its service and key).
    key: Key | None = None


class BackfillRequest(CamelModel):
    """A past range whose occurrences an event should have fired: both ends included."""

    from_: Instant = Field(alias="from")
    to: Instant


#: The fields only a calendar document has: one of them makes a document a calendar.
CALENDAR_FIELDS = frozenset({"holidays", "exclude", "include", "weekend"})


def kind_of(document: Any) -> str:
    """``event`` (it has ``schedulingPattern``), ``action`` (it has ``type``), ``calendar``
    (it has ``holidays``, ``exclude``, ``include`` or ``weekend``) or ``unknown``."""
    if not isinstance(document, dict):
        return "unknown"
    if "schedulingPattern" in document:
        return "event"
    if "type" in document:
        return "action"
    if CALENDAR_FIELDS & document.keys():
        return "calendar"
    return "unknown"


def utc_text(moment: datetime | None) -> str | None:
    """An instant as ISO-8601 UTC with ``Z``, the shape every response uses."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:  # stored instants are UTC already: skip the conversion
        moment = moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")
