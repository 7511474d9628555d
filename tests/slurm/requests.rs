//! What csa passes to `sbatch`: options that break one session, one job are refused with
//! one line each (issue 19, item 6); the job's `--env` and csa's own variables reach it
//! whatever `sbatch` exports (item 7).

use super::{SlurmCsa, assert_ended, stdout};
use crate::support::{assert_error, output_within};

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn options_that_break_one_session_one_job_are_refused_with_one_line() {
    let slurm = SlurmCsa::new();
    let refused = [
        ("--array=0-3", "--tag"),
        ("-a", "one job per task"),
        ("--wrap=echo hi", "PROMPT"),
        ("--test-only", "sbatch --test-only itself"),
        ("--wait", "csa session wait"),
        ("--job-name=mine", "--name"),
        ("--output=/tmp/x", "stdout.log"),
        ("--no-such-option", "unknown sbatch option --no-such-option"),
        ("-Z", "unknown sbatch option -Z"),
        ("script.sh", "not an sbatch option"),
    ];
    for (arg, words) in refused {
        let out = slurm.output(&[
            "run",
            "--executor",
            "slurm",
            &format!("--slurm-arg={arg}"),
            "echo never",
        ]);
        let err = assert_error(&out, 2, words);
        assert_eq!(err.lines().count(), 1, "one line for {arg}: {err}");
        assert!(err.contains("from --slurm-arg"), "{err}");
        assert_eq!(stdout(&out), "", "no ID for {arg}");
    }
    // Nothing was created, nothing submitted.
    assert!(slurm.csa.session_ids().is_empty());
    // What sbatch has is accepted, also abbreviated or with its value apart.
    let id = slurm.run_with(
        "--slurm-arg=--part=debug --slurm-arg=-t --slurm-arg=5",
        "echo fine",
    );
    assert_eq!(stdout(&assert_ended(&slurm, &id, 0, "success")), "fine\n");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_configured_option_is_checked_too_and_named_as_configured() {
    let slurm = SlurmCsa::new();
    let project = crate::support::project("[executors.slurm]\nargs = [\"--array=1-2\"]\n");
    let cd = project.path().to_str().unwrap();
    let out = slurm.output(&["run", "--executor", "slurm", "--cd", cd, "true"]);
    let err = assert_error(&out, 2, "from [executors.slurm] args");
    assert!(err.contains("--array"), "{err}");
}

/// Prints what the job sees of its environment.
const SHOW_ENV: &str = "echo \"env=$CSA_SLURM_TEST_VALUE id=$CSA_SESSION_ID dir=$CSA_SESSION_DIR state=$CSA_STATE_DIR pwd=$PWD other=$CSA_SLURM_TEST_NOT_EXPORTED\"";

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn export_none_keeps_the_jobs_env_and_csas_variables() {
    let slurm = SlurmCsa::new();
    let work = tempfile::tempdir().unwrap();
    let cd = work.path().canonicalize().unwrap();
    let cd = cd.to_str().unwrap();
    let state = slurm.csa.state.path().to_str().unwrap().to_owned();
    let expect = |id: &str| {
        format!("env=forty two id={id} dir={state}/sessions/{id} state={state} pwd={cd} other=\n")
    };
    // `--export=NONE` on the command line…
    let id = slurm.run(&[
        "--slurm-arg=--export=NONE",
        "--cd",
        cd,
        "--env",
        "CSA_SLURM_TEST_VALUE=forty two",
        SHOW_ENV,
    ]);
    let out = assert_ended(&slurm, &id, 0, "success");
    assert_eq!(stdout(&out), expect(&id));
    // …or the site's SBATCH_EXPORT=NONE, with a variable of the caller's that `sbatch`
    // then does not export.
    let out = output_within(
        slurm
            .csa
            .cmd()
            .env("SBATCH_EXPORT", "NONE")
            .env("CSA_SLURM_TEST_NOT_EXPORTED", "leaked")
            .args([
                "run",
                "--executor",
                "slurm",
                "--cd",
                cd,
                "--env",
                "CSA_SLURM_TEST_VALUE=forty two",
                SHOW_ENV,
            ]),
        super::SLURM_DEADLINE,
    );
    assert_eq!(out.status.code(), Some(0), "{}", super::stderr(&out));
    let id = stdout(&out).trim().to_owned();
    let out = assert_ended(&slurm, &id, 0, "success");
    assert_eq!(stdout(&out), expect(&id));
}
