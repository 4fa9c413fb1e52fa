"""What the command line checks, so that whatever is typed ends in the work done or in one
line and an exit status: bad usage (:data:`EXIT_USAGE`), found before anything is printed
or written, or a failure while doing the work (:data:`EXIT_FAILED`).

Output paths are tried before the work starts, an expression that starts with a minus
sign is told apart from an option, ``--at`` and ``--wrt`` refuse names given twice, and a
:class:`NodeBudget` stops derivatives that grow past a limit as soon as they do.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from graphad.ir import GraphError, Node

EXIT_FAILED = 1  # the work failed: a check, a renderer, a file being written
EXIT_USAGE = 2  # bad usage: what was typed, or a limit it exceeds; before any output
SHOWN = 200  # characters of the user's text quoted back in an error


class CommandError(Exception):
    """One line for the user and the exit status: :data:`EXIT_USAGE` for what was typed
    (a bad option, an unwritable path, a limit exceeded), :data:`EXIT_FAILED` for a
    failure while doing the work."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def printable(text: str) -> str:
    """``text`` safe to write to a terminal on one line: unprintable characters (an escape
    sequence, a newline) written as Python writes them, and cut after ``4 * SHOWN``."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return shown if len(shown) <= 4 * SHOWN else shown[: 4 * SHOWN] + "…"


def quoted(text: str) -> str:
    """A user's argument quoted in a message, cut to :data:`SHOWN` characters."""
    return repr(text) if len(text) <= SHOWN else f"{text[:SHOWN]!r}… ({len(text)} characters)"


def output_file(path: str, option: str) -> Path:
    """``path`` checked before any work: a format Graphviz writes, in a directory that exists,
    as a file that may be written (else bad usage), and a renderer for it (else a failure)."""
    from graphad.viz.render import FORMATS

    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "svg"
    if fmt not in FORMATS:
        raise CommandError(
            f"{option} {quoted(path)}: cannot write .{fmt} files; use .svg, .png or .pdf"
        )
    try:
        if target.is_dir():
            raise CommandError(f"{option} {quoted(path)}: is a directory; name a file in it")
        if not target.parent.is_dir():
            raise CommandError(f"{option} {quoted(path)}: there is no directory {target.parent}")
        if target.exists():
            if target.is_file() and not os.access(target, os.W_OK):
                raise CommandError(f"{option} {quoted(path)}: the file may not be written")
        else:  # the one sure test: create it, and leave nothing behind until the work is done
            target.open("xb").close()
            target.unlink()
    except OSError as e:
        raise CommandError(
            f"{option} {quoted(path)}: cannot write there ({e.strerror or e})"
        ) from e
    check_renderer(fmt, f"{option} {quoted(path)}")
    return target


def output_dir(path: str, option: str) -> Path:
    """The directory ``path``, made if need be and checked by writing a file into it."""
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass
    except FileExistsError as e:
        raise CommandError(f"{option} {quoted(path)}: is a file, not a directory") from e
    except OSError as e:
        raise CommandError(
            f"{option} {quoted(path)}: cannot write there ({e.strerror or e})"
        ) from e
    check_renderer("svg", f"{option} {quoted(path)}")
    return target


def check_renderer(fmt: str, what: str) -> None:
    """A Graphviz renderer that writes ``fmt``: none installed is a failure, not bad usage."""
    from graphad.viz.render import renderer_for

    try:
        renderer_for(fmt)
    except GraphError as e:
        raise CommandError(f"{what}: {without_location(e)}", EXIT_FAILED) from e


def without_location(e: Exception) -> str:
    """A graphad error without its trailing ``(file.py:12)``: on the command line the line
    that made the node is graphad's own."""
    return re.sub(r" \([^()]*:\d+\)$", "", str(e))


def while_drawing(what: str, draw: Callable[[], object]) -> None:
    """Run ``draw``; a renderer or a file that fails is a failure of the work."""
    try:
        draw()
    except GraphError as e:
        raise CommandError(f"{what}: {without_location(e)}", EXIT_FAILED) from e
    except OSError as e:
        raise CommandError(f"{what}: cannot write ({e.strerror or e})", EXIT_FAILED) from e


def _name(text: str) -> str:
    """A variable's name as Python reads it in the expression: ``ｘ`` (fullwidth) is ``x``."""
    return unicodedata.normalize("NFKC", text.strip())


def assignments(text: str) -> dict[str, float]:
    """``x=0.7,y=0.1`` as ``{"x": 0.7, "y": 0.1}``; a name given twice is refused."""
    found: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        name = _name(name)
        try:
            number = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise CommandError(f"--at: expected name=number, got {quoted(item)}")
        if name in found:
            raise CommandError(f"--at: {quoted(name)} is given twice")
        found[name] = number
    return found


def names(text: str, option: str) -> list[str]:
    """``x,y`` as ``["x", "y"]``; an empty or repeated name is refused."""
    found = [_name(w) for w in text.split(",")]
    if not all(found):
        raise CommandError(f"{option}: expected names separated by commas, got {quoted(text)}")
    twice = sorted({w for w in found if found.count(w) > 1})
    if twice:
        raise CommandError(f"{option}: {', '.join(map(quoted, twice))} given twice")
    return found


class NodeBudget:
    """The nodes of a growing set of graphs, each counted once as it is added; more than
    ``limit`` is a :class:`CommandError` naming ``option`` and the order reached."""

    def __init__(self, limit: int, option: str = "--max-nodes") -> None:
        self.limit = limit
        self.option = option
        self.seen: set[Node] = set()

    def add(self, node: Node, order: int) -> None:
        """Count the nodes of ``node``'s graph not counted yet (a walk that stops at them)."""
        stack = [node]
        while stack:
            n = stack.pop()
            if n not in self.seen:
                self.seen.add(n)
                stack.extend(n.inputs)
        if len(self.seen) > self.limit:
            raise CommandError(
                f"the derivatives of order {order} take the graph past {self.limit} nodes "
                f"({self.option} {self.limit}): ask for a lower --order, or raise "
                f"{self.option} if you mean it"
            )


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line: ``graphad diff: error: ... (see --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)} (see --help)\n")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def natural(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


_OPTION = re.compile(r"--[^\W\d_]")  # --order, --bogus: for argparse, not an expression


def expression_apart(
    argv: Sequence[str], with_values: Sequence[str]
) -> tuple[list[str], str | None]:
    """The arguments without an expression that starts with a minus sign (``-x``,
    ``-sin(x)``, ``---x``), which argparse would read as an option, and that expression.

    It is the first argument that starts with ``-``, is not the value of one of the
    options ``with_values``, and is neither ``-h`` nor ``--`` followed by a letter (an
    option, known or not: ``--x`` must come after ``--``); after ``--`` argparse reads
    everything as positional."""
    i = 0
    while i < len(argv) and argv[i] != "--":
        arg = argv[i]
        unique = [o for o in with_values if o.startswith(arg)] if len(arg) > 2 else []
        if arg in with_values or len(unique) == 1:  # --order 3, --ord 3: skip the 3
            i += 2
            continue
        if arg.startswith("-") and arg not in ("-", "-h") and not _OPTION.match(arg):
            return [*argv[:i], *argv[i + 1 :]], arg
        i += 1
    return list(argv), None
