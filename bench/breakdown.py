#!/usr/bin/env python3
"""Where completion lateness goes: `csa run -- JOB` and a `csa session wait` blocked on it,
traced system-wide with `perf trace` (kernel tracepoints: the traced processes are never
stopped, unlike under strace), every system call on one clock.

Usage: bench/breakdown.py [--csa PATH] [--rounds N]   (root, or perf_event_paranoid ≤ 1)

JOB is `sh -c 'sleep 0.2; exec date +%s%N > STAMP'`. Phases, from the job's exit to the
moment the shell that ran `wait` sees it exit (medians over the rounds, ms):
  reap      `date`'s `exit_group` → the supervisor's `wait4` returns
  prepare   reaped → the supervisor writes the result into its reservation (`pwrite64`):
            leftover processes counted, `stop.toml` looked for, the reservation opened
  fsync     the `fsync` of the result (its duration)
  rename    fsync done → `result.toml` renamed into place
  wake      renamed → the waiter's first system call after its `flock` returned (the
            supervisor closes the session's lock; the kernel wakes the waiter's thread)
  print     → the waiter's `exit_group` (read the result, copy stdout.log, print the
            directive)
  exit      the waiter's `exit_group` → its parent's `wait4` returns
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import CSA  # noqa: E402

EVENTS = "exit_group,wait4,fsync,fdatasync,renameat2,flock,pwrite64,openat,close"
# "  207.578 ( 0.434 ms): csa/16589 fsync(fd: 3) = 0" and
# "    3.504 (203.911 ms): csa/16589  ... [continued]: wait4()) = 16591 (date)"
LINE = re.compile(r"^\s*(\d+\.\d+) \(\s*([\d.]*)\s*(?:ms)?\): (\S+)/(\d+) +(.*)$")
PHASES = ["reap", "prepare", "fsync", "rename", "wake", "print", "exit"]


def parse(path: Path) -> list[tuple[float, float, str, int, str]]:
    """(start ms, end ms, comm, tid, call text) for each line of a `perf trace` file."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        match = LINE.match(line)
        if match:
            start = float(match[1])
            took = float(match[2]) if match[2] else 0.0
            out.append((start, start + took, match[3], int(match[4]), match[5]))
    return out


def one_round(csa: Path, tmp: Path, n: int) -> dict[str, float]:
    trace = tmp / f"round{n}.trace"
    stamp = tmp / "stamp"
    job = f"sleep 0.2; exec date +%s%N > {stamp}"
    script = f"id=$({shlex.quote(str(csa))} run -- sh -c {shlex.quote(job)}); " \
        f"{shlex.quote(str(csa))} session wait \"$id\" >/dev/null 2>&1"
    env = dict(os.environ, CSA_STATE_DIR=str(tmp / "state"))
    subprocess.run(
        ["perf", "trace", "-a", "-o", str(trace), "-e", EVENTS, "--", "sh", "-c", script],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    ev = parse(trace)

    def one(pred, what):
        found = [e for e in ev if pred(e)]
        if not found:
            raise LookupError(what)
        return found[0]

    date = one(lambda e: e[2] == "date" and e[4].startswith("exit_group"), "date's exit")
    reap = one(lambda e: e[2] == "csa" and "wait4()" in e[4] and f"= {date[3]} " in e[4], "reap")
    sup = reap[3]
    pwrite = one(lambda e: e[3] == sup and e[4].startswith("pwrite64") and e[0] >= reap[1], "pwrite")
    fsync = one(lambda e: e[3] == sup and re.match(r"f(data)?sync\(", e[4]) and e[0] >= pwrite[0], "fsync")
    rename = one(lambda e: e[3] == sup and e[4].startswith("renameat2") and e[0] >= fsync[1], "rename")
    # The waiter's first system call once the result is in place: its `flock` returning
    # (perf may not know when that call began, so its end is not always known), else the
    # `close` or `openat` that follows it.
    woke = one(lambda e: e[2] == "csa" and e[3] != sup and e[0] >= rename[1], "wake")
    waiter_exit = one(
        lambda e: e[2] == "csa" and e[3] != sup and e[4].startswith("exit_group") and e[0] >= woke[1],
        "waiter's exit",
    )
    parent = one(lambda e: e[2] == "sh" and "wait4()" in e[4] and e[1] >= waiter_exit[0], "parent's wait4")
    marks = [date[0], reap[1], pwrite[0], fsync[0], fsync[1], rename[1], woke[0], waiter_exit[0], parent[1]]
    steps = [b - a for a, b in zip(marks, marks[1:])]
    phases = {
        "reap": steps[0],
        "prepare": steps[1] + steps[2],  # the pwrite itself counted with the preparation
        "fsync": steps[3],
        "rename": steps[4],
        "wake": steps[5],
        "print": steps[6],
        "exit": steps[7],
    }
    phases["total"] = marks[-1] - marks[0]
    return phases


def rounds(csa: Path, count: int) -> list[dict[str, float]]:
    found = []
    with tempfile.TemporaryDirectory(prefix="csa-bench-breakdown.") as tmp:
        for n in range(count):
            try:
                found.append(one_round(csa, Path(tmp), n))
            except (LookupError, subprocess.CalledProcessError) as err:
                print(f"breakdown: round {n} not understood ({err}); left out", file=sys.stderr)
    return found


def table(found: list[dict[str, float]]) -> str:
    keys = PHASES + ["total"]
    head = "| " + " | ".join(keys) + " |\n|" + "---:|" * len(keys)
    med = "| " + " | ".join(f"{statistics.median(r[k] for r in found):.3f}" for k in keys) + " |"
    return f"{head}\n{med}"


def breakdown(quick: bool, report) -> None:
    """Section `breakdown` of bench/bench.py."""
    found = rounds(CSA, 10 if quick else 100)
    if not found:
        report.section("Lateness breakdown", "`perf trace` was not usable here: no breakdown.")
        return
    report.section(
        "Lateness breakdown",
        f"`bench/breakdown.py`: {len(found)} rounds of `csa run -- JOB; csa session wait ID` "
        "under `perf trace -a` (tracepoints; nothing is stopped), medians of each phase in "
        "ms (the phases are defined in the script's header; they add up to the total "
        "only approximately, as each is a median).",
        table(found),
    )
    report.data["breakdown"] = found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csa", type=Path, default=CSA)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    found = rounds(args.csa, args.rounds)
    if not found:
        return 1
    print(f"{len(found)} rounds, medians in ms")
    print(table(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
