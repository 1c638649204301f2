"""AWS resources for the Lambda and SQS target tests, made in the test's moto server
with the real aiobotocore client (the environment ``moto_endpoint`` sets points it there)."""

from __future__ import annotations

import io
import json
import os
import urllib.request
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiobotocore.session import get_session
from bench.moto_server import ACCOUNT_ID

#: A response over Lambda's 6 MB limit: the invoke answers with a FunctionError.
OVERSIZED_RESULT = "x" * 6_000_100
LAMBDA_WITHOUT_DOCKER = {"lambda": {"use_docker": False}}


@asynccontextmanager
async def aws_client(name: str) -> AsyncIterator[Any]:
    async with get_session().create_client(name) as client:
        yield client


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _post_moto_api(endpoint: str, path: str, document: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{endpoint}{path}",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


async def create_function(name: str) -> str:
    """A Python function (moto runs none without Docker: an invoke echoes its payload)."""
    # Said here too, whatever the server's start did: invokes must not look for Docker.
    _post_moto_api(os.environ["AWS_ENDPOINT_URL"], "/moto-api/config", LAMBDA_WITHOUT_DOCKER)
    async with aws_client("iam") as iam, aws_client("lambda") as lambda_:
        role = await iam.create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        created = await lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": _handler_zip()},
        )
    return str(created["FunctionArn"])


def queue_lambda_results(endpoint: str, *results: str) -> None:
    """The next invokes answer these payloads in turn (moto's Lambda without Docker)."""
    path = "/moto-api/static/lambda-simple/response"
    assert _post_moto_api(endpoint, path, {"results": list(results)}) == 201


async def create_queue(name: str) -> str:
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    async with aws_client("sqs") as sqs:
        created = await sqs.create_queue(QueueName=name, Attributes=attributes)
    url = str(created["QueueUrl"])
    assert f"/{ACCOUNT_ID}/" in url
    return url


async def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, with its attributes (left in flight)."""
    async with aws_client("sqs") as sqs:
        answer = await sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
    return list(answer.get("Messages", []))
