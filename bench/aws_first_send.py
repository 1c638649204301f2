"""How long a node's first Lambda send holds up its event loop.

``python -m bench.aws_first_send``: a moto server in its own process on 127.0.0.1, then
for each way, a fresh interpreter that sends one SQS message through
``delivery.aws_targets.AwsTargets`` while a ticker on the same loop wakes every 5 ms,
and prints the longest gap between two ticks (the delay every delivery due meanwhile
would get). ``thread``: as shipped (aiobotocore imported and the model loaded in a
thread); ``loop``: the same steps on the loop (``_loaded_session`` called directly), as
a first version did.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

CHILD = r"""
import asyncio, json, sys, time
from onewatch.delivery.aws_policy import AwsTargetPolicy
from onewatch.delivery.aws_request import AwsCall
from onewatch.delivery import aws_targets
from onewatch.settings import Settings

async def main(way, queue_url):
    gaps = []
    done = asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    aws = aws_targets.AwsTargets(Settings(), AwsTargetPolicy())
    if way == "loop":
        aws._session = aws_targets._loaded_session(None, "sqs")
        aws._loaded.add("sqs")
    started = time.perf_counter()
    answer = await aws.send(AwsCall("sqs", queue_url, b"{}", {"webhook-id": "msg_1"}))
    elapsed = time.perf_counter() - started
    done.set()
    await tick
    await aws.close()
    assert answer.status_code == 200, answer
    print(json.dumps({"way": way, "max_gap_ms": round(max(gaps) * 1000, 1),
                      "first_send_ms": round(elapsed * 1000, 1)}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("moto did not start")


def _queue(endpoint: str) -> str:
    body = "Action=CreateQueue&QueueName=bench-first-send&Version=2012-11-05"
    request = urllib.request.Request(endpoint, data=body.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header(
        "Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request"
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    return f"{endpoint}/123456789012/bench-first-send"


def main() -> None:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(endpoint)
        queue_url = _queue(endpoint)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
        for way in ("loop", "thread", "loop", "thread"):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, way, queue_url],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            print(json.loads(done.stdout.splitlines()[-1]))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
