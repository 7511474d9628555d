"""One `csa session wait` for many sessions: its memory, its CPU while it waits, and how late
it returns after the last session ends.

Sessions are `flock -s GATE sleep S` jobs (util-linux `flock`), started with one tag while
the harness holds GATE exclusively; then one `csa session wait --tag T --until-done` waits
for all of them. Once the wait is watching (its inotify descriptor is open) the harness
measures its CPU over an idle window, then opens the gate. Two shapes:

- **at once**: S = 0, every session ends within a few milliseconds of the others;
- **spread**: S = 1 + i/N s for session i, so the ends are spread over one second and the
  last one ends alone.

Lateness = the moment `wait` returns (wall clock) − the moment the last `result.toml` was
renamed into place (its ctime). The supervisors' own delay — from the `finished_at` they
record to that rename, which waits for `fsync` — is shown beside it: with every session
ending at once, a thousand `fsync`s queue up behind each other. Peak memory is `VmHWM` of the wait process, sampled every 5 ms until it exits; its
CPU time over its whole life (start-up, reading every `session.toml` for the tag, setting up,
and handling every end) is from `getrusage(RUSAGE_CHILDREN)`.

Standalone: `bench/waitmany.py [--quick] [--csa PATH] [--sessions N]`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lib  # noqa: E402
from lib import Sample, cpu_ns, kill_tagged, log, ms  # noqa: E402

IDLE_WINDOW = 2.0


def vm_hwm_kib(pid: int) -> int | None:
    text = lib.read_text(f"/proc/{pid}/status")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def watching(pid: int) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if "inotify" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                return True
        except OSError:
            pass
    return False


@contextmanager
def sandbox():
    """A private state root; every process started in it carries a tag, and is ended by
    that tag afterwards. (No peer servers: the section measures csa alone.)"""
    root = Path(tempfile.mkdtemp(prefix="csa-bench-waitmany."))
    tag = uuid.uuid4().hex
    env = dict(os.environ, CSA_STATE_DIR=str(root / "csa"), **{lib.TAG: tag})
    try:
        yield root, env
    finally:
        kill_tagged(tag)
        shutil.rmtree(root, ignore_errors=True)


def settled(pid: int) -> bool:
    """True once the wait is set up: it watches (its inotify descriptor is open), its
    reader thread runs, and its main thread sleeps — twice in a row, 10 ms apart."""
    for attempt in range(2):
        if attempt:
            time.sleep(0.01)
        stat = lib.read_text(f"/proc/{pid}/task/{pid}/stat") or ""
        state = stat[stat.rfind(")") + 2 :][:1]
        try:
            threads = len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            return False
        if not (watching(pid) and threads >= 2 and state == "S"):
            return False
    return True


def one_round(csa: Path, count: int, spread: bool) -> dict:
    with sandbox() as (root, env):
        state = root / "csa"
        gate = root / "gate"
        holder = open(gate, "w")
        fcntl.flock(holder, fcntl.LOCK_EX)
        tag = "many"
        for i in range(count):
            pause = f"{1 + i / count:.3f}" if spread else "0"
            subprocess.run(
                [str(csa), "run", "--tag", tag, "--", "flock", "-s", str(gate), "sleep", pause],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        waiter = subprocess.Popen(
            [str(csa), "session", "wait", "--tag", tag, "--until-done"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        peak = [0]

        def sample() -> None:
            while True:
                kib = vm_hwm_kib(waiter.pid)
                if kib is None:
                    return
                peak[0] = max(peak[0], kib)
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        deadline = time.monotonic() + 120
        while not settled(waiter.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        threads = len(os.listdir(f"/proc/{waiter.pid}/task"))
        before = cpu_ns(waiter.pid)
        time.sleep(IDLE_WINDOW)
        idle_cpu = cpu_ns(waiter.pid) - before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        fcntl.flock(holder, fcntl.LOCK_UN)
        holder.close()
        _, err = waiter.communicate()
        returned = time.time()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        sampler.join()
        last, last_finished = 0.0, 0.0
        for sid in os.listdir(state / "sessions"):
            path = state / "sessions" / sid / "result.toml"
            with open(path, "rb") as f:
                finished = tomllib.load(f)["finished_at"]
            stamp = datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
            last_finished = max(last_finished, stamp)
            # The rename that made it visible sets its ctime.
            last = max(last, os.stat(path).st_ctime)
        summary = [l for l in err.decode().splitlines() if l.startswith("CSA:SESSION_WAIT_SUMMARY")]
        ok = waiter.returncode == 0 and summary and f"total={count} success={count}" in summary[0]
        return {
            "lateness": returned - last,
            "recorded": last - last_finished,
            "peak_kib": peak[0],
            "threads": threads,
            "idle_cpu_ms": idle_cpu / 1e6,
            "busy_cpu_ms": busy * 1e3,
            "ok": bool(ok),
        }


def wait_many(quick: bool, report, csa: Path | None = None, count: int | None = None) -> None:
    csa = csa or lib.CSA
    count = count or (200 if quick else 1000)
    rounds = 1 if quick else 3
    rows = []
    for spread in (False, True):
        shape = "spread over 1 s" if spread else "at once"
        late = Sample(f"{count} sessions, ends {shape}")
        peaks, threads, idle, busy, recorded, ok = [], [], [], [], [], True
        for r in range(rounds):
            log(f"wait-many: {count} sessions, ends {shape}, round {r + 1}/{rounds}")
            got = one_round(csa, count, spread)
            late.times.append(got["lateness"])
            peaks.append(got["peak_kib"])
            threads.append(got["threads"])
            idle.append(got["idle_cpu_ms"])
            busy.append(got["busy_cpu_ms"])
            recorded.append(got["recorded"])
            ok &= got["ok"]
        rows.append(
            f"| {late.label} | {rounds} | {ms(late.median)} | {ms(max(late.times))} "
            f"| {ms(statistics.median(recorded))} "
            f"| {max(peaks) / 1024:.1f} | {max(threads)} | {max(idle):.2f} "
            f"| {statistics.median(busy):.0f} | {'yes' if ok else '**no**'} |"
        )
    report.section(
        "Waiting for many sessions",
        __doc__.split("\n\n", 1)[1].split("Standalone:")[0].strip(),
        "| sessions | rounds | lateness median ms | lateness max ms "
        "| supervisors: last finished_at → its result.toml, ms | peak RSS MiB "
        f"| threads | CPU in {IDLE_WINDOW:.0f} s idle, ms | CPU of the whole wait, ms "
        "| all reported |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows),
    )


class _Print:
    data: dict = {}

    def section(self, title: str, *parts: str) -> None:
        print(f"### {title}\n")
        for part in parts:
            print(part + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--csa", type=Path, default=lib.CSA)
    parser.add_argument("--sessions", type=int)
    args = parser.parse_args()
    wait_many(args.quick, _Print(), args.csa.resolve(), args.sessions)
