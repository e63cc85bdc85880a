//! A one-line spinner on standard error while `sy` waits for something a person watches.
//!
//! `sy secret rotate` is its only user. It is kept here rather than taken from a progress-bar
//! crate because that crate's rate estimates call `pow`, which made every `sy` process load
//! libm at start (8 % of a `sy read` through the agent, docs/performance.md); a spinner needs
//! none of it.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The frames drawn in turn, one per tick.
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Return to the start of the line and erase it.
const CLEAR: &str = "\r\x1b[2K";

/// A spinner drawn by a thread of its own until [`Spinner::finish_and_clear`]; clones share it.
#[derive(Clone)]
pub(crate) struct Spinner {
    shared: Arc<Shared>,
}

struct Shared {
    /// Whether the spinner has finished, and where it draws (behind the lock, so that no frame
    /// is drawn after the line is cleared).
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    finished: bool,
    out: Box<dyn Write + Send>,
}

impl Spinner {
    /// Starts drawing `message` with a frame and the time elapsed to `out` every `tick`.
    pub(crate) fn start(out: Box<dyn Write + Send>, message: String, tick: Duration) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                finished: false,
                out,
            }),
            wake: Condvar::new(),
        });
        let drawing = Arc::clone(&shared);
        let started = Instant::now();
        // Without a thread there is no spinner, and waiting goes on without one.
        let _ = std::thread::Builder::new()
            .name("sy-spinner".into())
            .spawn(move || drawing.draw_until_finished(&message, started, tick));
        Self { shared }
    }

    /// Stops drawing and erases the line; later calls do nothing.
    pub(crate) fn finish_and_clear(&self) {
        let mut state = self.shared.lock();
        if !state.finished {
            state.finished = true;
            let _ = write!(state.out, "{CLEAR}");
            let _ = state.out.flush();
        }
        drop(state);
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn draw_until_finished(&self, message: &str, started: Instant, tick: Duration) {
        let mut state = self.lock();
        for frame in FRAMES.iter().cycle() {
            if state.finished {
                return;
            }
            let elapsed = elapsed(started.elapsed());
            let _ = write!(state.out, "{CLEAR}{frame} {message} ({elapsed})");
            let _ = state.out.flush();
            state = self
                .wake
                .wait_timeout(state, tick)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Whole seconds as `42s`, `3m 05s` or `1h 02m 03s`.
fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m {seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn elapsed_time_reads_as_a_person_would_say_it() {
        assert_eq!(elapsed(Duration::from_millis(999)), "0s");
        assert_eq!(elapsed(Duration::from_secs(59)), "59s");
        assert_eq!(elapsed(Duration::from_secs(60)), "1m 00s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m 05s");
        assert_eq!(elapsed(Duration::from_secs(3599)), "59m 59s");
        assert_eq!(elapsed(Duration::from_secs(3723)), "1h 02m 03s");
    }

    #[test]
    fn it_redraws_one_line_and_erases_it_at_the_end() {
        let out = Captured::default();
        let spinner = Spinner::start(
            Box::new(out.clone()),
            "rotating 7Kj9mNpQ2xRs".into(),
            Duration::from_millis(5),
        );
        while out.text().matches("rotating").count() < 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let clone = spinner.clone();
        clone.finish_and_clear();
        spinner.finish_and_clear();
        let drawn = out.text();
        // Each frame redraws the same line, never a new one, and the last write erases it.
        assert!(!drawn.contains('\n'), "{drawn:?}");
        assert!(drawn.starts_with(&format!("{CLEAR}⠋ rotating 7Kj9mNpQ2xRs (0s)")));
        assert!(drawn.contains(&format!("{CLEAR}⠙ rotating")), "{drawn:?}");
        assert!(drawn.ends_with(&format!("s){CLEAR}")), "{drawn:?}");
        assert_eq!(
            drawn.matches(CLEAR).count(),
            drawn.matches("rotating").count() + 1
        );

        // Nothing is drawn once it has finished.
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(out.text(), drawn);
    }
}
