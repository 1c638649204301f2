"""The docs cannot rot: their runnable blocks run, and the references match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import DOCS, blocks_of, runnable_pages
from tests.docs.runner import PageRun


@pytest.mark.parametrize("page", runnable_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_runnable_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    run = PageRun(tmp_path)
    try:
        for block in blocks_of(page):
            if block.runs:
                run.run(block)
    finally:
        run.stop()


def test_some_pages_run() -> None:
    """The marker convention is in use (a renamed marker would silently run nothing)."""
    assert len(runnable_pages()) >= 5
