//! What csa reads from `/proc`: a process's identity (`stat`), the members of a process
//! group, a process's descendants, its environment and its open files.

use std::fs;
use std::io;
use std::io::Read as _;

use super::Pid;

/// Room for a `/proc/<pid>/stat` line (bytes): 52 numeric fields of at most 20 digits and a
/// command name of at most 64 bytes fit in well under a kilobyte.
const STAT_BYTES: usize = 1024;

/// The fields of `/proc/<pid>/stat` csa uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: the state letter (`R`, `S`, `Z` for a zombie, …).
    pub state: char,
    /// Field 4: the parent's PID; `None` for 0 (a process whose parent is outside its PID
    /// namespace, such as init).
    pub ppid: Option<Pid>,
    /// Field 5: the process group ID; `None` for 0 (kernel threads).
    pub pgrp: Option<Pid>,
    /// Field 6: the session ID; `None` for 0 (kernel threads).
    pub session: Option<Pid>,
    /// Field 22: the start time in clock ticks since boot.
    pub start_time: u64,
}

impl ProcStat {
    /// Reads `/proc/<pid>/stat` (one `read` into a buffer on the stack). Errors when the
    /// process does not exist.
    pub fn read(pid: Pid) -> io::Result<Self> {
        let mut buffer = [0u8; STAT_BYTES];
        let bytes = read_small(&format!("/proc/{pid}/stat"), &mut buffer)?;
        Self::parse_bytes(bytes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unparsable /proc/{pid}/stat"),
            )
        })
    }

    /// Parses the text of a `/proc/<pid>/stat` file. The command name (field 2) may contain
    /// spaces and parentheses, so fields are counted from its last `)`. `None` when a field
    /// is missing or malformed (a PID field that is neither 0 nor a [`Pid`], but for the -1
    /// a dead process (`X`) shows for its process group and session: read as `None`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::parse_bytes(text.as_bytes())
    }

    /// [`ProcStat::parse`] on the file's bytes: the command name is whatever the process
    /// chose (`prctl(PR_SET_NAME)`, the name of the file it executes), UTF-8 or not; the
    /// fields after it are ASCII.
    fn parse_bytes(bytes: &[u8]) -> Option<Self> {
        let close = bytes.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&bytes[close + 1..]).ok()?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // `fields[0]` is field 3 of the file.
        let field = |n: usize| fields.get(n - 3).copied();
        let state = field(3)?.chars().next()?;
        let pid = |n: usize| match field(n)? {
            "0" => Some(None),
            // A dead process (`X`, being reaped) no longer has a process group or session:
            // the kernel writes -1 for them.
            "-1" if state == 'X' => Some(None),
            text => Pid::parse(text).map(Some),
        };
        Some(Self {
            state,
            ppid: pid(4)?,
            pgrp: pid(5)?,
            session: pid(6)?,
            start_time: field(22)?.parse().ok()?,
        })
    }

    /// True for a zombie (`Z`) or dead (`X`) process: it has exited and is only waiting to
    /// be reaped, so it is not alive.
    pub fn is_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// The live (not exited) members of process group `group`, found by scanning `/proc`;
/// `None` stands for every group whose leader is outside this PID namespace.
///
/// A process that exits during the scan may or may not be listed; callers that need the
/// group empty scan again. Errors: `/proc` or a process's `stat` cannot be read (other
/// than because it is gone) — never taken for an empty group.
pub fn group_members(group: Option<Pid>) -> io::Result<Vec<(Pid, ProcStat)>> {
    let mut members = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(Pid::parse) else {
            continue;
        };
        match ProcStat::read(pid) {
            Ok(stat) if stat.pgrp == group && !stat.is_exited() => members.push((pid, stat)),
            Ok(_) => {}
            // Exited and reaped since the directory was listed.
            Err(err) if gone(&err) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(members)
}

/// True for the errors of reading a `/proc/<pid>` file of a process that is gone.
fn gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

/// True when process `pid` has `name=value` in its environment (`/proc/<pid>/environ`, as
/// it was when the process started). False when it cannot be read (another user's process,
/// gone).
pub fn has_env(pid: Pid, name: &str, value: &str) -> bool {
    let wanted = format!("{name}={value}");
    fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
        environ
            .split(|&b| b == 0)
            .any(|var| var == wanted.as_bytes())
    })
}

/// True when process `pid` has a descriptor open on the file with device `dev` and inode
/// `ino`, found through `/proc/<pid>/fd`.
///
/// Errors when the process does not exist or its descriptors cannot be listed (another
/// user's process).
pub fn has_file_open(pid: Pid, dev: u64, ino: u64) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt as _;
    for entry in fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        if let Ok(meta) = fs::metadata(entry.path())
            && meta.dev() == dev
            && meta.ino() == ino
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The live descendants of process `pid` in process group `group` (`None`: as for
/// [`group_members`]), found by walking the
/// `children` files of `/proc/<pid>/task/<tid>/` down the tree — a few reads instead of a
/// scan of every process. `None` when the kernel has no `children` files
/// (`CONFIG_PROC_CHILDREN`).
///
/// Its own children must have been started by its main thread or, when it is the calling
/// process, by the calling thread (csa starts a job from the main thread).
///
/// Complete only for a caller that is a child subreaper (`PR_SET_CHILD_SUBREAPER`) and leads
/// the session or descends from its leader's subreaper chain: then every orphan of its
/// descendants is re-parented to it instead of to init, so every process of its group is
/// found below it. A process that forks or is re-parented during the walk may be missed.
pub fn descendants_in_group(pid: Pid, group: Option<Pid>) -> Option<Vec<(Pid, ProcStat)>> {
    let mut found = Vec::new();
    let mut parents = vec![pid];
    let mut first = true;
    while let Some(parent) = parents.pop() {
        // The root's orphans are re-parented to its main thread (the first live thread of
        // a subreaper), and its own children are those of the thread that started them:
        // the main thread's file and the calling thread's suffice.
        let children = if first {
            own_children(pid)
        } else {
            children_of(parent)
        };
        let Some(children) = children else {
            if first {
                return None;
            }
            continue; // exited meanwhile
        };
        first = false;
        for child in children {
            let Ok(stat) = ProcStat::read(child) else {
                continue;
            };
            parents.push(child);
            if stat.pgrp == group && !stat.is_exited() {
                found.push((child, stat));
            }
        }
    }
    Some(found)
}

/// The children of process `pid`'s main thread and, when `pid` is the calling process, of
/// the calling thread.
fn own_children(pid: Pid) -> Option<Vec<Pid>> {
    let mut children = children_in(&format!("/proc/{pid}/task/{pid}/children"))?;
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    if Pid::current() == pid && tid != pid.as_raw() {
        children.extend(children_in(&format!("/proc/{pid}/task/{tid}/children"))?);
    }
    Some(children)
}

/// The PIDs listed in a `children` file; `None` when it cannot be read.
fn children_in(path: &str) -> Option<Vec<Pid>> {
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .ok()?;
    Some(
        text.split_ascii_whitespace()
            .filter_map(Pid::parse)
            .collect(),
    )
}

/// The children of every thread of process `pid` (`/proc/<pid>/task/*/children`). `None`
/// when the process or its `children` files do not exist.
fn children_of(pid: Pid) -> Option<Vec<Pid>> {
    let mut children = Vec::new();
    let mut any = false;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let mut text = String::new();
        let read = fs::File::open(task.path().join("children"))
            .and_then(|mut file| file.read_to_string(&mut text));
        if read.is_ok() {
            any = true;
            children.extend(text.split_ascii_whitespace().filter_map(Pid::parse));
        }
    }
    any.then_some(children)
}

/// Reads a small `/proc` file (whose size `/proc` reports as 0) with one `read` into
/// `buffer`: the kernel produces such a file whole on the first read when it fits. Its
/// bytes; errors when it does not fit.
fn read_small<'a>(path: &str, buffer: &'a mut [u8]) -> io::Result<&'a [u8]> {
    let n = fs::File::open(path)?.read(buffer)?;
    if n == buffer.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "too long"));
    }
    Ok(&buffer[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_tricky_names() {
        let text =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10";
        let stat = ProcStat::parse(text).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(
            (stat.ppid, stat.pgrp, stat.session),
            (Pid::new(1), Pid::new(1234), Pid::new(1234))
        );
        assert_eq!(stat.start_time, 98765);
    }

    #[test]
    fn parses_stat_with_a_command_name_that_is_not_utf8() {
        let bytes = b"77 (a\xff)) R 1 77 77 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 4321 1000 10";
        let stat = ProcStat::parse_bytes(bytes).unwrap();
        assert_eq!(
            (stat.state, stat.pgrp, stat.start_time),
            ('R', Pid::new(77), 4321)
        );
    }

    #[test]
    fn kernel_threads_have_no_group() {
        let text = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 12 0 0";
        let stat = ProcStat::parse(text).unwrap();
        assert_eq!((stat.ppid, stat.pgrp, stat.session), (None, None, None));
        assert_eq!(ProcStat::parse(&text.replace(" S 0 0", " S -1 0")), None);
    }

    #[test]
    fn a_dead_process_has_no_group_or_session() {
        // As read from a process being reaped, under load.
        let text = "17359 (csa) X 0 -1 -1 0 -1 4227084 308 0 0 0 0 0 0 0 20 0 0 0 1579251 0 0 0";
        let stat = ProcStat::parse(text).unwrap();
        assert!(stat.is_exited());
        assert_eq!((stat.ppid, stat.pgrp, stat.session), (None, None, None));
        assert_eq!(stat.start_time, 1_579_251);
        // Only a dead process may show -1.
        assert_eq!(ProcStat::parse(&text.replace(" X ", " S ")), None);
    }

    #[test]
    fn reads_own_stat() {
        let stat = ProcStat::read(Pid::current()).unwrap();
        assert!(!stat.is_exited());
        assert!(stat.start_time > 0);
    }

    #[test]
    fn finds_descendants_in_the_group() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = Pid::of_child(&child).unwrap();
        let found =
            descendants_in_group(Pid::current(), Pid::current_group()).expect("children files");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.iter().any(|(p, _)| *p == pid), "{found:?}");
    }
}
