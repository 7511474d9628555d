"""`csa top` with 10,000 sessions in the store: the first frame, the refresh after a change,
and the CPU it uses while nothing changes; `csa status` over the same store.

The store: 10,000 finished sessions (2,000 with `--quick`) synthesized in the on-disk format (scale.py), plus a
queue `live` of 2 slots with 4 real `sleep` sessions (2 running, 2 queued), so that the
view has live rows and its clock ticks. `csa top` runs in a pseudo-terminal of 160 × 50
(bench/screen.py keeps its screen).

- **First frame**: from just before the process is started to the first screen that shows
  the counts line with every session (`10004 sessions: …`): reading the store (every
  `session.toml` and `result.toml`, as `csa session list` does) is most of it.
- **Refresh**: with `csa top` running, from the change on disk to the first screen that
  shows it. Two changes, alternating: a finished session renamed into `sessions/` (as
  `csa run` publishes a session: one rename), and a running session ending — a session
  whose `lock` this script holds gets its `result.toml` by a rename, then the lock goes.
  Its CPU time (`schedstat` of its threads, read at that moment) is reported too: on a
  loaded machine the wall time is mostly waiting for a CPU. So is the first frame of
  `chrt -f 10 csa top` (as root): real-time scheduling gives it a CPU whenever it can run,
  as a quiet machine would.
- **Idle CPU**: `schedstat` CPU time of the process over a window in which nothing changes
  but the clock (its 2 running sessions make it redraw every second).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import statistics
import time
from pathlib import Path

from lib import CSA, Sample, Sandbox, cpu_ns, csa_has, hyperfine, log, ms
from scale import rfc3339, synthesize, ulid
from screen import Terminal

TARGETS = {"first": 0.200, "refresh": 0.050, "idle": 0.01}
COUNTS = re.compile(r"(\d+) sessions?: (\d+) running, (\d+) queued, (\d+) succeeded")


def counts(screen: str) -> tuple[int, int, int, int] | None:
    m = COUNTS.search(screen)
    return tuple(int(g) for g in m.groups()) if m else None


def session_files(sid: str, started: float, finished: bool) -> dict[str, str]:
    files = {
        "session.toml": (
            f'id = "{sid}"\nargv = ["/bin/sh", "-c", "bench refresh"]\ntool = "sh"\n'
            f'cwd = "/src/project"\ncreated_at = "{rfc3339(started)}"\n'
            'csa_version = "0.1.0"\nstdin = "null"\n'
        ),
        "daemon.pid": f"{os.getpid()} 1\n",
        "lock": "",
        "stdout.log": "",
        "stderr.log": "",
    }
    if finished:
        files["result.toml"] = result_text(sid, started)
    return files


def result_text(sid: str, started: float) -> str:
    return (
        f'id = "{sid}"\nstatus = "success"\nexit_code = 0\n'
        f'started_at = "{rfc3339(started)}"\nfinished_at = "{rfc3339(time.time())}"\n'
        "duration_ms = 1\nsynthetic = false\n"
    )


def stage(sessions: Path, finished: bool) -> tuple[Path, Path, int | None]:
    """Builds a session in a hidden directory; returns (staged, final path, lock fd held)."""
    now = time.time()
    sid = ulid(int(now * 1000))
    staged = sessions / f".bench-{sid}"
    staged.mkdir(mode=0o700)
    for name, text in session_files(sid, now, finished).items():
        fd = os.open(staged / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, text.encode())
        os.close(fd)
    lock = None
    if not finished:
        lock = os.open(staged / "lock", os.O_RDWR)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return staged, sessions / sid, lock


def top_section(quick: bool, report) -> None:
    if not csa_has("top"):
        report.pending("top: first frame ≤ 200 ms, refresh ≤ 50 ms, idle ≤ 1 % of a core")
        return
    count = 2000 if quick else 10_000
    firsts, window, rounds = (5, 5, 10) if quick else (15, 30, 40)
    first = Sample("first frame")
    first_cpu = Sample("first frame: CPU time of csa top (all threads)")
    first_fifo = Sample("first frame under `chrt -f 10` (given the CPU at once)")
    appear = Sample("a session appears")
    ends = Sample("a session ends")
    with Sandbox("top", pueue=False) as sb:
        log(f"top: synthesizing {count} sessions")
        synthesize(sb.state, count)
        sb.run([str(CSA), "queue", "slots", "live", "2"])
        for _ in range(4):
            sb.run([str(CSA), "run", "--queue", "live", "--", "sleep", "3600"])
        total = count + 4
        sessions = sb.state / "sessions"
        log(f"top: first frame, {firsts} starts")
        for _ in range(firsts):
            term = Terminal([str(CSA), "top"], sb.env)
            shown = term.wait_for(lambda s: f"{total} sessions:" in s, 30, "the first frame")
            first.times.append(shown - term.started)
            # Less bound to the machine's load than the wall time: what the start cost.
            first_cpu.times.append(cpu_ns(term.proc.pid) / 1e9)
            term.close()
        # The same with the CPU given to it at once (SCHED_FIFO, as root): what it costs
        # when the machine's other work does not make it wait.
        fifo = os.geteuid() == 0 and shutil.which("chrt") is not None
        for _ in range(firsts if fifo else 0):
            term = Terminal(["chrt", "-f", "10", str(CSA), "top"], sb.env)
            shown = term.wait_for(lambda s: f"{total} sessions:" in s, 30, "the first frame")
            first_fifo.times.append(shown - term.started)
            term.close()
        term = Terminal([str(CSA), "top"], sb.env)
        term.wait_for(lambda s: f"{total} sessions:" in s, 30, "the first frame")
        term.drain(1.0)
        log(f"top: {rounds} refreshes of each kind")
        for _ in range(rounds):
            staged, final, _ = stage(sessions, finished=True)
            t0 = time.monotonic()
            os.rename(staged, final)
            total += 1
            shown = term.wait_for(lambda s: (counts(s) or (0,))[0] == total, 10, "a new session")
            appear.times.append(shown - t0)
            staged, final, lock = stage(sessions, finished=False)
            os.rename(staged, final)
            total += 1
            term.wait_for(
                lambda s: (counts(s) or (0, 0))[:2] == (total, 3), 10, "a running session"
            )
            term.drain(0.2)
            succeeded = counts(term.screen.text_now())[3]
            tmp = final / ".result.bench"
            tmp.write_text(result_text(final.name, time.time()))
            t0 = time.monotonic()
            os.rename(tmp, final / "result.toml")
            os.close(lock)
            shown = term.wait_for(
                lambda s: (counts(s) or (0, 0, 0, 0))[3] == succeeded + 1, 10, "its end"
            )
            ends.times.append(shown - t0)
            term.drain(0.05)
        log(f"top: idle for {window} s")
        term.drain(2.0)
        before = cpu_ns(term.proc.pid)
        term.drain(window)
        idle_share = (cpu_ns(term.proc.pid) - before) / 1e9 / window
        rss = rss_kib(term.proc.pid)
        term.close()
        status_env = dict(sb.env)
        statuses = hyperfine(
            {
                f"csa status ({total} sessions)": f"{CSA} status",
                f"csa status --json ({total} sessions)": f"{CSA} status --json",
                # The same reads, for comparison (it also records nothing here: no session
                # is lost).
                f"csa session list ({total} sessions)": f"{CSA} session list",
            },
            status_env,
            10 if quick else 30,
            2,
            sb.dir / "status.json",
        )
    rows = [
        f"| {s.label} | {ms(s.median)} | {ms(s.min)} | {ms(max(s.times))} | {len(s.times)} |"
        for s in (first, first_cpu, first_fifo, appear, ends)
        if s.times
    ]
    status_rows = [f"| `{k}` | {ms(v.median)} | {ms(v.pct(90))} |" for k, v in statuses.items()]
    report.section(
        f"Fleet view: csa top with {count:,} sessions",
        __doc__.split("\n\n", 1)[1].strip(),
        "| measure | median ms | min ms | max ms | runs |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows),
        f"Idle: {idle_share * 100:.3f} % of a core over {window} s (resident memory "
        f"{rss / 1024:.1f} MiB).",
        "| command | median ms | p90 ms |\n|---|---:|---:|\n" + "\n".join(status_rows),
    )
    refresh = statistics.median(appear.times + ends.times)
    report.target(
        f"top: first frame ≤ 200 ms ({count:,} sessions)",
        first.median <= TARGETS["first"],
        f"{ms(first.median)} ms",
    )
    if first_fifo.times:
        report.target(
            "top: first frame ≤ 200 ms, given the CPU (`chrt -f`)",
            first_fifo.median <= TARGETS["first"],
            f"{ms(first_fifo.median)} ms",
        )
    report.target(
        "top: refresh ≤ 50 ms", refresh <= TARGETS["refresh"], f"{ms(refresh)} ms (median)"
    )
    report.target(
        "top: ≤ 1 % of a core while nothing changes",
        idle_share <= TARGETS["idle"],
        f"{idle_share * 100:.3f} %",
    )
    report.data["top"] = {
        "first": first.times,
        "first_cpu": first_cpu.times,
        "first_fifo": first_fifo.times,
        "appear": appear.times,
        "ends": ends.times,
        "idle_share": idle_share,
        "status": {k: v.times for k, v in statuses.items()},
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
