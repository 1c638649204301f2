"""The event form speaks Lambda and SQS targets: create, edit, and a refusal by the
service's grants shown next to its input."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onewatch.settings import Settings
from tests.support.live import LiveApp, ManualClock, live_app, node_settings
from tests.ui.support import browser, csrf_of, post_form

FUNCTION = "alpha-nightly"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/beta-jobs"


@pytest.fixture
async def live(tmp_path: Path, clock: ManualClock) -> AsyncIterator[LiveApp]:
    base = node_settings(tmp_path, ["api"])
    grants = {"alpha": {"functions": ["alpha-*"]}}
    settings = Settings.model_validate({**base.model_dump(), "aws_targets": grants})
    async with live_app(tmp_path, clock=clock, settings=settings) as node:
        yield node


def _form(**changes: str) -> dict[str, str]:
    fields = {
        "key": "nightly",
        "target": "lambda",
        "lambda.function": FUNCTION,
        "lambda.invocationType": "Event",
        "params.body": '{"run": "nightly"}',
        "schedulingPattern.pattern": "0 2 * * *",
        "schedulingPattern.timezone": "UTC",
    }
    fields.update(changes)
    return fields


async def test_a_lambda_event_is_created_and_edited_through_the_form(live: LiveApp) -> None:
    async with browser(live, "alpha") as http:
        created = await post_form(http, "/ui/events/new", "/ui/events/new", **_form())
        assert created.status_code == 303, created.text
        edit_page = (await http.get("/ui/events/alpha/nightly/edit")).text
        assert f'value="{FUNCTION}"' in edit_page
        changed = {**_form(), "lambda.timeout": "20", "lambda.invocationType": "RequestResponse"}
        saved = await http.post(
            "/ui/events/alpha/nightly/edit", data={"csrf_token": csrf_of(edit_page), **changed}
        )
        assert saved.status_code == 303, saved.text
        shown = (await http.get("/ui/events/alpha/nightly")).text
    assert f"<code>{FUNCTION}</code>" in shown
    async with live.client("alpha") as api:
        stored = (await api.get("/v1/events/alpha/nightly")).json()
    assert stored["lambda"] == {
        "function": FUNCTION,
        "invocationType": "RequestResponse",
        "timeout": 20.0,
    }
    assert stored["params"]["body"] == {"run": "nightly"}


async def test_a_queue_outside_the_grant_is_named_next_to_its_input(live: LiveApp) -> None:
    form = _form(target="sqs", **{"sqs.queueUrl": QUEUE})
    async with browser(live, "beta") as http:
        answer = await post_form(http, "/ui/events/new", "/ui/events/new", **form)
    assert answer.status_code == 422
    next_to_field = re.search(r'id="f-sqs-queueUrl-error">([^<]+)</p>', answer.text)
    assert next_to_field is not None, answer.text
    assert "may not call the SQS queue" in next_to_field.group(1)
