//! Reading this process's memory cgroup: how many processes the kernel killed in it for
//! lack of memory. A Slurm node with `task/cgroup` (`ConstrainRAMSpace`) puts each job in a
//! memory cgroup whose limit is the job's `--mem`.

use std::path::{Path, PathBuf};

/// The largest file read here (bytes): `memory.events` and `memory.oom_control` are a few
/// lines.
const MAX_BYTES: u64 = 4096;

/// The number of out-of-memory kills counted in this process's memory cgroup and its
/// ancestors below the hierarchy's root, the highest count of them (the kernel counts a
/// kill where the victim was, and under cgroup v2 in every ancestor too): `oom_kill` of
/// `memory.events` (cgroup v2) or of `memory.oom_control` (v1, kernel ≥ 4.13). `None` when
/// the process has no memory cgroup or its counters cannot be read.
pub fn oom_kills() -> Option<u64> {
    let text = read_small(Path::new("/proc/self/cgroup"))?;
    let mut found = None;
    for line in text.lines() {
        // `ID:CONTROLLERS:PATH`; v2 is `0::PATH`.
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, file) = if controllers.split(',').any(|c| c == "memory") {
            (PathBuf::from("/sys/fs/cgroup/memory"), "memory.oom_control")
        } else if controllers.is_empty() {
            (PathBuf::from("/sys/fs/cgroup"), "memory.events")
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        while dir.starts_with(&base) && dir != base {
            if let Some(count) = read_small(&dir.join(file)).and_then(|text| oom_kill(&text)) {
                found = Some(found.map_or(count, |seen: u64| seen.max(count)));
            }
            if !dir.pop() {
                break;
            }
        }
    }
    found
}

/// The `oom_kill N` line of a counter file.
fn oom_kill(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

/// A small file's text, without following a symbolic link at its end; `None` when it
/// cannot be read.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let file = super::open_no_follow(path).ok()?;
    let mut text = String::new();
    file.take(MAX_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_either_format() {
        assert_eq!(
            oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            Some(2)
        );
        assert_eq!(
            oom_kill("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"),
            Some(1)
        );
        assert_eq!(oom_kill("oom_kill_disable 0\n"), None);
        // Whatever this machine has, it does not fail.
        let _ = oom_kills();
    }
}
