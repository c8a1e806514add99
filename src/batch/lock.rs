//! Who is running in an output folder. Each run holds an advisory lock (flock) on a file naming
//! its shard spec (`OUT/.adain-run-all`, `OUT/.adain-run-shard-I-of-N`); a new run refuses to
//! start while a run whose share of the work overlaps its own holds one. Shard `I/N` owns the
//! jobs `[I*J/N, (I+1)*J/N)` (plan::shard), so two specs can write the same files exactly when the
//! intervals `[I/N, (I+1)/N)` overlap: an unsharded run overlaps every shard, `0/2` overlaps
//! `0/3` and `1/3`, while `0/2` and `1/2` share a folder safely (the many-machines case).
//!
//! The scan and the taking of one's own lock happen under a short lock on `OUT/.adain-lock`, so
//! two runs starting together cannot both miss each other. A run's file is removed when it ends;
//! one left by a killed process holds no lock and is removed by the next run. Locks are taken on
//! files opened for writing, which flock emulates with whole-file POSIX locks on NFS, so runs on
//! different machines sharing one folder see each other too.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::plan::Shard;
use crate::error::{Error, Result};

const MUTEX: &str = ".adain-lock";
const PREFIX: &str = ".adain-run-";
/// How long a start waits for another start's scan (milliseconds each) before giving up.
const MUTEX_WAIT: Duration = Duration::from_secs(10);

/// This run's hold on its shard spec in the folder; released (and its file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    out: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

fn spec_name(s: Option<Shard>) -> String {
    match s {
        Some(s) => format!("{PREFIX}shard-{}-of-{}", s.index, s.count),
        None => format!("{PREFIX}all"),
    }
}

/// The spec a lock file's name records; `None` inside `Some` is the unsharded run.
fn parse_spec(name: &str) -> Option<Option<Shard>> {
    let rest = name.strip_prefix(PREFIX)?;
    if rest == "all" {
        return Some(None);
    }
    let (i, n) = rest.strip_prefix("shard-")?.split_once("-of-")?;
    let (index, count) = (i.parse().ok()?, n.parse().ok()?);
    (index < count).then_some(Some(Shard { index, count }))
}

fn describe(s: Option<Shard>) -> String {
    match s {
        Some(s) => format!("shard {}/{}", s.index, s.count),
        None => "an unsharded run".into(),
    }
}

/// Whether two specs' shares `[I/N, (I+1)/N)` of the work overlap (unsharded = `[0, 1)`).
pub fn overlaps(a: Option<Shard>, b: Option<Shard>) -> bool {
    let f = |s: Option<Shard>| s.map_or((0, 1), |s| (s.index, s.count));
    let ((ia, na), (ib, nb)) = (f(a), f(b));
    // ia/na < (ib+1)/nb and ib/nb < (ia+1)/na, in integers.
    ia * nb < (ib + 1) * na && ib * na < (ia + 1) * nb
}

/// Opens `path` for writing without following a symbolic link there (one is removed first:
/// opening through a dangling link once created a file outside --out).
fn open_plain(path: &Path, create: bool) -> std::io::Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(path)?;
    }
    OpenOptions::new()
        .create(create)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Holds the folder's start-up lock for the duration of `f`.
fn with_mutex<T>(out: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let path = out.join(MUTEX);
    let m = open_plain(&path, true).map_err(|e| Error::io(&path, e))?;
    let start = Instant::now();
    loop {
        match m.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < MUTEX_WAIT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Invalid(format!(
                    "output folder '{}': its start-up lock {} has been held for {} s (an older adain-batch run in the folder?); wait for it, or use another --out",
                    out.display(),
                    path.display(),
                    MUTEX_WAIT.as_secs()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
    let r = f();
    let _ = m.unlock();
    r
}

/// Takes this run's lock on `out` for `spec`, or says which running spec overlaps it.
pub fn acquire(out: &Path, spec: Option<Shard>) -> Result<RunLock> {
    with_mutex(out, || {
        let entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(PREFIX))
            .collect();
        names.sort();
        for name in names {
            let path = out.join(&name);
            let running = match open_plain(&path, false) {
                Ok(f) => match f.try_lock() {
                    Ok(()) => false,
                    Err(std::fs::TryLockError::WouldBlock) => true,
                    Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
                },
                Err(_) => false,
            };
            if !running {
                // Left by a run that was killed (or not a lock at all): under the start-up lock
                // nobody else is taking it, so it can go.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(other) = parse_spec(&name) else {
                continue;
            };
            if overlaps(spec, other) {
                let same = other == spec;
                return Err(Error::Invalid(if same {
                    format!(
                        "output folder '{}' is in use by another adain-batch run ({}, lock {}); wait for it, or use another --out or --shard",
                        out.display(),
                        describe(other),
                        path.display()
                    )
                } else {
                    format!(
                        "output folder '{}' is in use by another adain-batch run ({}, lock {}) whose share of the work overlaps this run's ({}): both would write the same outputs; wait for it, or give every run in a folder shards of one N",
                        out.display(),
                        describe(other),
                        path.display(),
                        describe(spec)
                    )
                }));
            }
        }
        let path = out.join(spec_name(spec));
        let file = open_plain(&path, true).map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                // A second Ctrl-C / SIGTERM exits at once; it removes this file first.
                crate::signals::remove_on_abort(Some(&path));
                Ok(RunLock {
                    out: out.into(),
                    path,
                    file: Some(file),
                })
            }
            // Only if a run of an older version, which does not take the start-up lock, took it
            // between the scan and now.
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
                "output folder '{}' is in use by another adain-batch run (lock {}); wait for it, or use another --out or --shard",
                out.display(),
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    })
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed under the start-up lock, so a starting run never takes a lock on a file that
        // is about to disappear; on failure the file stays, lock-free, for the next run to clear.
        crate::signals::remove_on_abort(None);
        let (path, file) = (self.path.clone(), self.file.take());
        let _ = with_mutex(&self.out, || {
            let _ = std::fs::remove_file(&path);
            drop(file);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(index: usize, count: usize) -> Option<Shard> {
        Some(Shard { index, count })
    }

    #[test]
    fn overlapping_specs_are_those_whose_shares_of_the_work_meet() {
        assert!(overlaps(None, None));
        assert!(overlaps(None, s(1, 2)));
        assert!(overlaps(s(0, 2), s(0, 2)));
        assert!(!overlaps(s(0, 2), s(1, 2)));
        assert!(overlaps(s(0, 2), s(0, 3)) && overlaps(s(0, 2), s(1, 3)));
        assert!(!overlaps(s(0, 2), s(2, 3)));
        assert!(!overlaps(s(1, 4), s(1, 2)) && overlaps(s(2, 4), s(1, 2)));
        // Checked against the job slices themselves: disjoint specs never share a job.
        for (a, b) in [(s(0, 2), s(1, 2)), (s(0, 2), s(2, 3)), (s(3, 8), s(1, 2))] {
            for jobs in 1..40usize {
                let slice = |x: Option<Shard>| {
                    let x = x.unwrap();
                    (x.index * jobs / x.count)..((x.index + 1) * jobs / x.count)
                };
                let (ra, rb) = (slice(a), slice(b));
                assert!(
                    ra.end <= rb.start || rb.end <= ra.start,
                    "{a:?} {b:?} {jobs}"
                );
            }
        }
    }

    #[test]
    fn spec_names_read_back() {
        for spec in [None, s(0, 1), s(3, 8)] {
            let name = spec_name(spec);
            assert_eq!(parse_spec(&name), Some(spec));
        }
        assert!(parse_spec(".adain-run-shard-3-of-2").is_none());
        assert!(parse_spec("photo.jpg").is_none());
    }
}
