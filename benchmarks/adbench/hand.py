"""Hand tracking: ADBench's ``hand_objective``, simple and complicated, and its Jacobian.

A skinned hand: 22 bones in a tree (wrist; five fingers of four bones each, the first hung
on the wrist; a forearm), each with a base transform relative to its parent; V vertices,
each with skinning weights over the bones that sum to one; triangles over the vertices.
θ ∈ ℝ²⁶: global rotation (angle-axis, 3), global translation (3), and per finger the flexion
and abduction of its second bone and the flexion of its third and fourth (5 × 4).  As in
ADBench's ``hand_objective``:

1. each posed bone's relative transform is  B_b · [R(e_b) 0; 0 1],  R(e) = R_z(e₂)·R_y(e₃)·R_x(e₁)
   from its Euler angles e_b (zero for the unposed bones);
2. absolute transforms A_b = A_parent(b) · (relative b), down the tree; T_b = A_b · A⁰_b⁻¹
   (A⁰: the base pose);
3. linear blend skinning  v_j = Σ_b w_jb · (T_b x̄_j)₁…₃,  x̄_j = [x_j; 1];
4. global pose  v_j ← R(θ₁…₃) v_j + θ₄…₆  (Rodrigues' matrix of the angle-axis vector);
5. residuals  e_i = y_i − v_c(i)  (simple: correspondence c(i) is a vertex), or
   e_i = y_i − (u_i1 v_a + u_i2 v_b + (1 − u_i1 − u_i2) v_c)  (complicated: c(i) is a
   triangle (a, b, c) and u_i ∈ ℝ² are parameters too).

The Jacobian of the 3N residuals: with respect to θ (3N × 26, dense) and, in the
complicated variant, to the u as well, whose block is diagonal (residual i depends on u_i
only) and is returned compressed into 2 columns, ADBench's layout [∂e/∂u_·1, ∂e/∂u_·2, ∂e/∂θ]
(3N × 28).  The compression is a seed: u + s with s ∈ ℝ² fed as zeros, and ∂e/∂s is the
compressed block; so both variants are one forward-mode Jacobian of 26 or 28 columns.

**The model is synthetic.**  ADBench's hand model (bones, vertices, weights, triangles) is
data from a real hand scan that this project may not copy.  ``hand_model`` builds a hand-like
model of the same sizes and structure instead: the same bone tree; base transforms placing
five fingers along the palm, their bones of decreasing length; vertices sampled along the
bones (544 for ADBench's small model, 10,000 for the big one) with weights over one to four
neighbouring bones (about ADBench's mix: 40 %, 53 %, 4 %, 3 %) summing to one; 1,084
triangles of mutually near vertices.  The objective's cost depends on these sizes, not on
the values, so the timings are comparable; the values are not ADBench's.  Points, θ and u
are drawn as ADBench's inputs are (θ ~ N(0, 1)-like, u ~ U(0, 1)²).

ADBench's published J/obj (2015 timing files, ``published.py``):

    model, N          Manual (C++ Eigen)   ADOL-C (light)   Adept (light)
    simple small 100  2.45                 17.5             25.8
    simple big 1600   2.86                 20.9             37.4
    compl. small 100  2.30                 33.4             43.7
    compl. big 1600   4.66                 30.9             46.3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from common import Arrays, Graphs, JaxFunctions, Workload
from published import HAND, HAND_TOOLS, quoted

import graphad as ga

# wrist; thumb, index, middle, ring, pinky (four bones each); forearm
PARENTS = np.array([-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19, 0])
N_BONES = 22
N_TRIANGLES = 1084
MODEL_VERTICES = {"small": 544, "big": 10000}


@dataclass
class HandModel:
    base_relatives: np.ndarray  # (22, 4, 4)
    inverse_base_absolutes: np.ndarray  # (22, 4, 4)
    positions: np.ndarray  # (V, 4) homogeneous
    weights: np.ndarray  # (V, 22), rows sum to 1
    triangles: np.ndarray  # (1084, 3) vertex indices


def _rigid(rng: np.random.Generator, shift: np.ndarray, spread: float) -> np.ndarray:
    """A 4×4 rotation by small random Euler angles (``spread``) and a translation."""
    ax, ay, az = rng.uniform(-spread, spread, 3)
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    out = np.eye(4)
    out[:3, :3] = rz @ ry @ rx
    out[:3, 3] = shift
    return out


def hand_model(size: str, seed: int = 0) -> HandModel:
    """A synthetic hand of ADBench's sizes and structure (see the module docstring)."""
    rng = np.random.default_rng([seed, MODEL_VERTICES[size]])
    lengths = np.zeros(N_BONES)
    relatives = np.empty((N_BONES, 4, 4))
    relatives[0] = np.eye(4)
    for finger in range(5):
        first = 1 + 4 * finger
        palm_x = -0.04 + 0.02 * finger
        bone_lengths = np.array([0.045, 0.035, 0.025, 0.02]) * rng.uniform(0.85, 1.15)
        relatives[first] = _rigid(rng, np.array([palm_x, 0.02, 0.0]), 0.15)
        for j in range(1, 4):
            relatives[first + j] = _rigid(rng, np.array([0, bone_lengths[j - 1], 0]), 0.1)
        lengths[first : first + 4] = bone_lengths
    relatives[21] = _rigid(rng, np.array([0.0, -0.06, 0.0]), 0.05)
    lengths[0], lengths[21] = 0.04, 0.06
    absolutes = np.empty_like(relatives)
    for b in range(N_BONES):
        absolutes[b] = relatives[b] if PARENTS[b] < 0 else absolutes[PARENTS[b]] @ relatives[b]

    n_vertices = MODEL_VERTICES[size]
    bone_of = rng.choice(N_BONES, n_vertices, p=lengths / lengths.sum())
    along = rng.uniform(0.0, 1.0, n_vertices) * lengths[bone_of]
    local = np.stack(
        [rng.normal(0, 0.008, n_vertices), along, rng.normal(0, 0.008, n_vertices)], axis=1
    )
    homogeneous = np.concatenate([local, np.ones((n_vertices, 1))], axis=1)
    positions = np.einsum("vij,vj->vi", absolutes[bone_of], homogeneous)

    neighbours = [
        [b, *([PARENTS[b]] if PARENTS[b] >= 0 else []), *np.flatnonzero(np.equal(PARENTS, b))]
        for b in range(N_BONES)
    ]
    weights = np.zeros((n_vertices, N_BONES))
    counts = rng.choice(4, n_vertices, p=[0.40, 0.53, 0.04, 0.03]) + 1
    for j in range(n_vertices):
        near = neighbours[bone_of[j]]
        chosen = [near[0], *rng.permutation(near[1:])[: counts[j] - 1]]
        share = rng.uniform(0.1, 1.0, len(chosen))
        share[0] += 1.0  # the vertex's own bone dominates
        weights[j, chosen] = share / share.sum()

    corners = rng.choice(n_vertices, N_TRIANGLES, replace=n_vertices < N_TRIANGLES)
    xyz = positions[:, :3]
    gaps = np.sum(xyz * xyz, axis=1) - 2 * xyz[corners] @ xyz.T  # ‖a − b‖² − ‖a‖²
    gaps[np.arange(N_TRIANGLES), corners] = np.inf
    near = np.argpartition(gaps, 6, axis=1)[:, :6]  # six nearest other vertices, two of them
    pick = np.argsort(rng.uniform(size=near.shape), axis=1)[:, :2]
    nearest = np.take_along_axis(near, pick, axis=1)
    triangles = np.concatenate([corners[:, None], nearest], axis=1).astype(np.int64)
    inverse = np.linalg.inv(absolutes)
    return HandModel(relatives, inverse, positions, weights, triangles)


def euler_scatter() -> np.ndarray:
    """E (22·3, 26): the bones' Euler angles as E·θ (ADBench's ``to_pose_params``)."""
    out = np.zeros((N_BONES * 3, 26))
    column = 6
    for finger in range(5):
        for joint in range(1, 4):
            bone = 1 + 4 * finger + joint
            out[3 * bone, column] = 1  # flexion
            column += 1
            if joint == 1:
                out[3 * bone + 1, column] = 1  # abduction
                column += 1
    return out


def _matrices(xp: Any, entries: list[Any], shape: tuple[int, ...]) -> Any:
    """Stack 9 arrays of shape ``shape`` into matrices of shape ``shape + (3, 3)``."""
    return xp.reshape(xp.stack(entries, axis=-1), (*shape, 3, 3))


def _euler(xp: Any, angles: Any) -> Any:
    """R_z(a₂)·R_y(a₃)·R_x(a₁) for each row a of ``angles`` (ADBench's order and signs)."""
    tx, tz, ty = angles[:, 0], angles[:, 1], angles[:, 2]
    zero, one = xp.zeros_like(tx), xp.ones_like(tx)
    cx, sx, cy, sy, cz, sz = xp.cos(tx), xp.sin(tx), xp.cos(ty), xp.sin(ty), xp.cos(tz), xp.sin(tz)
    shape = (angles.shape[0],)
    rx = _matrices(xp, [one, zero, zero, zero, cx, -sx, zero, sx, cx], shape)
    ry = _matrices(xp, [cy, zero, -sy, zero, one, zero, sy, zero, cy], shape)
    rz = _matrices(xp, [cz, -sz, zero, sz, cz, zero, zero, zero, one], shape)
    return xp.matmul(xp.matmul(rz, ry), rx)


def _angle_axis(xp: Any, r: Any) -> Any:
    """Rodrigues' rotation matrix of the angle-axis vector r (|r| > 1e-4 on these data;
    ADBench's identity branch below that is not taken)."""
    angle = xp.sqrt(xp.sum(r * r))
    x, y, z = r[0] / angle, r[1] / angle, r[2] / angle
    c, s = xp.cos(angle), xp.sin(angle)
    entries = [
        x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s,
        x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s,
        x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c,
    ]  # fmt: skip
    return xp.reshape(xp.stack(entries), (3, 3))


def vertices(xp: Any, theta: Any, model: HandModel) -> Any:
    """The posed, skinned vertices (V, 3) for the pose θ (26,)."""
    angles = xp.reshape(xp.matmul(euler_scatter(), theta), (N_BONES, 3))
    turned = xp.pad(_euler(xp, angles), ((0, 0), (0, 1), (0, 1)))
    corner = np.zeros((4, 4))
    corner[3, 3] = 1.0
    relatives = xp.matmul(model.base_relatives, turned + corner)
    absolutes: list[Any] = []
    for b in range(N_BONES):  # down the tree: a parent comes before its children
        own = relatives[b]
        absolutes.append(own if PARENTS[b] < 0 else xp.matmul(absolutes[PARENTS[b]], own))
    transforms = xp.matmul(xp.stack(absolutes), model.inverse_base_absolutes)
    rows = xp.reshape(transforms[:, :3, :], (N_BONES, 12))
    blended = xp.reshape(xp.matmul(model.weights, rows), (-1, 3, 4))  # Σ_b w_jb T_b
    skinned = xp.sum(blended * model.positions[:, None, :], axis=2)  # (V, 3)
    rotation = _angle_axis(xp, theta[0:3])
    return xp.matmul(skinned, xp.transpose(rotation)) + theta[3:6]


def residuals(
    xp: Any, theta: Any, us: Any, model: HandModel, points: np.ndarray, corr: np.ndarray
) -> Any:
    """The 3N residuals y_i − (model point i), flattened row by row; ``us`` None: simple."""
    verts = vertices(xp, theta, model)
    if us is None:
        fitted = verts[corr]
    else:
        tri = model.triangles[corr]
        u1, u2 = us[:, 0:1], us[:, 1:2]
        fitted = u1 * verts[tri[:, 0]] + u2 * verts[tri[:, 1]] + (1 - u1 - u2) * verts[tri[:, 2]]
    return xp.reshape(points - fitted, (-1,))


def workload(variant: str, model_size: str, n: int) -> Workload:
    """Hand at (``variant`` ∈ {simple, complicated}, model ∈ {small, big}, N points)."""
    model = hand_model(model_size)
    rng = np.random.default_rng([1, n, MODEL_VERTICES[model_size], variant == "complicated"])
    theta = rng.normal(0.0, 0.7, 26)
    complicated = variant == "complicated"
    count = N_TRIANGLES if complicated else len(model.positions)
    corr = rng.integers(0, count, n)
    points = rng.normal(0.0, 0.05, (n, 3))
    inputs = (
        {"us": rng.uniform(0.0, 1.0, (n, 2)), "theta": theta} if complicated else {"theta": theta}
    )

    def objective(values: Arrays) -> np.ndarray:
        return residuals(np, values["theta"], values.get("us"), model, points, corr)

    def build() -> Graphs:
        theta_node = ga.placeholder("theta", shape=(26,))
        if not complicated:
            e = residuals(ga, theta_node, None, model, points, corr)
            jac = ga.jacobian(e, theta_node)  # forward mode: 26 tangents
            return Graphs(e, jac, {theta_node: theta})
        # (u, v) compressed as ADBench's tools do: every point's u shifted by one seed s
        # (2,), whose Jacobian holds each point's own two columns (its rows touch no other)
        us, seed = ga.placeholder("us", shape=(n, 2)), ga.placeholder("seed", shape=(2,))
        e = residuals(ga, theta_node, us + seed, model, points, corr)
        jac = ga.concatenate(ga.jacobian(e, [seed, theta_node]), axis=1)  # 28 tangents
        return Graphs(e, jac, {theta_node: theta, us: inputs["us"], seed: np.zeros(2)})

    def directional(jac: np.ndarray, v: Arrays) -> np.ndarray:
        jac = np.asarray(jac)
        if not complicated:
            return jac @ v["theta"]
        du = np.repeat(v["us"], 3, axis=0)
        return np.sum(jac[:, :2] * du, axis=1) + jac[:, 2:] @ v["theta"]

    def jax() -> JaxFunctions:
        import jax
        import jax.numpy as jnp

        def f(seed: Any, theta: Any, us: Any) -> Any:
            if not complicated:
                return residuals(jnp, theta, None, model, points, corr)
            return residuals(jnp, theta, us + seed, model, points, corr)

        def jac(seed: Any, theta: Any, us: Any) -> Any:
            if not complicated:
                return jax.jacfwd(f, argnums=1)(seed, theta, us)
            return jnp.concatenate(jax.jacfwd(f, argnums=(0, 1))(seed, theta, us), axis=1)

        us_value = inputs["us"] if complicated else np.zeros((n, 2))
        return JaxFunctions(f, jac, (np.zeros(2), theta, us_value), "jacfwd")

    return Workload(
        family="Hand",
        size=f"{variant} {model_size} N={n}",
        inputs=inputs,
        objective=objective,
        build=build,
        directional=directional,
        jax=jax,
        published=quoted(HAND_TOOLS, HAND.get((f"{variant}_{model_size}", n))),
        derivative_name="Jacobian",
    )


QUICK = [("simple", "small", 10), ("complicated", "small", 10)]
FULL = [
    ("simple", "small", 100),
    ("complicated", "small", 100),
    ("simple", "big", 1600),
    ("complicated", "big", 1600),
]


def workloads(quick: bool, sizes: list[str] | None = None) -> list[Workload]:
    """The sizes to run; ``sizes`` names them like simple:small:100."""
    if sizes:
        specs = [(a, b, int(c)) for a, b, c in (s.split(":") for s in sizes)]
    else:
        specs = QUICK if quick else FULL
    return [workload(*spec) for spec in specs]
