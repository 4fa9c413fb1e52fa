"""Loops against JAX's ``lax.scan`` and ``lax.fori_loop`` (skipped without JAX): values,
gradients, forward-mode tangents, Hessian-vector products and vmap agree on carries that
are tensors, tuples and dicts, with ``reverse``, captured values, and lengths 0 and 1.
JAX cannot reverse-differentiate ``lax.while_loop``; a bounded graphad while loop is
checked against the same recurrence written as a scan of its known trip count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)
RNG = np.random.default_rng(188)


def body(xp: Any, tanh: Any, w: Any) -> Any:
    def step(c: dict[str, Any], x: Any) -> tuple[dict[str, Any], Any]:
        h, (s, p) = c["h"], c["sp"]
        h = tanh(w @ h + x * p)
        return {"h": h, "sp": (s + xp.sum(h * h), p * 0.9)}, (h[0] * s, h)

    return step


@pytest.mark.parametrize("steps", [0, 1, 5])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_lax_scan(steps: int, reverse: bool) -> None:
    wv, hv, xv = RNG.normal(size=(3, 3)) * 0.7, RNG.normal(size=3), RNG.normal(size=(steps, 3))
    pv = 1.3

    def jax_loss(w: Any, h0: Any, xs: Any, p: Any) -> Any:
        init = {"h": h0, "sp": (jnp.asarray(0.0), p)}
        c, (firsts, hs) = jax.lax.scan(body(jnp, jnp.tanh, w), init, xs, reverse=reverse)
        return c["sp"][0] + jnp.sum(firsts) + jnp.sum(hs**3) + jnp.sum(c["h"])

    w, h0 = ga.placeholder("w", (3, 3)), ga.placeholder("h0", (3,))
    xs, p = ga.placeholder("xs", (steps, 3)), ga.placeholder("p", ())
    init = {"h": h0, "sp": (ga.constant(0.0), p)}
    c, (firsts, hs) = ga.scan(body(ga, ga.tanh, w), init, xs, reverse=reverse)
    loss = c["sp"][0] + ga.sum(firsts) + ga.sum(hs**3) + ga.sum(c["h"])
    ins = [w, h0, xs, p]
    vals = [wv, hv, xv, np.array(pv)]
    feeds = dict(zip(ins, vals))
    tangent = [RNG.normal(size=np.shape(v)) for v in vals]
    got = ga.evaluate([loss, *ga.gradients(loss, ins), ga.jvp(loss, ins, tangent)], feeds)
    want_loss, want_grads = jax.value_and_grad(jax_loss, argnums=(0, 1, 2, 3))(*vals)
    _, want_tangent = jax.jvp(jax_loss, tuple(vals), tuple(tangent))
    np.testing.assert_allclose(got[0], want_loss, rtol=1e-12)
    for g, want in zip(got[1:5], want_grads):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[5], want_tangent, rtol=1e-10)
    # Hessian-vector product in w, forward over reverse in both
    hv_got = ga.evaluate(ga.hvp(loss, w, tangent[0]), feeds)
    hv_want = jax.jvp(jax.grad(jax_loss), (wv, hv, xv, pv), (tangent[0], 0 * hv, 0 * xv, 0.0))[1]
    np.testing.assert_allclose(hv_got, hv_want, rtol=1e-9, atol=1e-11)


def test_vmap_of_scan_matches_jax_vmap() -> None:
    wv, hv, xb = RNG.normal(size=(3, 3)), RNG.normal(size=3), RNG.normal(size=(4, 6, 3))

    def jax_run(xs: Any) -> Any:
        return jax.lax.scan(lambda h, x: (jnp.tanh(wv @ h + x), jnp.sum(h)), hv, xs)

    xs = ga.placeholder("xs", (6, 3))
    h, sums = ga.scan(lambda h, x: (ga.tanh(wv @ h + x), ga.sum(h)), ga.constant(hv), xs)
    got_h, got_sums = ga.evaluate(ga.vmap([h, sums], {xs: xb}))
    want_h, want_sums = jax.vmap(jax_run)(xb)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12)
    np.testing.assert_allclose(got_sums, want_sums, rtol=1e-12)


def test_fori_loop_matches_lax_fori_loop() -> None:
    def f(xp: Any, x: Any) -> Any:
        return lambda i, v: v * xp.cos(x * i) + xp.sin(v)

    x = ga.placeholder("x", ())
    out = ga.fori_loop(2, 7, lambda i, v: f(ga, x)(ga.cast(i, "float64"), v), x * 0.5)
    got = ga.evaluate([out, ga.gradients(out, x)], {x: 0.4})

    def jax_f(x: Any) -> Any:
        return jax.lax.fori_loop(2, 7, f(jnp, x), x * 0.5)

    np.testing.assert_allclose(got[0], jax_f(0.4), rtol=1e-13)
    np.testing.assert_allclose(got[1], jax.grad(jax_f)(0.4), rtol=1e-12)


def test_a_bounded_while_loops_gradient_matches_the_scan_of_its_trip_count() -> None:
    x = ga.placeholder("x", (2,))
    out = ga.while_loop(lambda v: ga.sum(v) < 20.0, lambda v: v * 1.5 + ga.sin(v), x, max_steps=64)
    xv = np.array([0.4, 0.9])
    got_value, got_grad = ga.evaluate([out, ga.gradients(ga.sum(out**2), x)], {x: xv})
    steps, v = 0, xv
    while v.sum() < 20.0:
        v, steps = v * 1.5 + np.sin(v), steps + 1

    def jax_f(x: Any) -> Any:
        v = jax.lax.scan(lambda v, _: (v * 1.5 + jnp.sin(v), None), x, length=steps)[0]
        return jnp.sum(v**2)

    np.testing.assert_allclose(got_value, v, rtol=1e-13)
    np.testing.assert_allclose(got_grad, jax.grad(jax_f)(xv), rtol=1e-12)
