"""``read_documents``: every shape a schedules file or an export may take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onewatch.cli.document_files import read_documents
from onewatch.errors import ValidationFailed

ACTION = {"key": "a", "type": "webhook", "webhook": {"endpoint": "http://x/"}}
EVENT = {"key": "e", "action": "a", "schedulingPattern": {"pattern": "@daily"}}


def _read(tmp_path: Path, text: str) -> list[dict[str, object]]:
    path = tmp_path / "file"
    path.write_text(text)
    return read_documents(path)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps([ACTION, EVENT], indent=2),
        json.dumps({"events": [EVENT], "actions": [ACTION]}),
        json.dumps(ACTION) + "\n\n" + json.dumps(EVENT) + "\n",
        "key: a\ntype: webhook\nwebhook: {endpoint: 'http://x/'}\n---\n"
        "key: e\naction: a\nschedulingPattern: {pattern: '@daily'}\n---\n",
        "actions:\n  - " + json.dumps(ACTION) + "\nevents:\n  - " + json.dumps(EVENT) + "\n",
    ],
    ids=["json-array", "json-sections", "json-lines", "yaml-stream", "yaml-sections"],
)
def test_each_shape_gives_the_same_documents(tmp_path: Path, text: str) -> None:
    assert _read(tmp_path, text) == [ACTION, EVENT]


def test_one_pretty_printed_document(tmp_path: Path) -> None:
    assert _read(tmp_path, json.dumps(EVENT, indent=4)) == [EVENT]


def test_dates_stay_text_and_mongo_dates_pass_through(tmp_path: Path) -> None:
    text = "key: e\nstartAt: 2030-01-01T00:00:00Z\nupdatedAt: {$date: '2019-09-10T01:16:32Z'}\n"
    assert _read(tmp_path, text) == [
        {
            "key": "e",
            "startAt": "2030-01-01T00:00:00Z",
            "updatedAt": {"$date": "2019-09-10T01:16:32Z"},
        }
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: [unclosed\n", r"\(line \d+\): not YAML or JSON"),
        ("actions: []\nextra: 1\n", "unexpected top-level field"),
        ("- 42\n", "int is not a document"),
    ],
)
def test_a_broken_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        _read(tmp_path, text)


def test_an_empty_file_has_no_documents(tmp_path: Path) -> None:
    assert _read(tmp_path, "# nothing yet\n") == []


def test_calendars_come_first_in_a_sectioned_file(tmp_path: Path) -> None:
    calendar = {"key": "br", "holidays": {"country": "BR"}}
    text = json.dumps({"events": [EVENT], "actions": [ACTION], "calendars": [calendar]})
    assert _read(tmp_path, text) == [calendar, ACTION, EVENT]
