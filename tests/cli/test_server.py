"""``onewatch serve|migrate|token create|import``, run as a user runs them: in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from onewatch import __version__
from onewatch.application.event_ops import EventContext
from onewatch.clock import SystemClock
from onewatch.importer import import_documents, read_dump
from onewatch.security.tokens import SECRET_FILE_NAME, load_or_create_secret
from onewatch.store import open_store
from tests.engine.support import add_delivery, add_event, utcnow
from tests.support.databases import migrated_store
from tests.support.server_process import running_target
from tests.support.store import snapshot
from tests.support.waiting import wait_for

SRC = Path(__file__).resolve().parents[2] / "src"
SEED = Path(__file__).resolve().parents[1] / "api" / "seed"
DEADLINE = 30.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWATCH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"
    return env


def onewatch(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onewatch", *args],
        cwd=cwd,
        env={**_env(), **env},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )


def _seed_dump(path: Path) -> Path:
    lines = [json.dumps(json.loads((SEED / name).read_text())) for name in sorted(os.listdir(SEED))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_token_create_signs_with_the_data_folder_secret(tmp_path: Path) -> None:
    secret, _created = load_or_create_secret(tmp_path / "d")  # as the server's first start
    made = onewatch("token", "create", "--service", "alpha", "--data-dir", "d", cwd=tmp_path)
    admin = onewatch(
        "token",
        "create",
        "--service",
        "ops",
        "--admin",
        "--ttl",
        "2h",
        "--data-dir",
        "d",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    secret_file = (tmp_path / "d" / SECRET_FILE_NAME).resolve()
    assert made.stderr == f"signed with the secret from {secret_file}\n"
    claims = jwt.decode(made.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == "alpha"
    assert claims["exp"] - claims["iat"] == 30 * 86400
    admin_claims = jwt.decode(admin.stdout.strip(), secret, algorithms=["HS256"])
    assert admin_claims["scope"] == "admin"
    assert admin_claims["exp"] - admin_claims["iat"] == 7200


def test_token_create_in_a_folder_without_a_secret_makes_none(tmp_path: Path) -> None:
    """Run away from the server's folder, it used to make a secret no server reads."""
    load_or_create_secret(tmp_path / "server" / "d")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = onewatch("token", "create", "--service", "alpha", cwd=elsewhere)
    assert made.returncode == 1
    assert made.stdout == ""
    looked_at = (elsewhere / "onewatch-data" / SECRET_FILE_NAME).resolve()
    (line,) = made.stderr.strip().splitlines()
    assert line.startswith(f"error: no token signing secret at {looked_at} ")
    assert "--data-dir" in line and "ONEWATCH_JWT_SECRET" in line
    assert list(elsewhere.iterdir()) == []


def test_token_create_says_a_configured_secret_signed(tmp_path: Path) -> None:
    secret = "token-create-test-secret-long-enough-0123456789"
    made = onewatch(
        "token", "create", "--service", "alpha", cwd=tmp_path, ONEWATCH_JWT_SECRET=secret
    )
    assert made.returncode == 0, made.stderr
    assert made.stderr == "signed with the secret from ONEWATCH_JWT_SECRET\n"
    assert jwt.decode(made.stdout.strip(), secret, algorithms=["HS256"])["sub"] == "alpha"
    assert list(tmp_path.iterdir()) == []


def test_version_is_printed_and_exits_0(tmp_path: Path) -> None:
    shown = onewatch("--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"onewatch {__version__}\n", "")


def test_user_errors_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    cases = [
        ("token", "create", "--service", "a", "--ttl", "soon", "--data-dir", "d"),
        ("token", "create", "--service", "a/b", "--data-dir", "d"),
        ("migrate", "--database-url", "mysql://db/x"),
        ("import", "missing.json", "--data-dir", "d"),
    ]
    for args in cases:
        result = onewatch(*args, cwd=tmp_path)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_migrate_brings_the_schema_to_head(tmp_path: Path) -> None:
    result = onewatch("migrate", "--data-dir", "d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    async def current() -> bool:
        store = open_store(f"sqlite:///{tmp_path / 'd' / 'onewatch.db'}")
        try:
            return await store.is_current()
        finally:
            await store.dispose()

    assert asyncio.run(current())


def test_import_reports_each_document(tmp_path: Path) -> None:
    dump = _seed_dump(tmp_path / "dump.jsonl")
    first = onewatch("import", str(dump), "--data-dir", "d", cwd=tmp_path)

    # The seed event's action ("capybara") is not in its service: reported, the rest load.
    assert first.returncode == 1
    assert "#1 action xulamps/some-unique-key: created" in first.stdout
    assert "#2 action capybara/some-unique-key: created" in first.stdout
    assert re.search(r"#3 event xulamps/unique-event-key: failed: action: no action", first.stdout)
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in first.stdout
    assert "1 of 3 document(s) were not imported" in first.stderr


async def test_import_again_from_an_array_changes_nothing(tmp_path: Path) -> None:
    lines = _seed_dump(tmp_path / "dump.jsonl")
    as_array = tmp_path / "dump.json"
    as_array.write_text(json.dumps([json.loads(line) for line in lines.read_text().splitlines()]))
    assert read_dump(as_array) == read_dump(lines)
    async with migrated_store("sqlite", tmp_path) as store:
        context = EventContext(store, SystemClock())
        first = await import_documents(context, read_dump(lines))
        before = await snapshot(store.engine)
        again = await import_documents(context, read_dump(as_array))
        assert await snapshot(store.engine) == before
    assert [r.outcome for r in first] == ["created", "created", "failed"]
    assert [r.outcome for r in again] == ["unchanged", "unchanged", "failed"]
    assert [r.number for r in again] == [1, 2, 3]


async def test_import_writes_a_calendar_before_the_event_that_follows_it(tmp_path: Path) -> None:
    event = {
        "service": "payroll",
        "key": "pay",
        "webhook": {"endpoint": "http://127.0.0.1:9/pay"},
        "schedulingPattern": {"pattern": "0 9 * * *", "calendar": "br", "businessDay": 5},
    }
    calendar = {"service": "payroll", "key": "br", "holidays": {"country": "BR"}}
    async with migrated_store("sqlite", tmp_path) as store:
        context = EventContext(store, SystemClock())
        first = await import_documents(context, [event, calendar])
        before = await snapshot(store.engine)
        again = await import_documents(context, [event, calendar])
        assert await snapshot(store.engine) == before
    assert [(r.number, r.kind, r.outcome) for r in first] == [
        (2, "calendar", "created"),
        (1, "event", "created"),
    ]
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]


async def test_import_refuses_framing_headers_and_dot_url_values(tmp_path: Path) -> None:
    action = json.loads((SEED / "action-webhook.json").read_text())
    action["webhook"]["headers"] = {"Host": "internal.example"}
    event = json.loads((SEED / "event-webhook-params.json").read_text())
    event["service"] = action["service"]
    event["action"] = action["key"]
    event["params"]["header"]["X-Split"] = "a\r\nInjected: 1"
    event["params"]["url"]["id"] = ".."
    async with migrated_store("sqlite", tmp_path) as store:
        before = await snapshot(store.engine)
        results = await import_documents(EventContext(store, SystemClock()), [action, event])
        assert await snapshot(store.engine) == before
    assert [r.outcome for r in results] == ["failed", "failed"]
    assert results[0].reason.startswith("webhook.headers.Host: Host is a framing")
    assert "params.header.X-Split: a header value must not contain" in results[1].reason
    assert "params.url.id: must not be or contain a '.' or '..'" in results[1].reason


async def _read_until(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    async with asyncio.timeout(DEADLINE):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"output ended before {pattern!r}: {''.join(seen)}")
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match


async def test_serve_first_start_prints_how_to_mint_and_answers(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "onewatch", "serve", "--port", "0", "--data-dir", "d",
        cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await _read_until(process.stdout, r"onewatch token create", seen)
        match = await _read_until(process.stdout, r"running on http://127\.0\.0\.1:(\d+)", seen)
        base = f"http://127.0.0.1:{match.group(1)}"
        token = onewatch("token", "create", "--service", "alpha", "--data-dir", "d", cwd=tmp_path)
        auth = {"Authorization": f"Bearer {token.stdout.strip()}"}
        async with httpx.AsyncClient(base_url=base, timeout=DEADLINE) as http:
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            assert (await http.get("/v1/events", headers=auth)).status_code == 200
            assert (await http.get("/v1/events")).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(DEADLINE):
            rest = (await process.stdout.read()).decode()
            code = await process.wait()
    assert "Application shutdown complete" in rest, "".join(seen) + rest
    assert code == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_exits_0_after_a_clean_stop(tmp_path: Path, signum: signal.Signals) -> None:
    """uvicorn re-raises the stop signal after its shutdown; a supervisor saw a crash."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "onewatch", "serve", "--port", "0", "--data-dir", "d",
        cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    await _read_until(process.stdout, r"running on http://127\.0\.0\.1:\d+", seen)
    process.send_signal(signum)
    async with asyncio.timeout(DEADLINE):
        rest = (await process.stdout.read()).decode()
        code = await process.wait()
    assert "Application shutdown complete" in rest, "".join(seen) + rest
    assert "Traceback" not in rest, rest
    assert code == 0, "".join(seen) + rest


async def _store_with_due_work(folder: Path, endpoint: str) -> dict[str, list[dict[str, object]]]:
    """A migrated SQLite store with an event due now and a pending delivery due now."""
    store = open_store(f"sqlite:///{folder / 'onewatch.db'}")
    engine = store.engine
    try:
        await store.migrate()
        target = {"endpoint": endpoint}
        due = utcnow() - timedelta(seconds=5)
        await add_event(engine, key="due", pattern=due.isoformat(), target_type="webhook",
                        target=target)  # fmt: skip
        other = await add_event(engine, key="queued", pattern="@yearly", target_type="webhook",
                                target=target)  # fmt: skip
        await add_delivery(engine, ident="msg_queued", event_id=other, event_key="queued", due=due)
        return await snapshot(engine)
    finally:
        await store.dispose()


async def test_serve_on_a_taken_port_fails_before_any_role_starts(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    with running_target() as target, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = await _store_with_due_work(data, target.url())
        result = await asyncio.to_thread(
            onewatch, "serve", "--port", str(port), "--data-dir", "d", cwd=tmp_path
        )
        store = open_store(f"sqlite:///{data / 'onewatch.db'}")
        try:
            after = await snapshot(store.engine)
        finally:
            await store.dispose()
        assert target.received == []
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; nothing was "
        "started (free the port or choose another with --port)"
    )
    # Not fired (no new delivery, the event not advanced), the pending one not claimed.
    assert after == before


async def test_serve_without_the_api_role_runs_until_sigterm(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "onewatch", "serve", "--roles", "scheduler", "--data-dir", "d",
        cwd=tmp_path, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    await _read_until(process.stdout, r"onewatch token create", seen)
    database = tmp_path / "d" / "onewatch.db"
    # Migrated on start, then waiting for a signal.
    await wait_for(database.exists, seconds=DEADLINE, what="the database file")
    assert process.returncode is None
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(DEADLINE):
        assert await process.wait() == 0
