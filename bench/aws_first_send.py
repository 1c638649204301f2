"""How long a node's first Lambda send holds up its event loop.

``python -m bench.aws_first_send``: a moto server in its own process on 127.0.0.1
(``bench.moto_server``), then for each way, a fresh interpreter that sends one SQS
message through ``delivery.aws_targets.AwsTargets`` while a ticker on the same loop
wakes every 5 ms, and prints the longest gap between two ticks (the delay every
delivery due meanwhile would get). ``thread``: as shipped (aiobotocore imported and the
model loaded in a thread); ``loop``: the same steps on the loop (``_loaded_session``
called directly), as a first version did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.moto_server import AWS_ENV_TO_UNSET, MotoServer, aws_env, create_sqs_queue

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


def main() -> None:
    server = MotoServer()
    server.start()
    try:
        queue_url = create_sqs_queue(server.endpoint_url, "bench-first-send")
        with tempfile.TemporaryDirectory() as no_config:
            env = {
                name: value for name, value in os.environ.items() if name not in AWS_ENV_TO_UNSET
            }
            env |= aws_env(server.endpoint_url, Path(no_config))
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
        server.stop()


if __name__ == "__main__":
    main()
