"""Loops against JAX's ``lax.scan`` and ``lax.fori_loop`` (skipped without JAX): values,
gradients, forward-mode tangents, Hessian-vector products and vmap agree on carries that
are tensors, tuples and dicts, with ``reverse``, captured values, and length 1.
JAX cannot reverse-differentiate ``lax.while_loop``; a bounded graphad while loop is
checked against the same recurrence written as a scan of its known trip count.

JAX runs in a child process, once for the module, on inputs written by this one: JAX
starts threads, and a test process that later forks (the CLI's tests do) must not hold
them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphad as ga

if importlib.util.find_spec("jax") is None:
    pytest.skip("JAX is not installed", allow_module_level=True)

RNG = np.random.default_rng(188)
# lengths 1 and 5: a zero-length scan runs in JAX only compiled, seconds per function for
# this test (graphad's are checked against Python loops and differences in the other tests)
SCANS = [(steps, reverse) for steps in (1, 5) for reverse in (False, True)]

JAX_SCRIPT = r"""
import sys
import numpy as np
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_disable_jit", True)  # op by op: compiling each small scan takes seconds
given = dict(np.load(sys.argv[1]))
out = {}

def step(w):
    def f(c, x):
        h, (s, p) = c["h"], c["sp"]
        h = jnp.tanh(w @ h + x * p)
        return {"h": h, "sp": (s + jnp.sum(h * h), p * 0.9)}, (h[0] * s, h)
    return f

for key in sorted({k.split("/")[0] for k in given if k.startswith("scan")}):
    reverse = key.endswith("r")
    def loss(w, h0, xs, p, reverse=reverse):
        init = {"h": h0, "sp": (jnp.asarray(0.0), p)}
        c, (firsts, hs) = jax.lax.scan(step(w), init, xs, reverse=reverse)
        return c["sp"][0] + jnp.sum(firsts) + jnp.sum(hs ** 3) + jnp.sum(c["h"])
    args = tuple(given[f"{key}/{n}"] for n in ("w", "h0", "xs", "p"))
    tangent = tuple(given[f"{key}/t{n}"] for n in ("w", "h0", "xs", "p"))
    value, grads = jax.value_and_grad(loss, argnums=(0, 1, 2, 3))(*args)
    out[f"{key}/value"] = value
    for n, g in zip(("w", "h0", "xs", "p"), grads):
        out[f"{key}/g{n}"] = g
    out[f"{key}/tangent"] = jax.jvp(loss, args, tangent)[1]
    zeros = tuple(jnp.zeros_like(a) for a in args[1:])
    out[f"{key}/hvp"] = jax.jvp(jax.grad(loss), args, (tangent[0], *zeros))[1]

w, h0, xb = given["vmap/w"], given["vmap/h0"], given["vmap/xs"]
run = lambda xs: jax.lax.scan(lambda h, x: (jnp.tanh(w @ h + x), jnp.sum(h)), h0, xs)
out["vmap/h"], out["vmap/sums"] = jax.vmap(run)(xb)

fori = lambda x: jax.lax.fori_loop(2, 7, lambda i, v: v * jnp.cos(x * i) + jnp.sin(v), x * 0.5)
out["fori/value"], out["fori/grad"] = jax.value_and_grad(fori)(given["fori/x"])

steps = int(given["while/steps"])
def unrolled(x):
    v = jax.lax.scan(lambda v, _: (v * 1.5 + jnp.sin(v), None), x, length=steps)[0]
    return jnp.sum(v ** 2)
out["while/grad"] = jax.grad(unrolled)(given["while/x"])
np.savez(sys.argv[2], **out)
"""


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """What JAX computes on the inputs of every test below, in one child process."""
    folder: Path = tmp_path_factory.mktemp("jax")
    given: dict[str, Any] = {}
    for steps, reverse in SCANS:
        key = f"scan{steps}{'r' if reverse else 'f'}"
        args = [RNG.normal(size=(3, 3)) * 0.7, RNG.normal(size=3), RNG.normal(size=(steps, 3))]
        for name, value in zip(("w", "h0", "xs", "p"), [*args, np.array(1.3)]):
            given[f"{key}/{name}"] = value
            given[f"{key}/t{name}"] = RNG.normal(size=np.shape(value))
    given.update({"vmap/w": RNG.normal(size=(3, 3)), "vmap/h0": RNG.normal(size=3)})
    given["vmap/xs"] = RNG.normal(size=(4, 6, 3))
    given["fori/x"] = np.array(0.4)
    xv, steps, v = np.array([0.4, 0.9]), 0, np.array([0.4, 0.9])
    while v.sum() < 20.0:
        v, steps = v * 1.5 + np.sin(v), steps + 1
    given.update({"while/x": xv, "while/steps": np.array(steps), "while/value": v})
    np.savez(folder / "in.npz", **given)
    subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(folder / "in.npz"), str(folder / "out.npz")],
        check=True,
        timeout=300,
    )
    return {**given, **dict(np.load(folder / "out.npz"))}


def body(w: ga.Node) -> Any:
    def step(c: dict[str, Any], x: ga.Node) -> tuple[dict[str, Any], Any]:
        h, (s, p) = c["h"], c["sp"]
        h = ga.tanh(w @ h + x * p)
        return {"h": h, "sp": (s + ga.sum(h * h), p * 0.9)}, (h[0] * s, h)

    return step


@pytest.mark.parametrize(("steps", "reverse"), SCANS)
def test_scan_matches_lax_scan(jax_results: dict[str, Any], steps: int, reverse: bool) -> None:
    key = f"scan{steps}{'r' if reverse else 'f'}"
    w, h0 = ga.placeholder("w", (3, 3)), ga.placeholder("h0", (3,))
    xs, p = ga.placeholder("xs", (steps, 3)), ga.placeholder("p", ())
    init = {"h": h0, "sp": (ga.constant(0.0), p)}
    c, (firsts, hs) = ga.scan(body(w), init, xs, reverse=reverse)
    loss = c["sp"][0] + ga.sum(firsts) + ga.sum(hs**3) + ga.sum(c["h"])
    ins = [w, h0, xs, p]
    names = ("w", "h0", "xs", "p")
    feeds = {x: jax_results[f"{key}/{n}"] for x, n in zip(ins, names)}
    tangent = [jax_results[f"{key}/t{n}"] for n in names]
    got = ga.evaluate(
        [loss, *ga.gradients(loss, ins), ga.jvp(loss, ins, tangent), ga.hvp(loss, w, tangent[0])],
        feeds,
    )
    np.testing.assert_allclose(got[0], jax_results[f"{key}/value"], rtol=1e-12)
    for g, n in zip(got[1:5], names):
        np.testing.assert_allclose(g, jax_results[f"{key}/g{n}"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[5], jax_results[f"{key}/tangent"], rtol=1e-10)
    np.testing.assert_allclose(got[6], jax_results[f"{key}/hvp"], rtol=1e-9, atol=1e-11)


def test_vmap_of_scan_matches_jax_vmap(jax_results: dict[str, Any]) -> None:
    wv, hv = jax_results["vmap/w"], jax_results["vmap/h0"]
    xs = ga.placeholder("xs", (6, 3))
    h, sums = ga.scan(lambda h, x: (ga.tanh(wv @ h + x), ga.sum(h)), ga.constant(hv), xs)
    got_h, got_sums = ga.evaluate(ga.vmap([h, sums], {xs: jax_results["vmap/xs"]}))
    np.testing.assert_allclose(got_h, jax_results["vmap/h"], rtol=1e-12)
    np.testing.assert_allclose(got_sums, jax_results["vmap/sums"], rtol=1e-12)


def test_fori_loop_matches_lax_fori_loop(jax_results: dict[str, Any]) -> None:
    x = ga.placeholder("x", ())

    def step(i: ga.Node, v: ga.Node) -> ga.Node:
        return v * ga.cos(x * ga.cast(i, "float64")) + ga.sin(v)

    out = ga.fori_loop(2, 7, step, x * 0.5)
    got = ga.evaluate([out, ga.gradients(out, x)], {x: jax_results["fori/x"]})
    np.testing.assert_allclose(got[0], jax_results["fori/value"], rtol=1e-13)
    np.testing.assert_allclose(got[1], jax_results["fori/grad"], rtol=1e-12)


def test_a_bounded_while_loops_gradient_matches_the_scan_of_its_trip_count(
    jax_results: dict[str, Any],
) -> None:
    x = ga.placeholder("x", (2,))
    out = ga.while_loop(lambda v: ga.sum(v) < 20.0, lambda v: v * 1.5 + ga.sin(v), x, max_steps=64)
    got_value, got_grad = ga.evaluate(
        [out, ga.gradients(ga.sum(out**2), x)], {x: jax_results["while/x"]}
    )
    np.testing.assert_allclose(got_value, jax_results["while/value"], rtol=1e-13)
    np.testing.assert_allclose(got_grad, jax_results["while/grad"], rtol=1e-12)
