"""D-LSTM: ADBench's diagonal LSTM objective (its ``lstm_objective``) and its gradient.

l layers of a "diagonal" LSTM cell (every weight matrix is diagonal: a weight vector),
b = bits per character, a sequence of c characters as rows of bits s_0 … s_{c−1} ∈ {0, 1}ᵇ.
Parameters: main (2l, 4b), rows 2i and 2i + 1 the weight w_i and bias β_i of layer i;
extra (3, b): input scale, output scale, output bias.  State (2l, b): each layer's (h_i, c_i).
One time step t, input x = s_t, target y = s_{t+1}:

    x ← x ⊙ extra₀;  for each layer i, with g = [x, h_i, x, h_i] ⊙ w_i + β_i (4 blocks of b):
        c_i ← c_i ⊙ σ(g₁) + σ(g₂) ⊙ tanh(g₄),   h_i ← σ(g₃) ⊙ tanh(c_i),   x ← h_i
    ŷ = x ⊙ extra₁ + extra₂,   loss_t = Σ_k y_k (ŷ_k − logsumexp ŷ)

and the objective is −Σ_{t=0}^{c−2} loss_t / ((c − 1)·b), differentiated with respect to
main and extra (reverse mode).  ``step`` is one time step, (state, (x, y)) → (state, loss_t),
run two ways: unrolled by a Python loop (``objective``: a graph of c − 1 copies of the step),
and as one loop node, ``ga.scan(step, state, (seq[:-1], seq[1:]))`` (``scanned``: a graph
the size of one step, whose gradient is a backward scan); JAX runs it under ``lax.scan``.

Data as ADBench's generator draws them: main, extra and state ~ U(0, 1); the sequence is
text, one row of bits per character, b = ⌈log₂ max code⌉ = 14.  ADBench reads a text file;
this one is synthetic: random ASCII letters, digits, spaces and punctuation, with one
character in a hundred from the U+2000 block (dashes, quotes), which is what makes b = 14.
Sizes: l ∈ {2, 4}, c ∈ {1024, 4096}.  The ADBench paper predates the D-LSTM: no published
J/obj is quoted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from common import Arrays, Graphs, JaxFunctions, Workload

import graphad as ga

ASCII = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,;:!?'-", dtype=np.uint8)


def generate(layers: int, chars: int, seed: int = 0) -> tuple[Arrays, np.ndarray, np.ndarray]:
    """(inputs {main, extra}, state (2l, b), sequence (c, b) of 0/1), seeded."""
    rng = np.random.default_rng([seed, layers, chars])
    codes = ASCII[rng.integers(0, len(ASCII), chars)].astype(np.int64)
    rare = rng.uniform(size=chars) < 0.01
    codes[rare] = 0x2010 + rng.integers(0, 0x18, int(rare.sum()))
    bits = max(1, math.ceil(math.log2(codes.max())))
    sequence = ((codes[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.float64)
    inputs = {
        "main": rng.uniform(size=(2 * layers, 4 * bits)),
        "extra": rng.uniform(size=(3, bits)),
    }
    return inputs, rng.uniform(size=(2 * layers, bits)), sequence


def _sigmoid(xp: Any, a: Any) -> Any:
    if xp is np:
        return 1 / (1 + np.exp(-a))
    if hasattr(xp, "sigmoid"):  # graphad
        return xp.sigmoid(a)
    import jax

    return jax.nn.sigmoid(a)


def _logsumexp(xp: Any, a: Any) -> Any:
    if xp is np:
        top = np.max(a)
        return np.log(np.sum(np.exp(a - top))) + top
    if hasattr(xp, "logsumexp"):  # graphad
        return xp.logsumexp(a)
    from jax.scipy.special import logsumexp

    return logsumexp(a)


def step(xp: Any, main: Any, extra: Any, state: Any, xy: tuple[Any, Any]) -> tuple[Any, Any]:
    """One time step: (state (2l, b), (x, y)) → (new state, Σ_k y_k·log softmax(ŷ)_k)."""
    x, y = xy
    b = x.shape[-1]
    x = x * extra[0]
    rows = []
    for i in range(main.shape[0] // 2):
        w, bias, hidden, cell = main[2 * i], main[2 * i + 1], state[2 * i], state[2 * i + 1]
        gates = xp.concatenate([x, hidden, x, hidden]) * w + bias
        forget = _sigmoid(xp, gates[0:b])
        ingate = _sigmoid(xp, gates[b : 2 * b])
        outgate = _sigmoid(xp, gates[2 * b : 3 * b])
        change = xp.tanh(gates[3 * b :])
        cell = cell * forget + ingate * change
        hidden = outgate * xp.tanh(cell)
        rows += [hidden, cell]
        x = hidden
    predicted = x * extra[1] + extra[2]
    return xp.stack(rows), xp.sum(y * (predicted - _logsumexp(xp, predicted)))


def objective(xp: Any, main: Any, extra: Any, state: Any, sequence: Any) -> Any:
    """−Σ_t loss_t / ((c − 1)·b), the steps unrolled in Python."""
    chars, bits = sequence.shape
    total = 0.0
    for t in range(chars - 1):
        state, loss = step(xp, main, extra, state, (sequence[t], sequence[t + 1]))
        total = total + loss
    return -total / ((chars - 1) * bits)


def scanned(main: Any, extra: Any, state: Any, sequence: Any) -> Any:
    """−Σ_t loss_t / ((c − 1)·b), the steps one ``ga.scan`` over (sᵗ, sᵗ⁺¹)."""
    chars, bits = sequence.shape

    def body(s: Any, xy: Any) -> Any:
        return step(ga, main, extra, s, xy)

    _, losses = ga.scan(body, state, (sequence[:-1], sequence[1:]))
    return -ga.sum(losses) / ((chars - 1) * bits)


def workload(layers: int, chars: int, loop: str = "unrolled") -> Workload:
    """D-LSTM with ``layers`` layers over ``chars`` characters; ``loop="scan"`` builds the
    graph with ``ga.scan`` instead of unrolling the steps."""
    inputs, state_value, sequence = generate(layers, chars)

    def reference(values: Arrays) -> float:
        return float(objective(np, values["main"], values["extra"], state_value, sequence))

    def build() -> Graphs:
        main = ga.placeholder("main", shape=inputs["main"].shape)
        extra = ga.placeholder("extra", shape=inputs["extra"].shape)
        state = ga.placeholder("state", shape=state_value.shape)
        seq = ga.placeholder("sequence", shape=sequence.shape)
        if loop == "scan":
            f = scanned(main, extra, state, seq)
        else:
            f = objective(ga, main, extra, state, seq)
        grads = ga.gradients(f, [main, extra])
        feeds = {main: inputs["main"], extra: inputs["extra"], state: state_value, seq: sequence}
        return Graphs(f, grads, feeds)

    def directional(gradient: list[np.ndarray], v: Arrays) -> np.ndarray:
        return np.array([sum(float(np.vdot(g, v[k])) for g, k in zip(gradient, inputs))])

    def jax() -> JaxFunctions:
        import jax
        import jax.numpy as jnp

        def f(params: tuple, s0: Any, seq: Any) -> Any:
            main, extra = params

            def body(state: Any, xy: Any) -> Any:
                return step(jnp, main, extra, state, xy)

            _, losses = jax.lax.scan(body, s0, (seq[:-1], seq[1:]))
            return -jnp.sum(losses) / ((seq.shape[0] - 1) * seq.shape[1])

        def grad(params: tuple, s0: Any, seq: Any) -> Any:
            return jax.grad(f)(params, s0, seq)

        args = ((inputs["main"], inputs["extra"]), state_value, sequence)
        return JaxFunctions(f, grad, args, "grad of lax.scan")

    return Workload(
        family="D-LSTM",
        size=f"l{layers} c{chars} (b={sequence.shape[1]})" + (" scan" if loop == "scan" else ""),
        inputs=inputs,
        objective=reference,
        build=build,
        directional=directional,
        jax=jax,
    )


# the table runs the scan (79 nodes, built in tens of ms); the unrolled port (164,692 nodes,
# built in 7-32 s) only when named (l2:c1024:unrolled), its tiny size checked in --quick
QUICK = [(2, 5, "unrolled"), (2, 5, "scan")]
FULL = [(2, 1024, "scan")]


def workloads(quick: bool, sizes: list[str] | None = None) -> list[Workload]:
    """The sizes to run; ``sizes`` names them like l2:c1024 (both ways), l2:c1024:scan or
    l2:c1024:unrolled."""
    if sizes:
        specs = []
        for size in sizes:
            layers, chars, *how = size.split(":")
            loops = how or ["unrolled", "scan"]
            specs += [(int(layers.lstrip("l")), int(chars.lstrip("c")), loop) for loop in loops]
    else:
        specs = QUICK if quick else FULL
    return [workload(*spec) for spec in specs]
