"""The numba backend: what compiles, what falls back and says so, the cache, the errors.

Values against the NumPy backend on the whole op table are ``tests/ops/test_numba_table.py``;
here: the cut into regions and the report, IEEE special values, float32, unknown dims, new
specialisations, compile time and numba's disk cache across processes, errors that name the
node, the options of ``function``, ``evaluate`` and ``minimize``, pickling, threads, and
packaging (``import graphad`` does not import numba; without numba, a clear error).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import TensorType
from graphad.ir.native import Call

numba = pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("numba")


def both(fetches: Any, feeds: dict[Any, Any], cache: Path, **options: Any) -> tuple[Any, Any, Any]:
    """The fetches on NumPy and on numba, and the numba Executor."""
    ex = ga.Executor(fetches, backend="numba", cache_dir=cache, **options)
    return ga.Executor(fetches, **options).run(feeds), ex.run(feeds), ex


def test_an_elementwise_chain_and_its_gradient_are_one_loop(cache: Path) -> None:
    x = ga.placeholder("x", (1000,))
    y = ga.sum(ga.sin(x) * ga.exp(-x * x) + ga.tanh(x) ** 2)
    xv = np.linspace(-2, 2, 1000)
    want, got, ex = both([y, ga.gradients(y, x)], {x: xv}, cache)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-15)
    assert ex.fallbacks == ()
    (region,) = ex._native.regions
    # one pass over memory: value, sum and gradient, in chunks whose entries of the sum
    # are added up after each (the loop vectorises); the pass again on C's functions (an
    # argument beyond sin's exact reduction) is under a test of the arguments
    fast = region.kernel.source.split("    if g")[0]
    assert fast.count("for c0 in range(0, 1000, 512)") == 1
    assert fast.count("r0 = v0[i0]") == 1
    assert fast.count("np.empty(") == 2  # the gradient's array and the chunk's; no temporaries
    assert "1 compiled region(s), 0 native loop(s), 0 node(s) on NumPy" in ex.report()


def test_ops_without_a_native_form_run_on_numpy_between_regions(cache: Path) -> None:
    x = ga.placeholder("x", (5, 3))
    s = ga.logsumexp(ga.exp(x) * 2.0, axis=1)  # logsumexp has no native form
    y = ga.sum(ga.log(s + 1.0))
    xv = np.linspace(-1, 1, 15).reshape(5, 3)
    want, got, ex = both(y, {x: xv}, cache)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    reasons = [(f.node.op.name, f.reason) for f in ex.fallbacks]
    assert reasons == [("logsumexp", "logsumexp has no native form")]
    assert len(ex._native.regions) == 2  # before the logsumexp and after it
    report = ex.report()
    assert "2 compiled region(s), 0 native loop(s), 1 node(s) on NumPy" in report
    assert "logsumexp has no native form" in report and "test_numba_backend.py" in report


def test_structures_complex_values_and_user_ops_fall_back_with_reasons(cache: Path) -> None:
    z = ga.placeholder("z", (3,), "complex128")
    x = ga.placeholder("x", (3,))
    y = ga.abs(z) + ga.sum(ga.stack([x, 2 * x]), axis=0) + ga.cumsum(x)
    _, _, ex = both(y, {z: np.ones(3) * (1 + 1j), x: np.arange(3.0)}, cache)
    reasons = {f.node.op.name: f.reason for f in ex.fallbacks}
    assert reasons["abs"] == "abs on complex128, float64"
    assert reasons["cum_sum"] == "cum_sum has no native form"
    assert "stack" not in reasons  # np.stack of float64 arrays compiles


# -- IEEE semantics, dtypes, shapes ---------------------------------------------------
SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324, 1e-310, 1.0, -1.0, 700.0])


def specials(x: ga.Node) -> list[ga.Node]:
    return [
        1.0 / x,
        ga.log(x),
        ga.sqrt(x),
        ga.exp(x),
        x * 0.0,
        ga.tanh(x),
        ga.sigmoid(x),
        ga.relu(x),
        ga.maximum(x, 0.0),
        ga.minimum(x, -0.0),
        ga.where(x > 0, x, -x),
        ga.multiply_no_nan(x, x),
        x**3.0,
        ga.max(x),
        ga.min(x),
        ga.sum(x),
        ga.mean(x),
        ga.prod(x),
    ]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_special_values_agree_with_numpy(dtype: str, cache: Path) -> None:
    """±inf, NaN, ±0 and subnormals: 1/0 is inf and log(0) -inf (NumPy's error model, no
    exception), NaN propagates through max and min, no fastmath reassociates; the same
    dtypes as NumPy's."""
    x = ga.placeholder("x", SPECIAL.shape, dtype)
    xv = SPECIAL.astype(dtype)
    want, got, ex = both(specials(x), {x: xv}, cache)
    assert ex.fallbacks == ()
    ulp = np.finfo(dtype).eps
    for w, g, node in zip(want, got, specials(x)):
        w, g = np.asarray(w), np.asarray(g)
        assert g.dtype == w.dtype == np.dtype(dtype), node
        # inf, NaN and 0 where NumPy has them; elsewhere within NumPy's own ulp or two
        np.testing.assert_allclose(g, w, rtol=2 * ulp, atol=0, err_msg=str(node))
        number = ~np.isnan(w)  # a NaN's sign is no value's
        assert (np.signbit(g) == np.signbit(w))[number].all(), node


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_branching_formulas_are_functions_of_their_own_with_numpys_bits(
    dtype: str, cache: Path
) -> None:
    """Past INLINE_BRANCHES of them in a region, a formula with a conditional (the chain
    rule's strong products and quotients, max, where) is written once, as a function the
    kernel calls, not as branches in the kernel, whose compile time grows with their
    square; every pair of special values gives NumPy's bits, the sign of a zero too."""
    from graphad.compiler.native_code import INLINE_BRANCHES

    x = ga.placeholder("x", (SPECIAL.size,), dtype)
    y = ga.placeholder("y", (SPECIAL.size, 1), dtype)
    fetches = [ga.multiply_no_nan(x, y), ga.xdivy(x, y), ga.maximum(x, y), ga.where(x > y, x, y)]
    chain = x
    for _ in range(INLINE_BRANCHES // 2 + 1):  # each formula used many times
        chain = ga.multiply_no_nan(chain + 1.0, y) + ga.xdivy(y, chain)
    feeds = {x: SPECIAL.astype(dtype), y: SPECIAL[:, None].astype(dtype)}
    want, got, ex = both([*fetches, chain], feeds, cache)
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True)
        assert (np.signbit(g) == np.signbit(w))[~np.isnan(w)].all()
    (region,) = ex._native.regions
    functions = region.kernel.source.split("\ndef ")
    assert sum(f.startswith("formula_") for f in functions) == 4  # each once
    kernel = next(f for f in functions if f.startswith("kernel("))
    assert " if " not in kernel and kernel.count("formula_") > INLINE_BRANCHES
    few = ga.Executor(fetches, backend="numba", cache_dir=cache)  # few: inline, as ever
    assert "formula_" not in few._native.regions[0].kernel.source


def test_unknown_dims_share_one_compiled_function_across_shapes(cache: Path) -> None:
    x = ga.placeholder("x", (None, 3))
    b = ga.placeholder("b", (None,))
    y = ga.tanh(x * ga.expand_dims(b, 1)) + 1.0
    fetches = [y, ga.sum(y, axis=0), ga.gradients(ga.sum(y * y), [x, b])]
    ex = ga.Executor(fetches, backend="numba", cache_dir=cache)
    for n in (4, 1, 7):
        rng = np.random.default_rng(n)
        feeds = {x: rng.standard_normal((n, 3)), b: rng.standard_normal(n)}
        want = ga.Executor(fetches).run(feeds)
        got = ex.run(feeds)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-13)
        for g, w in zip(got[2], want[2]):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    assert all(r.kernel.compiled <= 1 for r in ex._native.regions)  # one specialisation


def test_a_new_layout_or_graph_dtype_compiles_a_new_specialisation(cache: Path) -> None:
    x = ga.placeholder("x", (3, 4))
    y = ga.exp(x) * 2.0 + x
    ex = ga.Executor(y, backend="numba", cache_dir=cache)
    c = np.arange(12.0).reshape(3, 4) / 7
    ex.run({x: c})
    (region,) = ex._native.regions
    before = len(region.kernel.fn.signatures)
    f = np.asfortranarray(c)
    np.testing.assert_allclose(ex.run({x: f}), np.exp(c) * 2.0 + c, rtol=1e-15)
    assert len(region.kernel.fn.signatures) == before + 1  # Fortran order: its own code
    x32 = ga.placeholder("x", (3, 4), "float32")
    y32 = ga.exp(x32) * 2.0 + x32
    got = ga.Executor(y32, backend="numba", cache_dir=cache).run({x32: c})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, (np.exp(c) * 2.0 + c).astype(np.float32), rtol=1e-6)


def test_scalar_recurrence_compiles_to_one_region(cache: Path) -> None:
    x, y = ga.placeholder("x", ()), ga.placeholder("y", ())
    z: ga.Node = ga.constant(0.5)
    for _ in range(20):
        z = ga.sin(z) * x + y * z
    fetches = [z, *ga.gradients(z, [x, y])]
    want, got, ex = both(fetches, {x: 0.9, y: 0.3}, cache)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert len(ex._native.regions) == 1 and ex.fallbacks == ()
    assert all(type(v) is np.float64 for v in got)  # NumPy scalars, as NumPy gives them


# -- compile time and the disk cache ----------------------------------------------------
SCRIPT = """
import json, sys
import numpy as np
import graphad as ga
x = ga.placeholder("x", (50,))
y = ga.sum(ga.cos(x) ** 3 + ga.sqrt(ga.abs(x)))
ex = ga.Executor([y, ga.gradients(y, x)], backend="numba", cache_dir=sys.argv[1])
ex.run({x: np.linspace(-1, 1, 50)})
regions = ex._native.regions
print(json.dumps({"compile_time": ex.compile_time,
                  "hits": sum(r.kernel.cache_hits for r in regions),
                  "compiled": sum(r.kernel.compiled for r in regions)}))
"""


def test_compiled_code_is_cached_on_disk_for_a_new_process(tmp_path: Path) -> None:
    def run() -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    first, second = run(), run()
    assert first["hits"] == 0 and first["compiled"] >= 1 and first["compile_time"] > 0
    assert second["hits"] == second["compiled"] == first["compiled"]
    assert second["compile_time"] < first["compile_time"]
    assert list(tmp_path.glob("graphad_numba_*.py"))  # the sources, beside numba's cache


# -- errors ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Fails(ga.Op):
    """A user's op whose kernel raises."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise ValueError("the kernel gave up")


def test_a_failing_kernel_between_regions_names_its_node(cache: Path) -> None:
    x = ga.placeholder("x", (3,))
    y = ga.exp(Fails()(ga.sin(x) + 1.0)) * 2.0
    ex = ga.Executor(y, backend="numba", cache_dir=cache)
    with pytest.raises(ga.ExecutionError, match=r"fails failed .* the kernel gave up .*"):
        ex.run({x: np.zeros(3)})


def test_debug_names_the_node_that_made_nan_found_on_numpy(cache: Path) -> None:
    x = ga.placeholder("x", (3,))
    y = ga.sum(ga.log(x - 1.0) * 2.0)  # log of a negative number: NaN from finite inputs
    ex = ga.Executor(y, backend="numba", cache_dir=cache, debug=True)
    assert len(ex._native.regions) == 1
    with pytest.raises(ga.ExecutionError, match=r"log made NaN or inf .* test_numba_backend"):
        ex.run({x: np.array([2.0, 0.5, 3.0])})
    assert ex.run({x: np.array([2.0, 3.0, 4.0])}) == pytest.approx(2 * np.log(2.0 * 3.0))


@dataclass(frozen=True)
class Untypable(ga.Op):
    """A user's op whose native form numba cannot compile (np.dot of 3-d arrays)."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x * 1.0

    def native(self, node: ga.Node) -> Call:
        return Call("np.dot({0}, {0})")


def test_a_region_numba_cannot_compile_runs_on_numpy_and_says_so(cache: Path) -> None:
    x = ga.placeholder("x", (2, 2, 2))
    y = Untypable()(x * 2.0) + 1.0
    xv = np.arange(8.0).reshape(2, 2, 2)
    want, got, ex = both(y, {x: xv}, cache)
    np.testing.assert_array_equal(got, want)
    reasons = {f.reason for f in ex.fallbacks}
    assert len(reasons) == 1 and reasons.pop().startswith("numba could not compile the region")
    np.testing.assert_array_equal(ex.run({x: xv}), want)  # and keeps running on NumPy


@dataclass(frozen=True)
class FailsNatively(ga.Op):
    """A user's op whose native form raises at run time (an array of negative length)
    where its NumPy kernel succeeds."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x * 1.0

    def native(self, node: ga.Node) -> Call:
        return Call("({0} + np.sum(np.empty(-1, np.float64)))")


def test_a_plan_of_one_region_is_one_call_with_the_plans_checks_and_errors(cache: Path) -> None:
    """A plan that is one compiled region runs as one call of it (``Executor._direct``):
    feeds are checked as ever, each fetch is the caller's own array (one node fetched twice
    too), and a region failing at run time is run again on NumPy to say so."""
    x = ga.placeholder("x", (3,))
    y = ga.tanh(x) * 2.0
    ex = ga.Executor([y, y, ga.sum(y)], backend="numba", cache_dir=cache)
    assert ex._direct is not None
    a, b, total = ex.run({x: np.arange(3.0)})
    np.testing.assert_allclose(a, np.tanh(np.arange(3.0)) * 2.0, rtol=1e-15)
    assert not np.shares_memory(a, b) and a.flags.writeable and type(total) is np.float64
    with pytest.raises(ga.FeedError, match="'x' has shape"):
        ex.run({x: np.arange(4.0)})
    failing = ga.Executor(FailsNatively()(x) * 2.0, backend="numba", cache_dir=cache)
    assert failing._direct is not None
    with pytest.raises(ga.ExecutionError, match=r"numba_region.* the same run on NumPy succeeds"):
        failing.run({x: np.arange(3.0)})


def test_the_graph_as_built_compiles_too_and_dask_feeds_are_refused(cache: Path) -> None:
    x = ga.placeholder("x", (4,))
    y = ga.sum(x * 1.0 + 0.0) * ga.exp(x)  # as built: the laws would fold * 1 and + 0
    want, got, ex = both(y, {x: np.arange(4.0)}, cache, optimize=False)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert {n.op.name for r in ex._native.regions for n in r.region.nodes} >= {"add", "sum"}
    da = pytest.importorskip("dask.array")
    with pytest.raises(ga.FeedError, match="backend='numba' computes NumPy arrays"):
        ex.run({x: da.arange(4.0, chunks=2)})


# -- the options through function, evaluate, minimize; pickling; threads ----------------
def test_function_evaluate_and_minimize_take_the_backend(cache: Path) -> None:
    x = ga.placeholder("x", (3,))
    f = ga.sum((x - 1.0) ** 2)
    fn = ga.function(x, [f, ga.gradients(f, x)], backend="numba", cache_dir=cache)
    value, grad = fn(np.zeros(3))
    assert value == 3.0 and np.array_equal(grad, -2 * np.ones(3))
    assert fn.executor.backend == "numba"
    assert ga.evaluate(f, {x: np.ones(3)}, backend="numba") == 0.0
    pytest.importorskip("scipy")
    result = ga.minimize(f, x, np.zeros(3), executor_options={"backend": "numba"})
    np.testing.assert_allclose(result.x, np.ones(3), atol=1e-6)


def test_an_executor_pickles_and_runs_from_many_threads(cache: Path) -> None:
    x = ga.placeholder("x", (64,))
    y = ga.sum(ga.tanh(x) * x)
    ex = pickle.loads(pickle.dumps(ga.Executor(y, backend="numba", cache_dir=cache)))
    assert ex.backend == "numba"
    values = [np.linspace(-k, k, 64) for k in range(1, 9)]
    results: dict[int, Any] = {}

    def work(k: int) -> None:
        results[k] = ex.run({"x": values[k]})  # the loaded Executor has its own nodes

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        assert results[k] == pytest.approx(np.sum(np.tanh(values[k]) * values[k]), rel=1e-13)


# -- packaging ------------------------------------------------------------------------
def test_import_graphad_does_not_import_numba() -> None:
    code = "import sys, graphad; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_numba_the_numba_backend_is_a_graph_error_saying_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["numba"] = None  # as if numba were not installed
        import graphad as ga
        x = ga.placeholder("x", (2,))
        try:
            ga.Executor(x + 1.0, backend="numba")
        except ga.GraphError as e:
            print(e)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert "backend='numba' needs numba: pip install 'graphad[numba]'" in out.stdout


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_small_products_are_loops_that_agree_with_blas(dtype: str, cache: Path) -> None:
    """numba_numpy.dot compiled: products of at most SMALL_DOT multiplications run as loops
    (every rank pair, F-ordered operands, an empty inner dim, inf and NaN, written into a
    given array or a new one), larger ones on BLAS."""
    from graphad.runtime.numba_numpy import SMALL_DOT
    from graphad.runtime.numba_numpy import dot as numba_dot

    @numba.njit
    def dot(a: Any, b: Any) -> Any:
        return numba_dot(a, b)

    @numba.njit
    def dot_into(a: Any, b: Any, out: Any) -> Any:
        return numba_dot(a, b, out)

    rng = np.random.default_rng(3)
    pairs = [((5,), (5,)), ((4, 5), (5,)), ((5,), (5, 3)), ((4, 5), (5, 3)), ((8, 1), (1, 8))]
    pairs += [((0,), (0,)), ((3, 0), (0, 2)), ((40, 40), (40, 40))]
    assert 40**3 > SMALL_DOT >= 4 * 5 * 3
    rtol = 1e-5 if dtype == "float32" else 1e-13
    for sa, sb in pairs:
        a, b = (rng.normal(size=s).astype(dtype) for s in (sa, sb))
        # each layout and rank is a signature to compile: the other layouts in float64 only
        layouts = (a, np.asfortranarray(a)) if dtype == "float64" and a.ndim == 2 else (a,)
        for x in layouts:
            got, want = dot(x, b), np.dot(a, b)
            assert np.shape(got) == np.shape(want)
            assert np.ndim(got) == 0 or got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)
            if np.ndim(want) and dtype == "float64":
                out = np.empty_like(want)
                assert np.shares_memory(dot_into(x, b, out), out)
                np.testing.assert_allclose(out, want, rtol=rtol, atol=1e-6)
    special = np.array([[np.inf, 0.0], [np.nan, 1.0], [-np.inf, np.inf]], dtype)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(dot(special, np.ones(2, dtype)), special @ np.ones(2, dtype))


@pytest.mark.parametrize("jit", [True, False])
def test_products_known_large_call_blas_alone_with_its_bits(
    jit: bool, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A product whose sizes are known and past SMALL_DOT multiplications calls blas_dot,
    BLAS without the loops of small products, and so does its reverse pass; small or
    unknown ones take np.dot.  Its bits are np.dot's, compiled or (numba's DISABLE_JIT) run
    as Python on NumPy."""
    from graphad.runtime.numba_numpy import SMALL_DOT

    if not jit:
        monkeypatch.setattr(numba.core.config, "DISABLE_JIT", True)
    x, w = ga.placeholder("x", (16, 40)), ga.placeholder("w", (40, 8))
    v, n, m = ga.placeholder("v", (3,)), ga.placeholder("n", (None, 3)), ga.placeholder("m", (4, 3))
    assert 16 * 40 * 8 > SMALL_DOT >= 4 * 3
    y = ga.sum(ga.tanh(x @ w)) + ga.sum(n @ v) + ga.sum(m @ v)
    rng = np.random.default_rng(5)
    shapes = ((16, 40), (40, 8), (3,), (5, 3), (4, 3))
    xv, wv, vv, nv, mv = (rng.normal(size=s) for s in shapes)
    feeds = {x: xv, w: wv, v: vv, n: nv, m: mv}
    want, got, ex = both([x @ w, y, *ga.gradients(y, [x, w])], feeds, cache)
    (region,) = ex._native.regions
    source = region.kernel.source
    assert source.count("np.blas_dot(") == 3  # x·w, and ḡ·wᵀ and xᵀ·ḡ
    assert source.count("np.dot(") == 2  # n·v of unknown rows and the 4 x 3 product
    assert ("import graphad.runtime.numba_nojit as np" in source) is not jit
    np.testing.assert_array_equal(got[0], np.dot(xv, wv))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)
    for g, h in zip(got[2:], want[2:]):
        np.testing.assert_allclose(g, h, rtol=1e-13, atol=1e-15)


def test_the_reverse_pass_of_ints_and_slices_compiles(cache: Path) -> None:
    """scatter_add and scatter_sum of an int (a 0-d or a row update) or a slice on one
    axis: each term between zeros, joined by np.concatenate, in a compiled region."""
    x = ga.placeholder("x", (4,))
    m = ga.placeholder("m", (3, 4))
    y = ga.sum(ga.sin(x[2]) * x[1:3]) + x[-1] * 2.0
    y = y + ga.sum(m[1] * 3.0) + ga.sum(ga.exp(m[:, 1:]))
    xv, mv = np.linspace(0.1, 0.9, 4), np.linspace(-1, 1, 12).reshape(3, 4)
    want, got, ex = both([y, *ga.gradients(y, [x, m])], {x: xv, m: mv}, cache)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15)
    assert ex.fallbacks == ()
    assert "scatter_sum" in ex.report()  # the adjoints of x's three indices, summed


def test_large_arrays_of_a_region_come_from_the_pool_and_are_never_shared(cache: Path) -> None:
    """A region writes its large arrays (a product, a fused chain, a running sum) into
    buffers of the run's pool: numba's own allocation maps them afresh each call; a fetched
    result is never written again by a later run, and a temporary goes back to the pool."""
    a = ga.placeholder("a", (300, 40))
    b = ga.placeholder("b", (40, 200))
    p = a @ b  # 480 KB: past the pool's 256 KiB
    z = ga.exp(-p * p) - p
    y = [z, ga.sum(z * z, axis=0), ga.sum(z, axis=1)]
    rng = np.random.default_rng(3)
    feeds = {a: rng.standard_normal((300, 40)), b: rng.standard_normal((40, 200))}
    want, got, ex = both(y, feeds, cache)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-300)
    buffers = [b for c in ex._native.regions for b in c.buffers]
    assert {b.shape for b in buffers} >= {(300, 200)}
    assert any(not b.returned for b in buffers)  # the product, read only inside
    again = ex.run({a: -feeds[a], b: feeds[b]})
    for g, w in zip(ex.run(feeds), got):  # the first run's fetches were not overwritten
        np.testing.assert_array_equal(g, w)
    assert not np.shares_memory(again[0], got[0])
    assert ex._program.pool.held() > 0  # the temporary product, kept for the next run


def test_a_sum_over_the_innermost_axes_runs_in_a_local_in_order(cache: Path) -> None:
    """Σ over the last axes of a fused chain is added up in a local between its loops, in
    the order of the entries (a sequential sum: cumsum's last entry, bit for bit)."""
    x = ga.placeholder("x", (30, 20, 17))
    y = ga.sum(ga.sin(x) * x, axis=(1, 2))
    xv = np.random.default_rng(4).standard_normal((30, 20, 17))
    xv[3, 4, 5], xv[7, 0, 0] = np.inf, np.nan
    ex = ga.Executor(y, backend="numba", cache_dir=cache)
    (region,) = ex._native.regions
    body = region.kernel.source.split("for i0 in range(30):")[1]
    assert body.index("u3 = t3[i0]") < body.index("for i1") < body.index("u3 = (u3 + e2)")
    assert body.index("u3 = (u3 + e2)") < body.index("t3[i0] = u3")
    with np.errstate(invalid="ignore"):
        terms = (np.sin(xv) * xv).reshape(30, -1)
    want = np.cumsum(terms, axis=1)[:, -1]
    np.testing.assert_array_equal(ex.run({x: xv}), want)


def test_a_chunked_sum_over_the_innermost_axis_runs_in_a_local_in_order(cache: Path) -> None:
    """A sum over a long innermost axis of a loop calling vectorised functions is both
    chunked (its steps after each chunk, from a buffer) and kept in a local between its
    loops; the order is the entries' (cumsum's last entry, bit for bit), also when an
    argument of sin is beyond the fast reduction and the nest runs again on C's sin."""
    x = ga.placeholder("x", (5, 1300))
    y = ga.sum(ga.sin(x) * x, axis=1)
    ex = ga.Executor(y, backend="numba", cache_dir=cache)
    terms = ga.Executor(ga.sin(x) * x, backend="numba", cache_dir=cache)  # the same sin
    (region,) = ex._native.regions
    assert "range(0, 1300, 512)" in region.kernel.source
    xv = np.random.default_rng(6).standard_normal((5, 1300))
    for far in (False, True):
        if far:
            xv[2, 700] = 1e12
        want = np.cumsum(terms.run({x: xv}), axis=1)[:, -1]
        np.testing.assert_array_equal(ex.run({x: xv}), want)
