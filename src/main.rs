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
