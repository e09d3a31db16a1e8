//! `app::progress::Progress` drawn as indicatif bars on stderr (hidden when stderr is not a
//! terminal, as indicatif does): a spinner for a stage of unknown length, a bar otherwise.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::app::progress::Progress;

/// One bar at a time, replaced at each stage.
#[derive(Default)]
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(bar);
        }
    }
}

fn counted() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} {msg} {bar:30.cyan/blue} {human_pos}/{human_len}  {per_sec}  eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(counted()),
            None => {
                let s = ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} {prefix} [{elapsed_precise}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                s.enable_steady_tick(Duration::from_millis(120));
                s
            }
        };
        bar.set_prefix(stage.to_string());
        let old = self
            .bar
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(bar);
        if let Some(old) = old {
            old.finish_and_clear();
        }
    }

    fn set_total(&self, total: u64) {
        self.with(|b| {
            if b.length() != Some(total) {
                b.set_style(counted());
                b.set_length(total);
            }
        });
    }

    fn set(&self, done: u64) {
        self.with(|b| b.set_position(done));
    }

    fn inc(&self) {
        self.with(|b| b.inc(1));
    }

    fn note(&self, text: &str) {
        self.with(|b| b.set_message(text.to_string()));
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
