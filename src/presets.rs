//! Built-in presets: the scaling stages, real-company architectures and every worked case of the
//! reference articles (`article-00N-…`), compiled into the program.

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
    "article-001-phase-0-one-server.ron",
    "article-001-phase-1-proxy-cdn.ron",
    "article-001-phase-2-load-balancer.ron",
    "article-001-phase-3-connection-pool.ron",
    "article-001-phase-4-cache-aside.ron",
    "article-001-phase-5-read-replica.ron",
    "article-001-practical-1m-day.ron",
    "article-002-week-0-start.ron",
    "article-002-week-2-cache.ron",
    "article-002-week-3-query-fixes.ron",
    "article-002-week-4-replicas.ron",
    "article-002-week-5-horizontal.ron",
    "article-002-week-6-cdn.ron",
    "article-002-week-7-queue.ron",
    "article-002-final-10k-rps.ron",
    "article-002-exercise-db-85-app-20.ron",
    "article-002-exercise-image-processing.ron",
    "article-002-exercise-500-rps-40-cpu.ron",
    "article-003-stage-1-single-box.ron",
    "article-003-stage-2-split-database.ron",
    "article-003-stage-3-cache-cdn.ron",
    "article-003-stage-4-load-balancer.ron",
    "article-003-stage-5-read-replicas.ron",
    "article-003-stage-6-shards-queue.ron",
    "article-003-stage-7-multi-region.ron",
    "article-003-stateless-sessions.ron",
    "article-003-exercise-photo-app-800k.ron",
    "article-004-one-big-box.ron",
    "article-004-many-small-boxes.ron",
    "article-004-pool-10k-users.ron",
    "article-004-exercise-pool-cached-api.ron",
    "article-004-netflix-open-connect.ron",
    "article-004-cdn-cost.ron",
    "article-004-exercise-black-friday.ron",
    "article-004-recipe-stage-1.ron",
    "article-004-recipe-stage-2.ron",
    "article-004-recipe-stage-3.ron",
    "article-004-recipe-stage-4.ron",
    "article-004-recipe-stage-5.ron",
    "article-004-storage-tiers.ron",
    "article-004-exercise-blog.ron",
    "article-004-exercise-photo-1k-users.ron",
    "article-004-exercise-photo-10k-users.ron",
    "article-004-exercise-photo-100k-users.ron",
    "article-004-exercise-photo-1m-users.ron",
    "article-004-exercise-websocket-chat.ron",
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
