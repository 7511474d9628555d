#!/usr/bin/env bash
# Shows that a statically linked csa never needs what static glibc cannot give it (NSS
# lookups such as getpwnam or getaddrinfo, dlopen of shared objects, iconv/locale data):
# runs every csa command once under strace and reports any access by a csa process
# (supervisors included, jobs excluded) to nsswitch.conf, /etc/passwd, /etc/group,
# /etc/hosts, resolv.conf, a shared object, gconv or locale data, or a socket.
# Usage: bench/static-check.sh [CSA]   (default: target/bench/install/bin/csa)
set -euo pipefail
csa=$(realpath "${1:-target/bench/install/bin/csa}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CSA_STATE_DIR=$work/state
n=0
trace() {
    n=$((n + 1))
    (cd "$work" && strace -f -qq -o "$work/trace.$n" \
        -e trace=clone,clone3,fork,vfork,execve,open,openat,openat2,access,statx,newfstatat,socket,connect \
        "$csa" "$@" >/dev/null 2>&1) || true
}
trace run 'echo hi; sleep 0.3'
id=$("$csa" session list --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
trace session attach --session "$id"
trace session wait --session "$id"
trace session result --session "$id"
trace session logs --session "$id"
trace session list
trace run --queue q --slots 1 --tag t 'sleep 5'
trace run --queue q --tag t --after "$id" 'true'
trace queue list
trace session kill --tag t
trace run --no-daemon 'echo fg'
trace run --timeout 1s 'sleep 5'
trace session wait --tag t --until-done
trace tools
trace completions bash
trace session clean --older-than 0s
python3 - "$work" <<'PY'
import glob, re, sys
bad = re.compile(r'nsswitch|/etc/passwd|/etc/group|/etc/hosts|resolv\.conf|\.so[."]|gconv|/usr/lib/locale|socket\(|connect\(')
hits, calls, procs = [], 0, 0
for path in glob.glob(sys.argv[1] + '/trace.*'):
    image = {}
    for line in open(path):
        m = re.match(r'(\d+) (.*)', line)
        if not m:
            continue
        pid, rest = m.groups()
        if not image:
            image[pid] = 'csa'
        e = re.match(r'execve\("([^"]+)"', rest)
        if e:
            image[pid] = e.group(1).rsplit('/', 1)[-1]
        c = re.match(r'(?:clone3?|v?fork)\(.*\) = (\d+)', rest) or \
            re.match(r'<\.\.\. (?:clone3?|v?fork) resumed>.* = (\d+)', rest)
        if c:
            image[c.group(1)] = image.get(pid, '?')
        if image.get(pid, '?') in ('csa', 'exe'):
            calls += 1
            if bad.search(rest):
                hits.append(rest[:160])
    procs += sum(1 for v in image.values() if v in ('csa', 'exe'))
print(f'{procs} csa processes, {calls} traced system calls')
print('NSS, shared-object, locale and socket accesses by csa:', 'none' if not hits else '')
for hit in hits:
    print('  ' + hit)
sys.exit(1 if hits else 0)
PY
