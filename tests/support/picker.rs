//! A file picker for UI tests: answers each dialog with whatever the test put in `next`
//! (nothing means the user cancelled). Never calls a real dialog.

use staircase::app::{FilePicker, Picked};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

#[derive(Clone, Default)]
pub struct FakePicker {
    pub next: Rc<RefCell<Option<PathBuf>>>,
}

impl FilePicker for FakePicker {
    fn open_file(&mut self) -> Picked {
        self.next.borrow_mut().take().into()
    }

    fn save_file(&mut self, _suggested_name: &str) -> Picked {
        self.next.borrow_mut().take().into()
    }

    fn pick_folder(&mut self) -> Picked {
        self.next.borrow_mut().take().into()
    }
}
