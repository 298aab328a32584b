//! The command line's subcommands, one room each: arguments (`args`), one design's report
//! (`report`), planning over time and capacity (`plan`), speed and simulation (`bench`), and
//! two designs compared or one explained (`review`).

pub mod args;
pub mod bench;
pub mod plan;
pub mod report;
pub mod review;

use crate::InputError;
use staircase::io::{document, presets};
use staircase::Topology;
use std::path::{Path, PathBuf};

/// The topology of a file or of a built-in preset; problems with either are input errors.
pub fn load_input(file: Option<&Path>, preset: Option<&str>) -> anyhow::Result<Topology> {
    if let Some(name) = preset {
        let Some(found) = presets::find(name) else {
            return Err(InputError(format!(
                "no preset called \"{name}\"; `staircase presets` lists them"
            ))
            .into());
        };
        return found.load().map_err(|e| InputError(e.to_string()).into());
    }
    let Some(path) = file else {
        return Err(InputError("give a topology file or --preset NAME".into()).into());
    };
    document::load(path).map_err(|e| InputError(e.to_string()).into())
}

/// How a file or preset is named in messages.
pub fn source_label(file: &Option<PathBuf>, preset: &Option<String>) -> String {
    match (file, preset) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(name)) => format!("preset {name}"),
        (None, None) => String::new(),
    }
}
