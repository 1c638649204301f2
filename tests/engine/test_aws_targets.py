"""Lambda and SQS targets fire through the real aiobotocore client to moto over HTTP:
payloads, the webhook-id, FIFO deduplication, retries, and the grants checked at send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from onewatch.engine.roles import background_roles
from onewatch.runtime import Runtime
from tests.engine.aws_support import (
    OVERSIZED_RESULT,
    create_function,
    create_queue,
    queue_lambda_results,
    receive_all,
)
from tests.engine.support import (
    add_action,
    add_event,
    attempts_of,
    deliveries_of,
    make_runtime,
    settings_for,
    utcnow,
    wait_for,
)
from tests.support.tcp_proxy import TcpProxy

FAST = {"maxAttempts": 5, "minBackoffSeconds": 0.05, "maxBackoffSeconds": 0.2}
#: billing may call its own functions and queues; nobody else is granted anything.
GRANTS = {
    "billing": {
        "functions": ["billing-*", "arn:aws:lambda:*:123456789012:function:billing-*"],
        "queues": ["*/123456789012/billing-*"],
    }
}


@pytest.fixture
async def aws_node(tmp_path: Path, moto_endpoint: str) -> AsyncIterator[Runtime]:
    node = await make_runtime(settings_for(tmp_path, aws_targets=GRANTS))
    await node.start(background_roles())
    try:
        yield node
    finally:
        await node.stop()


async def _fire(
    node: Runtime, key: str, target_type: str, target: dict[str, Any], body: Any
) -> int:
    event_id = await add_event(
        node.store.engine,
        key=key,
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        target_type=target_type,
        target=target,
        params={"body": body},
        retry_policy=FAST,
    )
    node.wakeup.notify()
    return event_id


async def _settled(node: Runtime, event_id: int, status: str) -> dict[str, Any]:
    async def done() -> bool:
        found = await deliveries_of(node.store.engine, event_id)
        return bool(found) and found[0]["status"] in ("succeeded", "dead")

    await wait_for(done, seconds=20, what="the delivery to settle")
    delivery = (await deliveries_of(node.store.engine, event_id))[0]
    assert delivery["status"] == status, delivery
    return delivery


async def test_lambda_request_response_gets_the_payload(aws_node: Runtime) -> None:
    await create_function("billing-close-month")
    body = {"month": "2026-11", "accounts": [1, 2]}
    target = {"function": "billing-close-month", "invocationType": "RequestResponse"}
    event_id = await _fire(aws_node, "close", "lambda", target, body)
    delivery = await _settled(aws_node, event_id, "succeeded")
    (attempt,) = await attempts_of(aws_node.store.engine, str(delivery["id"]))
    assert attempt["status_code"] == 200
    # moto's Lambda without Docker answers with the payload it was given.
    assert json.loads(attempt["response_excerpt"]) == body
    assert attempt["latency_ms"] is not None


async def test_lambda_event_invocation_is_accepted_with_202(aws_node: Runtime) -> None:
    arn = await create_function("billing-async")
    event_id = await _fire(
        aws_node, "async", "lambda", {"function": arn, "invocationType": "Event"}, {}
    )
    delivery = await _settled(aws_node, event_id, "succeeded")
    assert delivery["last_status_code"] == 202


async def test_lambda_function_error_is_retried_then_succeeds(
    aws_node: Runtime, moto_endpoint: str
) -> None:
    await create_function("billing-flaky")
    queue_lambda_results(moto_endpoint, OVERSIZED_RESULT)  # the first invoke fails
    event_id = await _fire(aws_node, "flaky", "lambda", {"function": "billing-flaky"}, {"n": 1})
    delivery = await _settled(aws_node, event_id, "succeeded")
    first, second = await attempts_of(aws_node.store.engine, str(delivery["id"]))
    assert (first["outcome"], first["status_code"]) == ("failed", 200)
    assert first["error"] == "Lambda FunctionError: Unhandled"
    assert "Function.ResponseSizeTooLarge" in first["response_excerpt"]
    assert (second["outcome"], second["status_code"]) == ("succeeded", 200)
    assert json.loads(second["response_excerpt"]) == {"n": 1}


async def test_sqs_standard_queue_gets_the_body_and_the_webhook_id(aws_node: Runtime) -> None:
    queue_url = await create_queue("billing-jobs")
    await add_action(
        aws_node.store.engine, key="enqueue", type_="sqs", target={"queueUrl": queue_url}
    )
    event_id = await add_event(
        aws_node.store.engine,
        key="nightly",
        pattern=(utcnow() + timedelta(milliseconds=50)).isoformat(),
        action_key="enqueue",
        params={"body": {"job": "invoice", "day": 3}},
    )
    aws_node.wakeup.notify()
    delivery = await _settled(aws_node, event_id, "succeeded")
    (message,) = await receive_all(queue_url)
    assert json.loads(message["Body"]) == {"job": "invoice", "day": 3}
    attributes = {
        name: value["StringValue"] for name, value in message["MessageAttributes"].items()
    }
    assert attributes["webhook-id"] == delivery["id"]
    assert attributes["Onewatch-Event"] == "billing/nightly"
    assert attributes["Onewatch-Attempt"] == "1"
    (attempt,) = await attempts_of(aws_node.store.engine, str(delivery["id"]))
    assert attempt["status_code"] == 200
    assert json.loads(attempt["response_excerpt"])["MessageId"] == message["MessageId"]


async def test_sqs_fifo_queue_deduplicates_on_the_webhook_id(aws_node: Runtime) -> None:
    queue_url = await create_queue("billing-ledger.fifo")
    event_id = await _fire(aws_node, "ledger", "sqs", {"queueUrl": queue_url}, {"entry": 7})
    delivery = await _settled(aws_node, event_id, "succeeded")
    (message,) = await receive_all(queue_url)
    assert json.loads(message["Body"]) == {"entry": 7}
    assert message["Attributes"]["MessageDeduplicationId"] == delivery["id"]
    assert message["Attributes"]["MessageGroupId"] == "billing/ledger"
    assert message["MessageAttributes"]["webhook-id"]["StringValue"] == delivery["id"]


async def test_a_queue_that_does_not_exist_is_final(aws_node: Runtime, moto_endpoint: str) -> None:
    missing = f"{moto_endpoint}/123456789012/billing-nowhere"
    event_id = await _fire(aws_node, "nowhere", "sqs", {"queueUrl": missing}, {})
    delivery = await _settled(aws_node, event_id, "dead")
    assert delivery["attempts"] == 1
    assert 400 <= delivery["last_status_code"] < 500
    assert "queue does not exist" in str(delivery["last_error"])


async def test_a_stored_target_outside_the_grant_is_refused_at_send(aws_node: Runtime) -> None:
    """A row stored before the grant was withdrawn (here: written straight to the store)
    is not sent, and not retried."""
    queue_url = await create_queue("payroll-jobs")
    event_id = await _fire(aws_node, "sneaky", "sqs", {"queueUrl": queue_url}, {"pay": "me"})
    delivery = await _settled(aws_node, event_id, "dead")
    assert delivery["attempts"] == 1
    assert "may not call the SQS queue" in str(delivery["last_error"])
    assert "not retried" in str(delivery["last_error"])
    assert await receive_all(queue_url) == []


async def test_sqs_unreachable_is_retried_until_it_is_back(
    aws_node: Runtime, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS reached through a proxy the test cuts: each attempt meanwhile fails, and the
    message is sent once it forwards again."""
    queue_url = await create_queue("billing-retries")
    moto = urlsplit(moto_endpoint)
    proxy = TcpProxy(str(moto.hostname), int(moto.port or 80))
    await proxy.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{proxy.port}")
        await proxy.cut(refuse=False)
        target = {"queueUrl": queue_url}
        event_id = await _fire(aws_node, "retried", "sqs", target, {"try": "again"})
        await wait_for(lambda: proxy.turned_away >= 2, what="two attempts turned away")
        await proxy.restore()
        delivery = await _settled(aws_node, event_id, "succeeded")
        (message,) = await receive_all(queue_url)
    finally:
        await proxy.close()
    assert json.loads(message["Body"]) == {"try": "again"}
    attempts = await attempts_of(aws_node.store.engine, str(delivery["id"]))
    assert len(attempts) >= 2
    assert all(a["status_code"] is None and a["error"] for a in attempts[:-1])
    assert attempts[-1]["status_code"] == 200
