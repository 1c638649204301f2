"""Finding the code blocks in the docs that are meant to run.

A fenced block runs when its info string carries a marker after the language (Markdown
renderers show only the language, so readers never see the markers):

- ```` ```bash run ```` / ```` ```python run ````: run in order, and must succeed;
- ```` ```bash background port=8080 ````: started, then the runner waits for the port;
  it runs until the page ends (``onewatch serve``, a receiver);
- ```` ```yaml file=schedules.yaml ```` (any language): written to that file first, as
  the page tells the reader to save it;
- ```` ```text output ````: every line shown (``...`` skips some) is a line the previous
  bash block printed.

Blocks without a marker are illustrations (output, fragments, commands needing other
infrastructure, such as PostgreSQL).

A reader may paste any one block, so every ``run`` or ``background`` block is a *step*
that works alone after the page's set-up, unless it says it continues:

- ``setup`` (with ``run`` or ``background``): part of the page's set-up (start the server,
  export a token). Set-up steps come before every other step, and their first line is a
  comment the reader sees, ``# Set-up: ...``;
- ``continues``: the step needs the steps above it (the event they created); its first
  line says so, ``# Continues from above: ...``;
- any other step must succeed on its own: the suite runs it in a fresh folder and shell
  after only the set-up steps and the files the page saved above it (``standalone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`]*)$")
MARKERS = ("run", "background", "output")
SETUP_COMMENT = "# Set-up: "
CONTINUES_COMMENT = "# Continues from above: "


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its markers and its text."""

    path: Path
    line: int
    language: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(DOCS.parent)}:{self.line}"

    @property
    def runs(self) -> bool:
        return any(marker in self.options for marker in MARKERS) or "file" in self.options

    @property
    def is_step(self) -> bool:
        """A command the reader runs (not a file to save, not output to compare)."""
        return "run" in self.options or "background" in self.options

    @property
    def is_setup(self) -> bool:
        return "setup" in self.options

    @property
    def continues(self) -> bool:
        return "continues" in self.options

    @property
    def first_line(self) -> str:
        return self.code.lstrip("\n").split("\n", 1)[0]


def _options(words: list[str]) -> dict[str, str]:
    return dict(word.partition("=")[::2] for word in words)


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    return blocks_in(path.read_text(encoding="utf-8"), path)


def blocks_in(text: str, path: Path) -> list[Block]:
    """Every fenced block of Markdown ``text`` (the page at ``path``), in order."""
    found: list[Block] = []
    lines = text.splitlines()
    start: tuple[int, str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        fence = _FENCE.match(line)
        if fence and start is None:
            start, body = (number, fence["indent"], fence["info"].strip()), []
        elif fence and start is not None and not fence["info"].strip():
            words = start[2].split()
            language = words[0] if words else ""
            code = "\n".join(text.removeprefix(start[1]) for text in body) + "\n"
            found.append(Block(path, start[0], language, code, _options(words[1:])))
            start = None
        elif start is not None:
            body.append(line)
    return found


def pages() -> list[Path]:
    """Every Markdown page under docs/."""
    return sorted(DOCS.rglob("*.md"))


def runnable_pages() -> list[Path]:
    return [page for page in pages() if any(block.runs for block in blocks_of(page))]


def breaches(blocks: list[Block]) -> list[str]:
    """Where a page breaks the set-up / continues rule (see the module's docstring)."""
    found: list[str] = []
    steps = [block for block in blocks if block.is_step]
    first_other = next((n for n, block in enumerate(steps) if not block.is_setup), len(steps))
    for number, block in enumerate(steps):
        found += _marker_breaches(block)
        if block.is_setup and number > first_other:
            found.append(f"{block.where}: a set-up step after the page's first other step")
    return found


def _marker_breaches(block: Block) -> list[str]:
    found = []
    for marked, comment in ((block.is_setup, SETUP_COMMENT), (block.continues, CONTINUES_COMMENT)):
        said = block.first_line.startswith(comment)
        if marked and not said:
            found.append(f"{block.where}: its first line must be {comment!r}...")
        if said and not marked:
            found.append(f"{block.where}: says {comment.strip()!r} without the marker")
    if block.is_setup and block.continues:
        found.append(f"{block.where}: set-up steps never continue (the set-up runs first)")
    return found


def standalone_runs(blocks: list[Block]) -> list[list[Block]]:
    """For each step that must work alone: what a reader pastes, in order.

    That is the set-up steps, the files saved above the step, the step and the output
    shown for it. A run equal to the start of the page run is left out (it ran there).
    """
    page_run = [block for block in blocks if block.runs]
    runs = []
    for number, block in enumerate(blocks):
        if not block.is_step or block.is_setup or block.continues:
            continue
        above = [b for b in blocks[:number] if b.is_setup or "file" in b.options]
        run = [*above, block, *_outputs_after(blocks, number)]
        if run != page_run[: len(run)]:
            runs.append(run)
    return runs


def _outputs_after(blocks: list[Block], number: int) -> list[Block]:
    outputs = []
    for block in blocks[number + 1 :]:
        if "output" not in block.options:
            break
        outputs.append(block)
    return outputs
