"""The numba backend against the NumPy backend on the whole op table.

For every real case: y, its JVP, its VJP and its forward-over-reverse second derivative,
in float64, in float32 and (where the op allows them) on unknown dims, computed by
``backend="numba"`` equal the NumPy backend's to rounding, with the same dtypes and shapes.
The NumPy backend is the reference; ``test_table.py`` checks it against NumPy and against
central differences.

numba takes ~0.2-0.4 s to compile a region on this project's machines, and the table's
batteries make ~1,700 regions: ten minutes.  So the full table runs the generated source as
Python (numba's own switch, ``NUMBA_DISABLE_JIT``: the same source, not compiled), which
checks all that graphad generates (the cut into regions, fused nests, broadcasting by index,
folds, calls, casts to float32) on every case, and numba compiles that source for a sample
that holds one case of every op with a native form (:func:`sample`), y with its first
derivatives, and a few cases on unknown dims.  ``pytest --numba-table`` compiles the whole
table, second derivatives too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import graphad as ga

from .cases import CASES, Case

numba = pytest.importorskip("numba")
from numba.core import config as numba_config  # noqa: E402 - after the skip

REAL = [c for c in CASES if np.dtype(c.dtype).kind != "c"]


def by_id(cases: Sequence[Case]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


@pytest.fixture
def as_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions made in this test run their source as Python (numba's DISABLE_JIT)."""
    # imported with the switch off, or numba_numpy's functions stay Python for the compiled
    # tests after (this module run alone: nothing imported it before)
    import graphad.runtime.numba_numpy  # noqa: F401

    monkeypatch.setattr(numba_config, "DISABLE_JIT", True)


def derived(
    case: Case, dtype: str, dynamic: bool, second: bool = True
) -> tuple[list[ga.Node], dict[ga.Node, Any]]:
    """The case's y and, if differentiable, its JVP along v, its VJP of u and (``second``)
    the JVP along v of the gradient of sum(y·u); with the feeds, drawn from the case's
    domain."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    shapes = [(None,) * len(s) if dynamic else s for s in case.shapes]
    xs = [ga.placeholder(f"x{i}", s, dtype) for i, s in enumerate(shapes)]
    y = case.build(*xs)
    values = [v.astype(dtype) for v in case.sample(rng)]
    fetches = [y]
    if case.differentiable and y.dtype.kind == "f":
        u = rng.standard_normal(np.shape(case.ref(*values))).astype(dtype)
        vs = [rng.standard_normal(s).astype(dtype) for s in case.shapes]
        grads = ga.gradients(ga.sum(y * ga.constant(u)), xs)
        fetches += [ga.jvp(y, xs, [ga.constant(v) for v in vs]), *grads]
        if second:
            fetches += ga.jvp(grads, xs, [ga.constant(v) for v in vs])
    return fetches, dict(zip(xs, values))


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def same_on_numba(
    case: Case, dtype: str, dynamic: bool, cache: Any, second: bool = True
) -> ga.Executor:
    fetches, feeds = derived(case, dtype, dynamic, second)
    expected = ga.Executor(fetches).run(feeds)
    ex = ga.Executor(fetches, backend="numba", cache_dir=cache)
    got = ex.run(feeds)
    tol = 1e-4 if dtype == "float32" else 1e-10
    for g, e in zip(leaves(got), leaves(expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype and g.shape == e.shape
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)
    failed = [f.reason for f in ex.fallbacks if "could not compile" in f.reason]
    assert failed == []
    return ex


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("numba-table")


# -- the whole table, the generated source run as Python -------------------------
@by_id(REAL)
def test_case_as_generated_equals_numpy(case: Case, cache: Any, as_python: None) -> None:
    same_on_numba(case, "float64", False, cache)


@by_id([c for c in REAL if c.dtype == "float64" and not c.dyadic])
def test_float32_case_as_generated_equals_numpy(case: Case, cache: Any, as_python: None) -> None:
    same_on_numba(case, "float32", False, cache)


DYNAMIC = [c for c in REAL if c.dtype == "float64" and c.differentiable and not c.static_only]


@by_id(DYNAMIC)
def test_unknown_dims_as_generated_equal_numpy(case: Case, cache: Any, as_python: None) -> None:
    same_on_numba(case, "float64", True, cache)


# -- compiled by numba --------------------------------------------------------------
def native(case: Case) -> str | None:
    """The op of the case's y, if it has a native form (a scalar formula, a fold, a call)."""
    from graphad.compiler.regions import form

    fetches, _ = derived(case, "float64", False)
    y = fetches[0]
    return None if isinstance(form(y), str) else y.op.name


def sample() -> list[Case]:
    """The first case of every op with a native form, and each variant of an op whose form
    depends on its attributes (the axes of a fold, the items of an index, matmul's ranks)."""
    seen: set[str] = set()
    chosen = []
    for case in REAL:
        op = native(case) if case.dtype == "float64" else None
        if op is None or case.id.split("[")[0] != op:  # a case of another op, built of this
            continue
        if op not in seen or op in ("sum", "max", "getitem", "matmul", "reshape", "sum_to"):
            seen.add(op)
            chosen.append(case)
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``--numba-table`` compiles every case, not only the sample."""
    if "compiled_case" in metafunc.fixturenames:
        cases = REAL if metafunc.config.getoption("numba_table") else sample()
        metafunc.parametrize("compiled_case", cases, ids=[c.id for c in cases])


def full_table(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("numba_table"))


def test_compiled_case_equals_numpy(
    compiled_case: Case, cache: Any, request: pytest.FixtureRequest
) -> None:
    """y, its JVP and VJP (and with ``--numba-table`` the second order) compiled"""
    ex = same_on_numba(compiled_case, "float64", False, cache, full_table(request))
    assert ex._native.regions and all(r.kernel.fn.signatures for r in ex._native.regions)


# the run-time shape paths numba compiles: bounds from broadcast shapes, a stretched axis
# decided by its dim, a fold's count of unknown dims, a view of an unknown dim
UNKNOWN_DIMS = ["add[rows_cols]", "multiply[rank]", "sum[axis1]", "mean[axes02]", "max[axis1]"]
UNKNOWN_DIMS += ["getitem[slice_step]", "transpose[axes]", "where[broadcast]"]


@by_id([c for c in REAL if c.id in UNKNOWN_DIMS])
def test_compiled_case_on_unknown_dims_equals_numpy(case: Case, cache: Any) -> None:
    same_on_numba(case, "float64", True, cache, second=False)
