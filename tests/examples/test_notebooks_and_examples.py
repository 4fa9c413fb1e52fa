"""What a user copies must run: every notebook, every example script, the README's Python.

Notebooks run under a real Jupyter kernel (nbclient + ipykernel), as
``scripts/regenerate.py`` runs them to save their outputs.  Examples run as scripts in a
fresh interpreter from the repository root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def test_readme_python_blocks_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE)
    assert blocks, "README.md has no ```python block"
    run_cells([(f"README.md[block {i}]", code) for i, code in enumerate(blocks)], ROOT)
