//! A staff bearer token (admin, box office or gate) on the command line: from a file or
//! the environment, so it need not sit in the process list and the shell history, or
//! as `--token` where that does not matter.

use std::path::{Path, PathBuf};

use clap::Args;
use zeroize::Zeroizing;

use crate::error::CliError;

/// The environment variable read when neither `--token` nor `--token-file` is given.
pub const TOKEN_ENV: &str = "TESSERA_TOKEN";

/// Where a staff token comes from: `--token`, `--token-file` or `TESSERA_TOKEN`.
#[derive(Debug, Args)]
pub struct StaffTokenArgs {
    /// The bearer token itself. Other users of this machine can read command lines:
    /// prefer --token-file or the environment variable TESSERA_TOKEN (read when neither
    /// flag is given).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// A file holding the bearer token (one trailing line break is ignored).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

impl StaffTokenArgs {
    /// The token: from `--token` or `--token-file` (not both), else from `TESSERA_TOKEN`.
    pub fn resolve(&self) -> Result<Zeroizing<String>, CliError> {
        self.resolve_with(std::env::var(TOKEN_ENV).ok())
    }

    /// [`resolve`](Self::resolve) with the environment variable's value given.
    fn resolve_with(&self, env: Option<String>) -> Result<Zeroizing<String>, CliError> {
        let token = match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => {
                return Err(CliError::Usage(
                    "give the token once: --token or --token-file, not both".into(),
                ));
            }
            (Some(t), None) => Zeroizing::new(t.clone()),
            (None, Some(path)) => read_token_file(path)?,
            (None, None) => match env.map(Zeroizing::new) {
                Some(t) if !t.is_empty() => t,
                _ => {
                    return Err(CliError::Usage(format!(
                        "no token: pass --token-file FILE, set {TOKEN_ENV}, or pass --token TOKEN"
                    )));
                }
            },
        };
        if token.is_empty() {
            return Err(CliError::Usage("the token is empty".into()));
        }
        Ok(token)
    }
}

/// The file's text without one trailing line break (editors and `echo` add one).
fn read_token_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let mut text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| CliError::io(format!("reading {}", path.display()), e))?,
    );
    let keep = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map_or(text.len(), str::len);
    text.truncate(keep);
    Ok(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn args(token: Option<&str>, file: Option<&Path>) -> StaffTokenArgs {
        StaffTokenArgs {
            token: token.map(Into::into),
            token_file: file.map(Into::into),
        }
    }

    fn usage(r: Result<Zeroizing<String>, CliError>) -> String {
        match r {
            Err(CliError::Usage(m)) => m,
            Err(other) => panic!("not a usage error: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_token_file_loses_its_trailing_line_break_and_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "abc123\n").unwrap();
        let env = Some("from-env".to_owned());
        assert_eq!(
            args(None, Some(&f)).resolve_with(env).unwrap().as_str(),
            "abc123"
        );
        std::fs::write(&f, "abc123\r\n").unwrap();
        assert_eq!(
            args(None, Some(&f)).resolve_with(None).unwrap().as_str(),
            "abc123"
        );
        std::fs::write(&f, "\n").unwrap();
        assert!(usage(args(None, Some(&f)).resolve_with(None)).contains("empty"));
        let missing = dir.path().join("missing");
        let e = args(None, Some(&missing)).resolve_with(None).unwrap_err();
        assert!(matches!(e, CliError::Io { .. }), "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn the_environment_is_read_when_no_flag_is_given() {
        let env = || Some("from-env".to_owned());
        assert_eq!(
            args(None, None).resolve_with(env()).unwrap().as_str(),
            "from-env"
        );
        assert_eq!(
            args(Some("flag"), None)
                .resolve_with(env())
                .unwrap()
                .as_str(),
            "flag"
        );
    }

    #[test]
    fn both_flags_or_no_source_at_all_is_a_usage_error_naming_the_ways() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "abc").unwrap();
        let both = usage(args(Some("abc"), Some(&f)).resolve_with(None));
        assert!(both.contains("not both"), "{both}");
        for env in [None, Some(String::new())] {
            let none = usage(args(None, None).resolve_with(env));
            for way in ["--token-file", TOKEN_ENV, "--token "] {
                assert!(none.contains(way), "{none}");
            }
        }
        assert!(usage(args(Some(""), None).resolve_with(None)).contains("empty"));
    }

    #[test]
    fn the_flags_parse_with_clap() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            token: StaffTokenArgs,
        }
        let c = Cli::try_parse_from(["x", "--token-file", "/tmp/t"]).unwrap();
        assert_eq!(c.token.token_file.as_deref(), Some(Path::new("/tmp/t")));
        let c = Cli::try_parse_from(["x", "--token", "abc"]).unwrap();
        assert_eq!(c.token.token.as_deref(), Some("abc"));
    }
}
