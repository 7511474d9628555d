#!/usr/bin/env python3
"""csa's benchmark suite: csa against setsid/nohup, task-spooler, nq and pueue.

Usage: bench/bench.py [--quick] [--only SECTION ...] [--out DIR]

Writes `report.md` (the tables for BENCHMARKS.md) and `results.json` (every raw time) to
DIR (default `target/bench/`). Run it through `bench/run.sh` (`just bench`), which builds
csa in release mode and installs the peers first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attach import attach  # noqa: E402
from breakdown import breakdown  # noqa: E402
from fleet import fleet  # noqa: E402
from idle import idle  # noqa: E402
from lateness import lateness  # noqa: E402
from lib import CSA, PUEUE, ROOT, log  # noqa: E402
from scale import list_scale, supervisor_pss  # noqa: E402
from slurm import slurm  # noqa: E402
from start import back_to_back, start_latency  # noqa: E402
from top import top_section  # noqa: E402
from waitmany import wait_many  # noqa: E402

SECTIONS = {
    "start": start_latency,
    "b2b": back_to_back,
    "lateness": lateness,
    "breakdown": breakdown,
    "attach": attach,
    "list": list_scale,
    "pss": supervisor_pss,
    "idle": idle,
    "fleet": fleet,
    "waitmany": wait_many,
    "slurm": slurm,
    "top": top_section,
}


class Report:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.targets: list[str] = []
        self.data: dict = {}

    def section(self, title: str, *paragraphs: str) -> None:
        self.parts.append(f"### {title}\n\n" + "\n\n".join(paragraphs))

    def target(self, name: str, held: bool, detail: str) -> None:
        self.targets.append(f"| {name} | {'holds' if held else '**missed**'} | {detail} |")

    def pending(self, name: str) -> None:
        self.targets.append(f"| {name} | pending | the command is not in this build yet |")

    def markdown(self, machine: str) -> str:
        targets = "| target | verdict | measured |\n|---|---|---|\n" + "\n".join(self.targets)
        return "\n\n".join([machine, "### Targets\n\n" + targets, *self.parts]) + "\n"


def first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, check=False, timeout=10)
    except OSError:
        return "not installed"
    text = (done.stdout or done.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else "?"


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    mem_kib = int(open("/proc/meminfo").readline().split()[1])
    load = os.getloadavg()
    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dpkg = lambda pkg: first_line(["dpkg-query", "-W", "-f", "${Version}", pkg])  # noqa: E731
    lines = [
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} × {cpu}, {mem_kib / 1048576:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, {first_line(['sh', '-c', '. /etc/os-release; echo $PRETTY_NAME'])}",
        f"- load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"- csa: {first_line([str(CSA), '--version'])} (commit {commit}, installed with `cargo install --locked --path .`, "
        f"{'statically' if b'statically linked' in subprocess.run(['file', '-b', str(CSA)], capture_output=True).stdout else 'dynamically'} linked)",
        f"- task-spooler {dpkg('task-spooler')} (`tsp`), nq {dpkg('nq')}, "
        f"{first_line([str(PUEUE), '--version'])}, {first_line(['hyperfine', '--version'])}",
        f"- Python {platform.python_version()}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small sizes, short windows")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "bench")
    args = parser.parse_args()
    # A plain SIGTERM would skip the clean-up of the peers' servers and jobs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not CSA.exists():
        sys.exit(f"bench: {CSA} is missing: run bench/run.sh (it installs csa there)")
    args.out.mkdir(parents=True, exist_ok=True)
    description = machine()
    report = Report()
    for name, section in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        section(args.quick, report)
        log(f"{name} done in {time.monotonic() - started:.0f} s")
    text = report.markdown(description + ("\n- mode: --quick" if args.quick else ""))
    (args.out / "report.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(report.data))
    print(text)
    log(f"wrote {args.out / 'report.md'} and {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
