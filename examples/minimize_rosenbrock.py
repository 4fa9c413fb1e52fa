"""The 10-dimensional Rosenbrock function minimised with scipy through ``ga.minimize``.

The whole user's side is three lines after the imports: a placeholder, the function, and
``ga.minimize(f, x, x0, method=...)``, which builds the gradient, and the Hessian or its
products only when the method uses them.  Each point scipy asks about costs one graph
run, shared between its ``fun``, ``jac`` and ``hess`` calls; ``hessp`` runs the HVP graph
once per product.  The table compares those runs with scipy's own counts of calls.
``ga.function`` is the lower-level piece: a callable on arrays, planned once.

Needs scipy: ``pip install 'graphad[scipy]'``.
"""

from __future__ import annotations

import numpy as np

import graphad as ga

N = 10

x = ga.placeholder("x", (N,))
f = ga.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
res = ga.minimize(f, x, np.zeros(N), method="trust-exact")
print(f"trust-exact: x = {np.round(res.x, 6)}, f = {res.fun:.2e}")
assert np.allclose(res.x, 1.0, atol=1e-6)

print(f"\n{'method':13s} {'f':>9s} {'graph runs':>10s} {'hvp runs':>8s}   scipy: nfev njev nhev")
methods = {
    "BFGS": {},
    "L-BFGS-B": {"bounds": (-2.0, 2.0), "options": {"ftol": 1e-14}},
    "CG": {},
    "Newton-CG": {},
    "trust-ncg": {},
    "trust-krylov": {},
    "trust-exact": {},
    "trust-constr": {},
}
for method, options in methods.items():
    r = ga.minimize(f, x, np.zeros(N), method=method, **options)
    counts = "  ".join(f"{r.get(k, '-')!s:>4}" for k in ("nfev", "njev", "nhev"))
    print(f"{method:13s} {r.fun:9.1e} {r.graph_runs:10d} {r.hvp_runs:8d}   {counts}")
    assert np.allclose(r.x, 1.0, atol=1e-3), (method, r.x)

# the same gradient as a plain callable: one run gives the value and the gradient
value_and_grad = ga.function(x, [f, ga.gradients(f, x)])
value, grad = value_and_grad(np.ones(N))
print(f"\nat ones: f = {value}, |grad| = {np.linalg.norm(grad)}")
assert value == 0.0 and not grad.any()
