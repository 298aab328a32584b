//! The preset browser (File → Open preset…): the built-in presets on shelves, each with its
//! title, stage and first sentence; the selected one's whole description; Open or a double
//! click opens it through [`Command::OpenPreset`], so unsaved changes are asked about first.

use super::{theme, Command};
use crate::io::presets::{self, PresetInfo};
use egui::{RichText, Ui};

/// One shelf as the browser shows it.
struct Shelf {
    title: String,
    entries: Vec<Result<PresetInfo, String>>,
}

/// The browser window's state.
#[derive(Default)]
pub struct PresetBrowser {
    pub open: bool,
    /// The file of the preset whose description is shown.
    pub selected: Option<&'static str>,
    /// The presets' titles and descriptions, read once (the files are compiled in).
    shelves: Option<Vec<Shelf>>,
}

fn read_shelves() -> Vec<Shelf> {
    presets::groups()
        .into_iter()
        .map(|group| Shelf {
            title: group.title,
            entries: group
                .presets
                .iter()
                .map(|preset| {
                    preset
                        .info()
                        .map_err(|error| format!("{}: {error}", preset.file))
                })
                .collect(),
        })
        .collect()
}

/// The line under a title: the first sentence, after the stage unless the title names it.
fn stage_line(info: &PresetInfo) -> String {
    match info.stage {
        Some(stage) if !info.title.starts_with(&format!("Stage {stage}")) => {
            format!("Stage {stage} · {}", info.summary)
        }
        _ => info.summary.clone(),
    }
}

impl PresetBrowser {
    /// Opens the window.
    pub fn show_window(&mut self) {
        self.open = true;
    }

    /// Draws the window while it is open; a chosen preset becomes a command.
    pub fn show(&mut self, ctx: &egui::Context, commands: &mut Vec<Command>) {
        if !self.open {
            return;
        }
        let shelves = self.shelves.get_or_insert_with(read_shelves);
        let mut open = self.open;
        let mut chosen = None;
        // Tall enough for a shelf or two, never taller than the window.
        let height = (ctx.content_rect().height() - 160.0).clamp(200.0, 640.0);
        egui::Window::new("Open preset")
            .open(&mut open)
            .default_size([760.0, height + 80.0])
            .collapsible(false)
            .show(ctx, |ui| {
                ui.columns(2, |columns| {
                    egui::ScrollArea::vertical()
                        .id_salt("preset-list")
                        .max_height(height)
                        .auto_shrink([false, true])
                        .show(&mut columns[0], |ui| {
                            chosen = list(ui, shelves, &mut self.selected).or(chosen);
                        });
                    let info = self.selected.and_then(|file| {
                        shelves
                            .iter()
                            .flat_map(|s| s.entries.iter())
                            .filter_map(|e| e.as_ref().ok())
                            .find(|info| info.file == file)
                    });
                    chosen = details(&mut columns[1], info, height - 120.0).or(chosen);
                });
            });
        self.open = open;
        if let Some(file) = chosen {
            self.open = false;
            commands.push(Command::OpenPreset(file));
        }
    }
}

/// The shelves; returns the preset double-clicked, if any.
fn list(
    ui: &mut Ui,
    shelves: &[Shelf],
    selected: &mut Option<&'static str>,
) -> Option<&'static str> {
    let mut chosen = None;
    for shelf in shelves {
        ui.label(RichText::new(&shelf.title).heading());
        for entry in &shelf.entries {
            let info = match entry {
                Ok(info) => info,
                Err(error) => {
                    ui.colored_label(theme::error_text(), error);
                    continue;
                }
            };
            let response = ui.selectable_label(
                *selected == Some(info.file),
                RichText::new(&info.title).strong(),
            );
            if response.clicked() {
                *selected = Some(info.file);
            }
            if response.double_clicked() {
                chosen = Some(info.file);
            }
            // Left-aligned: the column's justified layout would stretch the words apart.
            ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                ui.label(
                    RichText::new(stage_line(info))
                        .small()
                        .color(theme::muted_text()),
                );
            });
            ui.add_space(4.0);
        }
        ui.add_space(8.0);
    }
    chosen
}

/// The selected preset's title and whole description, and the Open button.
fn details(ui: &mut Ui, info: Option<&PresetInfo>, height: f32) -> Option<&'static str> {
    ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
        details_left_aligned(ui, info, height)
    })
    .inner
}

fn details_left_aligned(
    ui: &mut Ui,
    info: Option<&PresetInfo>,
    height: f32,
) -> Option<&'static str> {
    let Some(info) = info else {
        ui.label("Select a preset to read what it shows.");
        return None;
    };
    ui.label(RichText::new(&info.title).heading());
    if let Some(stage) = info.stage {
        ui.label(format!("Stage {stage} of the scaling staircase"));
    }
    ui.label(
        RichText::new(format!("presets/{}", info.file))
            .small()
            .color(theme::muted_text()),
    );
    ui.separator();
    let mut chosen = None;
    if ui
        .button("Open")
        .on_hover_text("Opens this preset (you are asked about unsaved changes first).")
        .clicked()
    {
        chosen = Some(info.file);
    }
    egui::ScrollArea::vertical()
        .id_salt("preset-description")
        .max_height(height)
        .show(ui, |ui| {
            ui.label(&info.description);
        });
    chosen
}
