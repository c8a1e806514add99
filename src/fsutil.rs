//! Atomic file writes: a temporary file in the destination's folder, then a rename, so an
//! interrupted run never leaves a truncated output behind; making the folders they go in.

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
    create_folder(dir)?;
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

/// Makes folder `dir` and its parents. When something on the way is not a folder (`--out` given
/// a file's path), the error names it ([`not_a_folder`]), where the OS would say "Not a
/// directory" about a path below it.
pub fn create_folder(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| not_a_folder(dir).unwrap_or_else(|| Error::io(dir, e)))
}

/// [`create_folder`] for a folder the user named, saying which one (`role`, e.g. "output
/// folder"): "cannot make the output folder 'a.png/sub': 'a.png' is a regular file, not a
/// folder", or the OS's reason (permission denied, read-only file system).
pub fn create_named_folder(dir: &Path, role: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        let why = in_the_way(dir).unwrap_or_else(|| e.to_string());
        Error::Invalid(format!("cannot make the {role} '{}': {why}", dir.display()))
    })
}

/// The error for folder `dir` when it, or a folder it would be made in, exists and is not a
/// folder: "cannot make folder 'runs/r.csv/a': 'runs/r.csv' is a regular file, not a folder".
/// `None` when nothing on the way is in the way.
pub fn not_a_folder(dir: &Path) -> Option<Error> {
    let why = in_the_way(dir)?;
    Some(Error::Invalid(format!(
        "cannot make folder '{}': {why}",
        dir.display()
    )))
}

/// What stops folder `dir` being made, when it or one of its ancestors exists and is not a
/// folder: "'runs/r.csv' is a regular file, not a folder" (the nearest such path).
fn in_the_way(dir: &Path) -> Option<String> {
    dir.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find_map(|a| match std::fs::metadata(a) {
            Ok(m) if !m.is_dir() => Some(format!(
                "'{}' is {}, not a folder",
                a.display(),
                describe(&m.file_type())
            )),
            _ => None,
        })
}

/// Temporary files start with this and the writing process's id, so a later run can tell a
/// dead process's leftovers from a live concurrent run's files.
const TMP_PREFIX: &str = ".adain-tmp-";

/// The prefix of this process's temporary files (see [`remove_stale_temps`]).
pub fn tmp_prefix() -> String {
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

/// A file a command is about to write, for [`check_target`].
pub struct Target<'a> {
    /// The option that named it, for messages (e.g. `merge-reports -o`).
    pub option: &'a str,
    /// What the command writes there (e.g. `the merged CSV report`).
    pub writes: &'a str,
    /// Whether an existing regular file there is of the kind the command writes (so it may be
    /// replaced without `--force`).
    pub same_kind: &'a dyn Fn(&Path) -> bool,
    /// The command's inputs: none may be the target.
    pub inputs: &'a [std::path::PathBuf],
    /// `--force`: replace a regular file of another kind.
    pub force: bool,
}

/// The checks every command makes before writing a file (adain-batch's `--report` guard, for
/// every command): nothing but a regular file is replaced (a device node, FIFO, socket or
/// folder is refused: `-o /dev/null` must not turn the node into a file), no input of the same
/// command is overwritten (same device and inode), and a file of another kind only with
/// `--force`. The write itself then goes through a temporary file and a rename.
pub fn check_target(path: &Path, t: &Target<'_>) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::Invalid(format!(
            "{} {}: {why}; refusing to write {} there",
            t.option,
            path.display(),
            t.writes
        )))
    };
    // Followed through links: what matters is what a write would replace or feed.
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // "Not a directory": the folder it goes in is a file.
        Err(e) => {
            let in_the_way = path.parent().and_then(not_a_folder);
            return Err(in_the_way.unwrap_or_else(|| Error::io(path, e)));
        }
    };
    if !meta.file_type().is_file() {
        return refuse(format!("it is {}", describe(&meta.file_type())));
    }
    if let Some(i) = t.inputs.iter().find(|i| same_file(i, path)) {
        return refuse(format!(
            "it is one of this command's inputs ({})",
            i.display()
        ));
    }
    if !t.force && meta.len() > 0 && !(t.same_kind)(path) {
        return refuse(format!(
            "it holds something other than {} (--force replaces it)",
            t.writes
        ));
    }
    Ok(())
}

/// What a file that is not a regular file is, in words.
pub fn describe(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device node";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Whether the file at `path` begins with `prefix` (a format's signature or a CSV header).
pub fn starts_with(path: &Path, prefix: &[u8]) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; prefix.len()];
    open_regular(path)
        .and_then(|mut f| f.read_exact(&mut head).map_err(|e| Error::io(path, e)))
        .is_ok()
        && head == prefix
}

/// Whether `path` holds an ONNX model as our exporter and ONNX Runtime's tools write it: a
/// protobuf ModelProto opening with its `ir_version` field (tag 0x08).
pub fn is_onnx(path: &Path) -> bool {
    starts_with(path, b"\x08")
}

/// Whether `path` holds a safetensors file: an 8-byte header length, then the JSON header.
pub fn is_safetensors(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 9];
    open_regular(path)
        .and_then(|mut f| f.read_exact(&mut head).map_err(|e| Error::io(path, e)))
        .is_ok()
        && head[8] == b'{'
}

/// Opens `path` for reading only if it is a regular file: a FIFO is opened without blocking
/// (O_NONBLOCK) and refused, as are devices, sockets and folders, so reading an input can never
/// hang on a pipe with no writer or read a device until memory runs out.
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc_o_nonblock());
    }
    let f = opts.open(path).map_err(|e| Error::io(path, e))?;
    let ft = f.metadata().map_err(|e| Error::io(path, e))?.file_type();
    if !ft.is_file() {
        return Err(Error::Invalid(format!(
            "{}: it is {}, not a regular file",
            path.display(),
            describe(&ft)
        )));
    }
    Ok(f)
}

/// The whole of a regular file ([`open_regular`]: never a FIFO or device).
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// O_NONBLOCK on Linux and the BSDs (where it is 0x800 and 0x4); a regular file ignores it.
#[cfg(unix)]
fn libc_o_nonblock() -> i32 {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        0o4000
    } else {
        0x0004
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_under_a_file_is_refused_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("r.csv");
        std::fs::write(&file, "x").unwrap();
        for dir in [file.clone(), file.join("a/b")] {
            let e = create_folder(&dir).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "'{}' is a regular file, not a folder",
                    file.display()
                )),
                "{e}"
            );
        }
        // A write below it says the same, and a folder that can be made is.
        let e = write_atomic(&file.join("x.jpg"), b"1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a regular file, not a folder"), "{e}");
        // So does the check before a write there (`adain resize --out FILE`).
        let t = Target {
            option: "resize --out",
            writes: "a resized JPEG",
            same_kind: &|_| true,
            inputs: &[],
            force: false,
        };
        let e = check_target(&file.join("x.jpg"), &t)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a regular file, not a folder"), "{e}");
        // A folder the user named says which one it is.
        let e = create_named_folder(&file.join("sub"), "output folder")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "cannot make the output folder '{}': '{}' is a regular file, not a folder",
                file.join("sub").display(),
                file.display()
            )
        );
        create_folder(&d.path().join("new/deeper")).unwrap();
        assert!(d.path().join("new/deeper").is_dir());
    }

    #[test]
    fn targets_that_are_not_regular_files_inputs_or_of_the_kind_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let notes = d.path().join("notes.txt");
        std::fs::write(&notes, "my notes").unwrap();
        let csv = d.path().join("r.csv");
        std::fs::write(&csv, "content,style\n").unwrap();
        let is_csv = |p: &Path| starts_with(p, b"content,");
        let t = |force, inputs: &[std::path::PathBuf]| {
            let inputs = inputs.to_vec();
            move |p: &Path| {
                check_target(
                    p,
                    &Target {
                        option: "-o",
                        writes: "a report",
                        same_kind: &is_csv,
                        inputs: &inputs,
                        force,
                    },
                )
            }
        };
        assert!(t(false, &[])(&d.path().join("new.csv")).is_ok());
        assert!(t(false, &[])(&csv).is_ok());
        let e = t(false, &[])(&notes).unwrap_err().to_string();
        assert!(
            e.contains("something other than a report") && e.contains("--force"),
            "{e}"
        );
        assert!(t(true, &[])(&notes).is_ok());
        let e = t(true, std::slice::from_ref(&csv))(&csv)
            .unwrap_err()
            .to_string();
        assert!(e.contains("one of this command's inputs"), "{e}");
        let e = t(true, &[])(d.path()).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let e = t(true, &[])(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a device node"), "{e}");
        #[cfg(unix)]
        {
            let fifo = d.path().join("fifo.csv");
            let ok = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                let e = t(true, &[])(&fifo).unwrap_err().to_string();
                assert!(e.contains("FIFO"), "{e}");
                // Reading it is refused at once, not a wait for a writer.
                let e = open_regular(&fifo).unwrap_err().to_string();
                assert!(e.contains("FIFO"), "{e}");
            }
        }
        let e = open_regular(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("device node"), "{e}");
        assert!(open_regular(&csv).is_ok());
    }
}
