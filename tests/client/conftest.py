"""A real ``onewatch serve`` process and a real HTTP target, shared by a module's tests.

Each test speaks for its own service (tokens name it), so tests sharing a server never
see each other's actions, events or deliveries.
"""

from tests.support.server_process import server, target

__all__ = ["server", "target"]
