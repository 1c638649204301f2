"""Which Lambda functions and SQS queues each service may call: deny by default.

Onewatch calls AWS with the node's own credentials, which may reach far more than any
one tenant should: without this rule a service could name another team's function or
queue and have Onewatch call it on its behalf. So the operator grants each service the
functions and queues it may use (``ONEWATCH_AWS_TARGETS``, see
docs/how-to/aws-targets.md), and nothing else is called. Patterns are ``fnmatch``-style
(``*``, ``?``, ``[...]``), matched case-sensitively against the function or queue URL as
the target writes it, so ``billing-*`` grants names, never an ARN in another account.
A grant under the service name ``*`` holds for every service.

Checked twice, like the outbound target policy: at the API (422 naming
``lambda.function`` or ``sqs.queueUrl``), and again before each send, so a row stored
before the grant was withdrawn fails, not retried, instead of being called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from onewatch.errors import ValidationFailed

#: The service name whose grants every service has.
EVERY_SERVICE = "*"
#: What each AWS target kind is called by, and the document field that names it.
DESTINATION_FIELDS = {
    "lambda": ("function", "lambda.function"),
    "sqs": ("queueUrl", "sqs.queueUrl"),
}


@dataclass(frozen=True)
class AwsGrant:
    """The function and queue URL patterns one service may call."""

    functions: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()

    def patterns(self, kind: str) -> tuple[str, ...]:
        return self.functions if kind == "lambda" else self.queues


def _grant(grant: Mapping[str, Sequence[str]]) -> AwsGrant:
    return AwsGrant(tuple(grant.get("functions", ())), tuple(grant.get("queues", ())))


@dataclass(frozen=True)
class AwsTargetPolicy:
    """Service name -> grant; a service without one (and no ``*`` grant) may call none."""

    grants: tuple[tuple[str, AwsGrant], ...] = ()

    @classmethod
    def build(
        cls, grants: Mapping[str, Mapping[str, list[str] | tuple[str, ...]]]
    ) -> AwsTargetPolicy:
        """From the settings' shape: ``{service: {"functions": [...], "queues": [...]}}``."""
        return cls(
            tuple(
                (
                    service,
                    AwsGrant(tuple(grant.get("functions", ())), tuple(grant.get("queues", ()))),
                )
                for service, grant in sorted(grants.items())
            )
        )

    def _patterns(self, service: str, kind: str) -> list[str]:
        return [
            pattern
            for name, grant in self.grants
            if name in (service, EVERY_SERVICE)
            for pattern in grant.patterns(kind)
        ]

    def problem(self, service: str, kind: str, destination: str) -> str | None:
        """Why ``service`` may not call ``destination`` (a function or queue URL), or None."""
        if any(fnmatchcase(destination, pattern) for pattern in self._patterns(service, kind)):
            return None
        what = "Lambda function" if kind == "lambda" else "SQS queue"
        return (
            f"service {service!r} may not call the {what} {destination!r}: it is not in the"
            " service's grants (ONEWATCH_AWS_TARGETS, deny by default)"
        )

    def check(
        self, service: str, kind: str, target: Mapping[str, object], *, field: str | None = None
    ) -> None:
        """``ValidationFailed`` naming ``field`` (by default ``lambda.function`` or
        ``sqs.queueUrl``) when the grant does not cover ``target``."""
        key, default_field = DESTINATION_FIELDS[kind]
        problem = self.problem(service, kind, str(target.get(key, "")))
        if problem is not None:
            raise ValidationFailed(problem, field=field or default_field)
