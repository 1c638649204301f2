"""Turning an event's Lambda or SQS target and params into one AWS call (pure, no I/O).

Lambda: ``params.body`` as the JSON payload, Onewatch's delivery headers (``webhook-id``,
``Onewatch-Attempt``...) in the client context's ``custom`` map (synchronous invokes pass
it to the function). SQS: ``params.body`` as the JSON text of the message, the same
headers as String message attributes; on a FIFO queue (its URL ends in ``.fifo``) the
``webhook-id`` is the ``MessageDeduplicationId``, so SQS itself drops a redelivery within
its deduplication window, and ``<service>/<event key>`` the ``MessageGroupId``: one
event's fires stay in order while different events' go in parallel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from onewatch.delivery.request import MAX_ACTION_TIMEOUT_SECONDS, UnsendableTarget

#: What SQS allows in a message group id: 1 to 128 printable ASCII characters.
_GROUP_ID = re.compile(r"[!-~]{1,128}")
#: ``arn:aws:lambda:<region>:...`` and ``https://sqs.<region>.amazonaws.com/...``.
_ARN_REGION = re.compile(r"arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):")
_SQS_HOST_REGION = re.compile(r"sqs\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?")
#: A queue URL: ``/<12-digit account>/<name>`` on a host, nothing after (a grant pattern's
#: ``*`` matches ``/`` too, so ``billing-*/../other`` must not get as far as the grant).
_QUEUE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?/\d{12}/[A-Za-z0-9_-]{1,75}(\.fifo)?")
#: A Lambda function as ``Invoke`` accepts it: a name, a partial ARN
#: (``123456789012:function:name``) or a full ARN, each with an optional ``:version`` or
#: ``:alias`` (AWS's own pattern).
LAMBDA_FUNCTION = re.compile(
    r"(arn:aws[a-zA-Z-]*:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d:)?(\d{12}:)?(function:)?"
    r"[a-zA-Z0-9_-]{1,140}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?"
)


def lambda_function_problem(function: str) -> str | None:
    """Why ``function`` is not a Lambda function name or ARN, or None."""
    if LAMBDA_FUNCTION.fullmatch(function):
        return None
    return (
        "not a Lambda function name or ARN (name, 123456789012:function:name or arn:aws:lambda:...)"
    )


def queue_url_problem(url: str) -> str | None:
    """Why ``url`` is not an SQS queue URL, or None."""
    if _QUEUE_URL.fullmatch(url):
        return None
    return "not an SQS queue URL (https://sqs.<region>.amazonaws.com/<12-digit account>/<name>)"


@dataclass(frozen=True)
class AwsCall:
    """One Lambda invoke or SQS send, with what Onewatch adds to it."""

    kind: str
    #: The function (name or ARN) or the queue URL, as the target writes it.
    destination: str
    body: bytes
    #: Onewatch's delivery headers: the client context or the message attributes.
    headers: dict[str, str] = field(default_factory=dict)
    invocation_type: str = "RequestResponse"
    timeout_seconds: float | None = None
    #: FIFO queues only.
    group_id: str | None = None
    deduplication_id: str | None = None

    @property
    def region(self) -> str | None:
        """The region the ARN or queue URL names; None: the node's (``AWS_REGION``...)."""
        if self.kind == "lambda":
            found = _ARN_REGION.match(self.destination)
        else:
            found = _SQS_HOST_REGION.fullmatch(urlsplit(self.destination).hostname or "")
        return found.group(1) if found else None

    @property
    def client_context(self) -> str:
        """Lambda's ``ClientContext``: base64 JSON, Onewatch's headers under ``custom``."""
        document = json.dumps({"custom": self.headers}, separators=(",", ":"))
        return base64.b64encode(document.encode()).decode("ascii")

    def message_attributes(self) -> dict[str, Any]:
        return {
            name: {"DataType": "String", "StringValue": value}
            for name, value in self.headers.items()
        }


def _json_bytes(document: Any) -> bytes:
    # ASCII (non-ASCII as \u escapes): always characters SQS accepts in a message body,
    # and always encodable, even a lone surrogate that a JSON body may carry.
    return json.dumps(document, separators=(",", ":")).encode()


def _timeout(target: Mapping[str, Any]) -> float | None:
    value = target.get("timeout")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return min(float(value), MAX_ACTION_TIMEOUT_SECONDS)


def fifo_group_id(service: str, event_key: str) -> str:
    """``<service>/<event key>``, or a digest of it where SQS would refuse the text."""
    text = f"{service}/{event_key}"
    if _GROUP_ID.fullmatch(text):
        return text
    return "sha256-" + hashlib.sha256(text.encode()).hexdigest()


def _lambda(
    target: Mapping[str, Any], params: Mapping[str, Any], headers: dict[str, str]
) -> AwsCall:
    function = target.get("function")
    if not isinstance(function, str) or not function:
        raise UnsendableTarget("lambda target has no function")
    problem = lambda_function_problem(function)
    if problem is not None:
        raise UnsendableTarget(f"lambda.function: {problem}")
    invocation = target.get("invocationType") or "RequestResponse"
    if invocation not in ("RequestResponse", "Event"):
        raise UnsendableTarget(
            f"lambda invocationType {invocation!r} is not RequestResponse or Event"
        )
    body = _json_bytes(params.get("body", {}))
    return AwsCall("lambda", function, body, headers, str(invocation), _timeout(target))


def _sqs(
    target: Mapping[str, Any],
    params: Mapping[str, Any],
    headers: dict[str, str],
    group_id: str,
) -> AwsCall:
    queue_url = target.get("queueUrl")
    if not isinstance(queue_url, str) or not queue_url:
        raise UnsendableTarget("sqs target has no queueUrl")
    problem = queue_url_problem(queue_url)
    if problem is not None:
        raise UnsendableTarget(f"sqs.queueUrl: {problem}")
    body = _json_bytes(params.get("body", {}))
    if not urlsplit(queue_url).path.endswith(".fifo"):
        return AwsCall("sqs", queue_url, body, headers)
    return AwsCall(
        "sqs", queue_url, body, headers, group_id=group_id, deduplication_id=headers["webhook-id"]
    )


def build_aws_call(
    target_type: str,
    target: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    service: str,
    event_key: str,
) -> AwsCall:
    """The call for one delivery; ``UnsendableTarget`` when the target cannot make one.

    ``headers`` are Onewatch's delivery headers (``delivery.headers.delivery_headers``).
    """
    if target is None:
        raise UnsendableTarget("the event's action no longer exists")
    ours = dict(headers)
    if target_type == "lambda":
        return _lambda(target, params, ours)
    if target_type == "sqs":
        return _sqs(target, params, ours, fifo_group_id(service, event_key))
    raise UnsendableTarget(f"unknown AWS target type {target_type!r}")
