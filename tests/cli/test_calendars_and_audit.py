"""``onewatch calendars ...``, ``onewatch audit list`` and calendars in ``apply`` files,
against a real server: output, exit codes, and a second apply that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from onewatch.cli.remote import ExitCode
from onewatch.client import Client
from tests.cli.remote import as_service, run
from tests.support.server_process import ServerProcess, Target

SCHEDULES = """\
calendars:
  - key: brazil
    holidays: {{country: BR}}
    exclude: [2031-01-02]
events:
  - key: payroll
    webhook: {{endpoint: "{target}"}}
    schedulingPattern:
      pattern: "0 9 * * *"
      timezone: America/Sao_Paulo
      calendar: brazil
      businessDay: 5
"""


def _audit_ids(server: ServerProcess, service: str) -> list[str]:
    with Client(server.base_url, server.token(service)) as onewatch:
        return [entry.id for entry in onewatch.audit.list()]


def test_calendars_from_create_to_delete(tmp_path: Path, server: ServerProcess) -> None:
    env = as_service(server, "cli-cal")
    (tmp_path / "cal.yaml").write_text("key: br\nholidays: {country: BR, subdivision: SP}\n")

    made = run(tmp_path, "calendars", "create", "-f", "cal.yaml", **env)
    assert made.code == 0, made.stderr
    assert "BR-SP" in made.stdout
    taken = run(tmp_path, "calendars", "create", "-f", "cal.yaml", **env)
    assert taken.code == ExitCode.CONFLICT and "(HTTP 409 conflict)" in taken.error_line

    table = run(tmp_path, "calendars", "list", **env)
    assert table.code == 0
    assert table.stdout.split()[:3] == ["SERVICE/KEY", "HOLIDAYS", "WEEKEND"]
    row = next(line for line in table.stdout.splitlines() if "cli-cal/br" in line)
    assert row.split()[:3] == ["cli-cal/br", "BR-SP", "SAT,SUN"]
    listed = run(tmp_path, "calendars", "list", "--json", **env).json()
    assert [(c["key"], c["holidays"]["country"]) for c in listed] == [("br", "BR")]

    (tmp_path / "cal.yaml").write_text("key: br\nweekend: [fri, sat]\nexclude: [2031-01-02]\n")
    applied = run(tmp_path, "calendars", "apply", "-f", "cal.yaml", **env)
    assert applied.code == 0, applied.stderr
    assert applied.stdout.splitlines()[0].startswith("calendar cli-cal/br: updated (")
    detail = run(tmp_path, "calendars", "get", "cli-cal/br", "--json", **env).json()
    assert (detail["weekend"], detail["exclude"], detail["holidays"]) == (
        ["FRI", "SAT"],
        ["2031-01-02"],
        None,
    )
    assert "2031-01-02" in run(tmp_path, "calendars", "get", "br", **env).stdout

    assert run(tmp_path, "calendars", "delete", "br", **env).stdout.strip() == (
        "cli-cal/br: deleted"
    )
    gone = run(tmp_path, "calendars", "get", "br", **env)
    assert gone.code == ExitCode.NOT_FOUND and "no calendar cli-cal/br" in gone.error_line


def test_apply_writes_the_calendar_before_the_event_and_twice_changes_nothing(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-payroll")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES.format(target=target.url()))

    first = run(tmp_path, "events", "apply", "-f", "schedules.yaml", **env)
    assert first.code == 0, first.stderr
    assert first.stdout.splitlines() == [
        "calendar cli-payroll/brazil: created",
        "event cli-payroll/payroll: created",
        "2 created, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    ]
    audited = _audit_ids(server, "cli-payroll")
    assert len(audited) == 2

    second = run(tmp_path, "events", "apply", "-f", "schedules.yaml", "--json", **env)
    assert second.code == 0, second.stderr
    assert [(r["kind"], r["key"], r["outcome"]) for r in second.json()] == [
        ("calendar", "brazil", "unchanged"),
        ("event", "payroll", "unchanged"),
    ]
    assert _audit_ids(server, "cli-payroll") == audited  # nothing changed, nothing audited

    # The calendar is in use: --prune with a file without it deletes the event first.
    (tmp_path / "empty.yaml").write_text("calendars: []\n")
    pruned = run(tmp_path, "events", "apply", "-f", "empty.yaml", "--prune", **env)
    assert pruned.code == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [
        "event cli-payroll/payroll: deleted",
        "calendar cli-payroll/brazil: deleted",
        "0 created, 0 updated, 0 unchanged, 2 deleted, 0 failed",
    ]


def test_a_bad_calendar_names_its_field_without_a_traceback(
    tmp_path: Path, server: ServerProcess
) -> None:
    env = as_service(server, "cli-badcal")
    (tmp_path / "bad.yaml").write_text("key: odd\nweekend: [FUNDAY]\n")
    created = run(tmp_path, "calendars", "create", "-f", "bad.yaml", **env)
    assert created.code == ExitCode.INVALID
    assert created.error_line.startswith("error: weekend.0: ")
    assert "(HTTP 422 validation_failed)" in created.error_line

    (tmp_path / "file.json").write_text(json.dumps([{"key": "zz", "holidays": {"country": "ZZ"}}]))
    applied = run(tmp_path, "events", "apply", "-f", "file.json", **env)
    assert applied.code == ExitCode.INVALID
    assert applied.stdout.splitlines()[0].startswith(
        "calendar cli-badcal/zz: failed: holidays.country: 'ZZ' is not a supported country"
    )
    assert "Traceback" not in applied.stdout + applied.stderr + created.stderr


def test_audit_list_prints_who_changed_what(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-audit")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES.format(target=target.url()))
    assert run(tmp_path, "events", "apply", "-f", "schedules.yaml", **env).code == 0
    assert run(tmp_path, "events", "pause", "payroll", **env).code == 0
    other = as_service(server, "cli-audit-other")
    (tmp_path / "other.yaml").write_text("key: elsewhere\nweekend: [SUN]\n")
    assert run(tmp_path, "calendars", "create", "-f", "other.yaml", **other).code == 0

    table = run(tmp_path, "audit", "list", **env)
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["WHEN", "(UTC)", "SUBJECT", "VIA", "ACTION", "KIND", "SERVICE/KEY"]
    rows = [line.split()[2:] for line in lines[1:]]  # after the date and the time
    assert rows == [
        ["cli-audit", "api", "pause", "event", "cli-audit/payroll"],
        ["cli-audit", "api", "create", "event", "cli-audit/payroll"],
        ["cli-audit", "api", "create", "calendar", "cli-audit/brazil"],
    ]

    calendars = run(tmp_path, "audit", "list", "--kind", "calendar", "--json", **env).json()
    assert [(e["resourceType"], e["key"], e["action"]) for e in calendars] == [
        ("calendar", "brazil", "create")
    ]
    assert calendars[0]["after"]["exclude"] == ["2031-01-02"]
    newest = run(tmp_path, "audit", "list", "--limit", "1", "--key", "payroll", "--json", **env)
    assert [e["action"] for e in newest.json()] == ["pause"]
    assert run(tmp_path, "audit", "list", "--since", "2999-01-01", **env).stdout.strip() == (
        "(none)"
    )

    denied = run(tmp_path, "audit", "list", "--service", "cli-audit-other", **env)
    assert denied.code == ExitCode.DENIED and "(HTTP 403" in denied.error_line
    bad_since = run(tmp_path, "audit", "list", "--since", "yesterday", **env)
    assert bad_since.code == ExitCode.USAGE
    assert bad_since.error_line.startswith("error: --since: 'yesterday' is not an ISO-8601")
