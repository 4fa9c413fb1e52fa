"""The sparsity of a loop: the body's dependences carried from step to step.

Detection inside the body gives its local patterns: for new carries c' and per-step outputs
y of the carries c, the row x and the consts k,

    A = ∂c'/∂c,  B = ∂c'/∂x,  D = ∂c'/∂k,      E = ∂y/∂c,  F = ∂y/∂x,  G = ∂y/∂k.

After n executed steps the carries depend on the initial carries and the consts through Pₙ,
and on the row read at executed step s < n through M₍ₙ₋₁₋ₛ₎:

    P₀ = [I | 0],  Pₙ₊₁ = A∘Pₙ ∪ [0 | D];        M₀ = B,  Mⱼ₊₁ = A∘Mⱼ.

The per-step output of executed step n is E∘Pₙ ∪ [0 | G] on the carries and consts,
E∘M₍ₙ₋₁₋ₛ₎ on the row of step s < n, F on its own row, and nothing on later rows: stacked
``ys`` are exact step by step, never a union over steps.

Each sequence Xₙ₊₁ = A∘Xₙ ∪ Z is computed one of two ways:

- **step by step** (exact), for a scan whose trip count T the types give: X₀ … X_T, cut
  short at the first repeat (Xₙ₊₁ = Xₙ: every later step is the same).  A 1-D stencil scan
  of T steps widens its band by one a step: T sparse steps, where the fixpoint would
  iterate until the carry is dense.
- **the fixpoint** (sound): Uₙ₊₁ = Uₙ ∪ A∘Uₙ ∪ Z, so Uₙ = X₀ ∪ … ∪ Xₙ ⊇ Xₙ.  It stops
  growing within C + 1 iterations for C carry entries (a chain of dependences longer than
  the carry passes an entry twice, so a shorter one reaches as far).  It is the only sound
  answer for a while loop (any trip count up to ``max_steps``) and for a scan whose trip
  count is known only at run time; a scan still stepping after C + 1 exact steps (its
  dependences cycle, a permutation say) continues by the fixpoint, which bounds the cost
  at 2(C + 1) compositions whatever T is.

Each composition is a vectorised merge of the stored pairs (:meth:`Pattern.compose`), so
the cost is that of the patterns, never of the entries squared.  The body is detected on a
fresh copy of its parameters, as the detector takes the nodes it has walked for values no
later walk's inputs reach, and the same body is walked again under other outputs (the
vjp's twin, the jvp's joint loop).  A replaying loop (checkpointed reverse mode) has the
pattern of the loop it stands for, as its derivatives do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from graphad.control.loop_forms import loop_of, stand_ins, unfused
from graphad.ir import Node, Pattern, placeholder, substitute
from graphad.ir.dependence import Dependences, Detect, Local, dense, entry_count
from graphad.ir.pattern import INDEX
from graphad.ir.types import TupleType, is_differentiable
from graphad.ops.loop import LoopForm

Pairs = list[tuple[np.ndarray, np.ndarray]]  # (rows, columns) of entries, to unite


def sparsity(node: Node, detect: Detect) -> Dependences:
    """Each input's local pattern in the loop's value (see the module docstring)."""
    _, form = loop_of(node)
    if form.replay is not None:
        return _unfused(node, detect)
    trips = form.static_trips([x.type for x in node.inputs])
    if trips is None and (form.xs or form.outputs or form.checkpoints):
        return dense(node, why="a stacked value whose length is known only at run time")
    body = _Body(form, detect)
    at = _Layout(node, form)
    kept = form.kept(trips) if form.checkpoints else 0
    every = form.checkpoint.every(trips) if kept and form.checkpoint and trips else 1
    wanted = {m * every for m in range(kept or 0)}
    # a scan of known length step by step (exact); otherwise every trip count: the fixpoint
    steps = trips if trips is not None else form.max_steps
    exact = trips is not None
    e_p: list[Pattern] = []  # the per-step outputs on the state: E∘Pₙ ∪ [0 | G]
    p_at: dict[int, Pattern] = {}
    last = body.p0
    for n, p in enumerate(_iterates(body.a, body.p0, body.dz, steps, exact)):
        if form.outputs:
            e_p.append(Pattern.union([body.e.compose(p), body.gz], body.gz.shape))
        if n in wanted:
            p_at[n] = p
        last = p
    m_seq = list(_iterates(body.a, body.b, Pattern.empty(body.b.shape), steps, exact))
    order = np.arange(trips or 0, dtype=INDEX)
    if form.reverse:  # executed step n reads and writes row T - 1 - n
        order = order[::-1].copy()
    pairs: Pairs = []
    # the final carries, then the checkpoints: the carries entering steps 0, k, 2k, …
    ends: list[tuple[int | None, Pattern, Place]] = [(trips, last, at.carry)]
    ends += [(k, p_at.get(k, last), at.checkpoint(m)) for m, k in enumerate(sorted(wanted))]
    one = np.zeros(1, INDEX)
    for end, p, place in ends:
        pairs.append((place(one, p.row_ids()), at.state(one, p.indices)))
        if end is not None and form.xs:

            def rows(t: np.ndarray, e: np.ndarray, place: Place = place) -> np.ndarray:
                return place(np.zeros_like(t), e)  # one value, whichever step reads

            _earlier_rows(pairs, m_seq, np.array([end], INDEX), rows, at.x, order)
    if form.outputs and trips:
        em_seq = [body.e.compose(m) for m in m_seq] if form.xs else []
        _per_step(pairs, body.f, e_p, em_seq, order, at)
    local = Pattern.from_pairs(
        np.concatenate([np.zeros(0, INDEX)] + [r.ravel() for r, _ in pairs]),
        np.concatenate([np.zeros(0, INDEX)] + [c.ravel() for _, c in pairs]),
        (at.rows, at.columns),
    )
    return _split(node, local)


def _iterates(
    a: Pattern, start: Pattern, extra: Pattern, steps: int | None, exact: bool
) -> Iterator[Pattern]:
    """X₀ = start, Xₙ₊₁ = A∘Xₙ ∪ Z for n < ``steps`` (every n when None), ending at the
    first repeat (the last one yielded holds for every later n).  ``exact``: step by step
    for the first C + 1 steps; after them (from the start otherwise) the fixpoint's
    Xₙ₊₁ = Xₙ ∪ A∘Xₙ ∪ Z, each a superset of the exact one, still within C + 1 steps."""
    limit = a.shape[0] + 1 if exact else 0
    x, n = start, 0
    yield x
    while steps is None or n < steps:
        parts = [a.compose(x), extra] + ([] if n < limit else [x])
        following = Pattern.union(parts, x.shape)
        if following == x:
            return
        x, n = following, n + 1
        yield x


# -- the body's patterns -----------------------------------------------------------------
class _Body:
    """The body's local patterns A, B, E, F; [0 | D] and [0 | G] over the state (the
    carries' then the consts' entries); and P₀ = [I | 0]."""

    def __init__(self, form: LoopForm, detect: Detect) -> None:
        params = form.body.params
        fresh = [placeholder(f"sparsity_{p.name}", type=p.type) for p in params]
        outputs = substitute(list(form.body.outputs), dict(zip(params, fresh)))
        found = detect(outputs, fresh)  # the step index too: no parameter is left seen
        rows = sum(entry_count(y.type) for y in outputs)
        c = sum(entry_count(p.type) for p in form.carry_params())
        start = form.carries + form.xs
        cs = _side_by_side(found[: form.carries], rows)
        xs = _side_by_side(found[form.carries : start], rows)
        ks = _side_by_side(found[start : start + form.consts], rows)
        self.a, self.e = _rows(cs, 0, c), _rows(cs, c, rows)
        self.b, self.f = _rows(xs, 0, c), _rows(xs, c, rows)
        state = _side_by_side([Pattern.empty((rows, c)), ks], rows)
        self.dz, self.gz = _rows(state, 0, c), _rows(state, c, rows)
        self.p0 = _side_by_side([Pattern.identity(c), Pattern.empty((c, ks.shape[1]))], c)


def _rows(p: Pattern, lo: int, hi: int) -> Pattern:
    return p.gather(np.arange(lo, hi, dtype=INDEX))


def _side_by_side(parts: Sequence[Pattern], rows: int) -> Pattern:
    """The columns of ``parts`` (each of ``rows`` rows) one after the other."""
    offsets = np.cumsum([0] + [p.shape[1] for p in parts])
    shape = (rows, int(offsets[-1]))
    if not any(p.nnz for p in parts):
        return Pattern.empty(shape)
    return Pattern.from_pairs(
        np.concatenate([p.row_ids() for p in parts]),
        np.concatenate([p.indices + o for p, o in zip(parts, offsets)]),
        shape,
    )


# -- where the entries are ------------------------------------------------------------
Place = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows t (k,), entries e (p,)) -> (k, p)


def _leaves(starts: Sequence[int], sizes: Sequence[int], stacked: bool) -> Place:
    """Where entry e of some leaves (numbered one leaf after another) sits: leaf l from
    ``starts[l]``, and in row t of it when ``stacked`` (``sizes[l]`` entries a row)."""
    bounds = np.cumsum([0, *sizes]).astype(INDEX)
    first = np.asarray([*starts, 0], INDEX)
    width = np.asarray([*sizes, 0], INDEX) if stacked else np.zeros(len(sizes) + 1, INDEX)

    def place(t: np.ndarray, e: np.ndarray) -> np.ndarray:
        leaf = np.searchsorted(bounds, e, side="right") - 1
        return first[leaf] + t[:, None] * width[leaf] + (e - bounds[leaf])

    return place


class _Layout:
    """The loop value's entries (rows) and its inputs' (columns), and where each kind sits:
    the final ``carry``, the ``y`` of a row, a ``checkpoint``; the ``state`` (the initial
    carries, then the consts) and the ``x`` of a row."""

    def __init__(self, node: Node, form: LoopForm) -> None:
        t = node.type
        assert isinstance(t, TupleType)
        out = np.cumsum([0, *(entry_count(i) for i in t.items)])
        into = np.cumsum([0, *(entry_count(x.type) for x in node.inputs)])
        sizes = [entry_count(p.type) for p in form.carry_params()]
        k_sizes = [entry_count(p.type) for p in form.const_params()]
        c = form.carries
        state = [int(into[i]) for i in (*form.carry_inputs(), *form.const_inputs())]
        x_sizes = [entry_count(p.type) for p in form.x_params()]
        y_sizes = [entry_count(y.type) for y in form.per_step()]
        self.rows, self.columns = int(out[-1]), int(into[-1])
        self.carry = _leaves([int(out[i]) for i in range(c)], sizes, False)
        self.state = _leaves(state, sizes + k_sizes, False)
        self.x = _leaves([int(into[i]) for i in form.xs_inputs()], x_sizes, True)
        self.y = _leaves([int(out[c + j]) for j in range(form.outputs)], y_sizes, True)
        kept = [int(out[c + form.outputs + i]) for i in range(c)] if form.checkpoints else []
        self.kept = _leaves(kept, sizes[: len(kept)], True)

    def checkpoint(self, m: int) -> Place:
        """Where the carries entering the m-th kept step sit."""
        return lambda t, e: self.kept(t + m, e)


def _earlier_rows(
    pairs: Pairs, seq: Sequence[Pattern], ns: np.ndarray, rows: Place, x: Place, order: np.ndarray
) -> None:
    """The pairs of outputs at executed steps ``ns`` (placed by ``rows``) on the xs row of
    each executed step s < n, through ``seq[n - 1 - s]`` (its last for every later lag)."""
    last = len(seq) - 1
    top = int(ns.max(initial=0))
    for lag in range(min(last, top)):
        n, q = ns[ns > lag], seq[lag]
        if q.nnz:
            pairs.append((rows(n, q.row_ids()), x(order[n - 1 - lag], q.indices)))
    counts = np.maximum(ns - last, 0)  # the steps s ≤ n - 1 - last, all read through seq[-1]
    if counts.sum() and seq[-1].nnz:
        q = seq[-1]
        n = np.repeat(ns, counts)
        first = np.cumsum(counts) - counts
        s = np.arange(n.size, dtype=INDEX) - np.repeat(first, counts)
        pairs.append((rows(n, q.row_ids()), x(order[s], q.indices)))


def _per_step(
    pairs: Pairs,
    f: Pattern,
    e_p: Sequence[Pattern],
    em_seq: Sequence[Pattern],
    order: np.ndarray,
    at: _Layout,
) -> None:
    """The stacked per-step outputs: row order[n] on the state through E∘Pₙ ∪ [0 | G], on
    its own xs row through F, on that of step s < n through E∘M₍ₙ₋₁₋ₛ₎."""
    trips = order.size
    for n in range(min(len(e_p), trips)):
        q = e_p[n]
        t = order[n : n + 1] if n < len(e_p) - 1 else order[n:]  # the last: every later step
        pairs.append((at.y(t, q.row_ids()), at.state(np.zeros_like(t), q.indices)))
    pairs.append((at.y(order, f.row_ids()), at.x(order, f.indices)))
    if em_seq:

        def rows(n: np.ndarray, e: np.ndarray) -> np.ndarray:
            return at.y(order[n], e)

        _earlier_rows(pairs, em_seq, np.arange(trips, dtype=INDEX), rows, at.x, order)


def _split(node: Node, local: Pattern) -> Dependences:
    """The loop value's local pattern on each input that carries a derivative."""
    starts = np.cumsum([0] + [entry_count(x.type) for x in node.inputs])
    return tuple(
        Local(local.columns(int(lo), int(hi))) if is_differentiable(x.type) else None
        for x, lo, hi in zip(node.inputs, starts[:-1], starts[1:])
    )


def _unfused(node: Node, detect: Detect) -> Dependences:
    """A replaying loop's pattern: that of the loop it stands for (as are its rules)."""
    stand = stand_ins(node)
    out = unfused(node, stand)
    if entry_count(out.type) != entry_count(node.type):
        return dense(node, why="a replaying loop unlike the loop it stands for")
    given = [s for s in stand if is_differentiable(s.type)]
    found = iter(detect([out], given))
    return tuple(Local(next(found)) if is_differentiable(s.type) else None for s in stand)
