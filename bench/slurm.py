"""The Slurm executor, on the private one-node cluster of `.ci/slurm` (same run, same
cluster for csa and for Slurm's own commands):

- submission: `csa run --executor slurm true` against `sbatch --parsable --wrap true`
  (`hyperfine -N`);
- completion lateness: the job writes the time as its last act; the waiter's return minus
  that time, for `csa session wait` and for `sbatch --wait`;
- controller load: the `squeue`/`sacct`/`scontrol`/`sinfo` calls csa makes while 50
  sessions run, counted by wrappers put first on the `PATH` of the sessions' watchers.

Uses the cluster of `SLURM_CONF` when it answers; otherwise starts one with `.ci/slurm
start` (root, Debian, slurm-wlm and munge installed) and stops it at the end.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from lib import CSA, ROOT, Sample, Sandbox, hyperfine, log, ms, poll, ratio

SLURM_SCRIPT = ROOT / ".ci" / "slurm"
QUERIES = ("squeue", "sacct", "scontrol", "sinfo")
COUNTED = (*QUERIES, "sbatch", "scancel")


def answers(env: dict[str, str]) -> bool:
    done = subprocess.run(
        ["sinfo", "-h", "-o", "%a"], env=env, capture_output=True, check=False
    )
    return done.returncode == 0 and b"up" in done.stdout


def start_cluster() -> tuple[dict[str, str], bool] | None:
    """The environment that reaches a cluster, and whether this call started it."""
    if os.environ.get("SLURM_CONF") and answers(dict(os.environ)):
        return {"SLURM_CONF": os.environ["SLURM_CONF"]}, False
    done = subprocess.run([str(SLURM_SCRIPT), "start"], capture_output=True, check=False)
    if done.returncode != 0:
        log(f"slurm: no cluster: {done.stderr.decode(errors='replace').strip()}")
        return None
    env = {}
    for line in done.stdout.decode().splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            env[key] = value
    return {"SLURM_CONF": env["SLURM_CONF"]}, bool(env.get("CSA_SLURM_STARTED"))


def counting_path(sb: Sandbox) -> tuple[str, Path]:
    """A directory of wrappers that log each call of Slurm's commands, then run them."""
    wrappers = sb.dir / "slurm-wrappers"
    wrappers.mkdir()
    calls = sb.dir / "slurm-calls.log"
    calls.touch()
    for name in COUNTED:
        real = subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True, text=True)
        target = real.stdout.strip() or f"/usr/bin/{name}"
        script = wrappers / name
        script.write_text(f'#!/bin/sh\necho "{name}" >> "{calls}"\nexec {target} "$@"\n')
        script.chmod(0o755)
    return f"{wrappers}:{os.environ.get('PATH', '')}", calls


def count(calls: Path) -> dict[str, int]:
    lines = calls.read_text().split()
    return {name: lines.count(name) for name in COUNTED}


def submission(sb: Sandbox, env: dict[str, str], quick: bool) -> dict[str, Sample]:
    rounds, runs, warmup = (1, 10, 2) if quick else (3, 20, 3)
    commands = {
        "csa run --executor slurm true": f"{CSA} run --executor slurm true",
        "sbatch --parsable --wrap true": "sbatch --parsable --output=/dev/null --wrap true",
    }
    samples = {label: Sample(label) for label in commands}
    log(f"slurm submission: {rounds} rounds × {runs} runs")
    for i in range(rounds):
        got = hyperfine(commands, env, runs, warmup, sb.dir / f"submit-{i}.json")
        for label, sample in got.items():
            samples[label].times += sample.times
        drained(env)
    return samples


def drained(env: dict[str, str], limit: float = 120) -> None:
    """Waits until the cluster has no job left."""

    def empty() -> bool:
        out = subprocess.run(["squeue", "-h"], env=env, capture_output=True, check=False)
        return out.returncode == 0 and not out.stdout.strip()

    poll(empty, limit, "the cluster to drain", 0.5)


def lateness(sb: Sandbox, env: dict[str, str], quick: bool) -> dict[str, Sample]:
    n = 5 if quick else 20
    samples = {
        "csa": Sample("csa run --executor slurm …; csa session wait"),
        "sbatch": Sample("sbatch --wait"),
    }
    log(f"slurm lateness: {n} runs each, interleaved")
    for i in range(n):
        mark = sb.dir / f"end-csa-{i}"
        script = f"sleep 1; date +%s.%N > {mark}"
        sid = subprocess.run(
            [str(CSA), "run", "--executor", "slurm", script],
            env=env, capture_output=True, check=True,
        ).stdout.decode().strip()
        subprocess.run(
            [str(CSA), "session", "wait", "--session", sid, "--until-done"],
            env=env, capture_output=True, check=True,
        )
        samples["csa"].times.append(time.time() - float(mark.read_text()))
        mark = sb.dir / f"end-sbatch-{i}"
        subprocess.run(
            ["sbatch", "--wait", "--output=/dev/null", "--wrap", f"sleep 1; date +%s.%N > {mark}"],
            env=env, capture_output=True, check=True,
        )
        samples["sbatch"].times.append(time.time() - float(mark.read_text()))
    return samples


def load(sb: Sandbox, env: dict[str, str], quick: bool) -> dict:
    sessions, window = (10, 20) if quick else (50, 60)
    path, calls = counting_path(sb)
    counted = dict(env, PATH=path)
    log(f"slurm load: {sessions} sessions running for {window} s")
    ids = [
        subprocess.run(
            [str(CSA), "run", "--executor", "slurm", f"sleep {window + 20}"],
            env=counted, capture_output=True, check=True,
        ).stdout.decode().strip()
        for _ in range(sessions)
    ]
    state = Path(env["CSA_STATE_DIR"]) / "sessions"
    poll(
        lambda: all((state / sid / "node.toml").exists() for sid in ids),
        120, "every session to run", 0.2,
    )
    before = count(calls)
    time.sleep(window)
    during = count(calls)
    for sid in ids:
        subprocess.run(
            [str(CSA), "session", "wait", "--session", sid, "--until-done"],
            env=counted, capture_output=True, check=False,
        )
    after = count(calls)
    statuses = [
        subprocess.run(
            [str(CSA), "session", "result", "--session", sid], env=env, capture_output=True
        ).stdout.decode()
        for sid in ids
    ]
    ok = sum('status = "success"' in s for s in statuses)
    return {
        "sessions": sessions,
        "window_s": window,
        "window": {k: during[k] - before[k] for k in COUNTED},
        "lifetime": after,
        "succeeded": ok,
    }


def slurm(quick: bool, report) -> None:
    found = start_cluster()
    if found is None:
        report.section("Slurm", "Skipped: no Slurm cluster could be started (see the log).")
        report.pending("slurm: submission ≤ 1.2× sbatch")
        return
    cluster, started = found
    try:
        with Sandbox("slurm", pueue=False) as sb:
            env = dict(sb.env, **cluster)
            submit = submission(sb, env, quick)
            late = lateness(sb, env, quick)
            calls = load(sb, env, quick)
            drained(env)
    finally:
        if started:
            subprocess.run([str(SLURM_SCRIPT), "stop"], capture_output=True, check=False)
    csa_run = submit["csa run --executor slurm true"]
    plain = submit["sbatch --parsable --wrap true"]
    submit_ratio = csa_run.median / plain.median
    rows = [
        f"| `{s.label}` | {len(s.times)} | {ms(s.median)} | {ms(s.min)} | {ms(s.pct(90))} |"
        for s in submit.values()
    ]
    late_rows = [
        f"| `{s.label}` | {len(s.times)} | {ms(s.median)} | {ms(s.min)} | {ms(s.pct(90))} | {ms(max(s.times))} |"
        for s in late.values()
    ]
    window = calls["window"]
    queries = sum(window[name] for name in QUERIES)
    lifetime = calls["lifetime"]
    report.section(
        "Slurm (one-node cluster, `.ci/slurm`)",
        "Submission: `hyperfine -N`, runs pooled; both return once `sbatch` has the job ID "
        "(csa also creates the session, starts its watcher and waits for its word).",
        "| command | runs | median ms | min ms | p90 ms |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows),
        f"`csa run --executor slurm true` ÷ `sbatch --parsable --wrap true`: **{submit_ratio:.2f}×**.",
        "Completion lateness: the job (`sleep 1; date +%s.%N > FILE`) writes the time as its "
        "last act; lateness is the waiter's return minus that time (same clock).",
        "| waiter | runs | median ms | min ms | p90 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n"
        + "\n".join(late_rows),
        f"Controller load: {calls['sessions']} Slurm sessions running `sleep` for "
        f"{calls['window_s']} s; calls csa made, counted by wrappers first on the watchers' "
        f"`PATH`: in the {calls['window_s']} s window, "
        + ", ".join(f"{name} {window[name]}" for name in COUNTED)
        + f" (**{queries / calls['window_s']:.2f} queries/s**); over the sessions' whole "
        "lives, from submission to result: "
        + ", ".join(f"{name} {lifetime[name]}" for name in COUNTED)
        + f". {calls['succeeded']} of {calls['sessions']} ended `success`. The node runs on the "
        "submitting host here, so `node.lock` is exact and no safety-net call is due; with "
        "nodes on other hosts each running session adds one `scontrol` a minute.",
    )
    report.target(
        "slurm: submission ≤ 1.2× sbatch", submit_ratio <= 1.2, f"{submit_ratio:.2f}×"
    )
    csa_late = late["csa"].median
    report.target(
        "slurm: lateness median ≤ 250 ms",
        csa_late <= 0.25,
        f"{ms(csa_late)} ms (sbatch --wait {ms(late['sbatch'].median)} ms)",
    )
    report.target(
        "slurm: ≤ 1 controller query/s with 50 sessions",
        queries / calls["window_s"] <= 1.0,
        f"{queries} in {calls['window_s']} s",
    )
    report.data["slurm"] = {
        "submission": {k: v.times for k, v in submit.items()},
        "lateness": {k: v.times for k, v in late.items()},
        "load": calls,
    }
