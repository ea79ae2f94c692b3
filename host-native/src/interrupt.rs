//! SIGINT, SIGTERM and SIGHUP while a copy runs: instead of dying with half-written files,
//! the copy is stopped where it stands and its destination aborted (left as it was), then
//! the process exits with the shell's status for the signal (128 + its number). A second
//! signal, or a clean-up that takes too long, ends the process at once.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
pub use skopeo_std_effects::interrupt::{received, signalled};
use std::time::Duration;

/// How long the clean-up may take before the process exits anyway.
const CLEAN_UP_LIMIT: Duration = Duration::from_secs(10);

/// Starts watching for the signals; call once, before the work starts.
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if !skopeo_std_effects::interrupt::notify(signal) {
                exit_now(signal);
            }
            std::thread::spawn(move || {
                std::thread::sleep(CLEAN_UP_LIMIT);
                exit_now(signal);
            });
        }
    });
}

/// Ends the process without waiting for the copy, removing at least its scratch space.
fn exit_now(signal: i32) -> ! {
    crate::archive::remove_scratch_dirs();
    std::process::exit(128 + signal)
}

/// An I/O error for synchronous work (packing an archive) that stops because of a signal.
pub fn check() -> std::io::Result<()> {
    skopeo_std_effects::interrupt::check()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::Interrupted, e.message))
}
