//! Files in and out: topology documents (load, save, errors with line:column), the built-in
//! presets, and chart and CSV export.

pub mod document;
pub mod export;
pub mod presets;
