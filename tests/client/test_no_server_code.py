"""The Python client runs without the server: importing it loads none of the server's code.

A service that only calls Onewatch installs the client; the document models it shares with
the server are the pure ``onewatch.domain.documents``. A fresh interpreter shows what the
import really loads (this test process has the server loaded already).
"""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_PACKAGES = (
    "onewatch.api",
    "onewatch.application",
    "onewatch.store",
    "onewatch.engine",
    "onewatch.queue",
    "onewatch.ui",
)
SERVER_LIBRARIES = ("fastapi", "starlette", "sqlalchemy")

IMPORT_CLIENT = """
import json, sys
import onewatch.client
import onewatch.client.reconcile
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_client_loads_no_server_code() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_CLIENT],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(done.stdout)
    assert "onewatch.client.models" in loaded
    server = [
        name
        for name in loaded
        if any(name == package or name.startswith(f"{package}.") for package in SERVER_PACKAGES)
    ]
    libraries = [name for name in loaded if name.split(".")[0] in SERVER_LIBRARIES]
    assert server == []
    assert libraries == []
