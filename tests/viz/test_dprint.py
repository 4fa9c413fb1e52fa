"""``ga.dprint``: the indented tree PyTensor users know, shared nodes shown once."""

from __future__ import annotations

import io

import pytest

import graphad as ga
from graphad.debug_print import _letters


def test_a_shared_node_is_shown_once_and_referred_to_after() -> None:
    x = ga.placeholder("x", shape=(3,))
    s = ga.sin(x)
    assert ga.dprint(s * s + 1, file="str") == "\n".join(
        [
            "add [id A] (3,):float64",
            " ├─ multiply [id B] (3,):float64",
            " │  ├─ sin [id C] (3,):float64",
            " │  │  └─ x [id D] (3,):float64",
            " │  └─ sin [id C] (3,):float64",
            " │     └─ ···",
            " └─ 1.0 [id E] ():float64",
        ]
    )


def test_several_outputs_share_ids_and_user_names_are_quoted() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.exp(x, name="e"), name="total")
    (gx,) = ga.gradients(y, [x])
    lines = ga.dprint([y, gx], file="str", types=False).splitlines()
    assert lines[:3] == ["sum [id A] 'total'", " └─ exp [id B] 'e'", "    └─ x [id C]"]
    # the gradient reuses exp(x): the line is repeated with its id, its inputs left out
    assert lines[-2:] == [" └─ exp [id B] 'e'", "    └─ ···"]


def test_ops_with_attributes_show_them_in_their_notation() -> None:
    X = ga.placeholder("X", shape=(3, 4))
    t = ga.make_tuple(X, ga.sum(X, axis=1))
    text = ga.dprint([t[1], X[:, 0], ga.reshape(X, (2, 6)).T], file="str", types=False)
    for expected in (
        "tuple_get ·[1] [id A]",
        "make_tuple (·, ·) [id B]",
        "sum(·, axis=1) [id D]",
        "getitem ·[:, 0] [id E]",
        "transpose ·.T [id F]",
        "reshape(·, (2, 6)) [id G]",
    ):
        assert expected in text, text


def test_cond_shows_its_branches_as_inner_graphs() -> None:
    x = ga.placeholder("x", shape=(3,))
    c = ga.cond(ga.sum(x) > 0, lambda a: ga.sin(a), lambda a: a * 2, x)
    assert ga.dprint(c, file="str") == "\n".join(
        [
            "cond [id A] (3,):float64",
            " ├─ greater [id B] ():bool",
            " │  ├─ sum [id C] ():float64",
            " │  │  └─ x [id D] (3,):float64",
            " │  └─ 0.0 [id E] ():float64",
            " └─ x [id D] (3,):float64",
            "",
            "Inner graphs:",
            "",
            "cond [id A] (3,):float64",
            " true ← sin [id F] (3,):float64",
            "        └─ true_operand_0 [id G] (3,):float64 → [id D]",
            " false ← multiply [id H] (3,):float64",
            "         ├─ false_operand_0 [id I] (3,):float64 → [id D]",
            "         └─ 2.0 [id J] ():float64",
        ]
    )


def test_it_prints_by_default_to_a_stream_or_returns_text(capsys) -> None:
    x = ga.placeholder("x", shape=())
    assert ga.dprint(x) is None
    assert capsys.readouterr().out == "x [id A] ():float64\n"
    stream = io.StringIO()
    assert ga.dprint(-x, file=stream) is None
    assert stream.getvalue() == "negative [id A] ():float64\n └─ x [id B] ():float64\n"


def test_depth_cuts_the_tree_and_deep_chains_need_no_recursion() -> None:
    x = ga.placeholder("x", shape=())
    f = x
    for _ in range(3000):
        f = ga.sin(f)
    assert ga.dprint(f, file="str", depth=2, types=False).splitlines() == [
        "sin [id A]",
        " └─ sin [id B]",
        "    └─ ···",
    ]
    lines = ga.dprint(f, file="str", types=False).splitlines()
    assert len(lines) == 3001 and lines[-1].endswith("└─ x [id ELK]")


def test_ids_count_in_letters_as_pytensor_does() -> None:
    assert [_letters(n) for n in (0, 1, 25, 26, 27, 26 * 26)] == ["A", "B", "Z", "BA", "BB", "BAA"]


def test_bad_inputs_are_named() -> None:
    x = ga.placeholder("x", shape=())
    with pytest.raises(ga.GraphError, match="dprint: expected a node or a list of nodes"):
        ga.dprint("x")
    with pytest.raises(ga.GraphError, match="dprint: expected a node or a list"):
        ga.dprint([x, 1])
    with pytest.raises(ga.GraphError, match="depth must be an int >= 1, got 0"):
        ga.dprint(x, depth=0)
    with pytest.raises(ga.GraphError, match=r"file must be a stream or 'str', got 'out\.txt'"):
        ga.dprint(x, file="out.txt")
