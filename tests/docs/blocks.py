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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`]*)$")
MARKERS = ("run", "background", "output")


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


def _options(words: list[str]) -> dict[str, str]:
    return dict(word.partition("=")[::2] for word in words)


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
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
