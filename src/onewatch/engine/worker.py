"""Running the background roles without the API (``serve`` when "api" is not a role).

``python -m onewatch.engine.worker`` runs them until SIGTERM or SIGINT, with settings
from the environment; tests use it to kill and restart a dispatcher.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from onewatch.engine.roles import background_roles
from onewatch.gc_tuning import tune_for_serving
from onewatch.observability.logging import configure_logging
from onewatch.runtime import Runtime
from onewatch.settings import Settings, load_settings


async def run_roles(settings: Settings, stop: asyncio.Event) -> None:
    """Start the enabled background roles, run them until ``stop``, then stop cleanly."""
    runtime = Runtime.from_settings(settings)
    try:
        await runtime.start(background_roles())
        await stop.wait()
    finally:
        await runtime.stop()


async def _main() -> None:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tune_for_serving()
    await run_roles(settings, stop)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed: it roughly halves the dispatcher's per-request overhead.

    Its timers may fire up to a millisecond early; ``engine.waiting.sleep_until``
    checks the wall clock, so no delivery is sent before its instant either way.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency on POSIX
        return None
    return uvloop.new_event_loop


def main() -> None:
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_main())


if __name__ == "__main__":
    main()
