//! Graceful stop for both binaries: the first SIGINT (Ctrl-C) or SIGTERM (what Slurm and
//! Kubernetes send) raises a flag the work loops poll, so in-flight outputs are finished and
//! logs flushed; a second one exits at once, removing first the one file registered with
//! [`remove_on_abort`] (adain-batch's run lock: a lock-free leftover would be cleared by the
//! next run anyway, but a folder should not look in use after its run ended). The exit status
//! then says which signal it was (128 + signal number: 130, 143), as a shell reports a process
//! killed by it.

use std::ffi::{CString, c_char};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use signal_hook::consts::signal::{SIGINT, SIGTERM};
use signal_hook::flag;

/// The file a second signal removes before exiting (a leaked C string, or null).
static ABORT_REMOVE: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Registers `path` (or, with `None`, nothing) as the file a second signal removes before the
/// process exits. The previous registration's string is leaked on purpose: a signal handler may
/// be reading it, and it is a few bytes per run.
pub fn remove_on_abort(path: Option<&std::path::Path>) {
    use std::os::unix::ffi::OsStrExt;
    let ptr = path
        .and_then(|p| CString::new(p.as_os_str().as_bytes()).ok())
        .map_or(std::ptr::null_mut(), CString::into_raw);
    ABORT_REMOVE.store(ptr, Ordering::SeqCst);
}

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
            // Order matters (signal_hook::flag docs): the abort is registered first, so it fires
            // only on a signal that finds the flag already set (a second signal).
            let seen = stop.clone();
            // SAFETY: the action only loads atomics and calls unlink(2) and _exit(2), which are
            // async-signal-safe; it allocates, locks and frees nothing.
            let _ = unsafe {
                signal_hook::low_level::register(sig, move || {
                    if seen.load(Ordering::SeqCst) {
                        let path = ABORT_REMOVE.load(Ordering::SeqCst);
                        if !path.is_null() {
                            libc::unlink(path);
                        }
                        signal_hook::low_level::exit(128 + sig);
                    }
                })
            };
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

    /// The exit status after a stop: interrupted by the signal that came (SIGINT if none was
    /// recorded), i.e. 130 for Ctrl-C and 143 for SIGTERM.
    pub fn exit(&self) -> crate::console::Exit {
        let signal = match self.signal.load(Ordering::SeqCst) {
            0 => SIGINT as u8,
            s => s as u8,
        };
        crate::console::Exit::Interrupted { signal }
    }
}
