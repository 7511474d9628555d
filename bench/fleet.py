"""Fleets: queues with slots, side by side with task-spooler (`tsp -S`), pueue (`parallel`)
and nq (a serial queue, where it applies).

(a) throughput: N `true` jobs through a 2-slot queue, from the first submission to the
    last completion (csa: one `session wait --tag`; tsp: `tsp -w` on each; pueue: `wait`);
(b) hand-off: in a 1-slot queue, from the moment a job's last command ends to the moment
    the next job's first command runs (both stamp the time with `date +%s%N`);
(c) waiting is free: N sessions queued behind one running job — CPU used while they wait,
    and the PSS of what each tool keeps alive for them.

One `csa session wait` for many sessions is section `waitmany` (bench/waitmany.py).
"""

from __future__ import annotations

import subprocess
import time

from lib import (
    CSA, Sample, Sandbox, comm, cpu_ns, log, ms, poll, pss_kib, ratio, tagged_pids,
)


def submit_queued(sb: Sandbox, tool: str, argv: list[str], queue: str, tag: str) -> str:
    """Starts `argv` as a job of `tool`'s queue (csa: `--queue`, tsp: TS_SLOTS, pueue: its
    default group with `parallel` set, nq: its serial queue)."""
    if tool == "csa":
        return sb.out([str(CSA), "run", "--queue", queue, "--tag", tag, "--", *argv])
    return sb.submit(tool, argv)


def wait_all(sb: Sandbox, tool: str, ids: list[str], tag: str) -> None:
    if tool == "csa":
        sb.run([str(CSA), "session", "wait", "--tag", tag, "--until-done"],
               stdout=subprocess.DEVNULL)
    elif tool == "tsp":
        for job in ids:
            sb.run(["tsp", "-w", job], check=False, stdout=subprocess.DEVNULL)
    elif tool == "nq":
        sb.run(["nq", "-w", *ids], check=False, stdout=subprocess.DEVNULL)
    elif tool == "pueue":
        sb.run(sb.pueue("wait"), stdout=subprocess.DEVNULL)


def setup_slots(sb: Sandbox, tool: str, slots: int, queue: str) -> None:
    if tool == "csa":
        sb.run([str(CSA), "queue", "slots", queue, str(slots)])
    elif tool == "pueue":
        sb.run(sb.pueue("parallel", str(slots)))
    elif tool == "tsp":
        sb.run(["tsp", "-S", str(slots)])


def throughput(n: int, tools: list[str]) -> dict[str, float]:
    seconds = {}
    for tool in tools:
        with Sandbox(f"fleet-a-{tool}", ts_slots=2, pueue=tool == "pueue") as sb:
            if tool == "pueue" and not sb.has_pueue:
                continue
            setup_slots(sb, tool, 2, "a")
            log(f"fleet (a): {n} × true through 2 slots with {tool}")
            start = time.perf_counter()
            ids = [submit_queued(sb, tool, ["true"], "a", "a") for _ in range(n)]
            wait_all(sb, tool, ids, "a")
            seconds[tool] = time.perf_counter() - start
    return seconds


def handoff(n: int, tools: list[str]) -> dict[str, Sample]:
    samples = {}
    for tool in tools:
        with Sandbox(f"fleet-b-{tool}", ts_slots=1, pueue=tool == "pueue") as sb:
            if tool == "pueue" and not sb.has_pueue:
                continue
            setup_slots(sb, tool, 1, "b")
            stamps = sb.dir / "stamps"
            script = f"date +%s%N >> {stamps}.start; sleep 0.05; date +%s%N >> {stamps}.end"
            log(f"fleet (b): hand-off, {n} jobs in a 1-slot queue with {tool}")
            ids = [submit_queued(sb, tool, ["sh", "-c", script], "b", "b") for _ in range(n)]
            wait_all(sb, tool, ids, "b")
            starts = sorted(int(x) for x in (sb.dir / "stamps.start").read_text().split())
            ends = sorted(int(x) for x in (sb.dir / "stamps.end").read_text().split())
            gaps = [(s - e) / 1e9 for e, s in zip(ends, starts[1:])]
            samples[tool] = Sample(tool, gaps)
    return samples


# task-spooler keeps a client process connected to its server for every queued job, and its
# server serves at most 1,000 connections (TS_MAXCONN; it multiplexes with select(), so
# no more than about 1,020 in any case): the submission of the thousandth queued job blocks
# until another client goes. It is measured with fewer queued jobs.
TSP_QUEUED_MAX = 900


def waiting_cost(n: int, window: float, tools: list[str]) -> dict[str, tuple[int, float, int, int]]:
    """(PSS KiB, CPU ms over the window, processes, jobs queued) of what each tool keeps for
    n queued jobs (fewer for task-spooler: TSP_QUEUED_MAX)."""
    found = {}
    processes = {"csa": "csa", "tsp": "tsp", "pueue": "pueued", "nq": "nq"}
    for tool in tools:
        with Sandbox(f"fleet-c-{tool}", ts_slots=1, pueue=tool == "pueue") as sb:
            if tool == "pueue" and not sb.has_pueue:
                continue
            setup_slots(sb, tool, 1, "c")
            queued = min(n, TSP_QUEUED_MAX) if tool == "tsp" else n
            log(f"fleet (c): {queued} jobs queued behind one running job with {tool}")
            submit_queued(sb, tool, ["sleep", "600"], "c", "c")
            for _ in range(queued):
                submit_queued(sb, tool, ["true"], "c", "c")
            name = processes[tool]
            expected = queued + 1 if tool in ("csa", "nq") else 1
            poll(lambda: sum(comm(p) == name for p in tagged_pids(sb.tag)) >= expected,
                 120, f"{tool}'s processes")
            time.sleep(1)
            pids = [p for p in tagged_pids(sb.tag) if comm(p) == name]
            before = {p: cpu_ns(p) for p in pids}
            time.sleep(window)
            used = sum(cpu_ns(p) - before[p] for p in pids)
            pss = sum(pss_kib(p) for p in pids)
            found[tool] = (pss, used / 1e6, len(pids), queued)
    return found


def fleet(quick: bool, report) -> None:
    n_a, n_b, n_c, window = (100, 20, 100, 2.0) if quick else (1000, 100, 1000, 10.0)
    peers = ["tsp", "pueue"]
    seconds = throughput(n_a, ["csa", *peers])
    gaps = handoff(n_b, ["csa", "tsp", "nq", "pueue"])
    cost = waiting_cost(n_c, window, ["csa", "tsp", "nq", "pueue"])
    fastest = min((s for t, s in seconds.items() if t != "csa"), default=float("nan"))
    rows_a = [f"| {tool} | {n_a} | {s:.2f} | {n_a / s:.0f} | {ratio(seconds['csa'], s)} |"
              for tool, s in seconds.items()]
    rows_b = [f"| {tool} | {len(s.times)} | {ms(s.median)} | {ms(s.pct(90))} | {ms(s.min)} |"
              for tool, s in gaps.items()]
    rows_c = [f"| {tool} | {queued} | {procs} | {pss / 1024:.1f} | {pss / queued:.0f} | {cpu:.1f} |"
              for tool, (pss, cpu, procs, queued) in cost.items()]
    report.section(
        "Fleets",
        f"(a) {n_a} `true` jobs through a 2-slot queue (csa `--queue` + `queue slots`, "
        "`tsp -S 2`, `pueue parallel 2`), first submission to last completion, waited for "
        "with each tool's own wait (csa: one `session wait --tag`).",
        "| tool | jobs | seconds | jobs/s | csa ÷ this |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows_a),
        "(b) Hand-off in a 1-slot queue: from the last command of a job to the first command "
        "of the next (`date +%s%N` in each job).",
        "| tool | hand-offs | median ms | p90 ms | min ms |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows_b),
        f"(c) {n_c} jobs queued behind one running job"
        + (f" ({TSP_QUEUED_MAX} for task-spooler, whose server serves at most 1,000 clients "
           "and keeps one per queued job)" if n_c > TSP_QUEUED_MAX else "")
        + f": the tool's own processes, their total PSS, and the CPU they used in "
        f"{window:.0f} s of waiting.",
        "| tool | jobs queued | processes | PSS MiB | PSS KiB per queued job | CPU ms |\n"
        "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows_c),
    )
    report.target("fleet (a): 1,000 jobs through 2 slots ≤ 1.0× the fastest peer",
                  seconds.get("csa", 1e9) <= fastest, f"{ratio(seconds['csa'], fastest)}")
    if "csa" in gaps:
        report.target("fleet (b): hand-off median ≤ 2 ms", gaps["csa"].median <= 0.002,
                      f"{ms(gaps['csa'].median)} ms")
    if "csa" in cost:
        pss, cpu, _, _ = cost["csa"]
        report.target(f"fleet (c): {n_c} queued sessions ≤ 50 MiB PSS, ~0 CPU",
                      pss <= 50 * 1024 * n_c / 1000 and cpu < 50,
                      f"{pss / 1024:.1f} MiB, {cpu:.1f} ms CPU in {window:.0f} s")
    report.data["fleet"] = {
        "throughput_s": seconds,
        "handoff_s": {t: s.times for t, s in gaps.items()},
        "queued_cost": cost,
    }
