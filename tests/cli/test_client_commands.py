"""``onewatch events|actions|deliveries`` against a real server: output and exit codes."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onewatch.cli.remote import ExitCode
from onewatch.client import Client
from tests.cli.remote import as_service, run
from tests.support.server_process import ServerProcess, Target, wait_for


def _write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


def _delivery_status(server: ServerProcess, service: str, delivery_id: str) -> str:
    with Client(server.base_url, server.token(service)) as onewatch:
        return onewatch.deliveries.get(delivery_id).status


def test_actions_and_events_from_create_to_delete(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-a")
    action = _write(tmp_path, "action.yaml", f"""
key: hook
type: webhook
webhook: {{endpoint: "{target.url()}", method: POST}}
""")  # fmt: skip
    event = _write(tmp_path, "event.json", json.dumps({
        "key": "nightly", "action": "hook", "title": "Nightly",
        "schedulingPattern": {"pattern": "0 2 * * *", "timezone": "Europe/Lisbon"},
    }))  # fmt: skip

    made = run(tmp_path, "actions", "create", "-f", action, **env)
    assert made.code == 0, made.stderr
    assert target.url() in made.stdout
    taken = run(tmp_path, "actions", "create", "-f", action, **env)
    assert taken.code == ExitCode.CONFLICT
    assert "(HTTP 409 conflict)" in taken.error_line
    assert run(tmp_path, "events", "create", "-f", event, **env).code == 0

    table = run(tmp_path, "events", "list", **env)
    assert table.code == 0
    assert table.stdout.split()[:2] == ["SERVICE/KEY", "STATUS"]
    row = next(line for line in table.stdout.splitlines() if "cli-a/nightly" in line)
    assert row.split()[:2] == ["cli-a/nightly", "active"] and "Europe/Lisbon" in row
    listed = run(tmp_path, "events", "list", "--json", **env).json()
    assert [(e["key"], e["status"]) for e in listed] == [("nightly", "active")]
    detail = run(tmp_path, "events", "get", "cli-a/nightly", "--json", **env).json()
    assert detail["schedulingPattern"]["timezone"] == "Europe/Lisbon"
    assert "Europe/Lisbon" in run(tmp_path, "events", "get", "nightly", **env).stdout
    assert "hook" in run(tmp_path, "actions", "list", **env).stdout
    assert run(tmp_path, "actions", "get", "hook", "--json", **env).json()["key"] == "hook"

    assert run(tmp_path, "events", "pause", "nightly", **env).stdout.strip() == (
        "cli-a/nightly: paused"
    )
    paused = run(tmp_path, "events", "list", "--status", "paused", "--json", **env).json()
    assert [e["key"] for e in paused] == ["nightly"]
    assert "active" in run(tmp_path, "events", "resume", "nightly", **env).stdout

    in_use = run(tmp_path, "actions", "delete", "hook", **env)
    assert in_use.code == ExitCode.CONFLICT, in_use.stderr
    assert run(tmp_path, "events", "delete", "nightly", **env).stdout.strip() == (
        "cli-a/nightly: deleted"
    )
    gone = run(tmp_path, "events", "get", "nightly", **env)
    assert gone.code == ExitCode.NOT_FOUND and "no event cli-a/nightly" in gone.error_line
    assert run(tmp_path, "actions", "delete", "hook", "--json", **env).json() == {
        "deleted": "cli-a/hook"
    }


def test_trigger_and_the_deliveries_it_makes(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-fire")
    with Client(server.base_url, server.token("cli-fire")) as onewatch:
        onewatch.events.create(
            {"key": "nightly", "webhook": {"endpoint": target.url()},
             "schedulingPattern": {"pattern": "0 2 * * *"}}
        )  # fmt: skip
    fired = run(tmp_path, "events", "trigger", "nightly", "--json", **env).json()
    wait_for(
        lambda: _delivery_status(server, "cli-fire", fired["id"]) == "succeeded",
        within=30,
        what="the triggered delivery",
    )
    history = run(tmp_path, "deliveries", "list", "--event", "nightly", **env)
    assert fired["id"] in history.stdout and "succeeded" in history.stdout
    shown = run(tmp_path, "deliveries", "get", fired["id"], **env)
    assert "ATTEMPT" in shown.stdout and "200" in shown.stdout
    not_dead = run(tmp_path, "deliveries", "redrive", fired["id"], **env)
    assert not_dead.code == ExitCode.CONFLICT
    assert "only a dead delivery can be redriven" in not_dead.error_line


def test_a_run_now_after_a_scheduled_fire_lists_first(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-order")
    due = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    with Client(server.base_url, server.token("cli-order")) as onewatch:
        onewatch.events.create(
            {"key": "soon", "webhook": {"endpoint": target.url()},
             "schedulingPattern": {"pattern": due}}
        )  # fmt: skip
        (scheduled,) = wait_for(
            lambda: list(onewatch.deliveries.list(event="soon")),
            within=30,
            what="the scheduled delivery",
        )
        ran_now = run(tmp_path, "events", "trigger", "soon", "--json", **env).json()
        by_api = [delivery.id for delivery in onewatch.deliveries.list(event="soon")]
    by_cli = run(tmp_path, "deliveries", "list", "--event", "soon", "--json", **env).json()
    assert by_api == [ran_now["id"], scheduled.id]
    assert [delivery["id"] for delivery in by_cli] == by_api


def test_a_dead_delivery_is_redriven(tmp_path: Path, server: ServerProcess, target: Target) -> None:
    env = as_service(server, "cli-dead")
    event = _write(tmp_path, "failing.yaml", f"""
key: failing
webhook: {{endpoint: "{target.url(410)}"}}
schedulingPattern: {{pattern: "@yearly"}}
""")  # fmt: skip
    assert run(tmp_path, "events", "create", "-f", event, **env).code == 0
    fired = run(tmp_path, "events", "trigger", "failing", "--json", **env).json()
    wait_for(
        lambda: _delivery_status(server, "cli-dead", fired["id"]) == "dead",
        within=30,
        what="the delivery to die",
    )
    dead = run(tmp_path, "deliveries", "list", "--status", "dead", "--json", **env).json()
    assert [d["id"] for d in dead] == [fired["id"]]
    assert dead[0]["lastStatusCode"] == 410
    again = run(tmp_path, "deliveries", "redrive", fired["id"], "--json", **env)
    assert again.code == 0 and again.json()["status"] in ("pending", "running", "retrying")


def test_failures_are_one_line_with_an_exit_code_per_kind(
    tmp_path: Path, server: ServerProcess
) -> None:
    env = as_service(server, "cli-errors")
    bad = _write(tmp_path, "bad.json", json.dumps({
        "key": "bad", "webhook": {"endpoint": "http://127.0.0.1:9/x"},
        "schedulingPattern": {"pattern": "61 * * * *"},
    }))  # fmt: skip
    refused = run(tmp_path, "events", "create", "-f", bad, **env)
    assert refused.code == ExitCode.INVALID
    assert "schedulingPattern.pattern" in refused.error_line
    assert "(HTTP 422 validation_failed)" in refused.error_line

    broken = _write(tmp_path, "broken.yaml", "key: [unclosed\n")
    unreadable = run(tmp_path, "events", "apply", "-f", broken, **env)
    assert unreadable.code == ExitCode.USAGE and "not YAML or JSON" in unreadable.error_line
    missing = run(tmp_path, "events", "apply", "-f", "nope.yaml", **env)
    assert missing.code == ExitCode.USAGE and "cannot read nope.yaml" in missing.error_line

    no_token = run(tmp_path, "events", "list", ONEWATCH_URL=server.base_url)
    assert no_token.code == ExitCode.USAGE and "ONEWATCH_TOKEN" in no_token.error_line
    wrong = run(tmp_path, "events", "list", "--token", "x.y.z", "--service", "s",
                ONEWATCH_URL=server.base_url)  # fmt: skip
    assert wrong.code == ExitCode.DENIED and "HTTP 401" in wrong.error_line
    # Another service's items are not shown to exist.
    other = run(tmp_path, "events", "get", "someone/else", **env)
    assert other.code == ExitCode.NOT_FOUND, other.stderr
    denied = run(tmp_path, "events", "list", "--service", "someone", **env)
    assert denied.code == ExitCode.DENIED and "HTTP 403" in denied.error_line

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = run(tmp_path, "deliveries", "list", "--url", closed, "--token", env["ONEWATCH_TOKEN"])
    assert down.code == ExitCode.UNAVAILABLE and "could not be reached" in down.error_line
    assert run(tmp_path, "events", "get", "a/b/c", **env).code == ExitCode.USAGE
