"""BA: bundle adjustment's residuals and their sparse Jacobian in ADBench's CSR layout.

n cameras c_j = [r (3, angle-axis), C (3, centre), f, x₀ (2), κ (2)] ∈ ℝ¹¹, m points X ∈ ℝ³,
p observations (camera j, point i, weight w, feature m ∈ ℝ²).  As ADBench's ``ba.h``:

    rodrigues(r, y) = y cos θ + (v × y) sin θ + v (vᵀy)(1 − cos θ),  θ = ‖r‖, v = r/θ
    project(c, X)   = distort(κ, p2e(rodrigues(r, X − C)))·f + x₀,  p2e(y) = y₁,₂ / y₃
    distort(κ, u)   = u (1 + κ₁‖u‖² + κ₂‖u‖⁴)
    reprojection error  e = w·(project(c, X) − m)  (2 per observation),
    weight error        1 − w²  (1 per observation).

The Jacobian has 3p rows (2 per observation, then 1 per weight) and 11n + 3m + p columns
(11 per camera, 3 per point, 1 per weight); a reprojection row has 15 entries (its camera,
point and weight), a weight row 1.  It is computed, as ADBench's tools do, from the 2 × 15
Jacobian of one observation's residual with respect to its [c, X, w], batched over the
observations (graphad: ``vmap`` of ``jacobian``; JAX: ``vmap(jacrev)``), and laid out in
CSR: the structure (row pointers, columns) depends on the observations only and is made
once; the values are one array, computed in the graph.

Data: ADBench's sizes (ba1 … ba20: n, m, p) and its observation pattern (observation k sees
camera k mod n and point k mod m).  ADBench's files hold one camera, one point, one weight
and one feature, replicated; here each is drawn on its own (cameras about 10 units from
points in [−1, 1]³, small rotations, f ∈ [400, 600], w ∈ [0, 1]), so that a wrong index
cannot hide behind identical blocks, and every point stays well in front of its camera.

ADBench's published J/obj (the paper's table; ``published.py``):

    instance   Manual C++   Tapenade   Theano   MuPAD (symbolic, compiled)
    ba1        6.72         8.78       9.24     1.72
    ba4        7.23         8.68       9.61     2.18
"""

from __future__ import annotations

from typing import Any

import numpy as np
from common import Arrays, Graphs, JaxFunctions, Workload
from published import BA, BA_TOOLS, quoted

import graphad as ga

# ADBench's instances: name -> (cameras n, points m, observations p)
SIZES = {
    "ba1": (49, 7776, 31843),
    "ba2": (21, 11315, 36455),
    "ba3": (161, 48126, 182072),
    "ba4": (372, 47423, 204472),
    "ba5": (257, 65132, 225911),
    "ba6": (539, 65220, 277273),
    "ba7": (93, 61203, 287451),
    "ba8": (88, 64298, 383937),
    "ba9": (810, 88814, 393775),
    "ba10": (1197, 126327, 563734),
    "ba11": (1723, 156502, 678718),
    "ba12": (253, 163691, 899155),
    "ba13": (245, 198739, 1091386),
    "ba14": (356, 226730, 1255268),
    "ba15": (1102, 780462, 4052340),
    "ba16": (1544, 942409, 4750193),
    "ba17": (1778, 993923, 5001946),
    "ba18": (1936, 649673, 5213733),
    "ba19": (4585, 1324582, 9125125),
    "ba20": (13682, 4456117, 2987644),
    "tiny": (3, 5, 12),
}


def generate(n: int, m: int, p: int, seed: int = 0) -> tuple[Arrays, np.ndarray, np.ndarray]:
    """(inputs {cams, x, w}, observations (p, 2) int, features (p, 2)), seeded."""
    rng = np.random.default_rng([seed, n, m, p])
    cams = np.empty((n, 11))
    cams[:, 0:3] = rng.uniform(-0.2, 0.2, (n, 3))
    cams[:, 3:6] = rng.normal(0.0, 1.0, (n, 3)) + np.array([0.0, 0.0, -10.0])
    cams[:, 6] = rng.uniform(400.0, 600.0, n)
    cams[:, 7:9] = rng.uniform(-10.0, 10.0, (n, 2))
    cams[:, 9] = rng.uniform(0.0, 0.1, n)
    cams[:, 10] = rng.uniform(0.0, 0.01, n)
    inputs = {"cams": cams, "x": rng.uniform(-1.0, 1.0, (m, 3)), "w": rng.uniform(0.0, 1.0, p)}
    k = np.arange(p)
    obs = np.stack([k % n, k % m], axis=1).astype(np.int64)
    return inputs, obs, rng.normal(0.0, 100.0, (p, 2))


def residual(xp: Any, z: Any, feat: Any) -> Any:
    """w·(project(c, X) − m) for z = [c (11), X (3), w] along the last axis (any leading
    axes: one observation or all of them)."""
    rot, centre = z[..., 0:3], z[..., 3:6]
    focal, x0, kappa = z[..., 6:7], z[..., 7:9], z[..., 9:11]
    point, weight = z[..., 11:14], z[..., 14:15]
    y = point - centre
    theta = xp.sqrt(xp.sum(rot * rot, axis=-1, keepdims=True))
    # ADBench's branch for θ = 0 (y + r × y) is never taken on these data (|r| > 0)
    v = rot / theta
    cos, sin = xp.cos(theta), xp.sin(theta)
    turned = y * cos + xp.cross(v, y) * sin + v * xp.sum(v * y, axis=-1, keepdims=True) * (1 - cos)
    u = turned[..., 0:2] / turned[..., 2:3]
    rsq = xp.sum(u * u, axis=-1, keepdims=True)
    distorted = u * (1 + kappa[..., 0:1] * rsq + kappa[..., 1:2] * rsq * rsq)
    return weight * (distorted * focal + x0 - feat)


def csr_structure(n: int, m: int, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ADBench's row pointers (3p + 1) and column indices (30p + p) of the Jacobian."""
    p = len(obs)
    rows = np.concatenate([np.arange(0, 30 * p + 1, 15), 30 * p + np.arange(1, p + 1)])
    block = np.concatenate(
        [
            11 * obs[:, :1] + np.arange(11),
            11 * n + 3 * obs[:, 1:] + np.arange(3),
            (11 * n + 3 * m + np.arange(p))[:, None],
        ],
        axis=1,
    )  # (p, 15): the columns of both rows of an observation
    cols = np.concatenate([np.repeat(block, 2, axis=0).ravel(), 11 * n + 3 * m + np.arange(p)])
    return rows.astype(np.int64), cols.astype(np.int64)


def workload(name: str) -> Workload:
    """BA at one of ADBench's instances (``SIZES``)."""
    n, m, p = SIZES[name]
    inputs, obs, feats = generate(n, m, p)
    rows, cols = csr_structure(n, m, obs)
    row_of = np.repeat(np.arange(3 * p), np.diff(rows))

    def objective(values: Arrays) -> np.ndarray:
        z = _gathered(np, values, obs)
        return np.concatenate([residual(np, z, feats).ravel(), 1 - values["w"] ** 2])

    def build() -> Graphs:
        holders = {k: ga.placeholder(k, shape=v.shape) for k, v in inputs.items()}
        feat = ga.placeholder("feats", shape=feats.shape)
        z = _gathered(ga, holders, obs)  # (p, 15)
        w = holders["w"]
        f = ga.concatenate([ga.reshape(residual(ga, z, feat), (-1,)), 1 - w * w])
        # issue 21 item 2: jacobian takes one input, so one observation's camera, point and
        # weight are one vector z1 of 15, sliced in ``residual``
        z1 = ga.placeholder("z1", shape=(15,))
        m1 = ga.placeholder("m1", shape=(2,))
        block = ga.jacobian(residual(ga, z1, m1), z1)  # (2, 15), reverse mode: 2 < 15
        # issue 21 item 2: vmap needs a static batch size, so this graph is for p only
        blocks = ga.vmap(block, {z1: z, m1: feat})  # (p, 2, 15)
        # w's error 1 − w² depends on its own weight only: the diagonal is its gradient
        (dw,) = ga.gradients(ga.sum(1 - w * w), [w])
        vals = ga.concatenate([ga.reshape(blocks, (-1,)), dw])
        feeds = {holders[k]: v for k, v in inputs.items()} | {feat: feats}
        return Graphs(f, vals, feeds)

    def directional(vals: np.ndarray, v: Arrays) -> np.ndarray:
        v_flat = np.concatenate([v["cams"].ravel(), v["x"].ravel(), v["w"]])
        return np.bincount(row_of, weights=np.asarray(vals) * v_flat[cols], minlength=3 * p)

    def jax() -> JaxFunctions:
        import jax
        import jax.numpy as jnp

        def f(params: tuple, fv: Any) -> Any:
            z = _gathered(jnp, dict(zip(inputs, params)), obs)
            w = params[2]
            return jnp.concatenate([residual(jnp, z, fv).ravel(), 1 - w * w])

        def jac(params: tuple, fv: Any) -> Any:
            z = _gathered(jnp, dict(zip(inputs, params)), obs)
            blocks = jax.vmap(jax.jacrev(lambda z1, m1: residual(jnp, z1, m1)))(z, fv)
            return jnp.concatenate([blocks.ravel(), -2 * params[2]])

        return JaxFunctions(f, jac, (tuple(inputs.values()), feats), "vmap(jacrev)")

    return Workload(
        family="BA",
        size=f"{name} (n={n} m={m} p={p})",
        inputs=inputs,
        objective=objective,
        build=build,
        directional=directional,
        jax=jax,
        published=quoted(BA_TOOLS, BA.get(name)),
        derivative_name="CSR Jacobian",
    )


def _gathered(xp: Any, values: Any, obs: np.ndarray) -> Any:
    """[c_j, X_i, w_k] of every observation k, (p, 15): each observation's own inputs."""
    return xp.concatenate(
        [values["cams"][obs[:, 0]], values["x"][obs[:, 1]], values["w"][:, None]], axis=1
    )


QUICK = ["tiny"]
FULL = ["ba1", "ba2", "ba4"]


def workloads(quick: bool, sizes: list[str] | None = None) -> list[Workload]:
    return [workload(s) for s in (sizes or (QUICK if quick else FULL))]
