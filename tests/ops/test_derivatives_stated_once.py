"""Every derivative is stated once: no op class of graphad defines both ``vjp`` and ``jvp``.

An op states its partials (the elementwise family and the reductions), its transpose (the
linear families), or its jvp (``JvpOnly``, whose vjp the reverse pass obtains by
transposing it); the family bases turn that one statement into both rules.  The bases and
the op with sub-graphs are the deliberate exceptions, listed with their reasons; the list
must match exactly, so an entry that no longer defines both (or a new class that does)
fails here.
"""

from __future__ import annotations

import importlib
import pkgutil

import graphad as ga
from graphad.control import Cond, LoopOp
from graphad.ops._constant import ZeroDerivative
from graphad.ops._linear import JointlyLinear, JvpOnly, Linear, Multilinear
from graphad.ops.elementwise import Elementwise
from graphad.ops.reduction import Reduce

# the classes that define both rules, and why
EXCEPTIONS: dict[type, str] = {
    Elementwise: "the family base: both rules from the op's partials",
    Reduce: "the family base of reductions: both rules from the op's partials",
    Linear: "the family base: jvp is the op on the tangent, vjp its transpose",
    JointlyLinear: "the family base: jvp is the op on the tangents, vjp its transpose",
    Multilinear: "the family base: jvp sums the op on each tangent, vjp its transposes",
    ZeroDerivative: "the family base: no derivative flows in either mode",
    Cond: "sub-graphs: both rules are conds over the branches' adjoint and tangent graphs",
    LoopOp: "sub-graphs: the vjp is a backward loop over the body's sweep, the jvp a loop "
    "over (carry, tangent): each a loop of one pass, as cond's rules are",
}


def graphad_ops() -> set[type]:
    """Every subclass of ``ga.Op`` defined in a graphad module (all modules imported)."""
    for info in pkgutil.walk_packages(ga.__path__, "graphad."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: set[type] = set()
    stack = [ga.Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return {c for c in found if c.__module__.startswith("graphad.")}


def test_no_op_class_defines_both_vjp_and_jvp_but_the_listed_ones() -> None:
    ops = graphad_ops()
    both = {c for c in ops if "vjp" in vars(c) and "jvp" in vars(c)}
    assert {c.__qualname__ for c in both} == {c.__qualname__ for c in EXCEPTIONS}
    assert len(ops) > 120  # the walk found the library, not a handful of classes


def test_the_jvp_only_family_states_no_vjp_and_every_member_a_jvp() -> None:
    members = {
        c for c in graphad_ops() if issubclass(c, JvpOnly) and c.compute is not ga.Op.compute
    }
    names = {c.__name__ for c in members}
    assert {"Softmax", "LogSoftmax", "Inv", "Solve", "Det", "Cholesky", "Eigh"} <= names
    assert {"Svd", "Qr", "LogAbsDet", "Pinv"} <= names
    for c in members:
        assert c.vjp is ga.Op.vjp, c  # the reverse pass transposes the jvp instead
        assert c.jvp is not ga.Op.jvp, c
        for k in c.linear:  # an input the op is linear in states its transpose
            assert c.transpose is not JvpOnly.transpose, (c, k)


def test_selections_casts_and_structures_are_in_families() -> None:
    assert issubclass(ga.ops.selection.Clip, Elementwise)
    assert issubclass(ga.ops.selection.Maximum, Elementwise)
    assert issubclass(ga.ops.elementwise.Where, Elementwise)
    assert issubclass(ga.ops.utility.Cast, Linear)
    structure = ga.ops.structure
    assert issubclass(structure.TupleGet, Linear) and issubclass(structure.DictGet, Linear)
    assert issubclass(structure.MakeTuple, JointlyLinear)
    assert issubclass(structure.MakeDict, JointlyLinear)
