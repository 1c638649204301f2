"""Where the SQS dispatch queue is, from ``ONEWATCH_QUEUE_URL``: plain parsing, no AWS
client, so the settings can check the URL when they load."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from onewatch.errors import ConfigurationError

#: The schemes that mean SQS (``http(s)``: a queue's full URL).
SQS_SCHEMES = ("sqs", "https", "http")


@dataclass(frozen=True)
class SqsQueueAddress:
    """Where the queue is: by name (resolved with ``GetQueueUrl``) or by its URL."""

    name: str | None = None
    url: str | None = None
    #: From an ``sqs.<region>.amazonaws.com`` URL, for when no region is configured.
    region: str | None = None
    #: The origin of a URL that is not AWS's (an SQS-compatible server).
    endpoint_url: str | None = None


def parse_queue_url(queue_url: str) -> SqsQueueAddress:
    """``sqs://name`` or a full queue URL; a ``ConfigurationError`` for anything else."""
    parts = urlsplit(queue_url)
    if parts.scheme == "sqs":
        name = (parts.netloc + parts.path).strip("/")
        if not name or "/" in name:
            raise ConfigurationError("sqs:// needs a queue name: sqs://<name>", field="queue_url")
        return _standard_queue(SqsQueueAddress(name=name), name)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("use sqs://<name> or the queue's URL", field="queue_url")
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) < 2:
        raise ConfigurationError(
            "the queue URL has no queue name in it (.../<account>/<name>)", field="queue_url"
        )
    name = segments[-1]
    host = parts.hostname
    if host.endswith(".amazonaws.com"):
        region = host.split(".")[1] if host.startswith("sqs.") else None
        return _standard_queue(SqsQueueAddress(url=queue_url, region=region), name)
    origin = f"{parts.scheme}://{parts.netloc}"
    return _standard_queue(SqsQueueAddress(url=queue_url, endpoint_url=origin), name)


def _standard_queue(address: SqsQueueAddress, name: str) -> SqsQueueAddress:
    if name.endswith(".fifo"):
        raise ConfigurationError(
            "use a standard queue: FIFO deduplication would drop republished deliveries",
            field="queue_url",
        )
    return address
