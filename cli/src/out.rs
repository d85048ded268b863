//! Standard output that a closed pipe cannot turn into a panic.
//!
//! `println!` panics when stdout's reader has gone away (`tessera wallet list | head -1`,
//! a crashed `jq`): the user saw "panicked at … Broken pipe" and exit code 101. Every line
//! the CLI prints goes through [`outln!`] and [`out!`] instead: a reader that stopped
//! reading ends the process quietly with exit code 2 (the output could not be delivered),
//! any other write error (a full disk behind `>`) names itself on stderr first. Whatever
//! the command stored (a gate's scan, a wallet's sync) was committed before it printed.

use std::io::{self, Write};

/// Like `println!`, on stdout through [`write`].
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Like `print!`, on stdout through [`write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};

/// Writes to stdout; a write that fails ends the process (see the module's doc).
pub fn write(args: std::fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        gone(&e);
    }
}

/// Flushes stdout (a live screen's redraw without a line end); fails like [`write`].
pub fn flush() {
    if let Err(e) = io::stdout().flush() {
        gone(&e);
    }
}

/// Ends the process: stdout can no longer be written.
fn gone(e: &io::Error) -> ! {
    if e.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("tessera: writing to stdout: {e}");
    }
    std::process::exit(2)
}
