"""Sending Lambda and SQS targets through aiobotocore, without ever raising.

One ``AwsTargets`` per dispatcher: its aiobotocore session and clients (one per AWS
service and region) are made on the first AWS delivery and closed when the dispatcher
stops, so a node that never sends one never imports botocore (megabytes of RSS).
Credentials, region and endpoint come from AWS's standard chain (``AWS_ACCESS_KEY_ID``
or an instance role, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` or the ARN / queue URL's
region, ``AWS_ENDPOINT_URL``). botocore makes one attempt only (Onewatch retries with
its own policy and records each attempt), with the configured connect timeout, and
the whole call is bounded by the target's ``timeout`` or the configured total.

What counts as a failed attempt, retried by the delivery's policy: a Lambda
``FunctionError`` (``X-Amz-Function-Error``: the function raised or timed out), AWS
answering 5xx or 429 (throttled), no answer in time, no connection. An AWS 4xx (a
function or queue that does not exist, access denied) is final, like a webhook's 4xx.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from onewatch.delivery.aws_policy import AwsTargetPolicy
from onewatch.delivery.aws_request import AwsCall
from onewatch.delivery.request import MAX_ACTION_TIMEOUT_SECONDS
from onewatch.delivery.sender import Response
from onewatch.settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_lambda import LambdaClient
    from types_aiobotocore_sqs import SQSClient


class AwsTargets:
    """The node's AWS clients, made lazily, and the grants each send is checked against."""

    def __init__(self, settings: Settings, policy: AwsTargetPolicy) -> None:
        self.policy = policy
        self.excerpt_bytes = settings.response_excerpt_bytes
        self.total_timeout = settings.http_total_timeout_seconds
        self._connect_timeout = settings.http_connect_timeout_seconds
        self._pool_size = settings.dispatcher_concurrency
        self._clients: dict[tuple[str, str | None], Any] = {}
        #: The aiobotocore session, once made, and the services whose models it loaded.
        self._session: Any = None
        self._loaded: set[str] = set()
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> AwsTargets:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every client made (their connection pools with them)."""
        self._clients.clear()
        await self._stack.aclose()

    async def _prepare(self, kind: str) -> None:
        """Import aiobotocore and load ``kind``'s service model, in a thread, once.

        Both are seconds of blocking work on a busy machine (botocore parses large JSON
        models): on the event loop they would make every delivery due meanwhile late.
        """
        if kind in self._loaded:
            return
        async with self._lock:
            if kind not in self._loaded:
                self._session = await asyncio.to_thread(_loaded_session, self._session, kind)
                self._loaded.add(kind)

    async def _client(self, kind: str, region: str | None) -> Any:
        key = (kind, region)
        client = self._clients.get(key)
        if client is None:
            async with self._lock:  # two first sends at once make one client, not two
                client = self._clients.get(key)
                if client is None:
                    client = await self._stack.enter_async_context(self._create(kind, region))
                    self._clients[key] = client
        return client

    def _create(self, kind: str, region: str | None) -> Any:
        from aiobotocore.config import AioConfig

        config = AioConfig(
            connect_timeout=self._connect_timeout,
            read_timeout=MAX_ACTION_TIMEOUT_SECONDS,  # the call's own bound is tighter
            retries={"total_max_attempts": 1},
            # Large as the HTTP pool: per-service shares (host_slots) bound each service.
            max_pool_connections=self._pool_size,
        )
        # botocore reads AWS_DEFAULT_REGION (and profiles) itself, but not AWS_REGION.
        region = region or os.environ.get("AWS_REGION") or None
        if kind == "lambda":
            return self._session.create_client("lambda", region_name=region, config=config)
        return self._session.create_client("sqs", region_name=region, config=config)

    async def send(self, call: AwsCall) -> Response:
        """Invoke or send ``call``; every failure comes back as ``Response.error``."""
        await self._prepare(call.kind)
        from botocore.exceptions import BotoCoreError, ClientError  # imported by _prepare

        started = time.perf_counter()
        try:
            # Outside the call's bound: making a client is local work (and resolving the
            # credentials), done once per node and region, and no reason to fail a call.
            client = await self._client(call.kind, call.region)
            started = time.perf_counter()
            async with asyncio.timeout(call.timeout_seconds or self.total_timeout):
                if call.kind == "lambda":
                    response = await _invoke(client, call, self.excerpt_bytes)
                else:
                    response = await _send_message(client, call)
        except ClientError as exc:
            return _client_error(exc.response, _elapsed(started))
        except TimeoutError:
            return Response(None, _elapsed(started), None, error="timed out")
        except (BotoCoreError, aiohttp.ClientError, OSError, ValueError) as exc:
            return Response(None, _elapsed(started), None, error=_describe(exc))
        return replace(response, latency_ms=_elapsed(started))


def _loaded_session(session: Any, kind: str) -> Any:
    """``session`` (a new one if None) with ``kind``'s models in its loader's cache."""
    from aiobotocore.session import get_session

    session = session or get_session()
    loader = session.get_component("data_loader")
    for model in ("service-2", "endpoint-rule-set-1"):
        loader.load_service_model(kind, model)
    return session


def _elapsed(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _invoke(client: LambdaClient, call: AwsCall, excerpt_bytes: int) -> Response:
    answer = await client.invoke(
        FunctionName=call.destination,
        InvocationType=call.invocation_type,  # type: ignore[arg-type]
        Payload=call.body,
        ClientContext=call.client_context,
    )
    async with answer["Payload"] as stream:
        payload = await stream.read()  # Lambda bounds a response at 6 MB
    excerpt = payload[:excerpt_bytes].decode("utf-8", errors="replace") if excerpt_bytes else None
    function_error = answer.get("FunctionError")
    error = f"Lambda FunctionError: {function_error}" if function_error else None
    return Response(answer["StatusCode"], 0, excerpt, error, function_error=function_error)


async def _send_message(client: SQSClient, call: AwsCall) -> Response:
    fifo: dict[str, str] = {}
    if call.group_id is not None and call.deduplication_id is not None:
        fifo = {"MessageGroupId": call.group_id, "MessageDeduplicationId": call.deduplication_id}
    answer = await client.send_message(
        QueueUrl=call.destination,
        MessageBody=call.body.decode(),
        MessageAttributes=call.message_attributes(),
        **fifo,  # type: ignore[arg-type]
    )
    sent = {"MessageId": answer["MessageId"]}
    if "SequenceNumber" in answer:
        sent["SequenceNumber"] = answer["SequenceNumber"]
    status = answer["ResponseMetadata"]["HTTPStatusCode"]
    return Response(status, 0, json.dumps(sent))


def _client_error(answer: Any, latency_ms: int) -> Response:
    """AWS's answer to a refused call: its HTTP status, code and message."""
    metadata = answer.get("ResponseMetadata", {})
    error = answer.get("Error", {})
    text = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"[:1000]
    retry_after = metadata.get("HTTPHeaders", {}).get("retry-after")
    return Response(metadata.get("HTTPStatusCode"), latency_ms, text, text, retry_after)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:1000]
