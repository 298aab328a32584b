//! Reading and writing `.ron` topology files: deterministic output, atomic saves, and errors that
//! name the file, the line and column, and what was expected.

use crate::model::{Anchor, Invalid, Topology};
use ron::extensions::Extensions;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest file accepted, in bytes (a topology at the node and edge limits fits in less).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Most characters of a parser message shown (it may quote the file).
const MESSAGE_CHARS: usize = 240;

/// A parser message fit to show: control characters escaped, cut to [`MESSAGE_CHARS`].
fn readable(message: &str) -> String {
    let mut out = String::new();
    for (count, ch) in message.chars().enumerate() {
        if count == MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

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
            message: readable(&error.code.to_string()),
        })?;
    topology
        .validate()
        .map_err(|problem| DocumentError::Invalid {
            path: path.to_string(),
            location: problem
                .anchor
                .and_then(|anchor| locate_anchor(text, anchor)),
            problem,
        })?;
    Ok(topology)
}

/// Where `anchor` stands in `text` (a document that parsed), as a line and column.
fn locate_anchor(text: &str, anchor: Anchor) -> Option<Location> {
    let spans = Spans::of(text);
    let entry = |list: &str, index: usize| spans.entries.get(list)?.get(index).copied();
    let offset = match anchor {
        Anchor::Version => spans.fields.get("version").copied(),
        Anchor::Settings => spans.fields.get("settings").copied(),
        Anchor::Layout => spans.fields.get("layout").copied(),
        Anchor::Node(index) => entry("nodes", index),
        Anchor::Edge(index) => entry("edges", index),
        Anchor::Workload(index) => entry("workloads", index),
        Anchor::Region(index) => entry("regions", index),
        Anchor::RegionLink(index) => entry("settings.region_rtt_ms", index),
    }?;
    Some(location_at(text, offset))
}

/// Byte offsets of the top-level fields of a RON document and of the entries of every list
/// in it (keyed by field path, e.g. `nodes` or `settings.region_rtt_ms`), found by a scan
/// that knows strings, raw strings, characters and comments.
#[derive(Debug, Default)]
struct Spans {
    fields: HashMap<String, usize>,
    entries: HashMap<String, Vec<usize>>,
}

/// An open bracket during the scan: the field path of what it holds, the last field name
/// seen in it, and (lists) whether the next token starts an entry.
struct Frame {
    path: String,
    field: String,
    list: bool,
    expecting_entry: bool,
}

impl Spans {
    fn of(text: &str) -> Spans {
        let bytes = text.as_bytes();
        let mut spans = Spans::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let next = skip_blank(bytes, i);
            if next != i {
                i = next;
                continue;
            }
            if let Some(frame) = stack.last_mut() {
                if frame.list && frame.expecting_entry && !matches!(bytes[i], b']' | b',') {
                    frame.expecting_entry = false;
                    spans.entries.entry(frame.path.clone()).or_default().push(i);
                }
            }
            let byte = bytes[i];
            match byte {
                b'(' | b'{' | b'[' => {
                    let path = match stack.last() {
                        None => String::new(),
                        Some(parent) if parent.list => format!("{}[]", parent.path),
                        Some(parent) if parent.path.is_empty() => parent.field.clone(),
                        Some(parent) => format!("{}.{}", parent.path, parent.field),
                    };
                    stack.push(Frame {
                        path,
                        field: String::new(),
                        list: byte == b'[',
                        expecting_entry: byte == b'[',
                    });
                    i += 1;
                }
                b')' | b'}' | b']' => {
                    stack.pop();
                    i += 1;
                }
                b',' => {
                    if let Some(frame) = stack.last_mut() {
                        frame.expecting_entry = frame.list;
                    }
                    i += 1;
                }
                b'"' => i = skip_string(bytes, i + 1, 0),
                b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#')) => {
                    let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                    i = skip_string(bytes, i + 2 + hashes, hashes);
                }
                b'b' if bytes.get(i + 1) == Some(&b'"') => i = skip_string(bytes, i + 2, 0),
                b'\'' => {
                    // A character: 'x' or an escape such as '\n' or '\u{1F600}'.
                    let mut end = i + 1;
                    if bytes.get(end) == Some(&b'\\') {
                        end += 2;
                    }
                    while end < bytes.len() && bytes[end] != b'\'' {
                        end += 1;
                    }
                    i = end + 1;
                }
                _ if byte.is_ascii_alphabetic() || byte == b'_' => {
                    let start = i;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    let after = skip_all_blank(bytes, i);
                    if bytes.get(after) == Some(&b':') {
                        if let Some(frame) = stack.last_mut() {
                            frame.field = text[start..i].to_string();
                            if stack.len() == 1 {
                                spans
                                    .fields
                                    .entry(text[start..i].to_string())
                                    .or_insert(start);
                            }
                        }
                    }
                }
                _ => i += 1,
            }
        }
        spans
    }
}

/// The end of whitespace or one comment at `i` (`i` itself when there is neither).
fn skip_blank(bytes: &[u8], i: usize) -> usize {
    match (bytes[i], bytes.get(i + 1)) {
        (b' ' | b'\t' | b'\n' | b'\r', _) => i + 1,
        (b'/', Some(b'/')) => bytes[i..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |p| i + p),
        (b'/', Some(b'*')) => {
            // Block comments nest in RON.
            let (mut depth, mut j) = (0usize, i);
            while j + 1 < bytes.len() {
                if bytes[j] == b'/' && bytes[j + 1] == b'*' {
                    depth += 1;
                    j += 2;
                } else if bytes[j] == b'*' && bytes[j + 1] == b'/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        return j;
                    }
                } else {
                    j += 1;
                }
            }
            bytes.len()
        }
        _ => i,
    }
}

/// The end of all whitespace and comments from `i`.
fn skip_all_blank(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        let next = skip_blank(bytes, i);
        if next == i {
            break;
        }
        i = next;
    }
    i
}

/// The position after a string whose body starts at `i` (after its opening quote), ended by
/// a quote and `hashes` hash signs (raw strings) or by an unescaped quote (others).
fn skip_string(bytes: &[u8], mut i: usize, hashes: usize) -> usize {
    let raw = hashes > 0 || (i >= 2 && bytes[i - 2] == b'r');
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if !raw => i += 2,
            b'"' if bytes[i + 1..].iter().take(hashes).all(|b| *b == b'#')
                && bytes.len() >= i + 1 + hashes =>
            {
                return i + 1 + hashes;
            }
            _ => i += 1,
        }
    }
    bytes.len()
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

/// Suffix of our temporary files (`.NAME.XXXXXX.staircase-tmp` beside the target).
const TEMPORARY_SUFFIX: &str = ".staircase-tmp";

/// Temporaries of ours older than this are left over from a killed save and are removed.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Writes `bytes` to `path` safely and atomically:
/// - a symlink at `path` is followed: the file it names is replaced, the link stays;
/// - a device, FIFO or directory at `path` is refused (it is not a document);
/// - the temporary file beside the target has an unpredictable name and is created
///   exclusively (never through a link someone made in advance), with the target's
///   permissions when it exists;
/// - it is flushed to disk, renamed over the target, and the directory is flushed too, so
///   the rename itself survives a crash;
/// - temporaries of ours more than an hour old (from a killed save) are removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DocumentError> {
    let label = path.display().to_string();
    let write_error = |source| DocumentError::Write {
        path: label.clone(),
        source,
    };
    let target = resolve_target(path).map_err(write_error)?;
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "topology".into());
    let prefix = format!(".{file_name}.");
    remove_stale_temporaries(&directory, &prefix);
    let mut temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMPORARY_SUFFIX)
        .tempfile_in(&directory)
        .map_err(write_error)?;
    if let Ok(existing) = std::fs::metadata(&target) {
        temporary
            .as_file()
            .set_permissions(existing.permissions())
            .map_err(write_error)?;
    }
    temporary.write_all(bytes).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    // On failure the temporary file is removed when `persist` hands it back and it drops.
    temporary
        .persist(&target)
        .map_err(|error| write_error(error.error))?;
    sync_directory(&directory).map_err(write_error)
}

/// The regular file a save to `path` replaces: `path` itself, or the file a symlink there
/// names (links followed to the end). Anything else that exists there is refused.
fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let not_a_document = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file; choose another name"),
        )
    };
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(resolved) => resolved,
            // A dangling link: create the file it names.
            Err(_) => {
                let link = std::fs::read_link(path)?;
                path.parent().unwrap_or(Path::new(".")).join(link)
            }
        },
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_file() => Ok(target),
        Ok(meta) if meta.is_dir() => Err(not_a_document("a directory")),
        Ok(_) => Err(not_a_document("a device, FIFO or socket")),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(target),
        Err(error) => Err(error),
    }
}

/// Removes our temporaries for this target (`prefix…` + [`TEMPORARY_SUFFIX`]) that a killed
/// save left behind; recent ones may belong to a save in progress and stay.
fn remove_stale_temporaries(directory: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(TEMPORARY_SUFFIX)) {
            continue;
        }
        let stale = entry
            .metadata()
            .ok()
            .filter(|meta| meta.is_file())
            .and_then(|meta| meta.modified().ok())
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMPORARY);
        if stale {
            // Best effort: another process may have removed it first.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Flushes a directory's entries (the rename) to disk. Not every platform can open a
/// directory for this; there the rename is as durable as the system makes it.
fn sync_directory(directory: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_point_at_their_entries_past_strings_and_comments() {
        let text = "Topology(\n  description: \"nodes: [(from: 1,\", // edges: [\n  nodes: [\n    (id: 7, name: \"x)]\"), /* ( */ (id: 1_000),\n  ],\n  settings: (region_rtt_ms: [ (a: r#\"\"]\"#, b: \"y\"), (a: 'x', b: \"z\") ]),\n  edges: [(from: 0b101, to: -0)],\n)";
        let at = |anchor| locate_anchor(text, anchor).map(|l| (l.line, l.column));
        assert_eq!(at(Anchor::Node(0)), Some((4, 5)));
        assert_eq!(at(Anchor::Node(1)), Some((4, 35)));
        assert_eq!(at(Anchor::Node(2)), None);
        assert_eq!(at(Anchor::RegionLink(1)), Some((6, 53)));
        assert_eq!(at(Anchor::Edge(0)), Some((7, 11)));
        assert_eq!(at(Anchor::Settings), Some((6, 3)));
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
