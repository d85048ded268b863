//! What the CLI's test files share: running the built `tessera` as a user would, and
//! reading everything it said.

// Each test file uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Command, Output};

/// Runs `tessera` with `args` and these environment variables, and none of the
/// `TESSERA_*` (or terminal size) variables of the shell that runs the tests.
pub fn tessera_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for v in [
        "TESSERA_TOKEN",
        "TESSERA_ISSUER",
        "TESSERA_DB",
        "TESSERA_VAULT",
        "COLUMNS",
        "LINES",
    ] {
        c.env_remove(v);
    }
    c.args(args).envs(env.iter().copied()).output().unwrap()
}

/// Runs `tessera` with `args` (see [`tessera_with`]).
pub fn tessera(args: &[&str]) -> Output {
    tessera_with(args, &[])
}

/// Standard output then standard error, as one text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
