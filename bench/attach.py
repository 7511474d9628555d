"""Attach throughput: a job writes N MiB of random bytes to stdout; a follower started at
once streams it to a file. Measures the follower's wall time (from the job's start to the
follower's exit) and peak RSS (`wait4` rusage), and checks the bytes with SHA-256.

Followers that frame the output (nq writes a header line and an exit-status footer) are
checked on the payload: it must appear byte-exact, with at most 4 KiB of framing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time

from lib import CSA, Sample, Sandbox, csa_has, log, ms, ratio, read_text

FRAMING = 4096


def sha256(path, start: int = 0, length: int | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = length if length is not None else float("inf")
        while left > 0:
            chunk = f.read(int(min(1 << 20, left)))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def exact(out, big, size: int, digest: str) -> bool:
    """True when `out` holds `big`'s bytes exactly, allowing ≤ 4 KiB of framing."""
    have = os.path.getsize(out)
    if have < size or have > size + 2 * FRAMING:
        return False
    with open(big, "rb") as f:
        head = f.read(64)
    with open(out, "rb") as f:
        start = f.read(FRAMING + 64).find(head)
    return start >= 0 and sha256(out, start, size) == digest


class PeakRss:
    """Polls `VmHWM` of `/proc/<pid>/status` (KiB) every 2 ms until the process ends.

    `wait4`'s `ru_maxrss` would also count the memory of the spawning process before its
    `exec`, so the high-water mark of the follower's own address space is read instead.
    """

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.done = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self) -> None:
        while not self.done.is_set():
            for line in (read_text(f"/proc/{self.pid}/status") or "").splitlines():
                if line.startswith("VmHWM:"):
                    self.peak = max(self.peak, int(line.split()[1]))
            time.sleep(0.002)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak


def follower(sb: Sandbox, tool: str, big) -> tuple[list[str], subprocess.Popen | None]:
    """Starts the job and returns the follower's argv (and the job when started here)."""
    if tool == "tail -f":
        spool = sb.dir / "tail.spool"
        spool.touch()
        job = subprocess.Popen(
            ["sh", "-c", 'exec cat "$0" > "$1"', str(big), str(spool)], env=sb.env
        )
        # Reap the job as soon as it ends: `tail --pid` takes a zombie for a live process.
        threading.Thread(target=job.wait, daemon=True).start()
        argv = ["tail", "-c", "+1", "-s", "0.05", f"--pid={job.pid}", "-f", str(spool)]
        return argv, job
    if tool == "alone":
        return ["cat", str(big)], None
    job = sb.submit(tool, ["cat", str(big)])
    return {
        "csa": [str(CSA), "session", "attach", "--session", job],
        "tsp": ["tsp", "-c", job],
        "nq": ["fq", job],
        "pueue": sb.pueue("follow", job),
    }[tool], None


LABELS = {
    "alone": "cat FILE > out (the job alone)",
    "csa": "csa run -- cat FILE; csa session attach",
    "tsp": "tsp cat FILE; tsp -c ID",
    "nq": "nq cat FILE; fq ID",
    "pueue": "pueue add -- cat FILE; pueue follow ID",
    "tail -f": "cat FILE > spool & tail -c +1 -f --pid=PID spool",
}


def attach(quick: bool, report) -> None:
    mib = 20 if quick else 200
    rounds = 1 if quick else 3
    has_attach = csa_has("session", "attach")
    with Sandbox("attach", ts_slots=1) as sb:
        big = sb.dir / "payload.bin"
        with open(big, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        size = mib << 20
        digest = sha256(big)
        tools = ["alone"] + (["csa"] if has_attach else [])
        tools += ["tsp", "nq"] + (["pueue"] if sb.has_pueue else []) + ["tail -f"]
        walls = {t: Sample(LABELS[t]) for t in tools}
        rss = {t: 0 for t in tools}
        ok = {t: True for t in tools}
        log(f"attach: {mib} MiB × {rounds} rounds × {len(tools)} followers")
        for _ in range(rounds):
            for tool in tools:
                out = sb.dir / "out.bin"
                start = time.perf_counter()
                argv, job = follower(sb, tool, big)
                with open(out, "wb") as sink:
                    proc = subprocess.Popen(argv, env=sb.env, stdout=sink, stdin=subprocess.DEVNULL)
                    peak = PeakRss(proc.pid)
                    proc.wait()
                walls[tool].times.append(time.perf_counter() - start)
                if job is not None:
                    job.wait()
                rss[tool] = max(rss[tool], peak.stop())
                if not exact(out, big, size, digest):
                    ok[tool] = False
                    log(f"  {tool}: output not byte-exact ({os.path.getsize(out)} bytes, want {size})")
                out.unlink()
    alone = walls["alone"].median
    rows = [
        f"| `{s.label}` | {ms(s.median)} | {ratio(s.median, alone)} | {rss[t] / 1024:.1f} "
        f"| {'yes' if ok[t] else '**NO**'} |"
        for t, s in walls.items()
    ]
    notes = (
        f"A {mib} MiB job (random bytes, `cat FILE`) followed from its start; "
        f"median wall time of {rounds} rounds, peak RSS of the follower over all rounds "
        "(`VmHWM`, polled every 2 ms), SHA-256 of the follower's output."
    )
    if not has_attach:
        notes += "\n\n**csa row pending**: this build has no `csa session attach` yet."
    report.section(
        "Attach throughput",
        notes,
        "| follower | wall ms | ÷ job alone | peak RSS MiB | byte-exact |\n"
        "|---|---:|---:|---:|---|\n" + "\n".join(rows),
    )
    if has_attach:
        csa = walls["csa"].median
        report.target("attach: ≤ 1.2× the job alone", csa <= 1.2 * alone, ratio(csa, alone))
        report.target("attach: ≤ 4 MiB RSS", rss["csa"] <= 4096, f"{rss['csa'] / 1024:.1f} MiB")
        report.target("attach: byte-exact", ok["csa"], "sha256 match" if ok["csa"] else "mismatch")
    else:
        report.pending("attach: ≤ 1.2× the job alone, ≤ 4 MiB RSS, byte-exact")
    report.data["attach"] = {
        t: {"wall": walls[t].times, "rss_kib": rss[t], "exact": ok[t]} for t in tools
    }
