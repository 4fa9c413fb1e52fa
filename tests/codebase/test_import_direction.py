"""Imports flow one way: no module of graphad imports a layer above its own at module level.

The layers are those of ``graphad/__init__.py``'s docstring, bottom up: ir ← ops ←
autodiff | compiler ← runtime ← control ← the top (the public API, viz, numerical, the
command line, ...).  A module imports at module level from its own package and from the
layers below; peers on one layer (autodiff and compiler) do not import each other; the top
layer sits freely on all.  An import inside a function runs when the function is called, so
it cannot make a cycle at import time, but one that reaches upwards is still a dependency
the design must own: each is listed in ``LAZY_UPWARD`` with its reason.  Imports under
``if TYPE_CHECKING:`` never run and are not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "graphad"

TOP = 5
# each top-level package or module of graphad, by its layer (a higher one builds on a lower)
LAYERS: dict[str, int] = {
    "ir": 0,
    "ops": 1,
    "autodiff": 2,
    "compiler": 2,
    "runtime": 3,
    "control": 4,
    **dict.fromkeys(
        [
            "__init__",
            "__main__",
            "linalg",
            "compiled",
            "scipy_minimize",
            "numerical",
            "viz",
            "explanation",
            "formulas",
            "debug_print",
            "expression",
            "cli",
            "cli_checks",
        ],
        TOP,
    ),
}

# imports inside functions that reach a layer above the importer, and why each may
LAZY_UPWARD: dict[tuple[str, str], str] = {
    ("graphad.ir.node", "graphad.ops"): "operators on Node are the ops' functions (_fns)",
    ("graphad.ir.node", "graphad.ops.protocol"): "NumPy's protocols and methods on Node",
    ("graphad.ir.leaves", "graphad.ops.shape"): "a list of nodes taken as an array is a stack",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> int:
    """The layer of ``graphad.<part>...``; ``graphad`` itself is the top."""
    parts = module.split(".")
    part = parts[1] if len(parts) > 1 else "__init__"
    if part not in LAYERS:
        raise AssertionError(
            f"graphad/{part} has no layer: add it to LAYERS in {Path(__file__).name} and to "
            "the layers in graphad/__init__.py's docstring"
        )
    return LAYERS[part]


def package_of(module: str) -> str:
    """``graphad.ops.shape`` -> ``graphad.ops``; the top-level modules are each their own."""
    return ".".join(module.split(".")[:2])


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def imports(source: str, module: str, is_package: bool) -> Iterator[tuple[str, int, bool]]:
    """(imported graphad module, line, at module level) for each import of graphad in
    ``source``, relative imports resolved; ``from a import b`` gives ``a.b`` when that is a
    module of graphad, else ``a``."""

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, int, bool]]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                yield from visit(statement, top)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "graphad":
                    yield alias.name, node.lineno, top
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node)
            if base.split(".")[0] == "graphad":
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if _exists(sub) else base), node.lineno, top
        else:
            inside = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for child in ast.iter_child_nodes(node):
                yield from visit(child, top and not inside)

    yield from visit(ast.parse(source), True)


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def upward(module: str, imported: str) -> bool:
    """Whether ``module`` importing ``imported`` goes against the layers."""
    if package_of(imported) == package_of(module):
        return False
    mine, theirs = layer(module), layer(imported)
    return theirs > mine or (theirs == mine and mine != TOP)


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    found = []
    for imported, line, top in imports(source, module, is_package):
        if not upward(module, imported):
            continue
        if top:
            found.append(f"{module}:{line} imports {imported} at module level")
        elif (module, imported) not in LAZY_UPWARD:
            found.append(
                f"{module}:{line} imports {imported} inside a function: an upward reach, "
                f"to be listed in LAZY_UPWARD ({Path(__file__).name}) with its reason"
            )
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: module_name(p))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    module = module_name(path)
    assert violations(path.read_text(), module, path.name == "__init__.py") == []


def test_the_listed_lazy_imports_are_still_there() -> None:
    """An exception no longer needed is taken off the list, so that the list stays the truth."""
    present = {
        (module_name(p), imported)
        for p in modules()
        for imported, _, top in imports(p.read_text(), module_name(p), p.name == "__init__.py")
        if not top
    }
    assert set(LAZY_UPWARD) <= present, set(LAZY_UPWARD) - present


@pytest.mark.parametrize(
    ("module", "source", "found"),
    [
        ("graphad.ir.types", "from graphad.ops import add\n", ["imports graphad.ops at module"]),
        ("graphad.ops.shape", "import graphad.runtime.executor\n", ["graphad.runtime.executor"]),
        ("graphad.ops.shape", "from ..compiler import plan\n", ["graphad.compiler.plan"]),
        ("graphad.autodiff.reverse", "from graphad.compiler import optimize\n", ["compiler"]),
        ("graphad.ops.shape", "def f():\n    from graphad import viz\n", ["LAZY_UPWARD"]),
        ("graphad.ir.node", "def f():\n    import graphad.ops\n", []),
        ("graphad.ir.op", "if TYPE_CHECKING:\n    from graphad.ops import add\n", []),
        ("graphad.ir.op", "if TYPE_CHECKING:\n    pass\nelse:\n    import graphad.ops\n", ["ops"]),
        ("graphad.ir.op", "class A:\n    from graphad.autodiff import jvp\n", ["module level"]),
        ("graphad.ops.shape", "from graphad.ir import Node\nfrom . import _util\n", []),
        ("graphad.viz.dot", "from graphad import numerical\nfrom graphad.cli import main\n", []),
        ("graphad.runtime.feeds", "from graphad.compiler.plan import Plan\n", []),
    ],
)
def test_the_check_finds_upward_imports_and_only_them(
    module: str, source: str, found: list[str]
) -> None:
    got = violations(source, module)
    assert len(got) == len(found), got
    for message, part in zip(got, found):
        assert part in message, message


def test_a_new_top_level_module_must_be_given_a_layer() -> None:
    with pytest.raises(AssertionError, match="add it to LAYERS"):
        layer("graphad.sparse")
