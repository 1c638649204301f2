"""The garbage collector of a long-running node: fewer, shorter cyclic collections.

A node creates a task, a request and a response per delivery, so CPython's cycle
collector runs hundreds of times a second at its default thresholds, and every so often
a full collection walks every object the process holds, including the hundreds of
thousands that importing FastAPI, pydantic and SQLAlchemy left behind. Under steady
load collection was a visible share of the node's CPU (BENCHMARKS.md, "Performance
notes"), and a full pass is a pause during which no delivery goes out. Freezing what
start-up built moves it out of the collector's sight for good (it lives as long as the
process anyway), and a larger first-generation threshold makes each young collection
rarer at the same cost per object. Reference counting still frees everything acyclic at once.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 20_000


def tune_for_serving() -> None:
    """Call once, after start-up built its long-lived objects, before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
