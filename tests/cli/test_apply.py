"""``onewatch events apply -f``: the server ends up matching the file; twice changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from onewatch.cli.remote import ExitCode
from onewatch.client import Client
from tests.cli.remote import as_service, run
from tests.support.server_process import ServerProcess, Target, running_server

#: The original system's exported documents, byte for byte.
SEED = Path(__file__).resolve().parents[1] / "api" / "seed"

SCHEDULES = """\
# Schedules as code: what billing wants fired.
actions:
  - key: notify
    type: webhook
    webhook:
      endpoint: "{target}/status/200?invoice=<id>"
      method: POST
    retryPolicy: {{maxAttempts: 3}}
events:
  - key: monthly-invoice
    action: notify
    params: {{url: {{id: "42"}}, body: {{kind: monthly}}}}
    schedulingPattern:
      pattern: "0 1 15 * *"
      timezone: America/Sao_Paulo
      startAt: 2030-01-01T00:00:00Z   # YAML would make this a date object; it stays text
  - key: nightly-cleanup
    action: notify
    params: {{url: {{id: "0"}}}}
    schedulingPattern: {{pattern: "30 2 * * *", timezone: Europe/Berlin}}
"""


def _state(server: ServerProcess, service: str) -> list[dict[str, object]]:
    with Client(server.base_url, server.token(service)) as onewatch:
        items = [*onewatch.actions.list(), *onewatch.events.list()]
    return [item.model_dump(mode="json") for item in items]


def test_apply_twice_changes_nothing_the_second_time(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "billing")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES.format(target=target.base_url))

    first = run(tmp_path, "events", "apply", "-f", "schedules.yaml", **env)
    assert first.code == 0, first.stderr
    assert first.stdout.splitlines() == [
        "action billing/notify: created",
        "event billing/monthly-invoice: created",
        "event billing/nightly-cleanup: created",
        "3 created, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    ]
    stored = _state(server, "billing")
    assert stored[1]["scheduling_pattern"]["start_at"] == "2030-01-01T00:00:00Z"  # type: ignore[index]

    second = run(tmp_path, "events", "apply", "-f", "schedules.yaml", "--json", **env)
    assert second.code == 0, second.stderr
    assert {(r["key"], r["outcome"]) for r in second.json()} == {
        ("notify", "unchanged"),
        ("monthly-invoice", "unchanged"),
        ("nightly-cleanup", "unchanged"),
    }
    assert _state(server, "billing") == stored  # not even updatedAt moved


def test_apply_reports_the_fields_it_changed_and_prunes(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "shop")
    file = tmp_path / "schedules.yaml"
    file.write_text(SCHEDULES.format(target=target.base_url))
    assert run(tmp_path, "actions", "apply", "-f", str(file), **env).code == 0
    assert run(tmp_path, "events", "pause", "nightly-cleanup", **env).code == 0

    changed = SCHEDULES.replace('"0 1 15 * *"', '"0 1 16 * *"').split("  - key: nightly")[0]
    file.write_text(changed.format(target=target.base_url))
    kept = run(tmp_path, "events", "apply", "-f", str(file), **env)
    assert kept.stdout.splitlines()[:2] == [
        "action shop/notify: unchanged",
        "event shop/monthly-invoice: updated (schedulingPattern.pattern)",
    ]
    # Without --prune nothing else is touched (a paused event stays paused).
    with Client(server.base_url, server.token("shop")) as onewatch:
        assert onewatch.events.get("nightly-cleanup").status == "paused"
    pruned = run(tmp_path, "events", "apply", "-f", str(file), "--prune", **env)
    assert pruned.code == 0, pruned.stderr
    assert "event shop/nightly-cleanup: deleted" in pruned.stdout.splitlines()
    assert "0 created, 0 updated, 2 unchanged, 1 deleted, 0 failed" in pruned.stdout


def test_the_original_systems_documents_apply_as_they_are(
    tmp_path: Path, server: ServerProcess
) -> None:
    env = as_service(server, "ops", admin=True)
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        "".join(json.dumps(json.loads(p.read_text())) + "\n" for p in sorted(SEED.iterdir()))
    )
    first = run(tmp_path, "events", "apply", "-f", str(dump), **env)
    # The seed event names an action of another service: refused with the server's reason.
    assert first.code == ExitCode.INVALID
    assert first.stdout.splitlines() == [
        "action xulamps/some-unique-key: created",
        "action capybara/some-unique-key: created",
        "event xulamps/unique-event-key: failed: action: no action 'capybara' in service "
        "'xulamps' (HTTP 422 validation_failed)",
        "2 created, 0 updated, 0 unchanged, 0 deleted, 1 failed",
    ]
    event = json.loads((SEED / "event-webhook-params.json").read_text())
    fixed = tmp_path / "event.json"
    fixed.write_text(json.dumps({**event, "action": "some-unique-key"}, indent=2))
    for outcome in ("created", "unchanged"):
        again = run(tmp_path, "events", "apply", "-f", str(fixed), **env)
        assert again.stdout.splitlines()[0] == f"event xulamps/unique-event-key: {outcome}"


def test_a_document_that_is_neither_is_reported(tmp_path: Path, server: ServerProcess) -> None:
    env = as_service(server, "odd")
    (tmp_path / "odd.json").write_text(json.dumps([{"key": "x"}, {"type": "webhook"}]))
    result = run(tmp_path, "events", "apply", "-f", "odd.json", **env)
    assert result.code == ExitCode.USAGE
    assert result.stdout.splitlines() == [
        "document odd/x: failed: document #1 is neither an action (type), an event "
        "(schedulingPattern) nor a calendar (holidays, exclude, include or weekend)",
        "action odd/?: failed: key: no key",
        "0 created, 0 updated, 0 unchanged, 0 deleted, 2 failed",
    ]


def test_apply_reads_standard_input_and_lists_are_capped(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "piped")
    documents = [
        {"key": f"e{n}", "webhook": {"endpoint": target.url()},
         "schedulingPattern": {"pattern": "@daily"}}
        for n in range(3)
    ]  # fmt: skip
    applied = run(tmp_path, "events", "apply", "-f", "-", stdin=json.dumps(documents), **env)
    assert applied.code == 0, applied.stderr
    assert applied.stdout.splitlines()[-1].startswith("3 created")
    capped = run(tmp_path, "events", "list", "--limit", "2", "--json", **env).json()
    assert [event["key"] for event in capped] == ["e0", "e1"]
    empty = run(tmp_path, "actions", "list", **env)
    assert empty.code == 0 and empty.stdout.strip() == "(none)"


def test_apply_waits_out_the_rate_quota_and_creates_every_event(
    tmp_path: Path, target: Target
) -> None:
    """300 events against 3 requests a second: the batch and the re-run both wait (429)."""
    documents = [
        {"key": f"e{n:03d}", "webhook": {"endpoint": target.url()},
         "schedulingPattern": {"pattern": "@daily"}}
        for n in range(300)
    ]  # fmt: skip
    (tmp_path / "many.json").write_text(json.dumps(documents))
    limits = {"ONEWATCH_QUOTA_REQUESTS_PER_SECOND": "3", "ONEWATCH_QUOTA_REQUEST_BURST": "5"}
    with running_server(tmp_path / "node", **limits) as limited:
        env = as_service(limited, "bulk")
        first = run(tmp_path, "events", "apply", "-f", "many.json", **env)
        assert first.code == 0, first.stderr
        summary = first.stdout.splitlines()[-1]
        assert summary == "300 created, 0 updated, 0 unchanged, 0 deleted, 0 failed"
        # The batch left the service's bucket in debt: a request now is refused...
        headers = {"Authorization": f"Bearer {env['ONEWATCH_TOKEN']}"}
        refused = httpx.get(f"{limited.base_url}/v1/events", headers=headers, timeout=10)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # ...and apply waits it out.
        second = run(tmp_path, "events", "apply", "-f", "many.json", **env)
        assert second.code == 0, second.stderr
        summary = second.stdout.splitlines()[-1]
        assert summary == "0 created, 0 updated, 300 unchanged, 0 deleted, 0 failed"
        with Client(limited.base_url, env["ONEWATCH_TOKEN"]) as onewatch:
            assert sorted(e.key for e in onewatch.events.list(page_size=500)) == [
                document["key"] for document in documents
            ]
