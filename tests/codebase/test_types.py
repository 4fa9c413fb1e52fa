"""The package type-checks: mypy, with the settings in pyproject.toml, finds no error, and
the few ``# type: ignore`` comments each say why, beside the ruff test of test_style.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORE_LIMIT = 20  # issue 15: a type checker clean with at most this many ignores
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def test_mypy_finds_no_error() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[dev]'")
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],  # its files and settings are pyproject.toml's
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ignores() -> Iterator[tuple[str, int, list[str]]]:
    for path in sorted((ROOT / "graphad").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if IGNORE.search(line):
                yield f"{path.relative_to(ROOT)}:{i + 1}", i, lines


def _explained(i: int, lines: list[str]) -> bool:
    """A reason after the ignore on its line, or a comment line above it (above the run of
    ignored lines it heads)."""
    match = IGNORE.search(lines[i])
    assert match is not None
    if match["codes"] is None:  # a bare ignore silences every error: never explained
        return False
    if re.search(r"#\s*\S", match["rest"]):
        return True
    above = i - 1
    while above >= 0 and IGNORE.search(lines[above]):
        above -= 1
    return above >= 0 and lines[above].lstrip().startswith("#")


def test_type_ignores_are_few_and_each_says_why() -> None:
    found = list(_ignores())
    assert len(found) <= IGNORE_LIMIT, [where for where, _, _ in found]
    unexplained = [where for where, i, lines in found if not _explained(i, lines)]
    assert not unexplained, f"type: ignore without an error code and a reason: {unexplained}"
