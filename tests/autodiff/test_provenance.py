"""Derivative nodes know what they are: each transform records, on the nodes it makes, the
pass, order and transform (``origin``) and whose derivative each is (``roles``)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Node, Origin, Role, topo_sort

HERE = "test_provenance.py"


def notes_example() -> tuple[Node, Node, Node, Node]:
    """v₂ = exp(v₁), v₃ = v₂ + 1, v₄ = v₂·v₃."""
    v1 = ga.placeholder("v1", shape=())
    v2 = ga.exp(v1, name="v2")
    v3 = ga.add(v2, 1.0, name="v3")
    return v1, v2, v3, ga.multiply(v2, v3, name="v4")


def made(nodes: list[Node]) -> list[Node]:
    """The nodes behind ``nodes`` that a transform made."""
    return [n for n in topo_sort(nodes) if n.origin.kind != "user" or n.origin.transform]


def roles_of(node: Node) -> list[tuple[str, Node | None, Node | None]]:
    return [(r.kind, r.of, r.consumer) for r in node.roles]


def test_gradients_records_totals_partials_and_the_pass() -> None:
    v1, v2, v3, v4 = notes_example()
    adj = ga.adjoints(v4, v1)
    gx = ga.gradients(v4, v1)
    line = gx.origin.location
    assert line.startswith(HERE + ":")
    assert gx.origin == Origin("reverse", 1, line, "gradients")
    assert gx.roles == (Role("adjoint", v1),)
    # the same sweep as adjoints(), which records the same roles on its nodes
    assert adj[v3].total.roles == (Role("adjoint", v3), Role("partial", v2, v3))
    assert adj[v2].total.roles == (Role("adjoint", v2),)
    partials = dict(adj[v2].partials)
    assert partials[v4].roles == (Role("partial", v2, v4),)
    assert partials[v3] is adj[v3].total  # v̄₃ = v̄₂→₃: one node, both roles
    assert adj[v4].total.roles == (Role("adjoint", v4),)  # the seed
    assert {n.origin for n in made([gx])} == {gx.origin}
    assert all(not n.roles for n in topo_sort([v4]))  # the user's nodes are left alone


def test_second_order_passes_know_their_order() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x)
    gx = ga.gradients(y, x)
    hx = ga.gradients(gx, x)
    assert hx.origin.order == 2 and hx.origin.kind == "reverse"
    assert hx.roles == (Role("adjoint", x),)
    seed = next(n for n in topo_sort([hx]) if Role("adjoint", gx) in n.roles)
    assert seed.origin.order == 2
    orders = {n.origin.order for n in made([hx])}
    assert orders == {1, 2}
    t = ga.jvp(gx, x, np.ones(3))  # forward over reverse
    assert t.origin == Origin("forward", 2, t.origin.location, "jvp")
    assert t.roles == (Role("tangent", gx),)
    assert gx.roles == (Role("adjoint", x),)  # the tangent's pass did not touch gx


def test_jvp_records_tangents() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.sin(x, name="y")
    z = ga.exp(y, name="z")
    tz = ga.jvp(z, x, 1.0)
    assert tz.roles == (Role("tangent", z),)
    tangents = {r.of: n for n in made([tz]) for r in n.roles}
    assert set(tangents) == {x, y, z}
    assert tangents[x].origin.kind == "forward" and tangents[x].origin.transform == "jvp"
    given = ga.constant(2.0)
    ty = ga.jvp(y, x, given)
    assert not given.roles  # made by the user before the pass: left as it is
    assert ty.roles == (Role("tangent", y),)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_hessians_own_nodes_belong_to_its_second_order(mode: str) -> None:
    p = ga.placeholder("p", shape=(2,))
    f = ga.sum(ga.sin(p) * p[1])
    h = ga.hessian(f, p, mode=mode)
    line = h.origin.location
    assert h.origin == Origin(mode, 2, line, "hessian")
    assert h.roles[0] == Role("hessian", f, None, p)
    forward_nodes = set(topo_sort([f]))
    for node in topo_sort([h]):
        if node not in forward_nodes:
            assert node.origin.transform == "hessian", node
            assert node.origin.location == line
            assert node.origin.order in (1, 2)
    # the final transpose and reshape are the second order's, not the user's
    assert h.op.name == "reshape" and h.inputs[0].origin.order == 2


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_in_both_modes(mode: str) -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.tanh(x) * ga.sum(x)
    j = ga.jacobian(y, x, mode=mode)
    assert j.roles == (Role("jacobian", y, None, x),)
    assert j.origin == Origin(mode, 1, j.origin.location, "jacobian")
    seed = "tangent" if mode == "forward" else "adjoint"
    basis = [n for n in topo_sort([j]) if n.op.name == "constant" and n.roles]
    assert any(r.kind == seed and r.of is (x if mode == "forward" else y) for r in basis[0].roles)
    derived = list(made([j]))
    assert {n.origin for n in derived} == {j.origin}
    # batched derivatives keep the roles of what they batch: the Jacobian's drawing names them
    assert any(r.kind == seed for n in derived for r in n.roles if n is not basis[0])


def test_hvp_is_the_tangent_of_the_gradient() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(x**3)
    hv = ga.hvp(y, x, np.ones(3))
    assert hv.origin == Origin("forward", 2, hv.origin.location, "hvp")
    (role,) = hv.roles
    assert role.kind == "tangent" and role.of.roles == (Role("adjoint", x),)
    assert role.of.origin == Origin("reverse", 1, hv.origin.location, "hvp")


def test_vmap_called_by_the_user_is_a_pass_of_its_own() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    loss = ga.sum((x * w) ** 2)
    g = ga.gradients(loss, w)
    per_example, batched_loss = ga.vmap([g, loss], {x: np.ones((5, 3))})
    assert per_example.roles == (Role("batch", g),)
    assert batched_loss.roles == (Role("batch", loss),)
    assert batched_loss.origin == Origin("user", 0, batched_loss.origin.location, "vmap")
    assert per_example.origin == Origin("reverse", 1, batched_loss.origin.location, "vmap")


def test_roles_survive_rewrites_pickling_and_copying() -> None:
    v1, _v2, _v3, v4 = notes_example()
    g = ga.gradients(v4 * 1.0, v1)
    (opt,) = ga.optimize([g])
    assert opt.roles == g.roles
    loaded_v4, loaded_g = pickle.loads(pickle.dumps([v4, g]))
    (role,) = loaded_g.roles
    assert role.kind == "adjoint" and role.of.name == "v1"
    assert role.of in topo_sort([loaded_v4]) and role.of is not v1
    assert loaded_g.origin == g.origin
    copied = copy.deepcopy({"v4": v4, "g": g})
    (role,) = copied["g"].roles
    assert role.of in topo_sort([copied["v4"]]) and role.of is not v1
    alone = copy.deepcopy(g)  # the node its role names is copied with it, once
    (role,) = alone.roles
    placeholders = [n for n in topo_sort([alone, role.of]) if n.op.name == "placeholder"]
    assert len(placeholders) == 1


def test_roles_are_not_a_way_to_change_a_node() -> None:
    x = ga.placeholder("x", shape=())
    g = ga.gradients(x * x, x)
    with pytest.raises(AttributeError, match="immutable"):
        g.roles = ()  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        g._roles = ()  # type: ignore[misc]
    assert Role("adjoint", x) == Role("adjoint", x) and Role("adjoint", x) != Role("tangent", x)
    assert len({Role("adjoint", x), Role("adjoint", x)}) == 1


def test_an_unconnected_x_gets_zeros_from_the_same_pass() -> None:
    x = ga.placeholder("x", shape=())
    z = ga.placeholder("z", shape=(2,))
    gx, gz = ga.gradients(ga.sin(x), [x, z])
    assert gz.origin == gx.origin
