//! Graceful stop for both binaries: the first SIGINT (Ctrl-C) or SIGTERM (what Slurm and
//! Kubernetes send) raises a flag the work loops poll, so in-flight outputs are finished and
//! logs flushed; a second one exits at once. The exit status then says which signal it was
//! (128 + signal number: 130, 143), as a shell reports a process killed by it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::signal::{SIGINT, SIGTERM};
use signal_hook::flag;

/// The installed handlers' state.
pub struct Stop {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// Installs the handlers; `notice` is printed to stderr once, when the first signal arrives
    /// (by a watcher thread: a signal handler must not do I/O).
    pub fn install(notice: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // Order matters (signal_hook::flag docs): the conditional shutdown is registered
            // first, so it fires only on a signal that finds the flag already set.
            let _ = flag::register_conditional_shutdown(sig, 128 + sig, stop.clone());
            let _ = flag::register_usize(sig, signal.clone(), sig as usize);
            let _ = flag::register(sig, stop.clone());
        }
        let watch = stop.clone();
        std::thread::spawn(move || {
            while !watch.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            crate::console::say(&format!("\n{notice}"));
        });
        Stop { flag: stop, signal }
    }

    /// The flag the work loops poll.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// 128 + the signal that stopped the process (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(&self) -> u8 {
        match self.signal.load(Ordering::SeqCst) {
            0 => 130,
            s => (128 + s) as u8,
        }
    }
}
