//! Where finished jobs go: the run's driver hands each stage's [`JobOutcome`] here, and this is
//! the one place it becomes a [`Row`]: into the report (flushed per row), the run log's
//! counters, the progress bar and the contact sheets' thumbnails. An output is counted exactly
//! once whichever stage made it.

use std::collections::HashSet;

use super::outcome::{End, JobOutcome, Sink};
use super::plan::{Job, StyleRef};
use super::report::{ReportWriter, Row, RunLog, Status, ms};
use super::sheets::Thumbs;
use super::{Progress, RunContext};

pub(super) struct Recorder<'a> {
    inputs: RunContext<'a>,
    provider: String,
    precision: String,
    progress: &'a dyn Progress,
    report: ReportWriter,
    pub log: RunLog,
    /// Thumbnails of finished outputs, for the contact sheets.
    pub thumbs: Thumbs,
    /// Error messages already printed: a bad file's error is printed once, not once per output
    /// (every output still gets its row).
    printed: HashSet<String>,
    /// Why the report stopped taking rows, if it did.
    pub report_error: Option<String>,
    /// Outputs this run wrote (status ok), for the end-of-run check that they are still there.
    pub written: Vec<std::path::PathBuf>,
}

impl<'a> Recorder<'a> {
    pub fn new(
        inputs: RunContext<'a>,
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
            thumbs: Thumbs::default(),
            printed: HashSet::new(),
            report_error: None,
            written: Vec::new(),
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

    /// A job's row with what is known before any work: names, provider, precision, mask.
    fn base_row(&self, job: &Job) -> Row {
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

    /// The row of an outcome (the only place rows are filled), and its thumbnail.
    fn row(&self, o: JobOutcome) -> (Row, Option<image::RgbImage>) {
        let mut row = self.base_row(&o.job);
        if let Some(s) = o.sizes {
            (row.content_width, row.content_height) = s.content;
            (row.style_width, row.style_height) = s.style;
        }
        o.shares.apply(&mut row);
        let thumb = match o.end {
            End::Skipped { thumb } => {
                row.status = Some(Status::Skipped);
                thumb
            }
            End::Failed(e) => {
                row.status = Some(Status::Error);
                row.error = e;
                None
            }
            End::Saved(s) => {
                row.save_ms = ms(s.save_s);
                (row.output_width, row.output_height) = s.size;
                if let Some(v) = s.video {
                    row.frames = Some(v.frames);
                    row.video_s = Some((v.duration_s * 1e3).round() / 1e3);
                    row.frames_per_s =
                        Some((v.frames as f64 / v.wall_s.max(1e-9) * 1e3).round() / 1e3);
                }
                match s.written {
                    Ok(()) => row.status = Some(Status::Ok),
                    Err(e) => {
                        row.status = Some(Status::Error);
                        row.error = format!("cannot write output: {e}");
                    }
                }
                s.thumb
            }
        };
        row.close();
        (row, thumb)
    }

    /// Records one finished job: its row in the report and the counters, its error printed
    /// once, its thumbnail kept, the progress bar moved.
    pub fn record(&mut self, o: JobOutcome) {
        let (row, thumb) = self.row(o);
        if row.status == Some(Status::Ok) {
            self.written.push(row.output.clone().into());
        }
        if let Some(t) = thumb {
            self.thumbs.insert(row.output.clone().into(), t);
        }
        if row.status == Some(Status::Error) && self.printed.insert(row.error.clone()) {
            // One line per error: a newline in a file name cannot start a line of its own.
            let line = crate::console::escape_controls(&row.error, false);
            self.progress.println(&format!("error: {line}"));
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
    }
}

/// Resume: jobs whose output exists are handed to `sink` as skipped (with their thumbnails when
/// sheets are drawn); the rest are returned, in plan order. With `overwrite`, every job is
/// returned.
pub(super) fn skip_existing(
    inputs: RunContext<'_>,
    planned: &[Job],
    sink: &mut Sink<'_>,
) -> Vec<Job> {
    let cfg = inputs.cfg;
    let mut todo = Vec::new();
    for job in planned {
        if cfg.overwrite || !finished(&job.output, cfg.encoding.format(), cfg.verify) {
            todo.push(job.clone());
            continue;
        }
        let thumb = (cfg.grid != super::Grid::None)
            .then(|| image::open(&job.output).ok())
            .flatten()
            .map(|img| super::sheets::thumbnail(&img.to_rgb8()));
        sink(JobOutcome::skipped(job, thumb));
    }
    todo
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
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mp4"))
    {
        return crate::video::looks_like_mp4(path);
    }
    let mut head = [0u8; 16];
    let n = crate::fsutil::open_regular(path)
        .ok()
        .and_then(|mut f| f.read(&mut head).ok())
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
