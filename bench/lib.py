"""Shared pieces of csa's benchmark suite.

- `Sandbox`: a private temporary directory per section with its own csa state root, its
  own task-spooler socket, nq directory and pueue daemon; every process it starts carries
  a tag in its environment, so that clean-up ends exactly the processes this suite started.
- `/proc` accounting: PSS (`smaps_rollup`), CPU time (`stat`, `schedstat`).
- Statistics and a `hyperfine` wrapper that returns every run's time.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "target" / "bench-tools" / "bin"
# The binary `bench/run.sh` installed with `cargo install --locked --path .` (the README's
# command, with `--root target/bench/install`).
CSA = ROOT / "target" / "bench" / "install" / "bin" / "csa"
PUEUE = TOOLS / "pueue"
PUEUED = TOOLS / "pueued"
TAG = "CSA_BENCH_RUN"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------
# Statistics


@dataclass
class Sample:
    """Times of one command, in seconds."""

    label: str
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    def pct(self, p: float) -> float:
        ordered = sorted(self.times)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else "–"


# ---------------------------------------------------------------------------------------
# /proc accounting


def read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def pss_kib(pid: int) -> int:
    """Proportional set size of `pid` in KiB (`Pss:` of `/proc/<pid>/smaps_rollup`)."""
    text = read_text(f"/proc/{pid}/smaps_rollup") or ""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    """utime + stime of `pid` (all its threads) in clock ticks (`/proc/<pid>/stat`)."""
    text = read_text(f"/proc/{pid}/stat")
    if not text:
        return 0
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def cpu_ns(pid: int) -> int:
    """CPU time of `pid`'s live threads in ns (first field of each `schedstat`)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        text = read_text(f"/proc/{pid}/task/{tid}/schedstat")
        if text:
            total += int(text.split()[0])
    return total


def comm(pid: int) -> str:
    return (read_text(f"/proc/{pid}/comm") or "").strip()


def tagged_pids(tag: str) -> list[int]:
    """PIDs of the live processes whose environment carries `CSA_BENCH_RUN=<tag>`."""
    marker = f"{TAG}={tag}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if marker in env.split(b"\0"):
            found.append(int(name))
    return found


def kill_tagged(tag: str, deadline_s: float = 20.0) -> None:
    """SIGKILLs every process started under `tag` until none is left (or the deadline)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        pids = tagged_pids(tag)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def poll(cond, deadline_s: float, what: str, step: float = 0.02):
    """Calls `cond` until it returns a true value; raises after `deadline_s`."""
    end = time.monotonic() + deadline_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(step)


# ---------------------------------------------------------------------------------------
# The sandbox


PUEUE_CONFIG = """\
shared:
  pueue_directory: {dir}/pueue
  runtime_directory: {dir}/pueue/run
  use_unix_socket: true
  unix_socket_path: {dir}/pueue/run/pueue.sock
  pid_path: {dir}/pueue/run/pueue.pid
client:
  restart_in_place: false
  read_local_logs: true
  show_confirmation_questions: false
daemon:
  pause_group_on_failure: false
  pause_all_on_failure: false
"""


class Sandbox:
    """A private directory for one section, with private peer servers.

    Environment given to every command (`self.env`): `CSA_STATE_DIR`, `TS_SOCKET`,
    `TMPDIR` (task-spooler's output files), `NQDIR`, and the clean-up tag.
    """

    def __init__(self, name: str, ts_slots: int = 1, pueue: bool = True):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"csa-bench-{name}."))
        self.tag = uuid.uuid4().hex
        self.state = self.dir / "csa"
        self.nqdir = self.dir / "nq"
        self.tsdir = self.dir / "ts"
        for d in (self.state, self.nqdir, self.tsdir):
            d.mkdir(mode=0o700)
        self.env = dict(os.environ)
        self.env.update(
            {
                TAG: self.tag,
                "CSA_STATE_DIR": str(self.state),
                "TS_SOCKET": str(self.tsdir / "socket"),
                "TMPDIR": str(self.tsdir),
                "TS_SLOTS": str(ts_slots),
                "NQDIR": str(self.nqdir),
                # The installed csa first on PATH: users run it by name, as the start
                # section does (`csa run true`); the other sections use its full path.
                "PATH": f"{CSA.parent}:{os.environ.get('PATH', '')}",
            }
        )
        self.pueue_config = self.dir / "pueue.yml"
        self.has_pueue = pueue and PUEUE.exists() and PUEUED.exists()
        if self.has_pueue:
            self.pueue_config.write_text(PUEUE_CONFIG.format(dir=self.dir))
            (self.dir / "pueue" / "run").mkdir(parents=True)

    # -- peers -------------------------------------------------------------------------

    def pueue(self, *args: str) -> list[str]:
        return [str(PUEUE), "-c", str(self.pueue_config), *args]

    def __enter__(self) -> Sandbox:
        if self.has_pueue:
            subprocess.run(
                [str(PUEUED), "-c", str(self.pueue_config), "-d"],
                env=self.env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            poll(
                lambda: self.run(self.pueue("status"), check=False).returncode == 0,
                30,
                "pueued to answer",
                0.1,
            )
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.has_pueue:
            self.run(self.pueue("shutdown"), check=False)
        if shutil.which("tsp"):
            self.run(["tsp", "-K"], check=False)
        kill_tagged(self.tag)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- running commands --------------------------------------------------------------

    def run(self, argv: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("env", self.env)
        return subprocess.run(argv, check=check, **kw)

    def out(self, argv: list[str]) -> str:
        return self.run(argv).stdout.decode().strip()

    def submit(self, tool: str, argv: list[str]) -> str:
        """Starts `argv` as a background job of `tool`; returns the job's ID."""
        if tool == "csa":
            return self.out([str(CSA), "run", "--", *argv])
        if tool == "tsp":
            return self.out(["tsp", *argv])
        if tool == "nq":
            return self.out(["nq", *argv])
        if tool == "pueue":
            # pueue joins its arguments with spaces and runs the line with `sh -c`: quote.
            return self.out(self.pueue("add", "-p", "--", shlex.join(argv)))
        raise ValueError(tool)

    def csa_session_dir(self, sid: str) -> Path:
        return self.state / "sessions" / sid


def csa_has(*subcommand: str) -> bool:
    """True when this csa build has `csa <subcommand…>` (it answers `--help`)."""
    done = subprocess.run(
        [str(CSA), *subcommand, "--help"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode == 0


def hyperfine(
    commands: dict[str, str],
    env: dict[str, str],
    runs: int,
    warmup: int,
    json_path: Path,
) -> dict[str, Sample]:
    """Runs `hyperfine -N` over `commands` (label → command line) in one invocation and
    returns each command's run times."""
    argv = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs)]
    argv += ["--export-json", str(json_path), "--style", "none"]
    for label, command in commands.items():
        argv += ["-n", label, command]
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(json_path.read_text())
    return {r["command"]: Sample(r["command"], r["times"]) for r in data["results"]}
