"""Two commits of graphad on the workloads of ``run.py``, timed against each other in one run.

    python benchmarks/compare_commits.py OLD NEW              # every workload
    python benchmarks/compare_commits.py f50c0d6 HEAD W2 W5   # some of them

Each commit's ``graphad/`` is exported (``git archive``) into a temporary directory, so
neither the working tree nor the repository's list of worktrees is touched, and imported
by a worker process of its own; BLAS and XLA get one thread in both.  Both workers run
the *same* workload definitions: this checkout's ``benchmarks/workloads.py`` (or the file
given with ``--workloads``), so that an edit to a benchmark between the two commits cannot
pass for a change in speed.  A workload that the older commit cannot build is reported as
failing there, not skipped.

For each workload the two workers build their graphs in turn (graph, derivatives and an
``Executor``: optimise, plan, generate code), ``--builds`` times each, alternating, and
their values are checked to agree with each other and with the hand-written NumPy of the
workload.  Then runs are timed in alternating batches, one worker at a time (never both
at once, so neither slows the other): the per-call times of the neighbouring pair of
batches whose ratio NEW / OLD is the median, and that ratio.  A ratio above 1 means NEW
is slower.  Build times are the medians of the builds, and their ratio.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread, here and in workers
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402 - after pinning BLAS
import json  # noqa: E402 - after pinning BLAS
import statistics  # noqa: E402 - after pinning BLAS
import subprocess  # noqa: E402 - after pinning BLAS
import sys  # noqa: E402 - after pinning BLAS
import tempfile  # noqa: E402 - after pinning BLAS
import time  # noqa: E402 - after pinning BLAS
from pathlib import Path  # noqa: E402 - after pinning BLAS
from typing import IO, Any  # noqa: E402 - after pinning BLAS

HERE = Path(__file__).resolve().parent


# -- the worker: one commit's graphad, driven over a pipe ---------------------------
def _serve(source: str, workloads_file: str, names: list[str]) -> None:
    """Answer the parent's requests, one JSON object a line, on the real stdout; anything
    graphad or a workload prints goes to stderr instead."""
    replies: IO[str] = sys.stdout
    sys.stdout = sys.stderr
    sys.path.insert(0, str(Path(workloads_file).parent))
    sys.path.insert(0, source)  # ahead of an installed (editable) graphad
    import importlib.util

    import numpy as np

    import graphad as ga

    if not Path(ga.__file__).resolve().is_relative_to(Path(source).resolve()):
        raise RuntimeError(f"worker for {source} imported graphad from {ga.__file__}")
    spec = importlib.util.spec_from_file_location("workloads", workloads_file)
    assert spec is not None and spec.loader is not None
    workloads = importlib.util.module_from_spec(spec)
    sys.modules["workloads"] = workloads
    spec.loader.exec_module(workloads)

    cases = workloads.cases(names)
    state: dict[str, Any] = {}

    def reply(**answer: Any) -> None:
        replies.write(json.dumps(answer) + "\n")
        replies.flush()

    reply(names=[c.name for c in cases], graphad=ga.__file__)
    for line in sys.stdin:
        request = json.loads(line)
        command = request["command"]
        try:
            if command == "build":
                case = cases[request["case"]]
                start = time.perf_counter()
                fetches = case.build()
                ex = ga.Executor(fetches)
                seconds = time.perf_counter() - start
                state.update(case=case, ex=ex)
                out = ex.run(case.feeds)
                values = out if isinstance(out, (list, tuple)) else [out]
                np.savez(request["values"], *[np.asarray(v) for v in values])
                hand = case.by_hand()
                hand = hand if isinstance(hand, (list, tuple)) else [hand]
                agrees = len(hand) == len(values) and all(
                    np.allclose(a, b, rtol=case.rtol, atol=case.rtol) for a, b in zip(values, hand)
                )
                reply(seconds=seconds, nodes=len(ex.order), agrees=agrees, rtol=case.rtol)
            elif command == "time":
                ex, feeds, number = state["ex"], state["case"].feeds, request["number"]
                if number == 0:  # calibrate: how many calls fill the budget
                    start = time.perf_counter()
                    ex.run(feeds)
                    once = max(time.perf_counter() - start, 1e-7)
                    reply(number=max(1, int(request["budget"] / once)))
                    continue
                start = time.perf_counter()
                for _ in range(number):
                    ex.run(feeds)
                reply(seconds=(time.perf_counter() - start) / number)
            else:
                reply(error=f"unknown command {command!r}")
        except Exception as e:  # an old commit that cannot build a workload is a result too
            reply(error=f"{type(e).__name__}: {e}")


# -- the parent: export, start, alternate ------------------------------------------
class Worker:
    """One commit's graphad in a process of its own."""

    def __init__(
        self, label: str, commit: str, root: Path, workloads_file: Path, names: list[str]
    ) -> None:
        self.commit = commit
        self.source = root / label  # the commits may be one and the same
        self.source.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", commit, "graphad"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(self.source)], input=archive, check=True)
        command = [sys.executable, __file__, "--serve", str(self.source), str(workloads_file)]
        self.process = subprocess.Popen(
            [*command, *names], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker for {self.commit} stopped (see its stderr above)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def _agree(a: Path, b: Path, rtol: float) -> bool:
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        return x.files == y.files and all(
            np.allclose(x[k], y[k], rtol=rtol, atol=rtol) for k in x.files
        )


def compare_case(
    i: int, old: Worker, new: Worker, root: Path, builds: int, repeat: int, budget: float
) -> dict[str, Any]:
    """One workload on both commits: build times, agreement, run times and their ratio."""
    row: dict[str, Any] = {"name": old.hello["names"][i]}
    built: dict[str, list[float]] = {"old": [], "new": []}
    for k in range(builds):
        for label, worker in (
            (("old", old), ("new", new))
            if k % 2 == 0
            else (
                ("new", new),
                ("old", old),
            )
        ):
            answer = worker.ask(command="build", case=i, values=str(root / f"{label}.npz"))
            if "error" in answer:
                row["error"] = f"{label} ({worker.commit}): {answer['error']}"
                return row
            built[label].append(answer["seconds"])
            row[f"{label}_nodes"], row[f"{label}_hand"] = answer["nodes"], answer["agrees"]
            row["rtol"] = answer["rtol"]
    row["old_build"] = statistics.median(built["old"])
    row["new_build"] = statistics.median(built["new"])
    row["agree"] = _agree(root / "old.npz", root / "new.npz", row["rtol"])
    n_old = old.ask(command="time", number=0, budget=budget)["number"]
    n_new = new.ask(command="time", number=0, budget=budget)["number"]
    pairs = []
    for _ in range(repeat | 1):
        t_old = old.ask(command="time", number=n_old)["seconds"]
        t_new = new.ask(command="time", number=n_new)["seconds"]
        pairs.append((t_old, t_new))
    pairs.sort(key=lambda p: p[1] / p[0])
    row["old"], row["new"] = pairs[len(pairs) // 2]
    return row


def _fmt_time(t: float) -> str:
    return f"{t * 1e6:8.1f} µs" if t < 1e-2 else f"{t * 1e3:8.1f} ms"


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['name']:44s} fails on {row['error']}"
    checks = "" if row["agree"] else "  VALUES DIFFER"
    if not (row["old_hand"] and row["new_hand"]):
        checks += "  DISAGREES WITH NUMPY"
    return (
        f"{row['name']:44s} {_fmt_time(row['old'])} {_fmt_time(row['new'])} "
        f"{row['new'] / row['old']:6.2f}x "
        f"{row['old_build'] * 1e3:7.0f}ms {row['new_build'] * 1e3:7.0f}ms "
        f"{row['new_build'] / row['old_build']:6.2f}x "
        f"{row['old_nodes']:6d} {row['new_nodes']:6d}{checks}"
    )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the commit to compare against (e.g. f50c0d6)")
    parser.add_argument("new", help="the commit measured (e.g. HEAD)")
    parser.add_argument("names", nargs="*", help="workloads (W1 ... W6); default: all")
    parser.add_argument("--workloads", type=Path, default=HERE / "workloads.py")
    parser.add_argument("--builds", type=int, default=3, help="builds per commit (default 3)")
    parser.add_argument("--repeat", type=int, default=9, help="timed pairs (odd; default 9)")
    parser.add_argument("--budget", type=float, default=0.05, help="seconds per batch")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="graphad-compare-") as tmp:
        root = Path(tmp)
        old = Worker("old", args.old, root, args.workloads.resolve(), args.names)
        new = Worker("new", args.new, root, args.workloads.resolve(), args.names)
        try:
            print(
                f"old = {args.old}, new = {args.new}; one BLAS thread; workloads from "
                f"{args.workloads}"
            )
            print(
                "run: per-call times of the neighbouring pair of batches (of "
                f"{args.repeat | 1}) whose ratio new / old is the median; build: median of "
                f"{args.builds} (graph + derivatives + Executor); > 1x: new is slower"
            )
            head = f"{'workload':44s} {'old':>11s} {'new':>11s} {'ratio':>7s}"
            head += f" {'old build':>9s} {'new build':>9s} {'ratio':>7s} {'nodes old/new':>13s}"
            print(head, flush=True)
            for i in range(len(old.hello["names"])):
                row = compare_case(i, old, new, root, args.builds, args.repeat, args.budget)
                print(_line(row), flush=True)
                rows.append(row)
        finally:
            old.close()
            new.close()
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
