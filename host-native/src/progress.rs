//! Copy progress as the user sees it: skopeo's lines on a plain stream, live bars on a
//! terminal (one per blob, "done" or "skipped: already exists" when it ends, as skopeo draws
//! them), nothing with `-q`. Progress goes to standard output unless the image itself is
//! written there, then to standard error.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use skopeo_core::copy::{BlobKind, BlobOutcome, Report};
use skopeo_core::digest::Digest;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// How a copy reports progress.
pub enum Progress {
    /// `-q`: nothing.
    Quiet,
    /// Plain lines, on standard output or (`to_stderr`) standard error.
    Lines { to_stderr: bool },
    /// Live bars on a terminal.
    Bars(Bars),
    /// Plain lines kept for printing later (sync's parallel copies print in order).
    Buffered(std::sync::Arc<Mutex<String>>),
}

/// The bars of the blobs of the image being copied, in the order they started.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(Digest, ProgressBar)>>,
}

/// Digests in bars are shortened to this many hex digits, as skopeo shortens them.
const SHORT_DIGEST: usize = 12;

impl Progress {
    /// The progress for a copy to `dest` (the destination as the user wrote it).
    pub fn for_copy(dest: &str, quiet: bool) -> Progress {
        if quiet {
            return Progress::Quiet;
        }
        let to_stderr = dest.contains("/dev/stdout") || dest.contains("/proc/self/fd/1");
        let terminal = match to_stderr {
            true => std::io::stderr().is_terminal(),
            false => std::io::stdout().is_terminal(),
        };
        if !terminal {
            return Progress::Lines { to_stderr };
        }
        let target = match to_stderr {
            true => ProgressDrawTarget::stderr(),
            false => ProgressDrawTarget::stdout(),
        };
        Progress::Bars(Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(Vec::new()),
        })
    }
}

fn sized_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} {bar:30} {binary_bytes} / {binary_total_bytes} | {binary_bytes_per_sec}",
    )
    .expect("a valid template")
    .progress_chars("=> ")
}

fn unsized_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {spinner} {binary_bytes} | {binary_bytes_per_sec}")
        .expect("a valid template")
}

fn finished_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {msg}").expect("a valid template")
}

impl Bars {
    fn bars(&self) -> std::sync::MutexGuard<'_, Vec<(Digest, ProgressBar)>> {
        self.bars.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bar(&self, digest: &Digest) -> Option<ProgressBar> {
        let bars = self.bars();
        bars.iter()
            .find(|(d, _)| d == digest)
            .map(|(_, b)| b.clone())
    }

    /// Prints `text` after the bars: once every bar has finished they become plain lines
    /// (so what follows reads in order, as in skopeo's output); until then it goes above.
    fn println(&self, text: &str) {
        let mut bars = self.bars();
        if bars.iter().all(|(_, b)| b.is_finished()) {
            for (_, bar) in bars.drain(..) {
                self.multi.remove(&bar);
                let _ = self
                    .multi
                    .println(format!("{} {}", bar.prefix(), bar.message()));
            }
        }
        let _ = self.multi.println(text);
    }
}

impl Report for Progress {
    fn line(&self, text: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { to_stderr: true } => eprintln!("{text}"),
            Progress::Lines { to_stderr: false } => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Progress::Bars(b) => b.println(text),
            Progress::Buffered(buffer) => {
                let mut buffer = buffer.lock().unwrap_or_else(|p| p.into_inner());
                buffer.push_str(text);
                buffer.push('\n');
            }
        }
    }

    fn blob_started(&self, kind: BlobKind, digest: &Digest, size: Option<u64>) {
        let Progress::Bars(b) = self else {
            if !matches!(self, Progress::Quiet) {
                self.line(&kind.line(digest));
            }
            return;
        };
        if b.bar(digest).is_some() {
            return; // A repeated layer: one bar for both.
        }
        let hex = digest.hex();
        let short = &hex[..hex.len().min(SHORT_DIGEST)];
        let bar = match size {
            Some(size) if size > 0 => ProgressBar::new(size).with_style(sized_style()),
            _ => ProgressBar::no_length().with_style(unsized_style()),
        };
        let bar = b
            .multi
            .add(bar.with_prefix(format!("Copying {} {short}", kind.word())));
        bar.tick();
        b.bars().push((digest.clone(), bar));
    }

    fn blob_progress(&self, digest: &Digest, bytes: u64) {
        if let Progress::Bars(b) = self {
            if let Some(bar) = b.bar(digest) {
                bar.set_position(bytes);
            }
        }
    }

    fn blob_done(&self, digest: &Digest, outcome: BlobOutcome) {
        if let Progress::Bars(b) = self {
            if let Some(bar) = b.bar(digest) {
                bar.set_style(finished_style());
                bar.finish_with_message(match outcome {
                    BlobOutcome::Copied => "done",
                    BlobOutcome::Skipped => "skipped: already exists",
                });
            }
        }
    }
}
