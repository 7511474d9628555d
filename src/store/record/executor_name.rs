//! The name of an executor, as `session.toml` records it (`executor = "slurm"`).

use std::fmt;

use anyhow::{Result, bail};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest executor name (bytes).
pub const MAX_EXECUTOR_NAME_LEN: usize = 32;

/// The executor a session's job runs on, by name: `local` (the default, and what a
/// `session.toml` without `executor` means) or the name of another executor csa has
/// (`slurm`). A name is 1 to [`MAX_EXECUTOR_NAME_LEN`] bytes of lower-case ASCII letters,
/// digits and `-`, starting with a letter; whether this csa has an executor of that name
/// is for [`crate::executor`] to say, so that a record written by another csa reads the
/// same here.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExecutorName(Box<str>);

impl ExecutorName {
    /// The default executor's name.
    pub const LOCAL: &'static str = "local";

    /// `name`, checked.
    ///
    /// Errors: an empty or longer name, or a character outside `a-z 0-9 -`, or a first
    /// character that is not a letter (the message does not repeat the name).
    pub fn new(name: &str) -> Result<Self> {
        if name.is_empty() || name.len() > MAX_EXECUTOR_NAME_LEN {
            bail!("an executor name has 1 to {MAX_EXECUTOR_NAME_LEN} characters");
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase())
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bail!("an executor name is lower-case letters, digits and `-`, starting with a letter");
        }
        Ok(Self(name.into()))
    }

    /// The name, as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `local`. Takes a reference, as serde's `skip_serializing_if` passes one.
    pub fn is_local(&self) -> bool {
        &*self.0 == Self::LOCAL
    }
}

impl Default for ExecutorName {
    /// `local`.
    fn default() -> Self {
        Self(Self::LOCAL.into())
    }
}

impl fmt::Display for ExecutorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExecutorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExecutorName({})", self.0)
    }
}

impl std::str::FromStr for ExecutorName {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::new(name)
    }
}

impl Serialize for ExecutorName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExecutorName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(&name).map_err(|why| serde::de::Error::custom(format!("executor: {why:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["local", "slurm", "k8s-job", "a"] {
            assert_eq!(ExecutorName::new(good).unwrap().as_str(), good);
        }
        for bad in ["", "Slurm", "1x", "-x", "a b", "a/b", "ä", &"a".repeat(33)] {
            assert!(ExecutorName::new(bad).is_err(), "{bad:?}");
        }
        assert!(ExecutorName::default().is_local());
        assert!(!ExecutorName::new("slurm").unwrap().is_local());
    }

    #[test]
    fn reads_and_writes_as_text() {
        #[derive(Serialize, Deserialize)]
        struct Record {
            executor: ExecutorName,
        }
        let record: Record = toml::from_str("executor = \"kube\"\n").unwrap();
        assert_eq!(record.executor.as_str(), "kube");
        assert_eq!(toml::to_string(&record).unwrap(), "executor = \"kube\"\n");
        assert!(toml::from_str::<Record>("executor = \"../x\"\n").is_err());
    }
}
