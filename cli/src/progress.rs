//! Progress bars for long runs (`carbon replay` of a large day, the signing
//! phase of `carbon bench`), drawn on standard error only when it is a
//! terminal: a pipe or a file gets nothing, so scripts and logs stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar of `len` steps counting `unit` (e.g. "lines"), or a hidden one
/// (every call a no-op) when standard error is not a terminal.
pub fn bar(len: u64, what: &str, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = format!("{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{rate}}, {{eta}} left)");
    let style = ProgressStyle::with_template(&template)
        .expect("a valid template")
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ");
    ProgressBar::new(len).with_style(style).with_message(what.to_string())
}
