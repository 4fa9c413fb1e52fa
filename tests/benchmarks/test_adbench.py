"""The ADBench port (benchmarks/adbench): ``run.py --quick`` passes its checks, and the
objectives and derivative layouts agree with independent, naive statements of ADBench's
definitions.  Values only: no timing is asserted.  Needs no JAX (``--no-jax``).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphad as ga

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "adbench"


def _module(name: str) -> Any:
    """Import one of benchmarks/adbench's modules (they import each other by bare name)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    if name in sys.modules and Path(sys.modules[name].__file__ or "").parent == HERE:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_rows() -> list[dict[str, Any]]:
    return _module("run").main(["--quick", "--no-jax", "--repeat", "1"])


def test_quick_run_checks_every_objective(quick_rows: list[dict[str, Any]]) -> None:
    families = {row["name"].split()[0] for row in quick_rows}
    assert families == {"GMM", "BA", "Hand", "D-LSTM"}
    assert any("GradBench" in row["name"] for row in quick_rows)
    assert any("complicated" in row["name"] for row in quick_rows)
    for row in quick_rows:
        errors = row["errors"]
        assert errors["objective"] <= 1e-12, row["name"]
        assert errors["fd"] <= 1e-5, row["name"]
        assert row["ok"], row
        assert 0 < row["optimized"] <= row["nodes"]


def _fd_jacobian(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences, one column per entry of x (float64)."""
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        columns.append((f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * h))
    return np.stack(columns, axis=1)


def test_ba_csr_is_adbench_layout() -> None:
    """Rows: 2 per observation then 1 per weight; columns: 11 per camera, 3 per point, 1 per
    weight; the values, unpacked, are the full Jacobian of all residuals."""
    ba = _module("ba")
    work = ba.workload("tiny")
    n, m, p = ba.SIZES["tiny"]
    _, obs, _ = ba.generate(n, m, p)
    rows, cols = ba.csr_structure(n, m, obs)
    assert np.array_equal(np.diff(rows), [15] * (2 * p) + [1] * p)
    graphs = work.build()
    vals = ga.Executor(graphs.derivative).run(graphs.feeds)
    assert vals.shape == (31 * p,)
    dense = np.zeros((3 * p, 11 * n + 3 * m + p))
    for r in range(3 * p):
        dense[r, cols[rows[r] : rows[r + 1]]] = vals[rows[r] : rows[r + 1]]
    sizes = [work.inputs[k].size for k in ("cams", "x", "w")]

    def f(flat: np.ndarray) -> np.ndarray:
        parts = np.split(flat, np.cumsum(sizes)[:-1])
        values = {k: v.reshape(work.inputs[k].shape) for k, v in zip(("cams", "x", "w"), parts)}
        return work.objective(values)

    start = np.concatenate([work.inputs[k].ravel() for k in ("cams", "x", "w")])
    expected = _fd_jacobian(f, start)
    assert np.allclose(dense, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # and the residuals are ADBench's, observation k seeing camera k mod n and point k mod m
    k = 7
    cam, point, w = work.inputs["cams"][k % n], work.inputs["x"][k % m], work.inputs["w"][k]
    y = point - cam[3:6]
    theta = np.linalg.norm(cam[0:3])
    axis = cam[0:3] / theta
    turned = (
        y * np.cos(theta)
        + np.cross(axis, y) * np.sin(theta)
        + axis * (axis @ y) * (1 - np.cos(theta))
    )
    u = turned[:2] / turned[2]
    r2 = u @ u
    projected = u * (1 + cam[9] * r2 + cam[10] * r2 * r2) * cam[6] + cam[7:9]
    feat = ba.generate(n, m, p)[2][k]
    assert np.allclose(f(start)[2 * k : 2 * k + 2], w * (projected - feat), rtol=1e-13)
    assert np.isclose(f(start)[2 * p + k], 1 - w * w, rtol=1e-13)


def test_hand_complicated_jacobian_is_the_compressed_full_one() -> None:
    """[∂e/∂u_·1, ∂e/∂u_·2, ∂e/∂θ]: the u block of the full Jacobian is block diagonal and
    its two columns per point are what the first two columns hold."""
    hand = _module("hand")
    work = hand.workload("complicated", "small", 4)
    graphs = work.build()
    jac = ga.Executor(graphs.derivative).run(graphs.feeds)
    n = 4
    assert jac.shape == (3 * n, 28)
    us, theta = work.inputs["us"], work.inputs["theta"]

    def of_us(flat: np.ndarray) -> np.ndarray:
        return work.objective({"us": flat.reshape(n, 2), "theta": theta})

    full_u = _fd_jacobian(of_us, us.ravel())  # (3n, 2n)
    for i in range(n):
        block = full_u[3 * i : 3 * i + 3]
        assert np.allclose(block[:, 2 * i : 2 * i + 2], jac[3 * i : 3 * i + 3, :2], atol=1e-7)
        block[:, 2 * i : 2 * i + 2] = 0
        assert np.abs(block).max() < 1e-9  # nothing off the diagonal blocks
    full_theta = _fd_jacobian(lambda t: work.objective({"us": us, "theta": t}), theta)
    assert np.allclose(jac[:, 2:], full_theta, atol=1e-6)


def test_hand_model_has_adbench_structure() -> None:
    hand = _module("hand")
    for size, vertices in (("small", 544), ("big", 10000)):
        model = hand.hand_model(size)
        assert model.positions.shape == (vertices, 4)
        assert np.allclose(model.weights.sum(axis=1), 1.0)
        assert set((model.weights > 0).sum(axis=1)) <= {1, 2, 3, 4}
        assert model.triangles.shape == (1084, 3) and model.triangles.max() < vertices
        # the base absolutes undo the base pose: θ = 0 with no global pose is the rest mesh
        theta = np.zeros(26)
        theta[0] = 1e-9  # a rotation of 1e-9 rad about x: the angle-axis needs |r| > 0
        rest = hand.vertices(np, theta, model)
        assert np.allclose(rest, model.positions[:, :3], atol=1e-8)


def _multigammaln(a: float, d: int) -> float:
    return d * (d - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a - j / 2) for j in range(d))


def test_gmm_objectives_match_their_definitions() -> None:
    """Naive loops over points and components, from ADBench's ``gmm_objective`` and from
    GradBench's definition (densities of the Gaussians and the Wishart prior)."""
    gmm = _module("gmm")
    d, k, n = 3, 4, 6
    for variant in gmm.VARIANTS:
        work = gmm.workload(str(n), d, k, variant)
        x = gmm.generate(d, k, n)["x"]
        alphas, means, icf = (work.inputs[name] for name in ("alphas", "means", "icf"))
        qs = []
        for c in range(k):
            q = np.diag(np.exp(icf[c, :d]))
            rows, cols = np.tril_indices(d, -1)
            order = np.lexsort((rows, cols))  # column by column
            q[rows[order], cols[order]] = icf[c, d:]
            qs.append(q)
        weights = np.exp(alphas) / np.exp(alphas).sum()
        if variant == "adbench":
            inner = [
                [alphas[c] + icf[c, :d].sum() - 0.5 * np.sum((qs[c] @ (x[i] - means[c])) ** 2)
                 for c in range(k)]
                for i in range(n)
            ]  # fmt: skip
            lse = sum(math.log(sum(math.exp(v) for v in row)) for row in inner)
            value = -n * d / 2 * math.log(2 * math.pi) + lse - n * math.log(np.exp(alphas).sum())
            frob = sum(np.sum(np.exp(icf[c, :d]) ** 2) + np.sum(icf[c, d:] ** 2) for c in range(k))
            value += 0.5 * frob - k * (d * (d + 1) * math.log(1 / math.sqrt(2)))
            value += k * _multigammaln((d + 1) / 2, d)
        else:
            value = 0.0
            for i in range(n):
                density = 0.0
                for c in range(k):
                    precision = qs[c].T @ qs[c]
                    r = x[i] - means[c]
                    density += (
                        weights[c]
                        * math.exp(-0.5 * r @ precision @ r)
                        / math.sqrt((2 * math.pi) ** d / np.linalg.det(precision))
                    )
                value += math.log(density)
            nu = d + 1  # Wishart(V = I, ν = d + m + 1) with m = 0, γ = 1, on the precisions
            for c in range(k):
                precision = qs[c].T @ qs[c]
                value += (
                    (nu - d - 1) / 2 * math.log(np.linalg.det(precision))
                    - 0.5 * np.trace(precision)
                    - nu * d / 2 * math.log(2)
                    - _multigammaln(nu / 2, d)
                )
        assert math.isclose(work.objective(work.inputs), value, rel_tol=1e-12), variant


def test_lstm_objective_matches_a_plain_loop() -> None:
    """ADBench's ``lstm_objective`` written out as loops over time, layers and gates."""
    lstm = _module("lstm")
    work = lstm.workload(2, 6)
    _, state0, seq = lstm.generate(2, 6)
    main, extra = work.inputs["main"], work.inputs["extra"]
    b = seq.shape[1]

    def sig(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    state = state0.copy()
    total = 0.0
    for t in range(len(seq) - 1):
        x = seq[t] * extra[0]
        for layer in range(2):
            w, bias = main[2 * layer], main[2 * layer + 1]
            h, c = state[2 * layer].copy(), state[2 * layer + 1].copy()
            f = sig(x * w[:b] + bias[:b])
            i = sig(h * w[b : 2 * b] + bias[b : 2 * b])
            o = sig(x * w[2 * b : 3 * b] + bias[2 * b : 3 * b])
            g = np.tanh(h * w[3 * b :] + bias[3 * b :])
            c = c * f + i * g
            h = o * np.tanh(c)
            state[2 * layer], state[2 * layer + 1] = h, c
            x = h
        y = x * extra[1] + extra[2]
        total += np.sum(seq[t + 1] * (y - np.log(np.sum(np.exp(y)))))
    expected = -total / ((len(seq) - 1) * b)
    assert math.isclose(work.objective(work.inputs), expected, rel_tol=1e-13)
