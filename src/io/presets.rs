//! Built-in presets: the scaling stages, real-company architectures and every worked case of the
//! reference articles (`article-00N-…`), compiled into the program.

use crate::io::document::{self, DocumentError};
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
        &[$(Preset { file: $file, text: include_str!(concat!("../../presets/", $file)) }),*]
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

/// A shelf of the preset browser: presets whose file names share a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetGroup {
    /// The heading, e.g. "The scaling staircase" or "Article 002".
    pub title: String,
    /// Its presets, in menu order.
    pub presets: Vec<&'static Preset>,
}

/// Where a preset file belongs, by its file-name prefix; the order of the variants is the
/// order of the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shelf {
    Staircase,
    Companies,
    Exercises,
    /// `article-NNN-*`: the worked examples of one reference article.
    Article(u32),
    Other,
}

impl Shelf {
    fn of(file: &str) -> Shelf {
        if file.starts_with("stage-") {
            Shelf::Staircase
        } else if file.starts_with("company-") {
            Shelf::Companies
        } else if file.starts_with("exercise-") {
            Shelf::Exercises
        } else if let Some(number) = article_number(file) {
            Shelf::Article(number)
        } else {
            Shelf::Other
        }
    }

    fn title(self) -> String {
        match self {
            Shelf::Staircase => "The scaling staircase".into(),
            Shelf::Companies => "Real companies".into(),
            Shelf::Exercises => "Exercises".into(),
            Shelf::Article(number) => format!("Article {number:03}"),
            Shelf::Other => "Other".into(),
        }
    }
}

/// The article number of a file named `article-NNN-…`.
fn article_number(file: &str) -> Option<u32> {
    let rest = file.strip_prefix("article-")?;
    let (digits, _) = rest.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `presets` on shelves by file-name prefix: the scaling staircase (`stage-`), real companies
/// (`company-`), exercises (`exercise-`), one shelf per article (`article-NNN-`, in article
/// order), then anything else. Empty shelves are left out; order within a shelf is kept.
pub fn group(presets: &'static [Preset]) -> Vec<PresetGroup> {
    let mut shelves: Vec<(Shelf, Vec<&'static Preset>)> = Vec::new();
    for preset in presets {
        let shelf = Shelf::of(preset.file);
        match shelves.iter_mut().find(|(s, _)| *s == shelf) {
            Some((_, list)) => list.push(preset),
            None => shelves.push((shelf, vec![preset])),
        }
    }
    shelves.sort_by_key(|(shelf, _)| *shelf);
    shelves
        .into_iter()
        .map(|(shelf, presets)| PresetGroup {
            title: shelf.title(),
            presets,
        })
        .collect()
}

/// The built-in presets on their shelves.
pub fn groups() -> Vec<PresetGroup> {
    group(PRESETS)
}

/// What the preset browser shows of one preset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetInfo {
    pub file: &'static str,
    /// The topology's name.
    pub title: String,
    /// The step of the scaling staircase (from a `stage-N-` file name).
    pub stage: Option<u32>,
    /// The first sentence of the description.
    pub summary: String,
    /// The whole description.
    pub description: String,
}

/// Longest summary shown in a list, in characters.
const SUMMARY_CHARS: usize = 160;

/// The first sentence of `text` (a full stop outside brackets, followed by a space and a
/// capital letter, or the end), cut at a word to at most 160 characters.
pub fn summary(text: &str) -> String {
    let mut depth = 0i32;
    let mut end = text.len();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (index, &(at, c)) in chars.iter().enumerate() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '.' | '!' | '?' if depth <= 0 => {
                let next = chars.get(index + 1).map(|&(_, c)| c);
                let after = chars.get(index + 2).map(|&(_, c)| c);
                if next.is_none() || (next == Some(' ') && after.is_some_and(|c| c.is_uppercase()))
                {
                    end = at + c.len_utf8();
                    break;
                }
            }
            _ => {}
        }
    }
    let sentence = text[..end].trim();
    if sentence.chars().count() <= SUMMARY_CHARS {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(SUMMARY_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':']))
}

impl Preset {
    /// The step of the scaling staircase, for files named `stage-N-…`.
    pub fn stage(&self) -> Option<u32> {
        let rest = self.file.strip_prefix("stage-")?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// Title, stage and description, read from the preset's file.
    pub fn info(&self) -> Result<PresetInfo, DocumentError> {
        let topology = self.load()?;
        Ok(PresetInfo {
            file: self.file,
            title: if topology.name.is_empty() {
                self.file.trim_end_matches(".ron").to_string()
            } else {
                topology.name.clone()
            },
            stage: self.stage(),
            summary: summary(&topology.description),
            description: topology.description,
        })
    }
}

/// The default topology shown at start-up.
pub fn default_topology() -> Result<Topology, DocumentError> {
    match find(DEFAULT_PRESET) {
        Some(preset) => preset.load(),
        None => Ok(Topology::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn preset(file: &'static str) -> Preset {
        Preset { file, text: "" }
    }

    static MIXED: &[Preset] = &[
        preset("article-002-pool.ron"),
        preset("stage-2-split-db.ron"),
        preset("company-uber.ron"),
        preset("article-001-sizing.ron"),
        preset("stage-1-single-box.ron"),
        preset("exercise-photo-feed.ron"),
        preset("article-002-cache.ron"),
        preset("scratch.ron"),
        preset("article-x-bad.ron"),
    ];

    #[test]
    fn presets_are_grouped_by_file_prefix_in_shelf_order() {
        let groups = group(MIXED);
        let summary: Vec<(String, Vec<&str>)> = groups
            .iter()
            .map(|g| (g.title.clone(), g.presets.iter().map(|p| p.file).collect()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "The scaling staircase".to_string(),
                    vec!["stage-2-split-db.ron", "stage-1-single-box.ron"]
                ),
                ("Real companies".to_string(), vec!["company-uber.ron"]),
                ("Exercises".to_string(), vec!["exercise-photo-feed.ron"]),
                ("Article 001".to_string(), vec!["article-001-sizing.ron"]),
                (
                    "Article 002".to_string(),
                    vec!["article-002-pool.ron", "article-002-cache.ron"]
                ),
                (
                    "Other".to_string(),
                    vec!["scratch.ron", "article-x-bad.ron"]
                ),
            ]
        );
    }

    #[test]
    fn empty_shelves_are_left_out() {
        static ONLY_STAGES: &[Preset] = &[preset("stage-1-a.ron")];
        let groups = group(ONLY_STAGES);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].title, "The scaling staircase");
    }

    #[test]
    fn every_built_in_preset_is_on_exactly_one_shelf() {
        let groups = groups();
        let shelved: usize = groups.iter().map(|g| g.presets.len()).sum();
        assert_eq!(shelved, PRESETS.len());
        assert_eq!(groups[0].title, "The scaling staircase");
        assert_eq!(groups[0].presets.len(), 8);
        assert!(groups.iter().all(|g| g.title != "Other"));
    }

    #[test]
    fn stage_numbers_come_from_the_file_name() {
        assert_eq!(preset("stage-3-cache.ron").stage(), Some(3));
        assert_eq!(preset("stage-12-x.ron").stage(), Some(12));
        assert_eq!(preset("company-uber.ron").stage(), None);
        assert_eq!(preset("stage-x.ron").stage(), None);
    }

    #[test]
    fn info_reads_title_stage_and_description_from_the_file() {
        let info = find("stage-3-cache").unwrap().info().unwrap();
        assert_eq!(info.title, "Stage 3: cache in front of the database");
        assert_eq!(info.stage, Some(3));
        assert!(info.description.starts_with("A Redis cache answers 90%"));
        assert_eq!(
            info.summary,
            "A Redis cache answers 90% of the read queries, so the database sees a tenth of \
             them (000_2baac39b07cd3998.txt, stage 3: 1,160 reads/s become 116)."
        );
        for preset in PRESETS {
            let info = preset.info().unwrap();
            assert!(!info.title.is_empty(), "{}", preset.file);
            assert!(!info.summary.is_empty(), "{}", preset.file);
            assert!(info.summary.chars().count() <= SUMMARY_CHARS + 1);
        }
    }

    #[test]
    fn the_summary_is_the_first_sentence() {
        assert_eq!(summary("One. Two."), "One.");
        assert_eq!(summary("Ends here"), "Ends here");
        assert_eq!(
            summary("A 1.5x peak (e.g. Monday). More."),
            "A 1.5x peak (e.g. Monday)."
        );
        assert_eq!(summary("See file.txt for it. Next"), "See file.txt for it.");
        assert_eq!(summary(""), "");
        let long = "word ".repeat(60);
        let cut = summary(&long);
        assert!(
            cut.ends_with('…') && cut.chars().count() <= SUMMARY_CHARS + 1,
            "{cut}"
        );
    }
}
