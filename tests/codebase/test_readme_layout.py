"""README's layout section lists every module of graphad, one line each, and nothing else.

The section's code block holds a tree: ``graphad/`` and, indented two spaces a level, each
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


def layout_block(readme: str) -> list[str]:
    """The lines of the code block under ``## Layout``."""
    section = readme.split("\n## Layout\n", 1)
    assert len(section) == 2, "README.md has no '## Layout' section"
    body = section[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)
    assert blocks, "README.md's layout section has no code block"
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
            f"README.md's layout line {line!r} is not 'name  what it is for' (one line each)"
        )
        depth, rest = divmod(len(match["indent"]), 2)
        assert not rest and depth <= len(parents), f"README.md's layout: bad indent in {line!r}"
        del parents[depth:]
        path = "".join(parents) + match["name"]
        assert match["name"].endswith(("/", ".py")), f"README.md's layout: {path}?"
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
    entries = listed(layout_block((ROOT / "README.md").read_text()))
    missing, stale = missing_and_stale(entries, modules(ROOT))
    messages = [
        f"{p} has no line in README.md's layout section: add one under "
        f"{p.rsplit('/', 1)[0]}/, '{p.rsplit('/', 1)[1]}  what it is for'"
        for p in missing
    ] + [f"README.md's layout section lists {p}, which is not there: remove it" for p in stale]
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
    entries = listed(layout_block(f"# x\n\n## Layout\n\n{BLOCK}\n## Next\n"))
    assert "graphad/" in entries and "tests/" not in entries
    assert missing_and_stale(entries, files) == (missing, stale)


@pytest.mark.parametrize("line", ["  node.py", "   node.py   nodes", "  node.txt   notes"])
def test_a_line_without_a_description_or_out_of_the_tree_shape_is_refused(line: str) -> None:
    with pytest.raises(AssertionError, match=r"README\.md's layout"):
        listed(["graphad/   the package", line])
