"""The docs cannot rot: their runnable blocks run, and the references match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import DOCS, Block, blocks_of, runnable_pages
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


def test_an_output_block_must_match_what_ran(tmp_path: Path) -> None:
    run = PageRun(tmp_path)
    run.run(Block(DOCS / "example.md", 1, "bash", "echo 'exit code 3'\n", {"run": ""}))
    run.run(Block(DOCS / "example.md", 5, "text", "exit code 3\n...\n", {"output": ""}))
    with pytest.raises(AssertionError, match="'exit code 4' is not in the output"):
        run.run(Block(DOCS / "example.md", 9, "text", "exit code 4\n", {"output": ""}))


def test_a_failing_block_fails_the_page(tmp_path: Path) -> None:
    run = PageRun(tmp_path)
    with pytest.raises(AssertionError, match=r"example\.md:1 failed"):
        run.run(Block(DOCS / "example.md", 1, "bash", "false\necho never\n", {"run": ""}))
