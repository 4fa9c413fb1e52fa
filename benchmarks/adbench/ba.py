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
observations (graphad: ``vmap`` of ``jacobian`` with respect to [c, X, w]; JAX:
``vmap(jacrev(argnums=(0, 1, 2)))``), and laid out in CSR: the structure (row pointers,
columns) depends on the observations only and is made once; the values are one array,
computed in the graph.  graphad's graph has every size unknown (placeholders of shape
(None, ...), the observations fed as an index): one graph serves every instance.

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

from functools import partial
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


def residual(xp: Any, cam: Any, point: Any, weight: Any, feat: Any) -> Any:
    """w·(project(c, X) − m) for a camera c (11), a point X (3), a weight w (1) and a feature
    m (2) along the last axis (any leading axes: one observation or all of them)."""
    rot, centre = cam[..., 0:3], cam[..., 3:6]
    focal, x0, kappa = cam[..., 6:7], cam[..., 7:9], cam[..., 9:11]
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
        e = residual(np, *_gathered(np, values, obs), feats)
        return np.concatenate([e.ravel(), 1 - values["w"] ** 2])

    def build() -> Graphs:
        # every size unknown until run time: one graph serves every instance (vmap over a
        # batch of unknown size, gathers by an index fed at run time)
        holders = {k: ga.placeholder(k, shape=(None, *v.shape[1:])) for k, v in inputs.items()}
        observed = ga.placeholder("obs", shape=(None, 2), dtype=np.int64)
        feat = ga.placeholder("feats", shape=(None, 2))
        gathered = _gathered(ga, holders, observed)  # each observation's c, X, w
        w = holders["w"]
        f = ga.concatenate([ga.reshape(residual(ga, *gathered, feat), (-1,)), 1 - w * w])
        # one observation's residual and its 2 x 15 Jacobian: reverse mode, 2 cotangents
        one = [ga.placeholder(k, shape=s) for k, s in (("c1", (11,)), ("x1", (3,)), ("w1", (1,)))]
        m1 = ga.placeholder("m1", shape=(2,))
        block = ga.concatenate(ga.jacobian(residual(ga, *one, m1), one), axis=1)
        batch = dict(zip(one, gathered)) | {m1: feat}
        blocks = ga.vmap(block, batch)  # (p, 2, 15), p unknown until run time
        # w's error 1 − w² depends on its own weight only: the diagonal is its gradient
        (dw,) = ga.gradients(ga.sum(1 - w * w), [w])
        vals = ga.concatenate([ga.reshape(blocks, (-1,)), dw])
        feeds = {holders[k]: v for k, v in inputs.items()} | {feat: feats, observed: obs}
        return Graphs(f, vals, feeds)

    def directional(vals: np.ndarray, v: Arrays) -> np.ndarray:
        v_flat = np.concatenate([v["cams"].ravel(), v["x"].ravel(), v["w"]])
        return np.bincount(row_of, weights=np.asarray(vals) * v_flat[cols], minlength=3 * p)

    def jax() -> JaxFunctions:
        import jax
        import jax.numpy as jnp

        def f(params: tuple, fv: Any) -> Any:
            e = residual(jnp, *_gathered(jnp, dict(zip(inputs, params)), obs), fv)
            return jnp.concatenate([e.ravel(), 1 - params[2] * params[2]])

        def jac(params: tuple, fv: Any) -> Any:
            gathered = _gathered(jnp, dict(zip(inputs, params)), obs)
            per = jax.vmap(jax.jacrev(partial(residual, jnp), argnums=(0, 1, 2)))
            blocks = jnp.concatenate(per(*gathered, fv), axis=2)  # (p, 2, 15)
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


def _gathered(xp: Any, values: Any, obs: Any) -> tuple[Any, Any, Any]:
    """c_j (p, 11), X_i (p, 3) and w_k (p, 1) of every observation k: its own inputs."""
    return values["cams"][obs[:, 0]], values["x"][obs[:, 1]], values["w"][:, None]


QUICK = ["tiny"]
FULL = ["ba1", "ba2", "ba4"]


def workloads(quick: bool, sizes: list[str] | None = None) -> list[Workload]:
    return [workload(s) for s in (sizes or (QUICK if quick else FULL))]
