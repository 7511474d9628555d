//! Tool configuration (docs/tools.md): the user's `$XDG_CONFIG_HOME/csa/config.toml` (else
//! `~/.config/csa/config.toml`), then the nearest `.csa/config.toml` from the job's working
//! directory upwards. A later file overrides an earlier one field by field, and both
//! override the built-in tools:
//!
//! ```toml
//! [tools.review]
//! argv = ["claude", "-p", "--model", "opus", "{prompt}"]
//!
//! [tools.codex]
//! stdin = true          # feed the prompt on standard input; keep the built-in argv
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use super::{DIRECT_TOOL, PROMPT_PLACEHOLDER, Source, ToolDef, builtin};
use crate::exit::{CSA_ERROR, Failure};

/// The largest configuration file csa reads (bytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The file name of the project configuration, relative to a directory.
pub const PROJECT_CONFIG: &str = ".csa/config.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tools: BTreeMap<String, Spanned<ToolEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolEntry {
    argv: Option<Vec<String>>,
    stdin: Option<bool>,
}

/// The user configuration file: `$XDG_CONFIG_HOME/csa/config.toml` when `XDG_CONFIG_HOME`
/// is an absolute path, else `$HOME/.config/csa/config.toml`; `None` without either.
pub fn user_config_path() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("XDG_CONFIG_HOME").filter(|d| Path::new(d).is_absolute()) {
        return Some(PathBuf::from(dir).join("csa/config.toml"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".config/csa/config.toml"))
}

/// The nearest `.csa/config.toml` in `dir` or one of its ancestors, if any.
pub fn project_config_path(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(PROJECT_CONFIG))
        .find(|path| path.is_file())
}

/// The tools available to a job whose working directory is `cwd`: the built-in ones with
/// the user's and then the project's configuration applied.
///
/// Errors (exit 125): a configuration file that cannot be read, is not valid TOML, has
/// unknown keys, or defines an unusable tool; the message names the file and line.
pub fn load(cwd: &Path) -> Result<Vec<ToolDef>> {
    let mut tools = builtin();
    for path in [user_config_path(), project_config_path(cwd)]
        .into_iter()
        .flatten()
    {
        if let Some(text) = read_config(&path)? {
            apply(&mut tools, &path, &text)?;
        }
    }
    Ok(tools)
}

/// Reads a configuration file; `None` when it does not exist.
fn read_config(path: &Path) -> Result<Option<String>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(crate::exit::io_failure(
                "cannot read the config",
                &err,
                path.display(),
            ));
        }
    };
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|err| crate::exit::io_failure("cannot read the config", &err, path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(malformed(path, &text, None, "larger than 1 MiB"));
    }
    Ok(Some(text))
}

/// Applies the configuration `text` of `path` to `tools`.
fn apply(tools: &mut Vec<ToolDef>, path: &Path, text: &str) -> Result<()> {
    let config: ConfigFile = toml::from_str(text)
        .map_err(|err| malformed(path, text, err.span().map(|s| s.start), err.message()))?;
    for (name, entry) in config.tools {
        let at = Some(entry.span().start);
        let entry = entry.into_inner();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            let why = format!("tool name `{name}` must be letters, digits, `-`, `_` or `.`");
            return Err(malformed(path, text, at, &why));
        }
        if name == DIRECT_TOOL {
            let why = format!("tool name `{name}` is reserved for `csa run -- PROGRAM`");
            return Err(malformed(path, text, at, &why));
        }
        let index = tools
            .iter()
            .position(|def| def.name == name)
            .unwrap_or_else(|| {
                tools.push(ToolDef {
                    name: name.clone(),
                    argv: Vec::new(),
                    stdin: false,
                    stdin_argv: None,
                    source: Source::BuiltIn,
                });
                tools.len() - 1
            });
        let def = &mut tools[index];
        if let Some(argv) = entry.argv {
            def.argv = argv;
            def.stdin_argv = None;
        }
        if let Some(stdin) = entry.stdin {
            def.stdin = stdin;
        }
        def.source = Source::File(path.to_path_buf());
        if let Err(why) = validate(def) {
            return Err(malformed(path, text, at, &format!("tool {name}: {why}")));
        }
    }
    Ok(())
}

/// Checks that a tool can turn a prompt into a command line.
fn validate(def: &ToolDef) -> Result<(), String> {
    match def.argv.first() {
        None => return Err("`argv` is missing or empty".to_owned()),
        Some(program) if program.is_empty() => return Err("argv[0] is empty".to_owned()),
        Some(_) => {}
    }
    if def.argv.iter().any(|a| a.contains('\0')) {
        return Err("argv contains a NUL character".to_owned());
    }
    let has_placeholder = def.argv.iter().any(|a| a.contains(PROMPT_PLACEHOLDER));
    if def.stdin {
        if def
            .argv
            .iter()
            .any(|a| a != PROMPT_PLACEHOLDER && a.contains(PROMPT_PLACEHOLDER))
        {
            return Err(
                "with `stdin = true` the prompt goes on standard input; remove {prompt} from the arguments"
                    .to_owned(),
            );
        }
    } else if !has_placeholder {
        return Err(
            "argv has no \"{prompt}\"; add it where the prompt goes, or set `stdin = true`"
                .to_owned(),
        );
    }
    Ok(())
}

/// An error naming `path` and, when known, the line and column of byte offset `at`.
fn malformed(path: &Path, text: &str, at: Option<usize>, why: &str) -> anyhow::Error {
    let place = match at {
        Some(offset) => {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{}:{line}:{column}", path.display())
        }
        None => path.display().to_string(),
    };
    let why = why.trim().replace('\n', " ");
    Failure::new(CSA_ERROR, format!("malformed config: {why} ({place})")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(text: &str) -> Result<Vec<ToolDef>> {
        let mut tools = builtin();
        apply(&mut tools, Path::new("/c/config.toml"), text)?;
        Ok(tools)
    }

    fn error(text: &str) -> String {
        format!("{:#}", configured(text).unwrap_err())
    }

    #[test]
    fn adds_and_overrides_tools() {
        let tools = configured(
            "[tools.mine]\nargv = [\"mine\", \"{prompt}\"]\n\n[tools.codex]\nstdin = true\n",
        )
        .unwrap();
        let codex = tools.iter().find(|t| t.name == "codex").unwrap();
        assert!(codex.stdin);
        assert_eq!(codex.argv, ["codex", "exec", "{prompt}"]);
        assert_eq!(codex.source, Source::File("/c/config.toml".into()));
        let mine = tools.iter().find(|t| t.name == "mine").unwrap();
        assert_eq!(mine.argv, ["mine", "{prompt}"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        assert!(
            error("# x\n[tools.a]\nargv = [\"a\", \"{prompt}\"\n").contains("(/c/config.toml:3:"),
            "{}",
            error("# x\n[tools.a]\nargv = [\"a\", \"{prompt}\"\n")
        );
        let unknown = error("[tools.a]\nargs = [\"a\"]\n");
        assert!(
            unknown.contains("unknown field") && unknown.contains(":2:"),
            "{unknown}"
        );
        let missing = error("\n\n[tools.a]\nstdin = true\n");
        assert!(
            missing.contains("argv") && missing.contains(":3:"),
            "{missing}"
        );
        let no_prompt = error("[tools.a]\nargv = [\"a\"]\n");
        assert!(no_prompt.contains("{prompt}"), "{no_prompt}");
        assert!(error("[tools.\"a b\"]\nargv = [\"{prompt}\"]\n").contains("tool name"));
        assert!(error("[tools.exec]\nargv = [\"{prompt}\"]\n").contains("reserved"));
    }
}
