"""``onewatch events apply -f FILE``: make the server hold the file's calendars, actions
and events (``actions apply`` and ``calendars apply`` are the same command).

Schedules kept as code, in the client service's repository: run it from a deploy step;
the second run with the same file prints ``unchanged`` for everything and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from onewatch.cli.document_files import read_documents
from onewatch.cli.output import console, print_json
from onewatch.cli.remote import (
    DEFAULT_URL,
    AsJson,
    ExitCode,
    Remote,
    Service,
    Token,
    Url,
    describe,
    exit_code_of,
    fail,
    reported,
)
from onewatch.client.reconcile import Applied, apply_documents
from onewatch.errors import OnewatchError

File = Annotated[
    Path, typer.Option("--file", "-f", help="YAML or JSON file ('-': standard input).")
]
Files = Annotated[
    list[Path],
    typer.Option("--file", "-f", help="YAML or JSON file ('-': standard input); repeatable."),
]


def documents_in(path: Path) -> list[dict[str, Any]]:
    """The file's documents; an unreadable or unparsable file is a usage error (exit 2)."""
    try:
        return read_documents(path)
    except OnewatchError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None


def one_document(path: Path, kind: str) -> dict[str, Any]:
    """The single document ``create`` takes."""
    documents = documents_in(path)
    if len(documents) != 1:
        raise fail(
            f"{path}: create takes one {kind}, the file has {len(documents)} documents "
            "(apply takes several)",
            ExitCode.USAGE,
        )
    return documents[0]


def line_of(applied: Applied) -> str:
    """``event billing/monthly: updated (schedulingPattern.pattern)``."""
    detail = ""
    if applied.error is not None:
        detail = f": {describe(applied.error)}"
    elif applied.changed:
        detail = f" ({', '.join(applied.changed)})"
    return f"{applied.kind} {applied.name}: {applied.outcome}{detail}"


def json_of(applied: Applied) -> dict[str, Any]:
    return {
        "kind": applied.kind,
        "service": applied.service,
        "key": applied.key,
        "outcome": applied.outcome,
        "changed": list(applied.changed),
        "error": describe(applied.error) if applied.error else None,
    }


def _summary(results: list[Applied]) -> str:
    outcomes = ("created", "updated", "unchanged", "deleted", "failed")
    return ", ".join(f"{sum(r.outcome == o for r in results)} {o}" for o in outcomes)


def apply_cmd(
    files: Files,
    prune: Annotated[
        bool,
        typer.Option(
            help="Also delete the addressed services' calendars, actions and events the file "
            "does not name (only when every document applied)."
        ),
    ] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    service: Service = None,
    as_json: AsJson = False,
) -> None:
    """Create or update the file's calendars, actions and events so the server matches it.

    One line per document: created, updated (and which fields), unchanged or failed.

    Exit 0 when every document applied, else the exit code of the first failure.
    """
    documents = [document for file in files for document in documents_in(file)]
    out = console()

    def report(applied: Applied) -> None:
        if not as_json:
            out.print(line_of(applied), markup=False, soft_wrap=True)

    with reported(), Remote(url, token, service).client() as onewatch:
        results = apply_documents(
            onewatch, documents, service=service, prune=prune, on_result=report
        )
    if as_json:
        print_json([json_of(applied) for applied in results])
    else:
        out.print(_summary(results), markup=False)
    failures = [applied.error for applied in results if applied.error is not None]
    if failures:
        raise typer.Exit(int(exit_code_of(failures[0])))
