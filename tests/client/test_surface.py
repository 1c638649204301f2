"""The public surface: what ``onewatch.client`` and ``onewatch.receiver`` export, and the two
clients offering the same methods with the same parameters (only ``await`` differs)."""

from __future__ import annotations

import inspect

import onewatch.client
import onewatch.receiver
from onewatch.client import aio, sync


def test_exports_are_deliberate() -> None:
    for module in (onewatch.client, onewatch.receiver):
        exported = set(module.__all__)
        assert all(hasattr(module, name) for name in exported), module.__name__
    assert {"Client", "AsyncClient", "NotFound", "InvalidRequest", "Event"} <= set(
        onewatch.client.__all__
    )
    assert onewatch.receiver.__all__ == sorted(onewatch.receiver.__all__)


def _methods(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_sync_and_async_clients_have_the_same_methods() -> None:
    for resource in ("Actions", "Calendars", "Events", "Deliveries", "Audit"):
        blocking, awaiting = getattr(sync, resource), getattr(aio, resource)
        assert _methods(blocking) == _methods(awaiting), resource
        assert len(_methods(blocking)) >= 2
    for resource in (aio.Events, aio.Audit):
        for name, member in vars(resource).items():
            if callable(member) and not name.startswith("_") and name != "list":
                assert inspect.iscoroutinefunction(member), name
