"""Completion lateness: start `sleep 0.2`, wait for it at once, subtract 0.2 s.

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


def csa_once(sb: Sandbox) -> tuple[float, bool]:
    """One csa round: returns (lateness in s, result complete when wait returned)."""
    start = time.perf_counter()
    sid = sb.submit("csa", ["sleep", str(SLEEP)])
    done = sb.run(
        [str(CSA), "session", "wait", "--session", sid],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    late = time.perf_counter() - start - SLEEP
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
    return late, complete


def peer_once(sb: Sandbox, tool: str) -> float:
    start = time.perf_counter()
    if tool == "foreground":
        sb.run(["sleep", str(SLEEP)], stdout=subprocess.DEVNULL)
        return time.perf_counter() - start - SLEEP
    job = sb.submit(tool, ["sleep", str(SLEEP)])
    wait = {
        "tsp": ["tsp", "-w", job],
        "nq": ["nq", "-w", job],
        "pueue": sb.pueue("wait", job),
    }[tool]
    sb.run(wait, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start - SLEEP


LABELS = {
    "csa": "csa run -- sleep 0.2; csa session wait",
    "foreground": "sleep 0.2 (foreground, no tool)",
    "tsp": "tsp sleep 0.2; tsp -w ID",
    "nq": "nq sleep 0.2; nq -w ID",
    "pueue": "pueue add -p -- sleep 0.2; pueue wait ID",
}


def lateness(quick: bool, report) -> None:
    n_csa, n_peer = (50, 10) if quick else (1000, 60)
    with Sandbox("late") as sb:
        peers = ["foreground", "tsp", "nq"] + (["pueue"] if sb.has_pueue else [])
        samples = {tool: Sample(LABELS[tool]) for tool in ["csa", *peers]}
        early = 0
        log(f"lateness: csa {n_csa} runs, peers {n_peer} runs each, interleaved")
        every = max(1, n_csa // n_peer)
        for i in range(n_csa):
            late, complete = csa_once(sb)
            samples["csa"].times.append(late)
            early += not complete
            if i % every == 0 and len(samples["tsp"].times) < n_peer:
                for tool in peers:
                    samples[tool].times.append(peer_once(sb, tool))
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{n_csa} csa rounds, {early} early")
    csa = samples["csa"]
    floor = samples["foreground"].median
    rows = [
        f"| `{s.label}` | {len(s.times)} | {ms(s.median)} | {ms(s.median - floor)} "
        f"| {ms(s.pct(90))} | {ms(s.pct(99))} "
        f"| {ratio(csa.median, s.median) if tool != 'foreground' else '–'} |"
        for tool, s in samples.items()
    ]
    report.section(
        "Completion lateness",
        "Wall time from starting the job to the return of its waiter, minus 0.2 s; "
        "the harness (Python `subprocess`) spawns each command, so the foreground row "
        "shows the floor of the method. Peers run interleaved with csa, one peer round "
        f"every {every} csa rounds.",
        "| command | runs | median ms | median − foreground ms | p90 ms | p99 ms "
        "| csa ÷ this |\n|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows),
        f"Early returns of `csa session wait` (result.toml incomplete, or wrong exit "
        f"code, when wait returned): **{early} of {n_csa}**.",
    )
    tsp = samples["tsp"].median
    report.target(
        "lateness: median ≤ tsp's",
        csa.median <= tsp,
        f"{ms(csa.median)} ms median, tsp {ms(tsp)} ms ({ratio(csa.median, tsp)})",
    )
    report.target(
        f"lateness: 0 early returns in {n_csa} runs", early == 0, f"{early} early"
    )
    report.data["lateness"] = {k: v.times for k, v in samples.items()}
    report.data["lateness_early"] = early
