//! The output folder a run writes into: checked writable, locked, cleared of an interrupted
//! run's temporary files, and the report path refused when it would overwrite something else.

use std::path::{Path, PathBuf};

use super::plan::Input;
use super::report::{self, ReportWriter};
use super::{BatchConfig, Progress, lock, manifest};
use crate::error::{Error, Result};

/// Makes the output folder ready: writable, locked for this run (the returned file holds the
/// lock), cleared of an interrupted run's temporary files, with the report created.
pub(super) fn prepare_out(
    cfg: &BatchConfig,
    manifest: &manifest::Manifest,
    progress: &dyn Progress,
) -> Result<(lock::RunLock, PathBuf, ReportWriter)> {
    check_writable(&cfg.out)?;
    let lock = lock::acquire(&cfg.out, cfg.shard)?;
    // Under the lock, before the report or any output: a resume with other settings is refused.
    manifest::check_and_write(&cfg.out, manifest, cfg.overwrite)?;
    let stale = crate::fsutil::remove_stale_temps(&cfg.out);
    if stale > 0 {
        progress.println(&format!(
            "note: removed {stale} temporary file(s) left in {} by an interrupted run",
            cfg.out.display()
        ));
    }
    let path = report_path(cfg);
    let report = ReportWriter::create(&path)?;
    Ok((lock, path, report))
}

/// OUT/report.csv, or OUT/report-shard-I-of-N.csv, unless --report names it.
/// Refuses a report path that would overwrite something that is not a report: `--report
/// photo.jpg` once replaced the photo with CSV, and `--report MODELS/adain_decoder.onnx` the
/// model (`cp a a` refuses the same way). A report is a `.csv` path that is not an input, not in
/// the models folder, and, if it exists, empty or already an adain report.
pub(super) fn check_report_path(
    path: &Path,
    cfg: &BatchConfig,
    contents: &[Input],
    styles: &[Input],
) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::Invalid(format!(
            "--report {}: {what}; refusing to overwrite it with the CSV report",
            path.display()
        )))
    };
    let csv = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    if !csv {
        return refuse("not a .csv path".into());
    }
    // A FIFO, device or folder there (through a link too) is never written: opening a FIFO
    // for writing waits for a reader forever, and a device would be fed the report.
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        return refuse(format!("it is {}", crate::fsutil::describe(&m.file_type())));
    }
    // A link there is replaced, its target untouched (ReportWriter::create); only a file that
    // exists can be an input or a model.
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_symlink() => {}
        _ => return Ok(()),
    }
    let Ok(target) = path.canonicalize() else {
        return Ok(());
    };
    for (what, set) in [("content", contents), ("style", styles)] {
        if let Some(i) = set.iter().find(|i| crate::fsutil::same_file(&i.path, path)) {
            return refuse(format!("it is the {what} image {}", i.path.display()));
        }
    }
    if cfg
        .models
        .canonicalize()
        .is_ok_and(|m| target.starts_with(m))
    {
        return refuse(format!(
            "it is in the models folder {}",
            cfg.models.display()
        ));
    }
    if target.is_file() && !report::looks_like_report(&target) {
        return refuse("it holds something other than an adain report".into());
    }
    Ok(())
}

pub(super) fn report_path(cfg: &BatchConfig) -> PathBuf {
    cfg.report.clone().unwrap_or_else(|| match cfg.shard {
        Some(s) => cfg
            .out
            .join(format!("report-shard-{}-of-{}.csv", s.index, s.count)),
        None => cfg.out.join("report.csv"),
    })
}

/// Fails early, naming the folder, when outputs cannot be written there: the folder is made,
/// and a 512-byte probe (one block: any write fails on a full disk, and it stays under a small
/// `ulimit -f`) is written and removed, so a full disk stops the run before it
/// leaves a lock or an empty report behind.
fn check_writable(dir: &Path) -> Result<()> {
    crate::fsutil::create_named_folder(dir, "output folder")?;
    tempfile::Builder::new()
        .prefix(".adain-write-test-")
        .tempfile_in(dir)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&[0u8; 512])?;
            f.flush()
        })
        .map_err(|e| {
            Error::Invalid(format!(
                "output folder '{}' is not writable: {e}",
                dir.display()
            ))
        })
}
