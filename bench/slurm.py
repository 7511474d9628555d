"""The Slurm executor, on the private cluster of `.ci/slurm` (same run, same
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


def counting_path(sb: Sandbox, name: str) -> tuple[str, Path]:
    """A directory of wrappers that log each call of Slurm's commands, then run them."""
    wrappers = sb.dir / f"slurm-wrappers-{name}"
    wrappers.mkdir()
    calls = sb.dir / f"slurm-calls-{name}.log"
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


def load(sb: Sandbox, env: dict[str, str], quick: bool, elsewhere: bool) -> dict:
    """`elsewhere`: the nodes act as if on another host whose filesystem does not carry
    locks across hosts (the `CSA_TEST_NODE_ELSEWHERE` hook), so each watcher falls back to
    polling `ending.toml` and asks Slurm once a minute."""
    sessions, window = (10, 20) if quick else (50, 60)
    path, calls = counting_path(sb, "elsewhere" if elsewhere else "here")
    counted = dict(env, PATH=path)
    mode = "nodes elsewhere" if elsewhere else "nodes on this host"
    log(f"slurm load ({mode}): {sessions} sessions running for {window} s")
    # On this host: node n1 (the cluster's n2 and n3 have host names of their own).
    extra = (
        ["--env", "CSA_TEST_NODE_ELSEWHERE=1"] if elsewhere else ["--slurm-arg=--nodelist=n1"]
    )
    ids = [
        subprocess.run(
            [str(CSA), "run", "--executor", "slurm", *extra, f"sleep {window + 30}"],
            env=counted, capture_output=True, check=True,
        ).stdout.decode().strip()
        for _ in range(sessions)
    ]
    state = Path(env["CSA_STATE_DIR"]) / "sessions"
    poll(
        lambda: all((state / sid / "node.toml").exists() for sid in ids),
        120, "every session to run", 0.2,
    )
    # Past the start-up calls (a watcher of a node elsewhere checks its lock once).
    time.sleep(10 if elsewhere else 0)
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
        "mode": mode,
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
            loads = [
                load(sb, env, quick, elsewhere=False),
                load(sb, env, quick, elsewhere=True),
            ]
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
        f"| `{s.label}` | {len(s.times)} | {ms(s.median)} | {ms(s.min)} | {ms(s.pct(90))} "
        f"| {ms(max(s.times))} |"
        for s in late.values()
    ]
    load_rows = []
    for one in loads:
        window, lifetime = one["window"], one["lifetime"]
        one["queries_per_s"] = sum(window[name] for name in QUERIES) / one["window_s"]
        load_rows.append(
            f"| {one['mode']} | {one['sessions']} | {one['window_s']} s | "
            + " | ".join(str(window[name]) for name in QUERIES)
            + f" | **{one['queries_per_s']:.2f}** | "
            + ", ".join(f"{name} {lifetime[name]}" for name in COUNTED if lifetime[name])
            + f" | {one['succeeded']}/{one['sessions']} |"
        )
    report.section(
        "Slurm (private cluster of `.ci/slurm`; nodes on this host: n1)",
        "Submission: `hyperfine -N`, runs pooled; both return once `sbatch` has the job ID "
        "(csa also creates the session, records the job and starts its watcher).",
        "| command | runs | median ms | min ms | p90 ms |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows),
        f"`csa run --executor slurm true` ÷ `sbatch --parsable --wrap true`: "
        f"**{submit_ratio:.2f}×**.",
        "Completion lateness: the job (`sleep 1; date +%s.%N > FILE`) writes the time as "
        "its last act; lateness is the waiter's return minus that time (same clock).",
        "| waiter | runs | median ms | min ms | p90 ms | max ms |\n"
        "|---|---:|---:|---:|---:|---:|\n" + "\n".join(late_rows),
        "Controller load: Slurm sessions running `sleep`; the calls csa made, counted by "
        "wrappers first on the `PATH` of `csa run` and the watchers, in a window while all "
        "of them ran, and over their whole lives (submission to result). With nodes "
        "elsewhere (the `CSA_TEST_NODE_ELSEWHERE` hook: another host name, `node.lock` "
        "never held, as on a filesystem without shared locks), every watcher polls "
        "`ending.toml` and asks Slurm once a minute; with nodes on this host, `node.lock` "
        "tells the end exactly and Slurm is not asked at all.",
        "| nodes | sessions | window | squeue | sacct | scontrol | sinfo | queries/s "
        "| calls over their lives | ended success |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n" + "\n".join(load_rows),
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
    worst = max(one["queries_per_s"] for one in loads)
    report.target(
        "slurm: ≤ 1 controller query/s with 50 sessions",
        worst <= 1.0,
        ", ".join(f"{one['queries_per_s']:.2f}/s ({one['mode']})" for one in loads),
    )
    report.data["slurm"] = {
        "submission": {k: v.times for k, v in submit.items()},
        "lateness": {k: v.times for k, v in late.items()},
        "load": loads,
    }
