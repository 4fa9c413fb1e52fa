"""docs/layout.md lists every module of graphad, one line each, and nothing else.

The page's first code block holds a tree: ``graphad/`` and, indented two spaces a level, each
package (``name/``) and module (``name.py``) with a description of what it is for on the same
line.  A package's line stands for its ``__init__.py``.  A module added without a line, or a
line left behind by a module removed or moved, fails here, naming the line to add or remove.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r"(?P<indent> *)(?P<name>[\w.]+/?)(?: {2,}(?P<what>\S.*))?")


PAGE = "docs/layout.md"


def layout_block(page: str) -> list[str]:
    """The lines of the first code block of the layout page, which starts ``# Layout``."""
    assert page.startswith("# Layout\n"), f"{PAGE} does not start with '# Layout'"
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", page, flags=re.MULTILINE | re.DOTALL)
    assert blocks, f"{PAGE} has no code block"
    return str(blocks[0]).splitlines()


def listed(lines: list[str]) -> dict[str, str]:
    """Path under the repository root (``graphad/ir/node.py``, ``graphad/ir/``) -> what it is
    for, read from the ``graphad/`` tree of the block."""
    start = lines.index(next(line for line in lines if line.startswith("graphad/")))
    entries: dict[str, str] = {}
    parents: list[str] = []
    for number, line in enumerate(lines[start:], start):
        match = ENTRY.fullmatch(line)
        if number > start and not line.startswith(" "):
            break  # the next top-level entry (tests/, examples/, ...) ends the tree
        assert match and match["what"], (
            f"{PAGE}: the line {line!r} is not 'name  what it is for' (one line each)"
        )
        depth, rest = divmod(len(match["indent"]), 2)
        assert not rest and depth <= len(parents), f"{PAGE}: bad indent in {line!r}"
        del parents[depth:]
        path = "".join(parents) + match["name"]
        assert match["name"].endswith(("/", ".py")), f"{PAGE}: {path}?"
        entries[path] = match["what"]
        if match["name"].endswith("/"):
            parents.append(match["name"])
    return entries


def modules(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in (root / "graphad").rglob("*.py")
        if "__pycache__" not in p.parts
    }


def missing_and_stale(entries: dict[str, str], found: set[str]) -> tuple[list[str], list[str]]:
    """The modules without a line, and the lines without a module (a package line stands for
    its ``__init__.py``)."""
    covered = {f"{p}__init__.py" if p.endswith("/") else p for p in entries}
    missing = sorted(found - covered)
    stale = sorted(p for p in entries if (f"{p}__init__.py" if p.endswith("/") else p) not in found)
    return missing, stale


def test_the_layout_lists_every_module_and_only_modules() -> None:
    entries = listed(layout_block((ROOT / PAGE).read_text(encoding="utf-8")))
    missing, stale = missing_and_stale(entries, modules(ROOT))
    messages = [
        f"{p} has no line in {PAGE}: add one under "
        f"{p.rsplit('/', 1)[0]}/, '{p.rsplit('/', 1)[1]}  what it is for'"
        for p in missing
    ] + [f"{PAGE} lists {p}, which is not there: remove it" for p in stale]
    assert not messages, "\n".join(messages)


BLOCK = """\
```
graphad/        the package
  __init__.py   the API
  ir/           the IR
    node.py     nodes
tests/          tests
```
"""


@pytest.mark.parametrize(
    ("files", "missing", "stale"),
    [
        ({"graphad/__init__.py", "graphad/ir/__init__.py", "graphad/ir/node.py"}, [], []),
        (
            {"graphad/__init__.py", "graphad/ir/__init__.py", "graphad/ir/node.py", "graphad/x.py"},
            ["graphad/x.py"],
            [],
        ),
        ({"graphad/__init__.py", "graphad/ir/__init__.py"}, [], ["graphad/ir/node.py"]),
        (
            {"graphad/__init__.py", "graphad/ir.py"},
            ["graphad/ir.py"],
            ["graphad/ir/", "graphad/ir/node.py"],
        ),
    ],
)
def test_the_check_finds_missing_and_stale_lines(
    files: set[str], missing: list[str], stale: list[str]
) -> None:
    page = f"# Layout\n\nSome words.\n\n{BLOCK}\nMore words.\n\n```\nnot the tree\n```\n"
    entries = listed(layout_block(page))
    assert "graphad/" in entries and "tests/" not in entries
    assert missing_and_stale(entries, files) == (missing, stale)


@pytest.mark.parametrize("line", ["  node.py", "   node.py   nodes", "  node.txt   notes"])
def test_a_line_without_a_description_or_out_of_the_tree_shape_is_refused(line: str) -> None:
    with pytest.raises(AssertionError, match=r"docs/layout\.md"):
        listed(["graphad/   the package", line])


def test_a_page_that_is_not_the_layout_is_refused() -> None:
    with pytest.raises(AssertionError, match=r"does not start with '# Layout'"):
        layout_block(f"# Drawing\n\n{BLOCK}")
