"""moto in server mode on 127.0.0.1, for the AWS parts (SQS, Lambda) of the tests and
the benchmarks' SQS-mode runs (one helper for both).

The real aiobotocore client reaches it over HTTP (``AWS_ENDPOINT_URL``), with dummy
credentials (``aws_env``). The server is moto's ``ThreadedMotoServer`` run in a child process (this
file, run as a script): it holds its state, so ``stop`` (SIGKILL) loses everything and a
``start`` after it is a server restarted empty, on the same port; and it has a core of
its own rather than sharing the GIL with the nodes under test. ``reset`` forgets the
state of a running server (``POST /moto-api/reset``); ``create_sqs_queue`` makes a queue
on it without an AWS client.

moto is a local emulator: what a run against it measures is moto, not Amazon SQS.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

#: The dummy account moto files everything under.
ACCOUNT_ID = "123456789012"
#: moto's default region; every client of the helper is pointed at it.
REGION = "us-east-1"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


class MotoServer:
    """One moto server process on a free port of ``host``, started and killed here."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, deadline_seconds: float = 30.0) -> None:
        command = [sys.executable, __file__, self.host, str(self.port)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + deadline_seconds
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"the moto server exited at start (port {self.port} taken?)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the moto server on port {self.port} did not start")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint_url + "/moto-api/data.json", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGKILL: the server vanishes mid-conversation and forgets everything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def reset(self) -> None:
        """Forget every queue, message and function (``POST /moto-api/reset``)."""
        self._post("/moto-api/reset", {})

    def configure(self, settings: dict[str, object]) -> None:
        """``POST /moto-api/config`` (e.g. ``{"lambda": {"use_docker": False}}``)."""
        self._post("/moto-api/config", settings)

    def _post(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def aws_env(endpoint_url: str, no_config_dir: Path) -> dict[str, str]:
    """The environment pointing every AWS client at ``endpoint_url`` with dummy
    credentials; the machine's own AWS files are replaced by absent ones under
    ``no_config_dir``, so none of its set-up (a profile, real keys) can reach a run.
    (Unset ``AWS_PROFILE`` and ``AWS_ENDPOINT_URL_SQS`` / ``_LAMBDA`` as well.)"""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": str(no_config_dir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(no_config_dir / "no-aws-credentials"),
    }


#: The variables ``aws_env`` leaves out and a run must not inherit.
AWS_ENV_TO_UNSET = ("AWS_PROFILE", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_LAMBDA")


def create_sqs_queue(endpoint_url: str, name: str) -> str:
    """``CreateQueue`` on the moto server (its query protocol, no AWS client needed);
    the queue's URL. Idempotent, as SQS's own call is for the same attributes."""
    body = urllib.parse.urlencode(
        {"Action": "CreateQueue", "QueueName": name, "Version": "2012-11-05"}
    )
    request = urllib.request.Request(endpoint_url, data=body.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    # moto reads the region (and nothing else) from the signature's credential scope.
    scope = f"testing/20260101/{REGION}/sqs/aws4_request"
    request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential={scope}")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return f"{endpoint_url}/{ACCOUNT_ID}/{name}"


def _serve(host: str, port: int) -> None:
    """The child process: moto's threaded server until killed."""
    import threading

    import moto.sqs.models
    from moto.server import ThreadedMotoServer
    from moto.sqs.models import Message, SQSBackend

    moto_millis = moto.sqs.models.unix_time_millis

    def unix_time_millis(dt: datetime | None = None) -> float:
        # moto's SQS reads its clock for every message of a queue on each message sent
        # (a scan per send): read the cheap way, a burst of thousands takes seconds.
        return time.time() * 1000.0 if dt is None else moto_millis(dt)

    moto.sqs.models.unix_time_millis = unix_time_millis  # type: ignore[assignment]
    queue_class = moto.sqs.models.Queue
    moto_delete = queue_class.delete_message

    def delete_message(queue: moto.sqs.models.Queue, receipt_handle: str) -> None:
        # moto rebuilds a queue's message list on delete without the lock its sends
        # take: under concurrent calls a send or another delete was undone at times.
        with queue._messages_lock:
            moto_delete(queue, receipt_handle)

    queue_class.delete_message = delete_message  # type: ignore[method-assign]

    def within_retention(backend: SQSBackend, queue_name: str, message: Message) -> bool:
        # moto computes every attribute of the queue (three scans of its messages) for
        # each message received, to read this one.
        queue = backend.get_queue(queue_name)
        retention = int(queue.message_retention_period)  # type: ignore[attr-defined]
        return bool(retention + message.sent_timestamp / 1000 > time.time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign]
    ThreadedMotoServer(ip_address=host, port=port, verbose=False).start()
    threading.Event().wait()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
