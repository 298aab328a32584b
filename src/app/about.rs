//! "About this design": the open document's name and description at the top of the right
//! panel, readable at a glance and editable as text. Reading never changes the document;
//! editing is an edit like any other (unsaved, undoable).

use super::{theme, StaircaseApp};
use egui::{RichText, Ui};

/// The collapsible section with the document's name and description.
pub fn about_section(app: &mut StaircaseApp, ui: &mut Ui) {
    egui::CollapsingHeader::new("About this design")
        .id_salt("about-this-design")
        .show(ui, |ui| {
            let editing_id = ui.id().with("editing");
            let mut editing = ui.data(|d| d.get_temp::<bool>(editing_id).unwrap_or(false));
            if editing {
                ui.label("Name");
                ui.add(
                    egui::TextEdit::singleline(&mut app.topology.name).desired_width(f32::INFINITY),
                );
                ui.label("Description");
                ui.add(
                    egui::TextEdit::multiline(&mut app.topology.description)
                        .desired_width(f32::INFINITY)
                        .desired_rows(6),
                );
                if ui.button("Done").clicked() {
                    editing = false;
                }
            } else {
                let name = if app.topology.name.is_empty() {
                    "Untitled design"
                } else {
                    app.topology.name.as_str()
                };
                ui.label(RichText::new(name).strong());
                if app.topology.description.is_empty() {
                    ui.label(RichText::new("No description yet.").color(theme::muted_text()));
                } else {
                    ui.label(&app.topology.description);
                }
                if ui
                    .button("Edit name and description")
                    .on_hover_text("Both are saved in the file.")
                    .clicked()
                {
                    editing = true;
                }
            }
            ui.data_mut(|d| d.insert_temp(editing_id, editing));
        });
}
