"""Peers' columns: the same workloads in JAX (jit), where it is installed; never required.

Each runner returns the workload's values computed with the peer's own differentiation,
so they are checked against the hand-written NumPy like graphad's.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np


def available() -> list[str]:
    return [name for name in ("jax",) if importlib.util.find_spec(name) is not None]


def runners(case: Any) -> dict[str, Callable[[], Any]]:
    out = {}
    if "jax" in available() and case.peer.get("kind"):
        fn = _jax(case.peer["kind"], case.peer["values"])
        if fn is not None:
            out["jax"] = fn
    return out


def _jax(kind: str, values: tuple[Any, ...]) -> Callable[[], Any] | None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def ready(f: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        def call() -> Any:
            out = f(*args)
            return (
                [np.asarray(o) for o in jax.block_until_ready(out)]
                if isinstance(out, (list, tuple))
                else np.asarray(jax.block_until_ready(out))
            )

        return call

    if kind == "mlp":
        xv, onehot, w1, b1, w2, b2 = values

        def loss(params: tuple, X: Any, Y: Any) -> Any:
            W1, B1, W2, B2 = params
            logits = jax.nn.relu(X @ W1 + B1) @ W2 + B2
            return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(logits, axis=1), axis=1))

        both = jax.jit(jax.value_and_grad(loss))

        def mlp_call(*args: Any) -> list[Any]:
            value, grads = both(*args)
            return [value, *grads]

        return ready(mlp_call, (w1, b1, w2, b2), xv, onehot)
    if kind in ("hvp", "hessian_tanh"):

        def f(x: Any, A: Any) -> Any:
            return jnp.sum(jnp.tanh(A @ x)) + 0.5 * jnp.dot(x, x)

        if kind == "hvp":
            av, xv, vv = values
            hv = jax.jit(lambda x, v, A: jax.jvp(jax.grad(f), (x, A), (v, jnp.zeros_like(A)))[1])
            return ready(hv, xv, vv, av)
        av, xv = values
        return ready(jax.jit(jax.hessian(f)), xv, av)
    if kind == "rosenbrock":
        (xv,) = values

        def rosen(x: Any) -> Any:
            a, b = x[:-1], x[1:]
            return jnp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)

        return ready(jax.jit(jax.hessian(rosen)), xv)
    if kind == "elementwise":
        (xv,) = values

        def g(x: Any) -> Any:
            return jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + jnp.tanh(x) ** 2)

        return ready(jax.jit(jax.value_and_grad(g)), xv)
    if kind == "recurrence":
        xv, yv, z0, steps = values

        def h(x: Any, y: Any) -> Any:
            z = jnp.asarray(z0)
            for _ in range(steps):
                z = jnp.sin(z) * x + y * z
            return z

        vg = jax.jit(jax.value_and_grad(h, argnums=(0, 1)))

        def rec(x: Any, y: Any) -> list[Any]:
            value, (gx, gy) = vg(x, y)
            return [value, gx, gy]

        return ready(rec, xv, yv)
    if kind == "sixth":
        xv, order = values

        def k(x: Any) -> Any:
            return jnp.sin(x) * jnp.exp(x) / (1 + x * x)

        for _ in range(order):
            k = jax.grad(k)
        return ready(jax.jit(k), xv)
    return None
