"""The workloads W1–W6, each built with graphad and written by hand in NumPy.

Each ``Case`` has ``build()`` (the fetches), ``feeds``, ``by_hand()`` (forward and backward
written out in NumPy, the reference for values and time) and, for peers, ``peer``: a
function of the peer's array module returning the same values (differentiated by the
peer's own transforms).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import graphad as ga


@dataclass
class Case:
    name: str
    build: Callable[[], Any]
    feeds: dict[Any, Any]
    by_hand: Callable[[], Any]
    rtol: float = 1e-7
    peer: dict[str, Any] = field(default_factory=dict)  # what peers need: values, functions


# -- W1: MLP loss and its four gradients -------------------------------------------
def mlp(batch: int) -> Case:
    rng = np.random.default_rng(0)
    d_in, hidden, classes = 784, 256, 10
    xv = rng.standard_normal((batch, d_in))
    w1v = rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)
    b1v = np.zeros(hidden)
    w2v = rng.standard_normal((hidden, classes)) / np.sqrt(hidden)
    b2v = np.zeros(classes)
    onehot = np.eye(classes)[rng.integers(0, classes, batch)]
    X = ga.placeholder("X", shape=(batch, d_in))
    Y = ga.placeholder("Y", shape=(batch, classes))
    W1 = ga.placeholder("W1", shape=(d_in, hidden))
    b1 = ga.placeholder("b1", shape=(hidden,))
    W2 = ga.placeholder("W2", shape=(hidden, classes))
    b2 = ga.placeholder("b2", shape=(classes,))

    def build() -> list[ga.Node]:
        h = ga.relu(X @ W1 + b1)
        logits = h @ W2 + b2
        loss = -ga.mean(ga.sum(Y * ga.log_softmax(logits, axis=1), axis=1))
        return [loss, *ga.gradients(loss, [W1, b1, W2, b2])]

    def by_hand() -> list[np.ndarray]:
        a = xv @ w1v + b1v
        h = np.maximum(a, 0)
        z = h @ w2v + b2v
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - np.log(s)
        loss = -np.mean(np.sum(onehot * logp, axis=1))
        dz = (e / s - onehot) / batch
        dw2 = h.T @ dz
        db2 = dz.sum(axis=0)
        da = (dz @ w2v.T) * (a > 0)
        return [loss, xv.T @ da, da.sum(axis=0), dw2, db2]

    feeds = {X: xv, Y: onehot, W1: w1v, b1: b1v, W2: w2v, b2: b2v}
    values = (xv, onehot, w1v, b1v, w2v, b2v)
    return Case(
        f"W1 MLP loss + 4 gradients, batch {batch}",
        build,
        feeds,
        by_hand,
        1e-7,
        {"kind": "mlp", "values": values},
    )


# -- W2 and W3: f(x) = sum(tanh(A x)) + ½ x·x ---------------------------------------
def _tanh_problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n), rng.standard_normal(n)


def _tanh_f(A: ga.Node, x: ga.Node) -> ga.Node:
    return ga.sum(ga.tanh(A @ x)) + 0.5 * ga.sum(x * x)


def hvp(n: int) -> Case:
    av, xv, vv = _tanh_problem(n, 1)
    A = ga.placeholder("A", shape=(n, n))
    x = ga.placeholder("x", shape=(n,))
    v = ga.placeholder("v", shape=(n,))

    def build() -> ga.Node:
        return ga.hvp(_tanh_f(A, x), x, v)

    def by_hand() -> np.ndarray:
        t = np.tanh(av @ xv)
        d = 1 - t * t
        return av.T @ (-2 * t * d * (av @ vv)) + vv

    return Case(
        f"W3 HVP of sum(tanh(Ax)) + x·x/2, n = {n}",
        build,
        {A: av, x: xv, v: vv},
        by_hand,
        1e-7,
        {"kind": "hvp", "values": (av, xv, vv)},
    )


def hessian_tanh(n: int) -> Case:
    av, xv, _ = _tanh_problem(n, 2)
    A = ga.placeholder("A", shape=(n, n))
    x = ga.placeholder("x", shape=(n,))

    def build() -> ga.Node:
        return ga.hessian(_tanh_f(A, x), x)

    def by_hand() -> np.ndarray:
        t = np.tanh(av @ xv)
        return (av.T * (-2 * t * (1 - t * t))) @ av + np.eye(n)

    return Case(
        f"W2 Hessian of sum(tanh(Ax)) + x·x/2, n = {n}",
        build,
        {A: av, x: xv},
        by_hand,
        1e-7,
        {"kind": "hessian_tanh", "values": (av, xv)},
    )


def hessian_rosenbrock(n: int) -> Case:
    xv = np.random.default_rng(3).uniform(-1, 1, n)
    x = ga.placeholder("x", shape=(n,))

    def build() -> ga.Node:
        a, b = x[:-1], x[1:]
        f = ga.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)
        return ga.hessian(f, x)

    def by_hand() -> np.ndarray:
        a, b = xv[:-1], xv[1:]
        diag = np.zeros(n)
        diag[:-1] += 1200 * a * a - 400 * b + 2
        diag[1:] += 200
        off = -400 * a
        return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)

    return Case(
        f"W2 Hessian of Rosenbrock, n = {n}",
        build,
        {x: xv},
        by_hand,
        1e-7,
        {"kind": "rosenbrock", "values": (xv,)},
    )


# -- W4: an elementwise function and its gradient on 10⁶ numbers ----------------------
def elementwise(n: int = 10**6) -> Case:
    xv = np.random.default_rng(4).uniform(-2, 2, n)
    x = ga.placeholder("x", shape=(n,))

    def build() -> list[ga.Node]:
        y = ga.sum(ga.sin(x) * ga.exp(-x * x) + ga.tanh(x) ** 2)
        return [y, ga.gradients(y, x)]

    def by_hand() -> list[Any]:
        s, e, t = np.sin(xv), np.exp(-xv * xv), np.tanh(xv)
        y = np.sum(s * e + t * t)
        g = np.cos(xv) * e - 2 * xv * s * e + 2 * t * (1 - t * t)
        return [y, g]

    return Case(
        "W4 sum(sin(x)exp(-x²) + tanh(x)²) + grad, 10⁶",
        build,
        {x: xv},
        by_hand,
        1e-7,
        {"kind": "elementwise", "values": (xv,)},
    )


# -- W5: a scalar recurrence and its gradients ------------------------------------------
def recurrence(steps: int = 50) -> Case:
    xv, yv, z0 = 0.9, 0.3, 0.5
    x = ga.placeholder("x", shape=())
    y = ga.placeholder("y", shape=())

    def build() -> list[ga.Node]:
        z: ga.Node = ga.constant(z0)
        for _ in range(steps):
            z = ga.sin(z) * x + y * z
        return [z, *ga.gradients(z, [x, y])]

    xs, ys = np.float64(xv), np.float64(yv)

    def by_hand() -> list[Any]:
        zs = [np.float64(z0)]
        for _ in range(steps):
            z = zs[-1]
            zs.append(np.sin(z) * xs + ys * z)
        gz, gx, gy = np.float64(1.0), np.float64(0.0), np.float64(0.0)
        for z in reversed(zs[:-1]):
            gx += gz * np.sin(z)
            gy += gz * z
            gz = gz * (np.cos(z) * xs + ys)
        return [zs[-1], gx, gy]

    return Case(
        f"W5 {steps} steps of z = sin(z)x + yz, grad x, y",
        build,
        {x: xv, y: yv},
        by_hand,
        1e-9,
        {"kind": "recurrence", "values": (xv, yv, z0, steps)},
    )


# -- W6: the 6th derivative by nesting gradients ---------------------------------------
def _series_inverse(c: np.ndarray) -> np.ndarray:
    """Taylor coefficients of 1/c(t) from those of c(t)."""
    out = np.zeros_like(c)
    out[0] = 1 / c[0]
    for k in range(1, len(c)):
        out[k] = -np.dot(c[1 : k + 1], out[k - 1 :: -1][:k]) / c[0]
    return out


def sixth_derivative(order: int = 6) -> Case:
    xv = 0.7
    x = ga.placeholder("x", shape=())
    fact = np.array([math.factorial(k) for k in range(order + 1)], dtype=float)
    signs_sin = np.array([[0, 1, 0, -1][k % 4] for k in range(order + 1)], dtype=float)
    signs_cos = np.array([[1, 0, -1, 0][k % 4] for k in range(order + 1)], dtype=float)

    def build() -> ga.Node:
        f = ga.sin(x) * ga.exp(x) / (1 + x * x)
        return ga.derivative(f, x, order=order)

    def by_hand() -> Any:
        # truncated Taylor series at x (a jet, written out): sin, exp, 1/(1 + x²), products
        s = (np.sin(xv) * signs_cos + np.cos(xv) * signs_sin) / fact
        e = np.exp(xv) / fact
        q = np.zeros(order + 1)
        q[0], q[1], q[2] = 1 + xv * xv, 2 * xv, 1.0
        series = np.convolve(np.convolve(s, e)[: order + 1], _series_inverse(q))[: order + 1]
        return series[order] * fact[order]

    return Case(
        "W6 d⁶/dx⁶ sin(x)exp(x)/(1+x²), nested gradients",
        build,
        {x: xv},
        by_hand,
        1e-8,
        {"kind": "sixth", "values": (xv, order)},
    )


def cases(names: list[str]) -> list[Case]:
    makers: list[tuple[str, Callable[[], Case]]] = [
        ("W1", lambda: mlp(64)),
        ("W1", lambda: mlp(1024)),
        ("W2", lambda: hessian_tanh(10)),
        ("W2", lambda: hessian_tanh(100)),
        ("W2", lambda: hessian_tanh(400)),
        ("W2", lambda: hessian_rosenbrock(100)),
        ("W3", lambda: hvp(2000)),
        ("W4", elementwise),
        ("W5", recurrence),
        ("W6", sixth_derivative),
    ]
    wanted = {n.upper() for n in names}
    return [make() for key, make in makers if not wanted or key in wanted]
