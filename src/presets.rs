//! Built-in presets: the scaling stages and real-company architectures, compiled into the program.

use crate::document::{self, DocumentError};
use crate::model::Topology;

/// One built-in preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// File name under `presets/`.
    pub file: &'static str,
    /// The `.ron` text.
    pub text: &'static str,
}

macro_rules! presets {
    ($($file:literal),* $(,)?) => {
        &[$(Preset { file: $file, text: include_str!(concat!("../presets/", $file)) }),*]
    };
}

/// Every built-in preset, in menu order.
pub const PRESETS: &[Preset] = presets![
    "stage-1-single-box.ron",
    "stage-2-split-db.ron",
    "stage-3-cache.ron",
    "stage-4-load-balancer.ron",
    "stage-5-read-replicas.ron",
    "stage-6-sharding.ron",
    "stage-7-async-queue.ron",
    "stage-8-multi-region.ron",
    "exercise-photo-feed.ron",
    "company-instagram.ron",
    "company-whatsapp.ron",
    "company-twitter.ron",
    "company-netflix.ron",
    "company-uber.ron",
    "company-discord.ron",
];

/// The eight scaling stages, in order (the presets whose file starts with `stage-`).
pub fn stages() -> Vec<&'static Preset> {
    PRESETS
        .iter()
        .filter(|p| p.file.starts_with("stage-"))
        .collect()
}

/// The preset the app opens with.
pub const DEFAULT_PRESET: &str = "stage-3-cache.ron";

impl Preset {
    /// Parses the preset.
    pub fn load(&self) -> Result<Topology, DocumentError> {
        document::parse(self.text, &format!("presets/{}", self.file))
    }
}

/// The preset called `file`, with or without the `.ron` ending.
pub fn find(file: &str) -> Option<&'static Preset> {
    PRESETS
        .iter()
        .find(|p| p.file == file || p.file.strip_suffix(".ron") == Some(file))
}

/// The default topology shown at start-up.
pub fn default_topology() -> Result<Topology, DocumentError> {
    match find(DEFAULT_PRESET) {
        Some(preset) => preset.load(),
        None => Ok(Topology::default()),
    }
}
