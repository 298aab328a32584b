//! Opening a menu item by its label in kittest UI tests. A menu item's label may end with its
//! keyboard shortcut ("Open… Ctrl+O"), so the item is found by its label or that prefix.

use egui_kittest::kittest::{By, Queryable};
use egui_kittest::Harness;
use staircase::app::StaircaseApp;

pub fn click_menu(harness: &mut Harness<'static, StaircaseApp>, menu: &str, item: &str) {
    harness.get_by_label(menu).click();
    harness.run_steps(2);
    let with_shortcut = format!("{item} ");
    harness
        .get(By::new().predicate(|node| {
            node.label()
                .is_some_and(|label| label == item || label.starts_with(&with_shortcut))
        }))
        .click();
    harness.run_steps(3);
}
