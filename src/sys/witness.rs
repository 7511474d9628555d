//! A witness of signals sent to a whole process group or process tree: a child process in
//! the caller's process group that blocks every signal, so that each one sent to the group
//! or to the caller's descendants stays pending in it, where `/proc/<pid>/status` shows it
//! (`ShdPnd`).
//!
//! `csa __node` uses it to tell a signal Slurm sent to the batch shell alone (`--signal=B:`,
//! `scancel --batch`, or any signal but SIGKILL under `proctrack/cgroup`, which signals only
//! the direct children of `slurmstepd`) from one that reached every process of the job
//! already (`scancel --full` signals the batch shell's process group, and the end of a job
//! under `proctrack/linuxproc` — a time limit, a cancellation — signals its whole process
//! tree). Only the first kind is relayed to the job, so the job gets each signal once, as a
//! batch shell would.
//!
//! The witness holds no descriptor of the caller's but two pipes: it exits when the caller
//! closes its end (and is killed when the caller's thread that started it dies:
//! `PR_SET_PDEATHSIG`). [`Witness::forget`] makes it discard a pending signal, so that the
//! next one of that number can be told apart.

use std::io::{self, Read as _, Write as _};
use std::os::fd::AsRawFd as _;

use rustix::pipe::PipeFlags;

/// The name the witness gives itself (`/proc/<pid>/comm`), checked before its pending
/// signals are believed (its PID could have been reused).
const NAME: &[u8] = b"csa-witness";

/// A running witness (see the module documentation).
#[derive(Debug)]
pub struct Witness {
    pid: i32,
    /// Bytes written here are signal numbers the witness discards, one at a time.
    control: std::fs::File,
    /// The witness answers each discarded signal with one byte.
    reply: std::fs::File,
}

impl Witness {
    /// Starts a witness: a forked child with every signal blocked, in the caller's process
    /// group. Call it from the thread that lives as long as the witness is needed (the
    /// witness is killed when that thread ends).
    ///
    /// Errors: the pipes cannot be made or `fork` failed.
    pub fn start() -> io::Result<Self> {
        let (control_read, control_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
        let (reply_read, reply_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
        let parent = rustix::process::getpid().as_raw_nonzero().get();
        let control_fd = control_read.as_raw_fd();
        let reply_fd = reply_write.as_raw_fd();
        let pid = fork_blocked(parent, control_fd, reply_fd)?;
        drop((control_read, reply_write));
        Ok(Self {
            pid,
            control: std::fs::File::from(control_write),
            reply: std::fs::File::from(reply_read),
        })
    }

    /// The witness's PID.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// True when `signal` is pending in the witness: it was sent to the caller's process
    /// group or process tree (since the last [`Witness::forget`] of it). False when it is
    /// not, or when the witness cannot be read (gone, or its PID names another process).
    pub fn saw(&self, signal: i32) -> bool {
        let Some(status) = self.status() else {
            return false;
        };
        let pending = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .unwrap_or(0)
        };
        let Some(bit) = u32::try_from(signal - 1).ok().filter(|&n| n < 64) else {
            return false;
        };
        (pending("ShdPnd:") | pending("SigPnd:")) & (1 << bit) != 0
    }

    /// Makes the witness discard `signal` if it is pending, and waits until it has.
    ///
    /// Errors: the witness is gone.
    pub fn forget(&mut self, signal: i32) -> io::Result<()> {
        let byte = u8::try_from(signal)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "signal out of range"))?;
        self.control.write_all(&[byte])?;
        let mut answer = [0_u8; 1];
        self.reply.read_exact(&mut answer)
    }

    /// `/proc/<pid>/status` of the witness, when the PID still names it (a child of this
    /// process with the witness's name).
    fn status(&self) -> Option<String> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .map(str::trim)
                .map(str::to_owned)
        };
        let me = rustix::process::getpid().as_raw_nonzero().get().to_string();
        let named = field("Name:").is_some_and(|name| name.as_bytes() == NAME);
        (named && field("PPid:").as_deref() == Some(me.as_str())).then_some(text)
    }
}

/// Forks the witness with every signal blocked; returns its PID.
#[allow(unsafe_code)]
fn fork_blocked(parent: i32, control: i32, reply: i32) -> io::Result<i32> {
    let mut all = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigfillset` initializes `all`; `pthread_sigmask` fills `old` with the
    // calling thread's mask before it is read. The child runs only async-signal-safe
    // system calls on values made before the fork and allocates nothing (the parent may
    // have other threads holding locks); it ends in `_exit`.
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        let all = all.assume_init();
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const all, old.as_mut_ptr());
        let old = old.assume_init();
        let pid = libc::fork();
        if pid == 0 {
            witness(parent, control, reply);
        }
        let forked = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
        if pid < 0 {
            return Err(forked);
        }
        Ok(pid)
    }
}

/// The witness's life, in the child: every signal stays blocked; it discards the signals
/// named on `control` and answers on `reply`, and exits when `control` reaches its end.
///
/// # Safety
///
/// Only in a child right after `fork`: it never returns.
#[allow(unsafe_code)]
unsafe fn witness(parent: i32, control: i32, reply: i32) -> ! {
    // SAFETY: async-signal-safe system calls only, on plain values; `_exit` ends it.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        libc::prctl(libc::PR_SET_NAME, NAME_C.as_ptr());
        // Keep nothing of the parent's but the two pipes (as 0 and 1): not its lock on
        // `node.lock`, nor Slurm's output file.
        if libc::dup2(control, 0) < 0 || libc::dup2(reply, 1) < 0 {
            libc::_exit(1);
        }
        if libc::syscall(libc::SYS_close_range, 2_u32, u32::MAX, 0_u32) != 0 {
            for fd in 2..4096 {
                libc::close(fd);
            }
        }
        let none = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        loop {
            let mut byte = 0_u8;
            let read = libc::read(0, (&raw mut byte).cast(), 1);
            if read == 0 {
                libc::_exit(0);
            }
            if read < 0 {
                if *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                libc::_exit(1);
            }
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&raw mut set);
            if libc::sigaddset(&raw mut set, i32::from(byte)) == 0 {
                while libc::sigtimedwait(&raw const set, std::ptr::null_mut(), &raw const none) > 0
                {
                }
            }
            if libc::write(1, (&raw const byte).cast(), 1) != 1 {
                libc::_exit(1);
            }
        }
    }
}

/// [`NAME`] as a C string, for `PR_SET_NAME`.
const NAME_C: &std::ffi::CStr = c"csa-witness";
