//! Where finished outputs go: one [`Row`] each, into the report (flushed per row), the run log's
//! counters, the progress bar and the contact sheets' thumbnails. Every stage hands its rows
//! here, so an output is counted exactly once whichever path made it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use image::RgbImage;

use super::plan::{Job, StyleRef};
use super::report::{ReportWriter, Row, RunLog, Status};
use super::{Inputs, Progress};
use crate::error::Result;

pub(super) struct Recorder<'a> {
    inputs: Inputs<'a>,
    provider: String,
    precision: String,
    pub progress: &'a dyn Progress,
    report: ReportWriter,
    pub log: RunLog,
    /// Thumbnails of finished outputs, by output path, for the contact sheets.
    pub thumbs: HashMap<PathBuf, RgbImage>,
    /// Error messages already printed: a bad file's error is printed once, not once per output
    /// (every output still gets its row).
    printed: HashSet<String>,
    /// Why the report stopped taking rows, if it did.
    pub report_error: Option<String>,
}

impl<'a> Recorder<'a> {
    pub fn new(
        inputs: Inputs<'a>,
        provider: String,
        precision: String,
        report: ReportWriter,
        progress: &'a dyn Progress,
    ) -> Self {
        Recorder {
            inputs,
            provider,
            precision,
            progress,
            report,
            log: RunLog::default(),
            thumbs: HashMap::new(),
            printed: HashSet::new(),
            report_error: None,
        }
    }

    /// How a job's style reads in the report: its path, or every path with its mix weight.
    fn style_label(&self, s: StyleRef) -> String {
        let styles = self.inputs.styles;
        match s {
            StyleRef::One(i) => styles[i].path.display().to_string(),
            StyleRef::Mix => {
                let w = self.inputs.cfg.mix.as_deref().unwrap_or(&[]);
                styles
                    .iter()
                    .zip(w)
                    .map(|(s, w)| format!("{}:{w}", s.path.display()))
                    .collect::<Vec<_>>()
                    .join(";")
            }
            // Every style, in the order the mask's regions take them.
            StyleRef::Masked => styles
                .iter()
                .map(|s| s.path.display().to_string())
                .collect::<Vec<_>>()
                .join(";"),
        }
    }

    /// A job's row with what is known before any work: names, provider, precision.
    pub fn base_row(&self, job: &Job) -> Row {
        Row {
            content: self.inputs.contents[job.content].path.display().to_string(),
            style: self.style_label(job.style),
            alpha: job.alpha,
            output: job.output.display().to_string(),
            provider: self.provider.clone(),
            precision: self.precision.clone(),
            mask: match job.style {
                StyleRef::Masked => self.inputs.masks[job.content]
                    .as_ref()
                    .map(|m| m.display().to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            },
            ..Default::default()
        }
    }

    /// Records a finished row (ok, skipped or error).
    pub fn emit(&mut self, mut row: Row) -> Result<()> {
        row.close();
        if row.status != Some(Status::Ok)
            && row.status != Some(Status::Skipped)
            && self.printed.insert(row.error.clone())
        {
            self.progress.println(&format!("error: {}", row.error));
        }
        self.log.record(&row);
        // A report that cannot be written (disk full) stops being written; the work goes on,
        // since every finished output is on disk and a rerun skips it.
        if self.report_error.is_none()
            && let Err(e) = self.report.write(&row)
        {
            self.progress.println(&format!(
                "error: cannot write the report ({e}); later rows are not recorded"
            ));
            self.report_error = Some(e.to_string());
        }
        self.progress.inc(1);
        Ok(())
    }

    /// An error row for each of `jobs`; `share` fills in the time they had already cost.
    pub fn error_rows(&mut self, jobs: &[&Job], err: &str, share: impl Fn(&mut Row)) -> Result<()> {
        for j in jobs {
            let mut row = self.base_row(j);
            row.status = Some(Status::Error);
            row.error = err.to_string();
            share(&mut row);
            self.emit(row)?;
        }
        Ok(())
    }

    /// Records an output of the save stage, keeping its thumbnail.
    pub fn saved(&mut self, s: super::save::Saved) -> Result<()> {
        if let Some(t) = s.thumb {
            self.thumbs.insert(PathBuf::from(&s.row.output), t);
        }
        self.emit(s.row)
    }

    /// Resume: jobs whose output exists are recorded as skipped (their thumbnails kept for the
    /// sheets); the rest are returned, in plan order. With `overwrite`, every job is returned.
    pub fn skip_existing(&mut self, planned: &[Job]) -> Result<Vec<Job>> {
        let cfg = self.inputs.cfg;
        let mut todo = Vec::new();
        for job in planned {
            if cfg.overwrite || !finished(&job.output, cfg.format, cfg.verify) {
                todo.push(job.clone());
                continue;
            }
            let mut row = self.base_row(job);
            row.status = Some(Status::Skipped);
            if cfg.grid != super::Grid::None
                && let Ok(img) = image::open(&job.output)
            {
                self.thumbs
                    .insert(job.output.clone(), super::sheets::thumbnail(&img.to_rgb8()));
            }
            self.emit(row)?;
        }
        Ok(todo)
    }
}

/// What resume trusts as a finished output: a regular file (not a link), non-empty, whose first
/// bytes are the format's signature (as the `image` crate sniffs it); with `verify`, one that
/// also decodes whole. Our writes are atomic (temporary file + rename), so an output of ours is
/// either absent or whole; what fails here was put there by something else (a 0-byte file, a
/// link to a text file, a copy cut short) and is made again, atomically.
pub fn finished(path: &std::path::Path, format: crate::imaging::Format, verify: bool) -> bool {
    use std::io::Read;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() == 0 {
        return false;
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let signed = image::guess_format(&head[..n]).is_ok_and(|f| f == format.image_format());
    // The pipeline's own loader: it also refuses a JPEG cut before its end marker, which the
    // decoder alone would fill in grey.
    let whole = crate::imaging::Sizing {
        short_side: 0,
        crop: false,
        max_pixels: crate::imaging::DEFAULT_MAX_PIXELS,
    };
    signed && (!verify || crate::imaging::load(path, &whole).is_ok())
}
