"""The pure parts of Lambda and SQS targets: the grants, and the call a target makes."""

from __future__ import annotations

import base64
import json

import pytest

from onewatch.delivery.aws_policy import AwsTargetPolicy
from onewatch.delivery.aws_request import build_aws_call, fifo_group_id
from onewatch.delivery.request import UnsendableTarget
from onewatch.delivery.target_policy import policy_from_settings
from onewatch.errors import ValidationFailed
from onewatch.settings import Settings

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:billing-close"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/billing-jobs"
HEADERS = {"webhook-id": "msg_1", "Onewatch-Attempt": "2"}


def _policy() -> AwsTargetPolicy:
    return AwsTargetPolicy.build(
        {
            "billing": {"functions": ["billing-*"], "queues": [f"{QUEUE[:-4]}*"]},
            "*": {"functions": ["shared-audit"]},
        }
    )


def test_nothing_is_granted_by_default() -> None:
    policy = policy_from_settings(Settings()).aws
    assert policy.problem("billing", "lambda", "billing-close") is not None
    assert policy.problem("billing", "sqs", QUEUE) is not None


def test_the_settings_grant_what_they_name() -> None:
    settings = Settings(aws_targets={"billing": {"functions": ["billing-*"]}})
    policy = policy_from_settings(settings).aws
    assert policy.problem("billing", "lambda", "billing-close") is None
    assert policy.problem("billing", "sqs", QUEUE) is not None  # no queues granted


def test_patterns_match_the_target_as_written() -> None:
    policy = _policy()
    assert policy.problem("billing", "lambda", "billing-close") is None
    assert policy.problem("billing", "lambda", "billing-close:prod") is None
    # A name pattern never grants an ARN (which may name another account).
    assert policy.problem("billing", "lambda", ARN) is not None
    assert policy.problem("billing", "lambda", "Billing-close") is not None  # case matters
    assert policy.problem("billing", "sqs", QUEUE) is None
    assert policy.problem("billing", "sqs", QUEUE.replace("billing", "payroll")) is not None


def test_every_service_has_the_star_grants_and_no_other_services() -> None:
    policy = _policy()
    assert policy.problem("payroll", "lambda", "shared-audit") is None
    assert policy.problem("billing", "lambda", "shared-audit") is None
    assert policy.problem("payroll", "lambda", "billing-close") is not None


def test_a_refusal_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        _policy().check("payroll", "sqs", {"queueUrl": QUEUE})
    assert refused.value.field == "sqs.queueUrl"
    assert "payroll" in refused.value.reason
    with pytest.raises(ValidationFailed) as by_action:
        _policy().check("payroll", "lambda", {"function": ARN}, field="action")
    assert by_action.value.field == "action"


def test_a_lambda_call_carries_the_body_and_the_headers() -> None:
    target = {"function": ARN, "invocationType": "Event", "timeout": 900}
    call = build_aws_call(
        "lambda", target, {"body": {"a": [1]}}, HEADERS, service="billing", event_key="k"
    )
    assert (call.destination, call.invocation_type, call.body) == (ARN, "Event", b'{"a":[1]}')
    assert call.timeout_seconds == 300  # capped as an action's timeout is
    assert call.region == "eu-west-1"
    assert json.loads(base64.b64decode(call.client_context)) == {"custom": HEADERS}


def test_a_lambda_by_name_uses_the_nodes_region() -> None:
    call = build_aws_call(
        "lambda", {"function": "billing-close"}, {}, HEADERS, service="billing", event_key="k"
    )
    assert call.region is None
    assert call.invocation_type == "RequestResponse"
    assert call.body == b"{}"


def test_a_standard_queue_gets_attributes_and_no_fifo_ids() -> None:
    call = build_aws_call(
        "sqs", {"queueUrl": QUEUE}, {"body": "text"}, HEADERS, service="billing", event_key="k"
    )
    assert call.body == b'"text"'
    assert call.region == "eu-west-1"
    assert (call.group_id, call.deduplication_id) == (None, None)
    assert call.message_attributes()["webhook-id"] == {"DataType": "String", "StringValue": "msg_1"}


def test_a_fifo_queue_deduplicates_on_the_webhook_id() -> None:
    call = build_aws_call(
        "sqs", {"queueUrl": QUEUE + ".fifo"}, {}, HEADERS, service="billing", event_key="close"
    )
    assert call.deduplication_id == "msg_1"
    assert call.group_id == "billing/close"


def test_a_group_id_sqs_would_refuse_becomes_a_digest() -> None:
    assert fifo_group_id("billing", "fecho-março").startswith("sha256-")
    assert fifo_group_id("billing", "k" * 200).startswith("sha256-")
    assert len(fifo_group_id("billing", "k" * 200)) <= 128
    assert fifo_group_id("billing", "k" * 200) != fifo_group_id("billing", "k" * 199)


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("lambda", {}),
        ("lambda", {"function": "f", "invocationType": "DryRun"}),
        ("sqs", {"queueUrl": ""}),
        ("sqs", {"queueUrl": QUEUE + "/../../999999999999/payroll"}),
        ("lambda", {"function": "billing-close/../payroll"}),
        ("kinesis", {"stream": "s"}),
        ("sqs", None),
    ],
)
def test_a_stored_target_that_cannot_make_a_call_is_unsendable(
    kind: str, target: dict[str, str] | None
) -> None:
    with pytest.raises(UnsendableTarget):
        build_aws_call(kind, target, {}, HEADERS, service="billing", event_key="k")


def test_a_body_is_ascii_json_that_reads_back_the_same() -> None:
    """Every character a JSON body may carry (a lone surrogate too) can be sent."""
    body = {"name": "fecho de março", "odd": "\ud800"}
    call = build_aws_call(
        "sqs", {"queueUrl": QUEUE}, {"body": body}, HEADERS, service="billing", event_key="k"
    )
    assert call.body.isascii()
    assert json.loads(call.body) == body
