#!/usr/bin/env python3
"""Before/after: two or more csa binaries measured side by side, interleaved, in one run —
how BENCHMARKS.md's "What was optimised" rows are measured.

Usage: bench/ab.py LABEL=PATH [LABEL=PATH ...] [--runs N] [--rounds N] [--jobs N]

For each binary: `csa run true` start latency (one `hyperfine -N` over every binary plus
`tsp true` and `setsid -f true`, `--rounds` times, runs pooled), completion lateness from
the job's end (`sh -c 'sleep 0.2; exec date +%s%N > STAMP'`, the binaries alternating),
and the PSS of `--jobs` supervisors of `sleep 600` (every process of the binary's sandbox
but the jobs). Each binary gets its own state root.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import Sandbox, comm, hyperfine, log, poll, pss_kib, tagged_pids  # noqa: E402


def start(binaries: dict[str, Path], runs: int, rounds: int) -> dict[str, float]:
    pooled: dict[str, list[float]] = {}
    with Sandbox("ab-start", pueue=False) as sb:
        commands = {label: f"{path} run true" for label, path in binaries.items()}
        commands |= {"tsp true": "tsp true", "setsid -f true": "setsid -f true"}
        for n in range(rounds):
            found = hyperfine(commands, sb.env, runs, 10, sb.dir / f"start{n}.json")
            for label, sample in found.items():
                pooled.setdefault(label, []).extend(sample.times)
    return {label: statistics.median(times) for label, times in pooled.items()}


def lateness(binaries: dict[str, Path], rounds: int) -> dict[str, float]:
    found: dict[str, list[float]] = {label: [] for label in binaries}
    with Sandbox("ab-late", pueue=False) as sb:
        stamp = sb.dir / "stamp"
        job = ["sh", "-c", f"sleep 0.2; exec date +%s%N > {stamp}"]
        for n in range(rounds):
            order = list(binaries.items())
            for label, path in order if n % 2 else reversed(order):
                sid = sb.out([str(path), "run", "--", *job])
                sb.run([str(path), "session", "wait", "--session", sid], check=False)
                returned = time.time_ns()
                found[label].append((returned - int(stamp.read_text())) / 1e9)
    return {label: statistics.median(times) for label, times in found.items()}


def memory(binaries: dict[str, Path], jobs: int) -> dict[str, float]:
    found = {}
    for label, path in binaries.items():
        with Sandbox("ab-pss", pueue=False) as sb:
            for _ in range(jobs):
                sb.run([str(path), "run", "--", "sleep", "600"])
            poll(lambda: sum(comm(p) == "sleep" for p in tagged_pids(sb.tag)) >= jobs, 60, "jobs")
            time.sleep(0.5)
            pids = [p for p in tagged_pids(sb.tag) if comm(p) != "sleep"]
            found[label] = sum(pss_kib(p) for p in pids) / 1024
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+", help="LABEL=PATH")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--late", type=int, default=100, help="lateness rounds per binary")
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    binaries = {}
    for item in args.binaries:
        label, _, path = item.partition("=")
        binaries[label] = Path(path).resolve()
    log("start latency")
    starts = start(binaries, args.runs, args.rounds)
    log("lateness")
    late = lateness(binaries, args.late)
    log("memory")
    pss = memory(binaries, args.jobs)
    print("| binary | `run true` median ms | ÷ tsp | ÷ setsid -f | lateness from the job's end, median ms "
          f"| PSS of {args.jobs} supervisors MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    tsp, setsid = starts["tsp true"], starts["setsid -f true"]
    for label in binaries:
        s = starts[label]
        print(f"| {label} | {s * 1e3:.2f} | {s / tsp:.2f}× | {s / setsid:.2f}× "
              f"| {late[label] * 1e3:.2f} | {pss[label]:.1f} |")
    print(f"| `tsp true` | {tsp * 1e3:.2f} | | | | |")
    print(f"| `setsid -f true` | {setsid * 1e3:.2f} | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
