//! The `staircase` command: launches the app, or solves, lists and benchmarks from the terminal.

use anyhow::Context;
use clap::Parser;
use staircase::io::presets;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: a solve builds many small vectors (report
/// rows, paths, per-class arrays), and on glibc's malloc that was a third of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_purge_delay`: how long freed memory stays mapped before it is given
/// back to the system. The sys crate names the option after it (`mi_option_use_numa_nodes`, 16)
/// but not this one; the unit test below checks that this index holds mimalloc 3's default
/// purge delay, 1,000 ms.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// How long freed memory is kept for reuse, ms. Each solve frees its report and scratch
/// arrays and the next one (an edit, a sweep point, a bench repeat) asks for the same again;
/// at the default delay the memory of a 10,000-node solve went back to the system and every
/// solve page-faulted it in anew (10,276 to 11,373 page faults in `bench --sizes 10000
/// --repeat 21`, 390 with the memory kept, and 15% less CPU time; at 100,000 nodes 78,135
/// against 575). An app left idle for a minute gives the memory back at its next allocation.
/// A `MIMALLOC_PURGE_DELAY` in the environment still wins (this only sets the default).
const KEEP_FREED_MS: std::ffi::c_long = 60_000;

/// Sets the allocator's option defaults; first thing in `main`, before any other thread
/// starts (mimalloc's option setters are not thread-safe).
fn tune_allocator() {
    // SAFETY: a plain setter of a process-wide integer option, called on the main thread
    // before any other thread exists, as mimalloc asks.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, KEEP_FREED_MS) }
}

/// Writes a line to standard output; a closed pipe (`staircase presets | head -1`) ends the
/// program quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Like [`say!`] without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// An error caused by the input (exit code 2), as opposed to the environment (exit code 1).
#[derive(Debug)]
pub struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

mod cli;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`staircase presets | head -1`): nothing to say.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("staircase: {error:#}");
            if error.downcast_ref::<InputError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => launch(None),
        Some(Command::Open(args)) => launch(args.file),
        Some(Command::Presets) => cli::report::presets(),
        Some(Command::Solve(args)) => cli::report::solve(args),
        Some(Command::Export(args)) => cli::report::export(args),
        Some(Command::Diff(args)) => cli::review::diff(args),
        Some(Command::Explain(args)) => cli::review::explain(args),
        Some(Command::Plan(args)) => cli::plan::plan(args),
        Some(Command::Timeline(args)) => cli::plan::timeline(args),
        Some(Command::Calibrate(args)) => cli::plan::calibrate(args),
        Some(Command::Bench(args)) if args.simulate => cli::bench::bench_simulation(),
        Some(Command::Bench(args)) => cli::bench::bench(args),
        Some(Command::Simulate(args)) => cli::bench::simulate(args),
    }
}

/// Opens the window. A file that cannot be opened does not stop it: the app shows the error
/// (file:line:column) in its banner over the default document, since a user who launched it
/// from a file manager sees no terminal.
fn launch(file: Option<PathBuf>) -> anyhow::Result<()> {
    presets::default_topology().context("the default preset")?;
    staircase::app::run_native(file).map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PURGE_DELAY` is the purge delay: of the options around it, only that one defaults to
    /// 1,000 ms in mimalloc 3 (eager-commit delay 1, NUMA nodes 0). Nothing in this test binary
    /// sets it, so it still holds its default (unless `MIMALLOC_PURGE_DELAY` is set around the
    /// test run).
    #[test]
    fn purge_delay_option_is_the_one_set() {
        // SAFETY: reading options; no test in this binary sets them.
        let (before, delay, after) = unsafe {
            (
                libmimalloc_sys::mi_option_get(PURGE_DELAY - 1),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
                libmimalloc_sys::mi_option_get(libmimalloc_sys::mi_option_use_numa_nodes),
            )
        };
        assert_eq!(delay, 1_000);
        assert_ne!(before, 1_000);
        assert_ne!(after, 1_000);
    }
}
