"""``onewatch serve|migrate|token create|import``: running and administering a node.

Every failure a user can cause ends as one line on stderr and a non-zero exit status,
never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from onewatch.errors import OnewatchError
from onewatch.settings import Settings, load_settings

T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for the SQLite file and secret.")
]
DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///file.db or postgresql://...")
]
PROGRESS_THRESHOLD = 20

token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one clear line and exit status 1."""
    try:
        yield
    except OnewatchError as exc:
        raise fail(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise fail(f"{where}: {first['msg']}") from None
    except OSError as exc:
        raise fail(str(exc)) from None


def _settings(**flags: Any) -> Settings:
    with user_errors():
        return load_settings(**flags)


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with user_errors():
        return asyncio.run(work())


# -- serve -----------------------------------------------------------------------------


def _announce_new_secret(settings: Settings) -> None:
    """On the very first start, say where the secret is and how to get a token."""
    from onewatch.security.tokens import load_or_create_secret

    if settings.jwt_secret is not None:
        return
    _secret, created = load_or_create_secret(settings.data_dir)
    if created:
        typer.echo(
            f"Created a token signing secret in {settings.data_dir.resolve()}.\n"
            f"Mint a token for a service with:\n"
            f"  onewatch token create --data-dir {settings.data_dir} --service NAME"
        )


async def _run_background_roles(settings: Settings) -> None:
    """A node without the API: run scheduler/dispatcher until SIGTERM or Ctrl-C."""
    from onewatch.engine.roles import background_roles
    from onewatch.gc_tuning import tune_for_serving
    from onewatch.runtime import Runtime

    runtime = Runtime.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runtime.start(background_roles())
    tune_for_serving()
    try:
        await stop.wait()
    finally:
        await runtime.stop()


def _level(name: str) -> int:
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)


def _serve_api(settings: Settings) -> None:
    """The API and the roles, on a port bound before the roles start (see ``http_server``)."""
    import uvicorn

    from onewatch.api.app import create_app
    from onewatch.cli.http_server import OnewatchServer, bind_listening_socket
    from onewatch.gc_tuning import tune_for_serving
    from onewatch.runtime import Runtime

    listener = bind_listening_socket(settings.host, settings.port)
    app = create_app(Runtime.from_settings(settings))
    tune_for_serving()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Above INFO no access line is written, yet uvicorn would still build each one.
        access_log=_level(settings.log_level) <= logging.INFO,
        ws="none",
    )
    server = OnewatchServer(config)
    with listener:
        server.run(sockets=[listener])
    if not server.started:
        raise fail("the node did not start (see the log above)")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    roles: Annotated[
        str | None, typer.Option(help="Comma-separated: api,scheduler,dispatcher (default all).")
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Migrate the schema on start.")] = True,
) -> None:
    """Run a node: the API and the background roles, on the SQLite file by default."""
    from onewatch.observability.logging import configure_logging

    role_list = [name.strip() for name in roles.split(",") if name.strip()] if roles else None
    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        roles=role_list,
        migrate_on_start=migrate,
    )
    configure_logging(settings.log_format, settings.log_level)
    with user_errors():
        _announce_new_secret(settings)
    if "api" in settings.roles:
        with user_errors():
            _serve_api(settings)
    else:
        run_async(lambda: _run_background_roles(settings))


# -- migrate ---------------------------------------------------------------------------


def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema to the newest version."""
    from onewatch.store import open_store

    settings = _settings(data_dir=data_dir, database_url=database_url)

    async def work() -> None:
        store = open_store(settings.resolved_database_url)
        try:
            await store.migrate()
        finally:
            await store.dispose()

    run_async(work)
    typer.echo("The schema is at the newest version.")


# -- token -----------------------------------------------------------------------------

_TTL = re.compile(r"^(\d+)([smhdw])$")
_TTL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_ttl(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` -> a positive duration."""
    match = _TTL.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise fail(f"--ttl {text!r}: use a positive number and a unit s, m, h, d or w (e.g. 30d)")
    return timedelta(**{_TTL_UNITS[match.group(2)]: int(match.group(1))})


def _configured_secret_source() -> str:
    """Where a configured ``jwt_secret`` came from, in the words a user would look for."""
    if any(name.upper() == "ONEWATCH_JWT_SECRET" for name in os.environ):
        return "ONEWATCH_JWT_SECRET"
    config_file = os.environ.get("ONEWATCH_CONFIG_FILE") or "onewatch.toml"
    return f"jwt_secret in {config_file}"


def signing_secret(settings: Settings) -> tuple[str, str]:
    """The HMAC secret a server with these settings verifies with, and where it is kept.

    Never a new one: a secret made here, in a folder no server reads, would sign tokens
    that every server refuses. A missing file is an error that says where it looked.
    """
    from onewatch.security.tokens import SECRET_FILE_NAME

    if settings.jwt_public_key is not None or settings.jwt_jwks_url is not None:
        raise fail(
            "this node verifies tokens with a public key or JWKS; "
            "tokens come from the holder of the private key"
        )
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value(), _configured_secret_source()
    path = (settings.data_dir / SECRET_FILE_NAME).resolve()
    if not path.is_file():
        raise fail(
            f"no token signing secret at {path} (a server creates it on its first start); "
            "run this in the server's folder, or give the server's data folder with "
            "--data-dir or ONEWATCH_DATA_DIR, or its secret with ONEWATCH_JWT_SECRET"
        )
    return path.read_text().strip(), str(path)


@token_app.command("create")
def token_create(
    service: Annotated[str, typer.Option(help="The service the token speaks for (sub).")],
    admin: Annotated[bool, typer.Option(help="Let the token act for every service.")] = False,
    ttl: Annotated[str, typer.Option(help="Lifetime: 30d, 12h, 90m...")] = "30d",
    data_dir: DataDir = None,
) -> None:
    """Print a signed JWT for SERVICE (HS256 with the configured or data-folder secret).

    Standard error says which secret signed it, so a token minted in the wrong folder
    is noticed here rather than as a 401 from the server.
    """
    from onewatch.clock import SystemClock
    from onewatch.security.tokens import mint_token

    lifetime = parse_ttl(ttl)
    settings = _settings(data_dir=data_dir)
    if not service.strip():
        raise fail("--service must not be empty")
    with user_errors():
        secret, source = signing_secret(settings)
        token = mint_token(secret, service, admin=admin, ttl=lifetime, now=SystemClock().now())
    typer.echo(f"signed with the secret from {source}", err=True)
    typer.echo(token)


# -- import ----------------------------------------------------------------------------


def _progress(total: int, console: Console) -> Progress:
    return Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=total < PROGRESS_THRESHOLD or not console.is_terminal,
        transient=True,
    )


def import_dump(
    file: Annotated[Path, typer.Argument(help="A mongoexport dump: JSON lines or a JSON array.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load actions and events from FILE; one line per document says what happened."""
    from onewatch.importer import read_dump

    settings = _settings(data_dir=data_dir, database_url=database_url)
    with user_errors():
        documents = read_dump(file)
    failed = run_async(lambda: _import(settings, documents))
    if failed:
        raise fail(f"{failed} of {len(documents)} document(s) were not imported (see above)")


async def _import(settings: Settings, documents: list[Any]) -> int:
    from onewatch.application.event_ops import EventContext, EventRules
    from onewatch.clock import SystemClock
    from onewatch.importer import ImportResult, import_documents
    from onewatch.store import open_store

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    store = open_store(settings.resolved_database_url)
    try:
        await store.migrate()
        with _progress(len(documents), console) as progress:
            bar = progress.add_task("import", total=len(documents))

            def report(result: ImportResult) -> None:
                detail = f": {result.reason}" if result.reason else ""
                progress.console.print(
                    f"#{result.number} {result.kind} {result.name}: {result.outcome}{detail}",
                    markup=False,
                    soft_wrap=True,
                )
                progress.advance(bar)

            context = EventContext(store, SystemClock(), rules=EventRules.from_settings(settings))
            results = await import_documents(context, documents, report)
    finally:
        await store.dispose()
    counts = {name: sum(r.outcome == name for r in results) for name in ("created", "updated")}
    unchanged = sum(r.outcome == "unchanged" for r in results)
    failed = sum(r.outcome == "failed" for r in results)
    console.print(
        f"{counts['created']} created, {counts['updated']} updated, {unchanged} unchanged, "
        f"{failed} failed",
        markup=False,
    )
    return failed


def register(app: typer.Typer) -> None:
    """Add the server-side commands to ``app``."""
    app.command()(serve)
    app.command()(migrate)
    app.command("import")(import_dump)
    app.add_typer(token_app, name="token")
