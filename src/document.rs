//! Reading and writing `.ron` topology files: deterministic output, atomic saves, and errors that
//! name the file, the line and column, and what was expected.

use crate::model::{Invalid, Topology};
use ron::extensions::Extensions;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// A line and column in a file, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{path}: cannot read the file: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: the file is at least {bytes} bytes; at most {MAX_FILE_BYTES} are accepted")]
    TooLarge { path: String, bytes: u64 },
    #[error("{path}:{location}: {message}")]
    Parse {
        path: String,
        location: Location,
        message: String,
    },
    #[error("{path}{}: {problem}", location.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: String,
        location: Option<Location>,
        problem: Invalid,
    },
    #[error("cannot write the topology as RON: {0}")]
    Serialize(#[from] ron::Error),
    #[error("{path}: cannot write the file: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Parses and validates a topology from the raw bytes of a file: a UTF-8 byte-order mark is
/// skipped, and bytes that are not UTF-8 are an error at their line and column.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<Topology, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|error| {
        // Everything before the bad byte is valid UTF-8.
        let before = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
        DocumentError::Parse {
            path: path.to_string(),
            location: location_at(&before, before.len()),
            message: format!(
                "byte 0x{:02X} is not UTF-8 text (save the file as UTF-8)",
                bytes[error.valid_up_to()]
            ),
        }
    })?;
    parse(text, path)
}

/// Parses and validates a topology from `text`; `path` names the source in error messages.
pub fn parse(text: &str, path: &str) -> Result<Topology, DocumentError> {
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    let topology: Topology = options
        .from_str(text)
        .map_err(|error| DocumentError::Parse {
            path: path.to_string(),
            location: Location {
                line: error.span.start.line,
                column: error.span.start.col,
            },
            message: error.code.to_string(),
        })?;
    topology
        .validate()
        .map_err(|problem| DocumentError::Invalid {
            path: path.to_string(),
            location: problem.anchor.as_deref().and_then(|a| locate(text, a)),
            problem,
        })?;
    Ok(topology)
}

/// Finds the first occurrence of `needle` in `text` as a 1-based line and column.
fn locate(text: &str, needle: &str) -> Option<Location> {
    text.find(needle).map(|offset| location_at(text, offset))
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn location_at(text: &str, offset: usize) -> Location {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Location { line, column }
}

/// Reads, parses and validates the topology in `path`.
pub fn load(path: &Path) -> Result<Topology, DocumentError> {
    let label = path.display().to_string();
    let read_error = |source| DocumentError::Read {
        path: label.clone(),
        source,
    };
    // Read through a limit, not by the length the metadata reports: a device or a pipe
    // (`/dev/zero`) reports 0 and never ends.
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DocumentError::TooLarge {
            path: label,
            bytes: bytes.len() as u64,
        });
    }
    parse_bytes(&bytes, &label)
}

/// The file text of `topology`: sorted, pretty, identical for identical models.
pub fn to_string(topology: &Topology) -> Result<String, DocumentError> {
    let mut sorted = topology.clone();
    sorted.normalize();
    let pretty = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .indentor("    ".to_string())
        .extensions(Extensions::IMPLICIT_SOME);
    let mut text = ron::ser::to_string_pretty(&sorted, pretty)?;
    text.push('\n');
    Ok(text)
}

/// Saves `topology` to `path` atomically: writes a temporary file beside it, flushes it to
/// disk, then renames it over the target, so a failure never leaves a half-written file.
pub fn save(path: &Path, topology: &Topology) -> Result<(), DocumentError> {
    let text = to_string(topology)?;
    write_atomically(path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DocumentError> {
    let label = path.display().to_string();
    let write_error = |source| DocumentError::Write {
        path: label.clone(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "topology".into());
    let temporary = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and incomplete.
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_columns_from_one() {
        let text = "(\n  nodes: [\n    (id: 7, name: \"x\"),\n";
        assert_eq!(
            locate(text, "id: 7,"),
            Some(Location { line: 3, column: 6 })
        );
    }

    #[test]
    fn parse_errors_carry_the_position() {
        let text = "(\n    name: \"x\",\n    nodes: [(id: 1, kind: Teleporter)],\n)";
        let Err(DocumentError::Parse {
            location, message, ..
        }) = parse(text, "t.ron")
        else {
            panic!("expected a parse error");
        };
        assert_eq!(location.line, 3);
        assert!(message.contains("Teleporter"), "{message}");
    }
}
