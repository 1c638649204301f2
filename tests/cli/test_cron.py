"""``onewatch cron``: the fire list, --json, and one clear line (exit 2) for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onewatch.cli.main import app

SRC = Path(__file__).resolve().parents[2] / "src"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["cron", *args])
    return result.exit_code, result.stdout, result.stderr


def test_lists_fires_in_zone_and_utc() -> None:
    code, out, err = run(
        "30 9 * * MON-FRI",
        "--tz",
        "America/Sao Paulo",
        "--after",
        "2024-01-05T00:00:00Z",
        "--count",
        "2",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "30 9 * * MON-FRI: At 09:30, Monday through Friday"
    assert lines[1] == "time zone: America/Sao_Paulo"
    assert lines[2].split() == ["2024-01-05T09:30:00-03:00", "2024-01-05T12:30:00+00:00"]
    assert lines[3].split() == ["2024-01-08T09:30:00-03:00", "2024-01-08T12:30:00+00:00"]


def test_json_output() -> None:
    code, out, _ = run(
        "0 2 * * *",
        "--tz",
        "America/New_York",
        "--after",
        "2024-03-09T12:00:00-05:00",
        "--count",
        "2",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["timezone"] == "America/New_York"
    assert report["description"] == "At 02:00"
    assert report["after"] == "2024-03-09T17:00:00+00:00"
    assert report["fires"] == [
        {"local": "2024-03-10T03:00:00-04:00", "utc": "2024-03-10T07:00:00+00:00"},
        {"local": "2024-03-11T02:00:00-04:00", "utc": "2024-03-11T06:00:00+00:00"},
    ]


def test_zone_prefix_sets_the_zone_and_naive_after_is_local() -> None:
    code, out, _ = run(
        "CRON_TZ=Asia/Tokyo 0 9 * * *", "--after", "2024-03-01T08:00", "--count", "1", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["timezone"] == "Asia/Tokyo"
    assert report["fires"][0]["utc"] == "2024-03-01T00:00:00+00:00"


def test_a_step_wider_than_its_field_lists_the_start_value_only() -> None:
    code, out, err = run("0 */30 * * *", "--after", "2024-01-01T00:00:00Z", "--count", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "0 */30 * * *: At 00:00"
    assert lines[2].split()[0] == "2024-01-02T00:00:00+00:00"
    assert lines[3].split()[0] == "2024-01-03T00:00:00+00:00"


def test_one_shot_in_the_past_lists_nothing() -> None:
    code, out, _ = run("2020-01-01T00:00:00Z", "--after", "2024-01-01T00:00:00Z")
    assert code == 0
    assert "no fires after 2024-01-01T00:00:00+00:00" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0 0 32 * *"], "error: pattern: day-of-month field: 32 is out of range 1-31"),
        (["@daily", "--tz", "Mars/Base"], "error: timezone: unknown time zone 'Mars/Base'"),
        (
            ["@daily", "--after", "yesterday"],
            "error: after: 'yesterday' is not an ISO-8601 date-time",
        ),
        (["@daily", "--count", "0"], "error: count: must be a whole number 1-1000, got '0'"),
        (
            ["CRON_TZ=Asia/Tokyo @daily", "--tz", "UTC"],
            "error: timezone: 'UTC' conflicts with the pattern's zone prefix 'Asia/Tokyo'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [message]


def test_subprocess_exit_code_and_no_traceback() -> None:
    """The real entry point: ``python -m onewatch cron`` as a user runs it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    bad = subprocess.run(
        [sys.executable, "-m", "onewatch", "cron", "61 * * * *"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: pattern: minute field: 61 is out of range 0-59"
    assert "Traceback" not in bad.stderr
    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "onewatch",
            "cron",
            "@hourly",
            "--after",
            "2024-01-01T00:00:00Z",
            "--count",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(good.stdout)["fires"][0]["utc"] == "2024-01-01T01:00:00+00:00"
