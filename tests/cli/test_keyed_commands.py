"""The commands ``actions`` and ``events`` share (built once in ``cli.resource_commands``):
each kind names itself in its answers, takes the server flags after the command name, and
keeps its own list filters."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from onewatch.cli.main import app
from onewatch.cli.remote import ExitCode
from tests.cli.remote import as_service, run
from tests.support.server_process import ServerProcess, Target


def test_each_kind_answers_in_its_own_name(
    tmp_path: Path, server: ServerProcess, target: Target
) -> None:
    env = as_service(server, "cli-kinds")
    (tmp_path / "action.json").write_text(json.dumps({
        "key": "hook", "type": "webhook", "webhook": {"endpoint": target.url()},
    }))  # fmt: skip
    (tmp_path / "events.json").write_text(json.dumps({
        "key": "uses-hook", "action": "hook", "schedulingPattern": {"pattern": "@daily"},
    }))  # fmt: skip
    (tmp_path / "inline.json").write_text(json.dumps({
        "key": "inline", "webhook": {"endpoint": target.url()},
        "schedulingPattern": {"pattern": "@daily"},
    }))  # fmt: skip
    flags = ["--url", server.base_url, "--token", env["ONEWATCH_TOKEN"]]

    made = run(tmp_path, "actions", "create", "-f", "action.json", *flags, "--json")
    assert made.code == 0, made.stderr
    assert (made.json()["service"], made.json()["key"]) == ("cli-kinds", "hook")
    for name in ("events.json", "inline.json"):
        assert run(tmp_path, "events", "create", "-f", name, *flags).code == 0, name

    using = run(tmp_path, "events", "list", "--action", "hook", *flags, "--json").json()
    assert [e["key"] for e in using] == ["uses-hook"]
    first = run(tmp_path, "events", "list", "--limit", "1", *flags, "--json").json()
    assert [e["key"] for e in first] == ["uses-hook"]
    shown = run(tmp_path, "actions", "get", "cli-kinds/hook", *flags)
    assert shown.code == 0 and target.url() in shown.stdout

    no_action = run(tmp_path, "actions", "get", "absent", *flags)
    assert no_action.code == ExitCode.NOT_FOUND
    assert "no action cli-kinds/absent" in no_action.error_line
    no_event = run(tmp_path, "events", "delete", "absent", *flags)
    assert no_event.code == ExitCode.NOT_FOUND
    assert "no event cli-kinds/absent" in no_event.error_line
    (tmp_path / "two.yaml").write_text("key: a\n---\nkey: b\n")
    two = run(tmp_path, "actions", "create", "-f", "two.yaml", *flags)
    assert two.code == ExitCode.USAGE
    assert "create takes one action, the file has 2 documents" in two.error_line


def test_each_kind_help_names_its_own_noun() -> None:
    runner = CliRunner()
    for group, noun in (("actions", "action"), ("events", "event")):
        for command, text in (
            ("get", f"Show one {noun}."),
            ("create", f"Create one {noun} from a YAML or JSON file"),
        ):
            shown = runner.invoke(app, [group, command, "--help"], env={"COLUMNS": "200"})
            assert shown.exit_code == 0 and text in shown.output, (group, command)
