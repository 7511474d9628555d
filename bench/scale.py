"""Scale: `csa session list` over 200 and 10,000 sessions, the peers' listings over 200
finished jobs, and the memory (PSS) of the processes that keep 200 `sleep` jobs.

The 10,000 sessions are synthesized directly in the on-disk format of the contract (§1):
finished sessions with `session.toml`, `result.toml`, `daemon.pid`, `lock` and empty
spool files, directories 0700 and files 0600.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

from lib import CSA, Sample, Sandbox, comm, csa_has, hyperfine, log, ms, poll, pss_kib, tagged_pids

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms_since_epoch: int) -> str:
    value = (ms_since_epoch << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def rfc3339(seconds: float) -> str:
    millis = int(round(seconds * 1000)) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def synthesize(state: Path, count: int) -> None:
    """Writes `count` finished sessions, one a minute back from now, in the contract's
    on-disk format."""
    sessions = state / "sessions"
    sessions.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    for i in range(count):
        started = now - 60 * (count - i)
        sid = ulid(int(started * 1000))
        d = sessions / sid
        d.mkdir(mode=0o700)
        status, code = ("success", 0) if i % 10 else ("failure", 2)
        files = {
            "session.toml": (
                f'id = "{sid}"\nargv = ["/bin/sh", "-c", "make test {i}"]\ntool = "sh"\n'
                f'cwd = "/src/project"\ncreated_at = "{rfc3339(started)}"\n'
                'csa_version = "0.1.0"\nstdin = "null"\n'
            ),
            "result.toml": (
                f'id = "{sid}"\nstatus = "{status}"\nexit_code = {code}\n'
                f'started_at = "{rfc3339(started)}"\nfinished_at = "{rfc3339(started + 1.5)}"\n'
                "duration_ms = 1500\nsynthetic = false\n"
            ),
            "daemon.pid": f"{4_000_000 + i} {1000 + i}\n",
            "lock": "",
            "stdout.log": "",
            "stderr.log": "",
        }
        for name, text in files.items():
            fd = os.open(d / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, text.encode())
            os.close(fd)


LIST_LIMITS = {200: 0.005, 10_000: 0.100, 100_000: 1.0}


def list_scale(quick: bool, report) -> None:
    sizes = (200, 2000) if quick else (200, 10_000, 100_000)
    has_list = csa_has("session", "list")
    rows = []
    with Sandbox("list", ts_slots=1) as sb:
        envs = {}
        for count in sizes:
            state = sb.dir / f"state-{count}"
            log(f"list: synthesizing {count} sessions")
            synthesize(state, count)
            envs[count] = dict(sb.env, CSA_STATE_DIR=str(state))
        log(f"list: {sizes[0]} finished peer jobs")
        for _ in range(sizes[0]):
            sb.run(["tsp", "-n", "true"], stdout=subprocess.DEVNULL)
            if sb.has_pueue:
                sb.run(sb.pueue("add", "--", "true"), stdout=subprocess.DEVNULL)
        sb.run(["tsp", "-w"], check=False)
        if sb.has_pueue:
            sb.run(sb.pueue("wait"), check=False)
        samples: dict[str, Sample] = {}
        if has_list:
            for count in sizes:
                label = f"csa session list ({count} sessions)"
                # Fewer runs where one run takes long; stdout to a pipe, as a reader would.
                runs = 10 if quick else (50 if count <= 10_000 else 10)
                samples |= hyperfine({label: f"{CSA} session list"}, envs[count], runs, 3,
                                     sb.dir / f"list-{count}.json")
        peers = {f"tsp -l ({sizes[0]} jobs)": "tsp -l"}
        if sb.has_pueue:
            peers[f"pueue status ({sizes[0]} tasks)"] = shlex.join(sb.pueue("status"))
        samples |= hyperfine(peers, sb.env, 10 if quick else 50, 3, sb.dir / "peers.json")
        for label, s in samples.items():
            rows.append(f"| `{label}` | {ms(s.median)} | {ms(s.pct(90))} |")
        cleaned = clean_times(sb, (1000, 2000) if quick else (1000, 10_000), 1 if quick else 3)
    notes = (
        "`hyperfine -N --warmup 3`, 50 runs (10 at 100,000 sessions). csa's sessions are "
        "synthesized finished sessions in the on-disk format (docs/format.md); the peers' are "
        "real finished jobs."
    )
    if not has_list:
        notes += "\n\n**csa rows pending**: this build has no `csa session list` yet."
    clean_rows = [
        f"| `csa session clean --older-than 1s` ({count} finished sessions) | {ms(s.median)} "
        f"| {ms(s.median / count * 1000)} |"
        for count, s in cleaned.items()
    ]
    report.section(
        "Listing",
        notes,
        "| command | median ms | p90 ms |\n|---|---:|---:|\n" + "\n".join(rows),
        "Cleaning: every session removed, each round on a fresh synthesized store (median "
        "of the rounds).",
        "| command | median ms | per 1,000 sessions ms |\n|---|---:|---:|\n"
        + "\n".join(clean_rows),
    )
    if has_list:
        for count in sizes:
            limit = LIST_LIMITS.get(count)
            if limit is None:
                continue
            s = samples[f"csa session list ({count} sessions)"]
            report.target(
                f"list: {count} sessions ≤ {limit * 1e3:.0f} ms",
                s.median <= limit,
                f"{ms(s.median)} ms",
            )
    else:
        report.pending("list: 200 sessions ≤ 5 ms, 10,000 sessions ≤ 100 ms")
    report.data["list"] = {k: v.times for k, v in samples.items()}
    report.data["clean"] = {k: v.times for k, v in cleaned.items()}


def clean_times(sb: Sandbox, sizes: tuple[int, ...], rounds: int) -> dict[int, Sample]:
    """Wall time of `csa session clean --older-than 1s` removing every one of `count`
    synthesized finished sessions, each round on a fresh store."""
    times = {count: Sample(f"clean {count}") for count in sizes}
    for count in sizes:
        for r in range(rounds):
            state = sb.dir / f"clean-{count}-{r}"
            log(f"clean: synthesizing {count} sessions (round {r + 1}/{rounds})")
            synthesize(state, count)
            start = time.perf_counter()
            sb.run([str(CSA), "session", "clean", "--older-than", "1s"],
                   env=dict(sb.env, CSA_STATE_DIR=str(state)), stdout=subprocess.DEVNULL)
            times[count].times.append(time.perf_counter() - start)
            left = len(list((state / "sessions").iterdir()))
            if left:
                log(f"  clean left {left} sessions")
    return times


def count_comm(tag: str, name: str) -> int:
    return sum(1 for pid in tagged_pids(tag) if comm(pid) == name)


def supervisor_pss(quick: bool, report) -> None:
    jobs = 50 if quick else 200
    tools = {
        "csa": ("csa", "csa run -- sleep 600"),
        "tsp": ("tsp", "tsp sleep 600 (TS_SLOTS=200)"),
        "nq": ("nq", "nq sleep 600"),
        "pueue": ("pueued", "pueue add -- sleep 600 (pueue parallel 200)"),
    }
    rows, totals = [], {}
    for tool, (process, label) in tools.items():
        with Sandbox(f"pss-{tool}", ts_slots=jobs, pueue=tool == "pueue") as sb:
            if tool == "pueue" and not sb.has_pueue:
                continue
            if tool == "pueue":
                sb.run(sb.pueue("parallel", str(jobs)))
            log(f"pss: {jobs} × {label}")
            for _ in range(jobs):
                sb.submit(tool, ["sleep", "600"])
            # nq runs its jobs one after another: one sleep, the others queued.
            running = 1 if tool == "nq" else jobs
            poll(lambda: count_comm(sb.tag, "sleep") >= running, 60, f"{tool} jobs to start")
            poll(lambda: count_comm(sb.tag, process) >= (jobs if tool in ("nq", "csa") else 1),
                 60, f"{tool} processes")
            time.sleep(0.5)  # let the last ones finish starting before reading memory
            pids = [p for p in tagged_pids(sb.tag) if comm(p) == process]
            pss = sum(pss_kib(p) for p in pids)
            sleeps = count_comm(sb.tag, "sleep")
            totals[tool] = pss
            rows.append(
                f"| `{label}` | {len(pids)} × `{process}` | {sleeps} | {pss / 1024:.1f} "
                f"| {pss / len(pids):.0f} |"
            )
    report.section(
        f"Memory of {jobs} running jobs",
        f"{jobs} `sleep 600` jobs per tool; the sum of `Pss:` from `/proc/<pid>/smaps_rollup` "
        "of the tool's own processes (supervisors, servers, queued clients), not of the "
        "jobs. nq runs one job at a time: its other processes wait in the queue.",
        "| jobs | processes | sleeps running | PSS total MiB | PSS per process KiB |\n"
        "|---|---|---:|---:|---:|\n" + "\n".join(rows),
    )
    if "csa" in totals:
        limit = 16 * 1024 * jobs / 200
        report.target(
            f"memory: {jobs} supervisors ≤ {limit / 1024:.0f} MiB PSS",
            totals["csa"] <= limit,
            f"{totals['csa'] / 1024:.1f} MiB",
        )
