//! Isolation for tests whose failure could harm the machine running them: a test of
//! "csa never signals a process that is not the session's" fails, on a regression, by
//! signalling such processes — with `kill(-1)`, every process the caller may signal.
//!
//! - [`Namespace`]: a shell script run as PID 1 of a private PID namespace
//!   (`unshare --pid --fork --mount-proc`): nothing it does can signal a process outside,
//!   and when it exits the kernel kills whatever it left.
//! - [`Throwaway`]: the same script run as one of the throwaway users `csatest` and
//!   `csaother`, with a home and a state root of its own (mode 0700, owned by that user),
//!   and a copy of the csa binary it can execute wherever the build lives. Run inside a
//!   namespace, a `kill(-1)` as that user reaches only that user's processes there.
//! - [`PidsLimit`]: a pids control group with a limit, for processes to move into
//!   (`echo $$ > "$CSA_TEST_CGROUP/cgroup.procs"`): `clone` and `fork` then fail with
//!   EAGAIN, as under `ulimit -u` (which does not bind root).
//!
//! All of them need root. Tests that use them are `#[ignore = "needs root: … (CI runs
//! it)"]`, and when run without what they need they fail with the reason
//! ([`require_root`]), never pass without having run. CI creates the users
//! (`useradd --no-create-home --shell /usr/sbin/nologin csatest`, the same for
//! `csaother`).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::{HANG, output_within};

/// The throwaway user the isolation tests run csa as.
pub const USER: &str = "csatest";

/// A second throwaway user, for tests where another user's processes or files must stay
/// out of reach.
pub const OTHER_USER: &str = "csaother";

/// Fails the test (with `what` and the reason) unless it runs as root with `unshare` and
/// `setpriv` available: the prerequisites of every helper here.
#[track_caller]
pub fn require_root(what: &str) {
    let root = rustix::process::geteuid().is_root();
    assert!(
        root,
        "needs root: {what} (CI runs it as root; run with --include-ignored as root)"
    );
    for tool in ["unshare", "setpriv"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success()),
            "needs {tool} (util-linux): {what}"
        );
    }
}

/// A user's IDs from `/etc/passwd` (`uid`, `gid`), or `None` when there is no such user.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}

/// A throwaway user with a private home (its state root is `<home>/state`, created by csa)
/// and its own copy of the csa binary. Everything is removed when dropped.
pub struct Throwaway {
    /// The user's name.
    pub name: &'static str,
    /// Its user ID.
    pub uid: u32,
    /// Its group ID.
    pub gid: u32,
    /// The directory holding `home/` (the user's, 0700) and `bin/csa` (root's, 0755).
    dir: tempfile::TempDir,
}

impl Throwaway {
    /// Prepares `name` ([`USER`] or [`OTHER_USER`]). Fails the test when not root or when
    /// the user does not exist.
    #[track_caller]
    pub fn new(name: &'static str) -> Self {
        require_root(&format!("runs csa as the throwaway user {name}"));
        let (uid, gid) = user_ids(name).unwrap_or_else(|| {
            panic!(
                "needs the throwaway user {name}: useradd --no-create-home --shell /usr/sbin/nologin {name}"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("csa-throwaway-")
            .tempdir()
            .expect("a temporary directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A copy: the build directory may be unreachable for other users (under /root).
        std::fs::copy(env!("CARGO_BIN_EXE_csa"), bin.join("csa")).expect("copy csa");
        std::fs::set_permissions(bin.join("csa"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        rustix::fs::chown(
            &home,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )
        .expect("chown the throwaway home");
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        Self {
            name,
            uid,
            gid,
            dir,
        }
    }

    /// The user's home directory (0700, its own).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The user's state root, `<home>/state` (created by csa on first use).
    pub fn state(&self) -> PathBuf {
        self.home().join("state")
    }

    /// The user's `sessions` directory.
    pub fn sessions(&self) -> PathBuf {
        self.state().join("sessions")
    }

    /// The copy of csa the user runs.
    pub fn csa(&self) -> PathBuf {
        self.dir.path().join("bin").join("csa")
    }

    /// The names in the user's `sessions` directory, staged ones (`.new-…`) included.
    pub fn session_entries(&self) -> Vec<String> {
        super::names_in(&self.sessions())
    }

    /// The environment the user's script starts with (nothing else is inherited): `HOME`,
    /// `CSA_STATE_DIR`, `CSA` (the binary), `PATH`, `LANG`.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        vec![
            ("HOME".into(), self.home().into()),
            ("CSA_STATE_DIR".into(), self.state().into()),
            ("CSA".into(), self.csa().into()),
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("LANG".into(), "C".into()),
        ]
    }

    /// The command prefix that drops to this user: `setpriv --reuid … --regid …
    /// --clear-groups env -i VAR=… -- `.
    fn drop_privileges(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "setpriv".into(),
            format!("--reuid={}", self.uid).into(),
            format!("--regid={}", self.gid).into(),
            "--clear-groups".into(),
            "env".into(),
            "-i".into(),
        ];
        for (key, value) in self.environment() {
            let mut pair = key;
            pair.push("=");
            pair.push(value);
            args.push(pair);
        }
        args
    }
}

impl Throwaway {
    /// A shell command prefix that runs what follows as this user, with only its
    /// environment ([`Throwaway`]): `setpriv … env -i HOME=… CSA_STATE_DIR=… CSA=… PATH=…
    /// LANG=C`, each word shell-quoted. Assignments after it (`CSA_STATE_DIR=/x`) override.
    pub fn as_user(&self) -> String {
        self.drop_privileges()
            .iter()
            .map(|word| {
                let word = word.to_string_lossy();
                format!("'{}'", word.replace('\'', r"'\''"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Shell functions every [`Namespace`] script starts with, to look at processes without a
/// fixed sleep: `state PID` (its state letter: `S` asleep, `Z` a zombie, empty when gone);
/// `field PID N` (field N of `/proc/PID/stat`: 5 its process group, 6 its session, 22 its
/// start time); `asleep PID` (polls until it sleeps, at most 10 s); `report NAME PID`
/// (prints `NAME=alive` when it still sleeps with no signal pending — had it been sent a
/// SIGKILL, it would be dead, dying or holding it pending — else `NAME=signalled …`).
pub const PROCESS_FUNCTIONS: &str = r#"
state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
field() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f"$(($2 - 2))"; }
asleep() { for _ in $(seq 1000); do [ "$(state "$1")" = S ] && return; sleep 0.01; done; }
report() {
    pending=$(sed -n 's/^ShdPnd:[[:space:]]*//p; s/^SigPnd:[[:space:]]*//p' "/proc/$2/status" 2>/dev/null | tr -d '\n')
    st=$(state "$2")
    if [ "$st" = S ] && ! printf '%s' "$pending" | grep -q '[1-9a-f]'; then
        echo "$1=alive"
    else
        echo "$1=signalled (state $st, pending $pending)"
    fi
}
"#;

/// A script to run as PID 1 of a private PID namespace, as root or as a [`Throwaway`]
/// user, with `bash` (for `ulimit -u`), after [`PROCESS_FUNCTIONS`].
pub struct Namespace<'a> {
    script: String,
    user: Option<&'a Throwaway>,
    env: Vec<(OsString, OsString)>,
    limit: Duration,
}

impl<'a> Namespace<'a> {
    /// `script`, run by `bash -c` as root. Its environment is the test's plus
    /// `CSA_STATE_DIR` if set with [`Namespace::env`].
    pub fn new(script: &str) -> Self {
        Self {
            script: script.to_owned(),
            user: None,
            env: Vec::new(),
            limit: HANG,
        }
    }

    /// Runs the script as `user`, with only the environment of [`Throwaway`] (plus
    /// [`Namespace::env`]).
    pub fn user(mut self, user: &'a Throwaway) -> Self {
        self.user = Some(user);
        self
    }

    /// Adds `key=value` to the script's environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs it to the end (failing the test after [`HANG`]): its output. PID 1 of the
    /// namespace is `bash`; when it exits, the kernel kills every process left in the
    /// namespace, and `unshare --kill-child` ends the namespace if the test's side dies.
    #[track_caller]
    pub fn run(self) -> Output {
        require_root("runs a script in a private PID namespace");
        let mut command = Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
        if let Some(user) = self.user {
            command.args(user.drop_privileges());
            for (key, value) in &self.env {
                let mut pair = key.clone();
                pair.push("=");
                pair.push(value);
                command.arg(pair);
            }
        } else {
            command.envs(self.env.iter().map(|(k, v)| (k, v)));
        }
        command.args([
            "bash",
            "-c",
            &format!("{PROCESS_FUNCTIONS}\n{}", self.script),
        ]);
        command.current_dir("/");
        output_within(&mut command, self.limit)
    }
}

/// A pids control group with a limit on its number of tasks (processes and threads), made
/// for one test and removed when dropped (after its processes are gone). Uses the cgroup v1
/// `pids` hierarchy (`/sys/fs/cgroup/pids`) or the unified hierarchy when it offers the
/// `pids` controller.
pub struct PidsLimit {
    path: PathBuf,
}

impl PidsLimit {
    /// A new group allowing `max` tasks. Fails the test (with the reason) when there is no
    /// pids controller or it cannot be used.
    #[track_caller]
    pub fn new(max: u32) -> Self {
        require_root("limits processes with a pids control group");
        let parent = pids_hierarchy().unwrap_or_else(|why| panic!("needs a pids cgroup: {why}"));
        let path = parent.join(format!(
            "csa-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir(&path).unwrap_or_else(|err| {
            panic!(
                "needs a pids cgroup: cannot create {}: {err}",
                path.display()
            )
        });
        let limit = Self { path };
        limit.set_max(max);
        limit
    }

    /// The group's directory: a script joins it with `echo $$ > "$DIR/cgroup.procs"`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the limit.
    pub fn set_max(&self, max: u32) {
        std::fs::write(self.path.join("pids.max"), max.to_string()).expect("write pids.max");
    }
}

impl Drop for PidsLimit {
    fn drop(&mut self) {
        // A group can be removed once its processes are gone (the namespace's end kills
        // them; they may take a moment to be reaped).
        let deadline = Instant::now() + HANG;
        while std::fs::remove_dir(&self.path).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Where pids control groups can be made: `/sys/fs/cgroup/pids` (v1), or `/sys/fs/cgroup`
/// when it is the unified hierarchy with the `pids` controller enabled for its children.
fn pids_hierarchy() -> Result<PathBuf, String> {
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if v1.join("cgroup.procs").exists() {
        return Ok(v1.to_owned());
    }
    let v2 = Path::new("/sys/fs/cgroup");
    let controllers = std::fs::read_to_string(v2.join("cgroup.controllers"))
        .map_err(|err| format!("neither /sys/fs/cgroup/pids nor a unified hierarchy: {err}"))?;
    if !controllers.split_whitespace().any(|c| c == "pids") {
        return Err("the unified hierarchy has no pids controller".into());
    }
    let subtree = v2.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&subtree).unwrap_or_default();
    if !enabled.split_whitespace().any(|c| c == "pids") {
        std::fs::write(&subtree, "+pids")
            .map_err(|err| format!("cannot enable pids in {}: {err}", subtree.display()))?;
    }
    Ok(v2.to_owned())
}
