"""How a background loop reports a failed step before it backs off and tries again."""

from __future__ import annotations

from typing import Any

from onewatch.store import store_failure


def report_step_failure(logger: Any, message: str, error: Exception, **context: Any) -> None:
    """The store down or full is one warning line: it repeats every retry until the
    database is back, and a rendered traceback each time buries the log and (with the
    console renderer's locals) holds the loop for seconds. Anything else is a bug and
    is logged with its traceback."""
    failure = store_failure(error)
    if failure is None:
        logger.exception(message, **context)
    else:
        logger.warning(message, store=failure.reason, error=repr(error), **context)
