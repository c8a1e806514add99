//! Atomic file writes: a temporary file in the destination's folder, then a rename, so an
//! interrupted run never leaves a truncated output behind.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` through a temporary sibling file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Like [`write_atomic`], with a writer callback; the temporary file is removed on failure.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    write(tmp.as_file_mut()).map_err(|e| Error::io(path, e))?;
    tmp.as_file_mut().flush().map_err(|e| Error::io(path, e))?;
    // tempfile creates 0600; outputs are ordinary files for the user and their group to read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Temporary files start with this and the writing process's id, so a later run can tell a
/// dead process's leftovers from a live concurrent run's files.
const TMP_PREFIX: &str = ".adain-tmp-";

fn tmp_prefix() -> String {
    format!("{TMP_PREFIX}{}-", std::process::id())
}

/// Removes temporary files in `dir` left by processes that no longer run (a SIGKILL during a
/// save); returns how many. Files of live processes (another shard writing here) are kept.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(TMP_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            // Liveness is read from /proc; elsewhere every process counts as alive.
            Some(p) => {
                p == me || !cfg!(target_os = "linux") || Path::new(&format!("/proc/{p}")).exists()
            }
            // Names without a process id come from older versions: stale by now.
            None => false,
        };
        if !alive && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// [`write_atomic`] for writers that insist on a path of their own (libtorch's safetensors
/// writer, plotters' bitmap backend): `write` gets a temporary sibling of `path`, renamed over
/// `path` when it succeeds and removed when it fails.
pub fn write_atomic_via_path(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tmp_path(path);
    let r = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// A temporary sibling of `path` (same folder, so the final rename is atomic). The process id
/// keeps concurrent processes apart.
fn tmp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{}{name}", tmp_prefix()))
}

/// Whether `a` and `b` are the same file: the same (device, inode) on Unix, so a hard link or
/// another spelling of the path counts (as `cp a a` refuses); canonical paths elsewhere.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}
