//! Reading what Slurm's commands print: `scontrol -o show job` lines and `X:S` exit codes.

use super::JobInfo;

/// The value of `Key=` in a line of `scontrol -o show job`. Values run to the next
/// ` Key=` (a word of letters, digits, `/`, `:`, `_`, `-` followed by `=`).
pub fn field(line: &str, key: &str) -> Option<String> {
    let mut current: Option<(&str, String)> = None;
    for word in line.split(' ') {
        let starts_field = word.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b':' | b'_' | b'-'))
        });
        if starts_field {
            if let Some((k, v)) = current.take()
                && k == key
            {
                return Some(v);
            }
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            current = Some((k, v.to_owned()));
        } else if let Some((_, value)) = current.as_mut() {
            value.push(' ');
            value.push_str(word);
        }
    }
    current.filter(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Parses one line of `scontrol -o show job`.
pub fn parse_show_job(line: &str) -> JobInfo {
    let get = |key| field(line, key).unwrap_or_default();
    let (exit_code, exit_signal) = parse_exit(&get("ExitCode"));
    let nodes = match get("BatchHost") {
        host if !host.is_empty() && host != "(null)" => host,
        _ => get("NodeList"),
    };
    JobInfo {
        name: get("JobName"),
        state: get("JobState"),
        reason: get("Reason"),
        exit_code,
        exit_signal,
        nodes,
        stdout: get("StdOut"),
    }
}

/// Parses Slurm's `X:S` (exit code, signal).
pub fn parse_exit(text: &str) -> (i32, i32) {
    let (code, signal) = text.split_once(':').unwrap_or((text, "0"));
    (
        code.trim().parse().unwrap_or(0),
        signal.trim().parse().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "JobId=51 JobName=csa-01JD UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901709 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=7:0 RunTime=00:00:01 WorkDir=/tmp/a dir StdErr=/tmp/x BatchHost=vm NodeList=vm";

    #[test]
    fn parses_scontrol_lines() {
        let info = parse_show_job(LINE);
        assert_eq!(info.name, "csa-01JD");
        assert_eq!(info.state, "FAILED");
        assert_eq!(info.reason, "NonZeroExitCode");
        assert_eq!((info.exit_code, info.exit_signal), (7, 0));
        assert_eq!(info.nodes, "vm");
        assert!(info.has_ended());
        assert_eq!(field(LINE, "WorkDir").as_deref(), Some("/tmp/a dir"));
        assert_eq!(field(LINE, "NodeList").as_deref(), Some("vm"));
        assert_eq!(field(LINE, "Missing"), None);
        assert_eq!(parse_exit("0:15"), (0, 15));
    }
}
