"""What a user copies must run: every notebook, every example script, every Python block of
the README and of docs/*.md.

Notebooks run under a real Jupyter kernel (nbclient + ipykernel), as
``scripts/regenerate.py`` runs them to save their outputs.  Examples run as scripts in a
fresh interpreter from the repository root.  Each ```` ```python ```` block of a page is a
program of its own: it runs alone, in a namespace of its own, in an empty temporary folder
(what it writes lands there), so a block that leans on an import or a value of the block
before it fails here.  A block that is not meant to run is not marked ``python``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT_S = 120


def test_there_is_at_least_one_notebook_and_one_example() -> None:
    assert NOTEBOOKS, "notebooks/ has no .ipynb file"
    assert EXAMPLES, "examples/ has no .py file"


def run_cells(sources: list[tuple[str, str]], cwd: Path) -> dict[str, object]:
    """Execute ``(label, code)`` pairs in order in one namespace, with ``cwd`` as working dir."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        for label, code in sources:
            exec(compile(code, label, "exec"), namespace)
    finally:
        os.chdir(previous)
    return namespace


@pytest.mark.render
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    # the kernel imports this checkout's graphad even when another one is installed
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    notebook = nbformat.read(path, as_version=4)
    assert any(c.cell_type == "code" for c in notebook.cells), f"{path.name} has no code cell"
    saved = [c.get("outputs") for c in notebook.cells if c.cell_type == "code"]
    assert any(saved), f"{path.name} is committed without outputs (scripts/regenerate.py)"
    NotebookClient(
        notebook,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # raises CellExecutionError naming the cell and its traceback


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    # PYTHONPATH: the scripts import this checkout's graphad even when it is not installed.
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, (
        f"{path.name} exited with {done.returncode}\n"
        f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
    )


FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
DRAWS = re.compile(r"\b(render|to_svg|to_dot)\(")


def python_blocks(page: str) -> list[tuple[int, str]]:
    """``(line, code)`` of each ```` ```python ```` block of a Markdown page, its line the
    fence's (1-based)."""
    return [(page.count("\n", 0, m.start()) + 1, m[1]) for m in FENCE.finditer(page)]


def block_cases() -> list[pytest.param]:
    cases = []
    for path in PAGES:
        name = path.relative_to(ROOT).as_posix()
        for line, code in python_blocks(path.read_text(encoding="utf-8")):
            marks = [pytest.mark.render] if DRAWS.search(code) else []
            cases.append(pytest.param(f"{name}:{line}", code, marks=marks, id=f"{name}:{line}"))
    return cases


def test_the_readme_and_the_docs_have_python_to_run() -> None:
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8")), "README.md: no python"
    assert len(PAGES) > 1, "docs/ has no .md page"


LINK = re.compile(r"\]\((?!https?:|#)([^)#\s]+)")


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_of_a_page_points_at_a_file(path: Path) -> None:
    targets = LINK.findall(path.read_text(encoding="utf-8"))
    broken = [t for t in targets if not (path.parent / t).exists()]
    assert not broken, f"{path.relative_to(ROOT)} links to what is not there: {broken}"


@pytest.mark.parametrize(("label", "code"), block_cases())
def test_python_block_runs_on_its_own(label: str, code: str, tmp_path: Path) -> None:
    run_cells([(label, code)], tmp_path)


def test_a_block_that_leans_on_the_one_before_fails() -> None:
    page = "# p\n\n```python\nimport numpy as np\n```\n\ntext\n\n```python\nnp.ones(2)\n```\n"
    (first, one), (second, two) = python_blocks(page)
    assert (first, second) == (3, 9)
    run_cells([("p:3", one)], ROOT)
    with pytest.raises(NameError, match="np"):
        run_cells([("p:9", two)], ROOT)
