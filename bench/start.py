"""Start latency (`hyperfine -N`) and 200 jobs submitted back to back."""

from __future__ import annotations

import shlex
import subprocess
import time

from lib import CSA, PUEUE, Sample, Sandbox, comm, hyperfine, log, ms, poll, ratio, tagged_pids


def start_commands(sb: Sandbox) -> dict[str, str]:
    """Label → command line that starts `true` in the background and returns."""
    # By name, as users run it (the sandbox puts the installed csa first on PATH; hyperfine
    # execs each command with execvp, so every command is looked up on PATH the same way).
    commands = {
        "csa run true": "csa run true",
        "csa run -- true": "csa run -- true",
        "setsid -f true": "setsid -f true",
        "nohup (sh -c)": "sh -c 'nohup true >/dev/null 2>&1 &'",
        "tsp true": "tsp true",
        "nq true": "nq true",
    }
    if sb.has_pueue:
        commands["pueue add -- true"] = shlex.join(sb.pueue("add", "--", "true"))
    return commands


def start_latency(quick: bool, report) -> None:
    # hyperfine runs one command's runs after the other; on a shared machine the load
    # drifts meanwhile, so the runs are split into rounds and pooled.
    rounds, runs, warmup = (2, 20, 5) if quick else (6, 50, 10)
    with Sandbox("start") as sb:
        commands = start_commands(sb)
        log(f"start latency: hyperfine -N, {rounds} rounds × {runs} runs × {len(commands)} commands")
        samples = {label: Sample(label) for label in commands}
        for i in range(rounds):
            # One command at a time, in an order that turns each round, and every job of
            # the last one ended before the next begins: a backlog (pueued and task-spooler
            # run their jobs one after the other, long after `add` returned) must not run
            # during another tool's measurement.
            labels = list(commands)
            labels = labels[i % len(labels):] + labels[: i % len(labels)]
            for n, label in enumerate(labels):
                got = hyperfine({label: commands[label]}, sb.env, runs, warmup,
                                sb.dir / f"start-{i}-{n}.json")
                samples[label].times += got[label].times
                drain(sb)
    csa = samples["csa run true"].median
    rows = []
    for label, sample in samples.items():
        rows.append(
            f"| `{label}` | {ms(sample.median)} | {ms(sample.min)} | {ms(sample.pct(90))} "
            f"| {ratio(csa, sample.median)} |"
        )
    report.section(
        "Start latency",
        f"`hyperfine -N --warmup {warmup} --runs {runs}` over all commands, {rounds} times, "
        f"runs pooled ({rounds * runs} a command); each command starts `true` in the "
        "background and returns. Peers' servers (`tsp`, `pueued`) were already running. "
        "One command at a time, the order turning each round, and every job of one "
        "command ended before the next command's runs begin.",
        "| command | median ms | min ms | p90 ms | csa run true ÷ this |\n"
        "|---|---:|---:|---:|---:|\n" + "\n".join(rows),
        "Command lines:\n\n```\n"
        + "\n".join(redact(sb, c) for c in commands.values())
        + "\n```",
    )
    report.target(
        "start: csa ≤ 1.0× tsp",
        csa <= samples["tsp true"].median,
        f"{ratio(csa, samples['tsp true'].median)}",
    )
    report.target(
        "start: csa ≤ 1.3× setsid -f true",
        csa <= 1.3 * samples["setsid -f true"].median,
        f"{ratio(csa, samples['setsid -f true'].median)}",
    )
    report.data["start"] = {k: v.times for k, v in samples.items()}


def drain(sb: Sandbox) -> None:
    """Returns once every job started in `sb` has ended (and csa's supervisors with them)."""
    if sb.has_pueue:
        sb.run(sb.pueue("wait"), check=False)
    sb.run(["tsp", "-w"], check=False)
    sb.run(["nq", "-w"], check=False)
    poll(lambda: not any(comm(p) in ("csa", "true", "sh") for p in tagged_pids(sb.tag)),
         60, "the jobs to end")


def redact(sb: Sandbox, text: str) -> str:
    """Command lines as a reader would type them: no temporary paths."""
    return (
        text.replace(str(CSA), "csa")
        .replace(str(sb.dir), "$SANDBOX")
        .replace(str(PUEUE), "pueue")
    )


def back_to_back(quick: bool, report) -> None:
    jobs = 50 if quick else 200
    rounds = 1 if quick else 3
    with Sandbox("b2b") as sb:
        commands = {k: v for k, v in start_commands(sb).items() if k != "csa run -- true"}
        samples = {label: Sample(label) for label in commands}
        log(f"back to back: {jobs} jobs × {rounds} rounds × {len(commands)} commands")
        for _ in range(rounds):
            for label, command in commands.items():
                script = f"for i in $(seq {jobs}); do {command} >/dev/null 2>&1; done"
                start = time.perf_counter()
                sb.run(["bash", "-c", script], stdout=subprocess.DEVNULL)
                samples[label].times.append(time.perf_counter() - start)
                drain(sb)
    csa = samples["csa run true"].median
    rows = [
        f"| `{label}` | {ms(s.median)} | {ms(s.median / jobs)} | {ratio(csa, s.median)} |"
        for label, s in samples.items()
    ]
    report.section(
        f"{jobs} jobs submitted back to back",
        f"`bash -c 'for i in $(seq {jobs}); do CMD >/dev/null 2>&1; done'`, median of "
        f"{rounds} rounds; the loop's own fork/exec cost is in every row; every job of one "
        "command ended before the next command's loop begins.",
        "| command | total ms | per job ms | csa ÷ this |\n|---|---:|---:|---:|\n"
        + "\n".join(rows),
    )
    report.data["back_to_back"] = {k: v.times for k, v in samples.items()}
