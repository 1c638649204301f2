"""Lambda and SQS targets at the API: their shapes, and the per-service grants (deny by
default) refused with 422 naming ``lambda.function``, ``sqs.queueUrl`` or ``action``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from onewatch.settings import Settings
from tests.api.samples import event
from tests.engine.support import add_action
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.live import LiveApp, live_app, node_settings

FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:billing-close"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/billing-jobs.fifo"
GRANTS = {
    "billing": {
        "functions": ["arn:aws:lambda:eu-west-1:123456789012:function:billing-*"],
        "queues": ["https://sqs.eu-west-1.amazonaws.com/123456789012/billing-*"],
    }
}


@pytest.fixture(params=BACKENDS)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with fresh_database_url(request.param, tmp_path) as url:
        base = node_settings(tmp_path, ["api"], url)
        settings = Settings.model_validate({**base.model_dump(), "aws_targets": GRANTS})
        async with live_app(tmp_path, settings=settings) as node:
            yield node


def _lambda_action(function: str = FUNCTION, **fields: Any) -> dict[str, Any]:
    return {"key": "close", "type": "lambda", "lambda": {"function": function, **fields}}


def _sqs_event(queue_url: str = QUEUE) -> dict[str, Any]:
    document = event("enqueue", sqs={"queueUrl": queue_url})
    del document["action"]
    return document


def _refused_field(answer: httpx.Response) -> str:
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["reason"], error
    return str(error["field"])


async def test_a_granted_lambda_action_is_stored_and_answered(live: LiveApp) -> None:
    async with live.client("billing") as http:
        created = await http.post("/v1/actions", json=_lambda_action())
        assert created.status_code == 201, created.text
        stored = (await http.get("/v1/actions/billing/close")).json()
    assert stored["type"] == "lambda"
    assert stored["lambda"] == {"function": FUNCTION, "invocationType": "RequestResponse"}


async def test_a_granted_inline_sqs_event_is_stored_and_answered(live: LiveApp) -> None:
    async with live.client("billing") as http:
        created = await http.post("/v1/events", json=_sqs_event())
    assert created.status_code == 201, created.text
    assert created.json()["type"] == "sqs"
    assert created.json()["sqs"] == {"queueUrl": QUEUE}


async def test_a_function_outside_the_grant_is_refused(live: LiveApp) -> None:
    other = "arn:aws:lambda:eu-west-1:123456789012:function:payroll-run"
    async with live.client("billing") as http:
        refused = await http.post("/v1/actions", json=_lambda_action(other))
        put = await http.put("/v1/actions/billing/close", json=_lambda_action(other))
    assert _refused_field(refused) == "lambda.function"
    assert "may not call the Lambda function" in refused.json()["errors"][0]["reason"]
    assert _refused_field(put) == "lambda.function"


async def test_a_service_without_a_grant_may_call_no_queue(live: LiveApp) -> None:
    async with live.client("payroll") as http:
        refused = await http.post("/v1/events", json=_sqs_event())
    assert _refused_field(refused) == "sqs.queueUrl"
    assert "deny by default" in refused.json()["errors"][0]["reason"]


async def test_an_event_on_an_action_outside_the_grant_is_refused(live: LiveApp) -> None:
    """An action stored before its grant was withdrawn: new events may not use it."""
    await add_action(
        live.runtime.store.engine,
        service="payroll",
        key="pay",
        type_="lambda",
        target={"function": FUNCTION},
    )
    async with live.client("payroll") as http:
        refused = await http.post("/v1/events", json=event("monthly", action="pay"))
    assert _refused_field(refused) == "action"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_lambda_action("not a function"), "lambda.function"),
        (_lambda_action("billing-close", invocationType="DryRun"), "lambda.invocationType"),
        (_lambda_action("billing-close", timeout=0), "lambda.timeout"),
        (_lambda_action("billing-close", qualifier="1"), "lambda.qualifier"),
        ({"key": "q", "type": "sqs", "sqs": {"queueUrl": "sqs://billing-jobs"}}, "sqs.queueUrl"),
        ({"key": "q", "type": "sqs", "sqs": {"queueUrl": "https://sqs.example"}}, "sqs.queueUrl"),
        ({"key": "q", "type": "sqs", "sqs": {}}, "sqs.queueUrl"),
        (
            {"key": "q", "type": "sqs", "sqs": {"queueUrl": QUEUE + "/../../payroll"}},
            "sqs.queueUrl",
        ),
        ({"key": "q", "type": "sqs", "sqs": {"queueUrl": QUEUE + "?x=1"}}, "sqs.queueUrl"),
        ({"key": "q", "type": "lambda", "sqs": {"queueUrl": QUEUE}}, "body"),
    ],
)
async def test_bad_aws_target_shapes_name_the_field(
    live: LiveApp, document: dict[str, Any], field: str
) -> None:
    async with live.client("billing") as http:
        refused = await http.post("/v1/actions", json=document)
    assert field in _refused_field(refused)
