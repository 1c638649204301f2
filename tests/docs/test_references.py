"""The reference pages name everything the code has: settings, metrics, routes, commands,
exit codes; and every relative link in the docs leads to a page that exists."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import typer.main
from fastapi.routing import APIRoute

from onewatch.api.app import create_app
from onewatch.cli.main import app as cli_app
from onewatch.cli.remote import ExitCode
from onewatch.clock import SystemClock
from onewatch.observability.metrics import Metrics
from onewatch.runtime import Runtime
from onewatch.settings import Settings
from onewatch.store import open_store
from tests.docs.blocks import DOCS, pages
from tests.support.live import node_settings

REFERENCE = DOCS / "reference"
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def _page(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_reference() -> None:
    page = _page("configuration.md")
    missing = [f"ONEWATCH_{name.upper()}" for name in Settings.model_fields]
    assert [name for name in missing if f"`{name}`" not in page] == []


def test_every_metric_is_in_the_metrics_reference() -> None:
    page = _page("metrics.md")
    families = Metrics().registry.collect()
    names = [f.name + ("_total" if f.type == "counter" else "") for f in families]
    assert names, "no metrics found"
    assert [name for name in names if f"`{name}`" not in page] == []


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every endpoint, also inside routers FastAPI includes lazily (its newer versions)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


async def test_every_api_route_is_in_the_api_reference(tmp_path: Path) -> None:
    settings = node_settings(tmp_path, ["api"])
    store = open_store(settings.resolved_database_url)
    try:
        runtime = Runtime(settings=settings, store=store, clock=SystemClock())
        routes = list(_api_routes(create_app(runtime).routes))
    finally:
        await store.dispose()
    page = _page("api.md")
    public = [
        f"{method} {route.path}"
        for route in routes
        for method in sorted(route.methods)
        if route.path.startswith("/v1/") or route.path in ("/healthz", "/readyz", "/metrics")
    ]
    assert len(public) > 20
    assert [call for call in public if f"`{call}`" not in page] == []


def _commands(command: click.Command, path: str) -> Iterator[str]:
    children = getattr(command, "commands", None)
    if not children:
        yield path
        return
    for name, child in children.items():
        yield from _commands(child, f"{path} {name}")


def test_every_cli_command_and_exit_code_is_in_the_cli_reference() -> None:
    page = _page("cli.md")
    commands = list(_commands(typer.main.get_command(cli_app), "onewatch"))
    assert len(commands) > 15
    undocumented = [command for command in commands if f"`{command}" not in page]
    assert undocumented == [], "add these to docs/reference/cli.md"
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", page, re.MULTILINE)
    assert [(int(code), name) for code, name in rows] == [(c.value, c.name) for c in ExitCode]


def test_relative_links_lead_to_existing_pages() -> None:
    broken = []
    for page in [*pages(), DOCS.parent / "README.md"]:
        for target, _anchor in _LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


API_SOURCES = Path(__file__).resolve().parents[2] / "src" / "onewatch" / "api"
_CODE = re.compile(r"[a-z]+(_[a-z]+)*")  # a code, not a status's description


def _status(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value >= 400


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(node: ast.AST) -> Iterator[str | None]:
    """The ``error`` codes one syntax node gives: ``error_body("code", ...)``, a
    ``(status, "code")`` pair, a ``{status: "code"}`` table and its ``.get`` default."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "error_body":
        yield _text(node.args[0])
    if isinstance(node, ast.Tuple) and len(node.elts) == 2 and _status(node.elts[0]):
        yield _text(node.elts[1])
    if isinstance(node, ast.Dict) and node.keys and all(_status(k) for k in node.keys if k):
        yield from (_text(value) for value in node.values)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        yield _text(node.args[1]) if len(node.args) > 1 else None


def _error_codes() -> set[str]:
    """Every ``error`` string the API's code can answer with, read from its source."""
    codes: set[str] = set()
    for module in API_SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            codes.update(code for code in _codes_in(node) if code and _CODE.fullmatch(code))
    return codes


def test_every_error_code_is_in_the_api_reference() -> None:
    codes = _error_codes()
    expected = {"validation_failed", "rate_limited", "malformed_json", "not_ready", "http_error"}
    assert expected <= codes, "the source scan no longer finds the codes"
    page = _page("api.md")
    errors = page.split("## Errors", 1)[1].split("\n## ", 1)[0]
    assert sorted(code for code in codes if f"`{code}`" not in errors) == []
    assert "`Retry-After`" in errors
