"""The docs cannot rot: their runnable blocks run, and the references match the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.blocks import (
    DOCS,
    Block,
    blocks_in,
    blocks_of,
    breaches,
    pages,
    runnable_pages,
    standalone_runs,
)
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


def _standalone_cases() -> list[Any]:
    cases = []
    for page in runnable_pages():
        for run in standalone_runs(blocks_of(page)):
            step = next(block for block in reversed(run) if block.is_step)
            cases.append(pytest.param(run, id=step.where.removeprefix("docs/")))
    return cases


@pytest.mark.parametrize("blocks", _standalone_cases())
def test_each_step_runs_alone_after_the_set_up(blocks: list[Block], tmp_path: Path) -> None:
    """As a reader who pastes just this block (after the page's set-up) would."""
    _run_all(blocks, tmp_path)


def _run_all(blocks: list[Block], folder: Path) -> None:
    run = PageRun(folder)
    try:
        for block in blocks:
            run.run(block)
    finally:
        run.stop()


def test_every_page_marks_its_set_up_and_continuing_steps() -> None:
    assert [breach for page in pages() for breach in breaches(blocks_of(page))] == []


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


PAGE = DOCS / "example.md"
LEANS_ON_THE_STEP_ABOVE = """
```bash run setup
# Set-up: a name
export NAME=alpha
```

```bash run
export COLOR=blue
```

```bash run
test "$COLOR" = blue
```
"""


def test_a_step_that_needs_the_one_above_fails_alone_unless_it_says_it_continues(
    tmp_path: Path,
) -> None:
    blocks = blocks_in(LEANS_ON_THE_STEP_ABOVE, PAGE)
    assert breaches(blocks) == []
    runs = standalone_runs(blocks)
    assert [[block.line for block in run] for run in runs] == [[2, 11]]  # 7 ran in the page
    with pytest.raises(AssertionError, match=r"example\.md:11 failed"):
        _run_all(runs[0], tmp_path)
    marked = LEANS_ON_THE_STEP_ABOVE.replace(
        "```bash run\ntest", "```bash run continues\n# Continues from above: COLOR\ntest"
    )
    assert standalone_runs(blocks_in(marked, PAGE)) == []


def test_the_markers_and_the_comments_readers_see_agree() -> None:
    page = """
```bash run
echo first
```

```bash run setup
export LATE=1
```

```bash run
# Continues from above: the echo
echo second
```
"""
    assert breaches(blocks_in(page, PAGE)) == [
        "docs/example.md:6: its first line must be '# Set-up: '...",
        "docs/example.md:6: a set-up step after the page's first other step",
        "docs/example.md:10: says '# Continues from above:' without the marker",
    ]


SETS_UP_A_CLIENT = """
```python run setup
# Set-up: a client, closed by the page's last step
import httpx

client = httpx.Client()
```

```python run
print("first step")
```

```python run
print(client.is_closed)
```

```python run continues
# Continues from above: the client
client.close()
```
"""


def test_a_step_run_alone_closes_the_client_its_set_up_made(tmp_path: Path) -> None:
    """The page's last step never runs then: left open, its socket would be collected in
    whichever test the garbage collector next runs, as an unclosed-socket warning."""
    blocks = blocks_in(SETS_UP_A_CLIENT, PAGE)
    assert breaches(blocks) == []
    [alone] = standalone_runs(blocks)
    run = PageRun(tmp_path)
    for block in alone:
        run.run(block)
    client = run.namespace["client"]
    assert isinstance(client, httpx.Client) and not client.is_closed
    run.stop()
    assert client.is_closed
