"""Running a client command of the ``onewatch`` CLI as a user does: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.server_process import ServerProcess, clean_env

DEADLINE = 30.0


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_line(self) -> str:
        """The one line a failure prints (and the proof that it is only one, no traceback)."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.stderr
        return lines[0]


def run(cwd: Path, *args: str, stdin: str | None = None, **env: str) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "onewatch", *args],
        cwd=cwd,
        env=clean_env(**env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def as_service(server: ServerProcess, service: str, *, admin: bool = False) -> dict[str, str]:
    """The environment a user of ``service`` exports."""
    return {"ONEWATCH_URL": server.base_url, "ONEWATCH_TOKEN": server.token(service, admin=admin)}
