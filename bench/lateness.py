"""Completion lateness: start a job that sleeps 0.2 s and then writes the time as its last
act (`exec date +%s%N > STAMP`), wait for it at once. Two measures from the same rounds:
from the job's end (the waiter's return minus the stamp: the issue's definition, "job's end
→ wait exits, wait already blocked") and from the start (the waiter's return minus the
moment the job was submitted, minus 0.2 s: what a script sees, submission included).

For csa, every wait is also checked: when `csa session wait` returns, `result.toml` must
be complete (every field, status `success`, exit code 0, the right ID). A wait that
returns before that counts as an early return.
"""

from __future__ import annotations

import subprocess
import time
import tomllib

from lib import CSA, Sample, Sandbox, log, ms, ratio

SLEEP = 0.2
RESULT_KEYS = {"id", "status", "exit_code", "started_at", "finished_at", "duration_ms"}


def job(sb: Sandbox) -> list[str]:
    """The job: sleep, then the wall-clock time in ns into `stamp` as its last act."""
    return ["sh", "-c", f"sleep {SLEEP}; exec date +%s%N > {sb.dir / 'stamp'}"]


def since_end(sb: Sandbox, returned_ns: int) -> float:
    """Seconds from the job's stamp to `returned_ns` (both wall clock)."""
    return (returned_ns - int((sb.dir / "stamp").read_text())) / 1e9


def csa_once(sb: Sandbox) -> tuple[float, float, bool]:
    """One csa round: (lateness from the start, from the job's end, in s; result complete
    when wait returned)."""
    start = time.perf_counter()
    sid = sb.submit("csa", job(sb))
    done = sb.run(
        [str(CSA), "session", "wait", "--session", sid],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    returned = time.time_ns()
    late = time.perf_counter() - start - SLEEP
    end_late = since_end(sb, returned)
    try:
        with open(sb.csa_session_dir(sid) / "result.toml", "rb") as f:
            result = tomllib.load(f)
        complete = (
            RESULT_KEYS <= result.keys()
            and result["id"] == sid
            and result["status"] == "success"
            and result["exit_code"] == 0
            and result["synthetic"] is False
            and done.returncode == 0
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        complete = False
    return late, end_late, complete


def peer_once(sb: Sandbox, tool: str) -> tuple[float, float]:
    """One round of a peer: (lateness from the start, from the job's end), in s."""
    start = time.perf_counter()
    if tool == "foreground":
        sb.run(job(sb), stdout=subprocess.DEVNULL)
    else:
        jid = sb.submit(tool, job(sb))
        wait = {
            "tsp": ["tsp", "-w", jid],
            "nq": ["nq", "-w", jid],
            "pueue": sb.pueue("wait", jid),
        }[tool]
        sb.run(wait, stdout=subprocess.DEVNULL)
    returned = time.time_ns()
    return time.perf_counter() - start - SLEEP, since_end(sb, returned)


LABELS = {
    "csa": "csa run -- JOB; csa session wait ID",
    "foreground": "JOB (foreground, no tool)",
    "tsp": "tsp JOB; tsp -w ID",
    "nq": "nq JOB; nq -w ID",
    "pueue": "pueue add -p -- JOB; pueue wait ID",
}


def lateness(quick: bool, report) -> None:
    n_csa, n_peer = (50, 10) if quick else (1000, 60)
    with Sandbox("late") as sb:
        peers = ["foreground", "tsp", "nq"] + (["pueue"] if sb.has_pueue else [])
        samples = {tool: Sample(LABELS[tool]) for tool in ["csa", *peers]}
        ends = {tool: Sample(LABELS[tool]) for tool in ["csa", *peers]}
        early = 0
        log(f"lateness: csa {n_csa} runs, peers {n_peer} runs each, interleaved")
        every = max(1, n_csa // n_peer)
        for i in range(n_csa):
            late, end_late, complete = csa_once(sb)
            samples["csa"].times.append(late)
            ends["csa"].times.append(end_late)
            early += not complete
            if i % every == 0 and len(samples["tsp"].times) < n_peer:
                for tool in peers:
                    late, end_late = peer_once(sb, tool)
                    samples[tool].times.append(late)
                    ends[tool].times.append(end_late)
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{n_csa} csa rounds, {early} early")
    def table(found: dict[str, Sample]) -> str:
        csa, floor = found["csa"], found["foreground"].median
        rows = [
            f"| `{s.label}` | {len(s.times)} | {ms(s.median)} | {ms(s.median - floor)} "
            f"| {ms(s.pct(90))} | {ms(s.pct(99))} "
            f"| {ratio(csa.median, s.median) if tool != 'foreground' else '–'} |"
            for tool, s in found.items()
        ]
        return (
            "| command | runs | median ms | median − foreground ms | p90 ms | p99 ms "
            "| csa ÷ this |\n|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
        )

    report.section(
        "Completion lateness",
        f"JOB is `sh -c 'sleep {SLEEP}; exec date +%s%N > STAMP'`: it writes the wall-clock "
        "time as its last act. The harness (Python `subprocess`) starts each command; the "
        "foreground row (JOB run directly) shows the floor of the method. Peers run "
        f"interleaved with csa, one peer round every {every} csa rounds.",
        "**From the job's end** (the waiter's return minus STAMP; the target's measure):",
        table(ends),
        f"**From the start** (the waiter's return minus the moment the harness started the "
        f"submission, minus {SLEEP} s: submission and the job's own start included):",
        table(samples),
        f"Early returns of `csa session wait` (result.toml incomplete, or wrong exit "
        f"code, when wait returned): **{early} of {n_csa}**.",
    )
    csa, tsp = ends["csa"].median, ends["tsp"].median
    report.target(
        "lateness (job's end → wait exits): median ≤ tsp's",
        csa <= tsp,
        f"{ms(csa)} ms median, tsp {ms(tsp)} ms ({ratio(csa, tsp)}); from the start "
        f"{ms(samples['csa'].median)} ms, tsp {ms(samples['tsp'].median)} ms",
    )
    report.target(
        f"lateness: 0 early returns in {n_csa} runs", early == 0, f"{early} early"
    )
    report.data["lateness"] = {k: v.times for k, v in samples.items()}
    report.data["lateness_from_end"] = {k: v.times for k, v in ends.items()}
    report.data["lateness_early"] = early
