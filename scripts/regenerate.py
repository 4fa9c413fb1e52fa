"""Regenerate what is committed with outputs: the notebooks (run by a real kernel, saved with
their outputs) and docs/drawing.md's drawing of the notes' example (docs/notes_example.svg).

    python scripts/regenerate.py            # from the repository root
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the kernels too: this checkout's graphad, whatever is installed
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import graphad as ga  # noqa: E402 - this checkout's graphad, whatever is installed
from graphad.cli import notes_example  # noqa: E402


def notes_drawing() -> Path:
    v1, v4 = notes_example()
    adj = ga.adjoints(v4, v1)
    return ga.render(
        v4,
        ROOT / "docs" / "notes_example.svg",
        title="v₂ = exp(v₁), v₃ = v₂ + 1, v₄ = v₂·v₃, and its adjoints",
        derivatives=adj,
        link_adjoints=True,
    )


def run_notebook(path: Path, timeout_s: int = 300) -> nbformat.NotebookNode:
    """Execute ``path`` with a Python kernel started in its folder; returns it with outputs."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validator.normalize(notebook)  # cell ids, as nbformat 5 wants them
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def main() -> None:
    print(f"wrote {notes_drawing()}")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        start = time.perf_counter()
        nbformat.write(run_notebook(path), path)
        print(f"ran and saved {path.name} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
