"""GMM: the Gaussian mixture objective of ADBench and GradBench's log posterior; its gradient.

Parameters: α ∈ ℝᴷ (log mixture weights), μ ∈ ℝᴷˣᴰ (means) and icf ∈ ℝᴷˣ⁽ᴰ⁺ᴰ⁽ᴰ⁻¹⁾ᐟ²⁾,
each row [q_k, l_k]: Q_k = diag(exp q_k) + L_k, with L_k strictly lower triangular, filled
column by column from l_k.  Data X ∈ ℝᴺˣᴰ, Wishart hyper-parameters γ and m.  With
β_ik = α_k + Σ_j q_kj − ½‖Q_k (x_i − μ_k)‖² and the log-likelihood

    ℓ = −N·D/2·log 2π + Σ_i logsumexp_k β_ik − N·logsumexp(α),

and the Wishart terms  w = Σ_k [½γ²(‖exp q_k‖² + ‖l_k‖²) − m Σ_j q_kj],
c = K·(nD·log(γ/√2) − log Γ_D(n/2)), n = D + m + 1:

* ``adbench`` (ADBench's ``gmm_objective``):  ℓ + w − c.  The prior enters with the wrong
  sign (and, as the paper writes Σ⁻¹ = QQᵀ while the code computes ‖Q(x − μ)‖², the
  precision is QᵀQ): GradBench lists these errors.
* ``gradbench`` (GradBench's corrected log posterior, Wishart prior on the precisions
  QᵀQ):  ℓ − w + c.

The derivative is the gradient with respect to (α, μ, icf), in reverse mode.  Every tool
here (NumPy reference, graphad, JAX) computes Q_k(x_i − μ_k) as one matrix product of X with
all K·D rows of the Q_k (X·[Q_1; …; Q_K]ᵀ − Q_k μ_k), ADBench's "vector" formulation.

Data as ADBench's generator draws them: α, icf, X ~ N(0, 1), μ ~ U(0, 1), γ = 1, m = 0;
sizes d ∈ {2, 10, 20, 32, 64, 128}, K ∈ {5, 10, 25, 50, 100, 200}, N ∈ {1k, 10k}.

ADBench's published J/obj, from its 2015 timing files (``published.py``):

    size             Manual C++   Tapenade   Theano (vector)
    1k  d10 K5–K100  2.9–3.1      7.4–8.3    3.5–3.8
    1k  d64 K25–K50  6.1–6.2      15.0–15.6  9.5–10.3
    10k d10 K25      3.1          9.1        4.1
    10k d32 K50      4.4          11.1       5.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from common import Arrays, Graphs, JaxFunctions, Workload
from published import GMM, GMM_TOOLS, quoted

import graphad as ga

VARIANTS = ("adbench", "gradbench")


def generate(d: int, k: int, n: int, seed: int = 0) -> Arrays:
    """ADBench's distributions at (d, K, N), deterministic in ``seed``."""
    rng = np.random.default_rng([seed, d, k, n])
    return {
        "alphas": rng.standard_normal(k),
        "means": rng.uniform(0.0, 1.0, (k, d)),
        "icf": rng.standard_normal((k, d + d * (d - 1) // 2)),
        "x": rng.standard_normal((n, d)),
    }


def q_index(k: int, d: int) -> np.ndarray:
    """Flat indices into the rows [exp q_k, l_k, 0] (each d + d(d−1)/2 + 1 long) that lay
    out the Q_k as a (K, d, d) array: the diagonal from exp q, the strict lower triangle
    column by column from l, the upper triangle from the trailing 0."""
    width = d + d * (d - 1) // 2 + 1
    idx = np.full((d, d), width - 1, dtype=np.int64)
    idx[np.arange(d), np.arange(d)] = np.arange(d)
    pos = d
    for j in range(d):
        for i in range(j + 1, d):
            idx[i, j] = pos
            pos += 1
    return (np.arange(k)[:, None, None] * width + idx[None]).astype(np.int64)


def wishart_constant(d: int, k: int, gamma: float, m: int) -> float:
    """c = K·(n·D·log(γ/√2) − log Γ_D(n/2)), n = D + m + 1 (Γ_D: multivariate gamma)."""
    n = d + m + 1
    log_gamma_d = d * (d - 1) / 4 * math.log(math.pi) + sum(
        math.lgamma(n / 2 - j / 2) for j in range(d)
    )
    return k * (n * d * math.log(gamma / math.sqrt(2)) - log_gamma_d)


def _objective(xp: Any, inputs: Arrays, x: Any, idx: np.ndarray, variant: str) -> Any:
    """The objective written once over an array namespace ``xp`` (NumPy, graphad or
    jax.numpy): all three tools compute the same formulas in the same order."""
    alphas, means, icf = inputs["alphas"], inputs["means"], inputs["icf"]
    k, d = means.shape
    n = x.shape[0]
    gamma, m = 1.0, 0
    q = icf[:, :d]
    lower = icf[:, d:]
    rows = xp.concatenate([xp.exp(q), lower, xp.zeros_like(alphas)[:, None]], axis=1)
    big_q = xp.reshape(rows, (-1,))[idx]  # (K, d, d), Q_k = diag(exp q_k) + L_k
    qx = xp.matmul(x, xp.transpose(xp.reshape(big_q, (k * d, d))))  # (N, K·d)
    qmu = xp.sum(big_q * means[:, None, :], axis=2)  # Q_k μ_k, (K, d)
    z = xp.reshape(qx, (n, k, d)) - qmu
    beta = alphas + xp.sum(q, axis=1) - 0.5 * xp.sum(z * z, axis=2)  # (N, K)
    lse = _logsumexp(xp, beta, 1)
    lse_alpha = _logsumexp(xp, alphas, 0)
    likelihood = -0.5 * n * d * math.log(2 * math.pi) + xp.sum(lse) - n * lse_alpha
    wishart = 0.5 * gamma**2 * (xp.sum(xp.exp(2 * q)) + xp.sum(lower * lower)) - m * xp.sum(q)
    c = wishart_constant(d, k, gamma, m)
    if variant == "adbench":
        return likelihood + wishart - c
    return likelihood - wishart + c


def _logsumexp(xp: Any, a: Any, axis: int) -> Any:
    """log Σ exp along ``axis``, shifted by the maximum (graphad and JAX have their own)."""
    if xp is np:
        top = np.max(a, axis=axis, keepdims=True)
        return np.log(np.sum(np.exp(a - top), axis=axis)) + np.squeeze(top, axis=axis)
    if hasattr(xp, "logsumexp"):  # graphad
        return xp.logsumexp(a, axis=axis)
    from jax.scipy.special import logsumexp

    return logsumexp(a, axis=axis)


def workload(points: str, d: int, k: int, variant: str = "adbench") -> Workload:
    """GMM at (points ∈ {"1k", "10k"} or a number, d, K), ADBench's or GradBench's objective."""
    n = {"1k": 1000, "10k": 10000}.get(points) or int(points)
    data = generate(d, k, n)
    x_value = data.pop("x")
    inputs = data
    idx = q_index(k, d)

    def objective(values: Arrays) -> float:
        return float(_objective(np, values, x_value, idx, variant))

    def build() -> Graphs:
        holders = {name: ga.placeholder(name, shape=v.shape) for name, v in inputs.items()}
        x = ga.placeholder("x", shape=x_value.shape)
        f = _objective(ga, holders, x, idx, variant)
        grads = ga.gradients(f, list(holders.values()))
        feeds = {holders[name]: v for name, v in inputs.items()} | {x: x_value}
        return Graphs(f, grads, feeds)

    def directional(gradient: list[np.ndarray], v: Arrays) -> np.ndarray:
        return np.array([sum(float(np.vdot(g, v[name])) for g, name in zip(gradient, inputs))])

    def jax() -> JaxFunctions:
        import jax
        import jax.numpy as jnp

        def f(params: tuple, xv: Any) -> Any:
            return _objective(jnp, dict(zip(inputs, params)), xv, idx, variant)

        def grad(params: tuple, xv: Any) -> Any:
            return jax.grad(f)(params, xv)

        return JaxFunctions(f, grad, (tuple(inputs.values()), x_value), "grad")

    label = f"{points} d{d} K{k}" + ("" if variant == "adbench" else " (GradBench)")
    return Workload(
        family="GMM",
        size=label,
        inputs=inputs,
        objective=objective,
        build=build,
        directional=directional,
        jax=jax,
        published=quoted(GMM_TOOLS, GMM.get((points, d, k))) if variant == "adbench" else {},
    )


QUICK = [("100", 3, 4, "adbench"), ("100", 3, 4, "gradbench")]
FULL = [
    ("1k", 10, 5, "adbench"),
    ("1k", 10, 10, "adbench"),
    ("1k", 10, 25, "adbench"),
    ("1k", 10, 50, "adbench"),
    ("1k", 10, 100, "adbench"),
    ("1k", 10, 25, "gradbench"),
    ("1k", 64, 25, "adbench"),
    ("1k", 64, 50, "adbench"),
    ("1k", 128, 25, "adbench"),
    ("10k", 10, 25, "adbench"),
    ("10k", 32, 50, "adbench"),
]


def workloads(quick: bool, sizes: list[str] | None = None) -> list[Workload]:
    """The sizes to run: CI-sized, the default table, or those named like "1k,d10,K25"."""
    if sizes:
        return [_parse(s) for s in sizes]
    return [workload(*spec) for spec in (QUICK if quick else FULL)]


def _parse(spec: str) -> Workload:
    """A size named like 1k:d10:K25 or 1k:d10:K25:gradbench."""
    parts = spec.split(":")
    variant = parts[3] if len(parts) > 3 else "adbench"
    return workload(parts[0], int(parts[1].lstrip("d")), int(parts[2].lstrip("K")), variant)
