//! One module per subcommand: its arguments ([`args`]) → a request the domain takes → the
//! domain → what is printed. [`crate::cli::dispatch`] runs the one the user asked for.

pub mod args;
pub mod attach;
pub mod clean;
pub mod completions;
pub mod kill;
pub mod list;
pub mod logs;
pub mod man;
pub mod node;
pub mod queue;
pub mod rerun;
pub mod result;
pub mod rm;
pub mod run;
pub mod show;
pub mod status;
pub mod supervise;
pub mod tools;
pub mod top;
pub mod view;
pub mod wait;
