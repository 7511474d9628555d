"""Idle cost: CPU time used by waiters and followers blocked on a silent job.

All of them block side by side in the same window. CPU time is read twice, 1 s after the
start (when start-up is over) and at the end of the window: `utime + stime` from
`/proc/<pid>/stat` (clock ticks, 10 ms) and the sum of the threads' `schedstat` (ns).
"""

from __future__ import annotations

import subprocess
import time

from lib import CSA, CLK_TCK, Sandbox, cpu_ns, cpu_ticks, csa_has, log


def idle(quick: bool, report) -> None:
    window = 5 if quick else 60
    has_attach = csa_has("session", "attach")
    with Sandbox("idle", ts_slots=4) as sb:
        job = ["sleep", str(window + 60)]
        ids = {t: sb.submit(t, job) for t in ["csa", "tsp", "nq"]}
        if sb.has_pueue:
            ids["pueue"] = sb.submit("pueue", job)
        spool = sb.dir / "tail.spool"
        spool.touch()
        watchers = {"csa session wait": [str(CSA), "session", "wait", "--session", ids["csa"]]}
        if has_attach:
            watchers["csa session attach"] = [str(CSA), "session", "attach", "--session", ids["csa"]]
        watchers |= {
            "tsp -w": ["tsp", "-w", ids["tsp"]],
            "tsp -c": ["tsp", "-c", ids["tsp"]],
            "nq -w": ["nq", "-w", ids["nq"]],
            "fq": ["fq", ids["nq"]],
            "tail -f": ["tail", "-f", str(spool)],
        }
        if sb.has_pueue:
            watchers["pueue wait"] = sb.pueue("wait", ids["pueue"])
            watchers["pueue follow"] = sb.pueue("follow", ids["pueue"])
        procs = {
            label: subprocess.Popen(
                argv, env=sb.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for label, argv in watchers.items()
        }
        log(f"idle: {len(procs)} waiters/followers blocked for {window} s")
        time.sleep(1)
        before = {k: (cpu_ticks(p.pid), cpu_ns(p.pid)) for k, p in procs.items()}
        time.sleep(window)
        after = {k: (cpu_ticks(p.pid), cpu_ns(p.pid)) for k, p in procs.items()}
        alive = {k: p.poll() is None for k, p in procs.items()}
        for p in procs.values():
            p.kill()
            p.wait()
    rows, used = [], {}
    for label in procs:
        ticks = after[label][0] - before[label][0]
        ns = after[label][1] - before[label][1]
        used[label] = ns
        rows.append(
            f"| `{label}` | {ticks * 1000 / CLK_TCK:.0f} | {ns / 1e6:.3f} "
            f"| {'yes' if alive[label] else '**exited**'} |"
        )
    report.section(
        "Idle cost",
        f"Each waiter/follower blocked {window} s on a silent `sleep` job, all side by side; "
        "CPU used during the window (after 1 s of start-up).",
        "| command | utime+stime ms (10 ms ticks) | schedstat ms | still blocked |\n"
        "|---|---:|---:|---|\n" + "\n".join(rows),
    )
    for label in ("csa session wait", "csa session attach"):
        if label in used:
            report.target(
                f"idle: {label} < 10 ms CPU in {window} s",
                used[label] < 10e6 and alive[label],
                f"{used[label] / 1e6:.3f} ms",
            )
    if not has_attach:
        report.pending("idle: csa session attach < 10 ms CPU in 60 s")
