//! The CSV timing report and the run summary. The report file is created before any work starts
//! and every row is flushed as it is written, so an interrupted or crashed run keeps every
//! finished row. Shared stages are attributed evenly: a content image's load and encode time is
//! split over the outputs this run makes from it, likewise for a style image, and a batched
//! AdaIN/decoder call over the outputs in the batch, so each stage column sums to the stage's
//! total time. With the fused `adain_decoder.onnx` (exported since adain 0.1), AdaIN runs inside
//! the decoder call: its time is part of `decode_ms` and `adain_ms` is 0.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Outcome of one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Error,
}

/// One CSV row: one output image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    // Names and errors come from users' files: written so that no spreadsheet runs them.
    #[serde(with = "crate::csv_text")]
    pub content: String,
    #[serde(with = "crate::csv_text")]
    pub style: String,
    pub alpha: f32,
    pub content_width: u32,
    pub content_height: u32,
    pub style_width: u32,
    pub style_height: u32,
    #[serde(with = "crate::csv_text")]
    pub output: String,
    pub output_width: u32,
    pub output_height: u32,
    pub provider: String,
    /// The graphs' precision: fp32, fp16 or int8.
    pub precision: String,
    pub status: Option<Status>,
    #[serde(with = "crate::csv_text")]
    pub error: String,
    pub load_ms: f64,
    pub encode_content_ms: f64,
    pub encode_style_ms: f64,
    pub adain_ms: f64,
    pub decode_ms: f64,
    pub save_ms: f64,
    pub total_ms: f64,
    /// The mask file of a masked output (`--mask`); empty otherwise. Last, so the columns
    /// before it keep their places, and optional, so reports made before it still read.
    #[serde(default, with = "crate::csv_text")]
    pub mask: String,
    /// A video output's frames, the clip's seconds and the frames stylized per second of its
    /// video's wall time; empty for photos (and in reports made before videos).
    #[serde(default)]
    pub frames: Option<u64>,
    #[serde(default)]
    pub video_s: Option<f64>,
    #[serde(default)]
    pub frames_per_s: Option<f64>,
}

/// Milliseconds, rounded to the microsecond, from seconds.
pub fn ms(s: f64) -> f64 {
    (s * 1e3 * 1000.0).round() / 1000.0
}

/// What one output shares with others, before it is divided among them (see the module doc):
/// its content's load and encode (over `content_outputs`), its style's (over `style_outputs`),
/// and the AdaIN/decoder call (over `batch`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shares {
    pub content_load_s: f64,
    pub content_encode_s: f64,
    pub content_outputs: usize,
    pub style_load_s: f64,
    pub style_encode_s: f64,
    pub style_outputs: usize,
    pub adain_s: f64,
    pub decode_s: f64,
    pub batch: usize,
}

impl Shares {
    /// Only a content's load, split over its `outputs`: what failed outputs had cost.
    pub fn content_load(load_s: f64, outputs: usize) -> Self {
        Shares {
            content_load_s: load_s,
            content_outputs: outputs,
            ..Default::default()
        }
    }

    /// Writes this output's share of each stage into `row`.
    pub fn apply(&self, row: &mut Row) {
        let c = self.content_outputs.max(1) as f64;
        let s = self.style_outputs.max(1) as f64;
        let b = self.batch.max(1) as f64;
        row.load_ms = ms(self.content_load_s / c + self.style_load_s / s);
        row.encode_content_ms = ms(self.content_encode_s / c);
        row.encode_style_ms = ms(self.style_encode_s / s);
        row.adain_ms = ms(self.adain_s / b);
        row.decode_ms = ms(self.decode_s / b);
    }
}

impl Row {
    /// Sets `total_ms` to the sum of the stage columns.
    pub fn close(&mut self) {
        self.total_ms = ms((self.load_ms
            + self.encode_content_ms
            + self.encode_style_ms
            + self.adain_ms
            + self.decode_ms
            + self.save_ms)
            / 1e3);
    }
}

/// Outputs by outcome and stage seconds summed over rows: what the summary reports.
#[derive(Debug, Clone, Default)]
pub struct RunLog {
    /// Video frames written (over every video output).
    pub video_frames: u64,
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub totals: StageTotals,
}

impl RunLog {
    pub fn record(&mut self, row: &Row) {
        match row.status {
            Some(Status::Ok) => self.ok += 1,
            Some(Status::Skipped) => self.skipped += 1,
            Some(Status::Error) | None => self.failed += 1,
        }
        if row.status == Some(Status::Ok) {
            self.video_frames += row.frames.unwrap_or(0);
        }
        self.totals.add(row);
    }
}

/// Appends rows to the report, flushing each.
pub struct ReportWriter {
    file: File,
    path: PathBuf,
    /// Bytes of whole lines written so far: a failed write is cut back to this.
    len: u64,
}

/// Whether the file at `path` is empty or begins like an adain report (the first three columns
/// of the header, so that reports of earlier versions still count), read from its first bytes.
pub fn looks_like_report(path: &Path) -> bool {
    // Both read through fsutil::open_regular: a FIFO named like a report never blocks here.
    let empty =
        crate::fsutil::open_regular(path).is_ok_and(|f| f.metadata().is_ok_and(|m| m.len() == 0));
    empty || crate::fsutil::starts_with(path, b"content,style,alpha,")
}

impl ReportWriter {
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fsutil::create_folder(d)?;
        }
        // A symbolic link at the report's path is replaced, not written through (as outputs and
        // the summary are): the run must not overwrite whatever file the link points to.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = ReportWriter {
            file,
            path: path.into(),
            len: 0,
        };
        // The header goes out now, so even a run that fails at once leaves a well-formed file.
        let header = csv_line(|c| c.write_record(header()), path)?;
        if let Err(e) = w.append(&header) {
            // Not even the header fits (a full disk): leave no empty report behind.
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        Ok(w)
    }

    /// Appends one row as one whole line: a failed write (disk full) is cut back, so the file
    /// only ever holds whole rows.
    pub fn write(&mut self, row: &Row) -> Result<()> {
        let line = csv_line(|c| c.serialize(row), &self.path)?;
        self.append(&line)
    }

    fn append(&mut self, line: &[u8]) -> Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        match self.file.write_all(line).and_then(|_| self.file.flush()) {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(Error::io(&self.path, e))
            }
        }
    }
}

/// One CSV record as bytes.
fn csv_line(
    f: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
    path: &Path,
) -> Result<Vec<u8>> {
    let mut c = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    f(&mut c).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    c.into_inner()
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// The report's column names: [`Row`]'s serde field names, so the two cannot drift apart.
pub fn header() -> Vec<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(Row::default())
        .expect("a default row serialises");
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let names = r.headers().expect("the line just written");
    names.iter().map(String::from).collect()
}

/// Reads a report back (merging shards, tests).
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let mut r = csv::Reader::from_reader(crate::fsutil::open_regular(path)?);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
        .iter()
        .map(String::from)
        .collect();
    if header != self::header() {
        return Err(Error::Invalid(format!(
            "{}: not an adain-batch report (header {header:?})",
            path.display()
        )));
    }
    r.deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| Error::Invalid(format!("{}: row {}: {e}", path.display(), i + 2)))
        })
        .collect()
}

/// Whole-run figures, printed and saved as `<report>.summary.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub outputs_planned: usize,
    pub outputs_ok: usize,
    pub outputs_skipped: usize,
    pub outputs_failed: usize,
    pub interrupted: bool,
    pub wall_s: f64,
    pub outputs_per_s: f64,
    pub ms_per_output: f64,
    pub stage_s: StageTotals,
    pub provider: String,
    #[serde(default)]
    pub precision: String,
    /// ONNX Runtime threads per session (0: one per core).
    pub ort_threads: usize,
    /// Contents in flight at once, each on its own sessions of `ort_threads` threads; stage
    /// seconds are summed over them, so they can add up to more than the wall time.
    #[serde(default = "one")]
    pub lanes: usize,
    pub batch_size: usize,
    pub mode: String,
    pub adain_version: String,
    pub onnxruntime: String,
    pub models: String,
    pub decoder: String,
    /// Why the report stopped taking rows (e.g. disk full), if it did: the run went on and its
    /// outputs are on disk, but the report is incomplete (exit status 2).
    #[serde(default)]
    pub report_error: Option<String>,
    /// Video frames written and the seconds the video stage took (0 without videos).
    #[serde(default)]
    pub video_frames: u64,
    #[serde(default)]
    pub video_s: f64,
}

fn one() -> usize {
    1
}

/// Seconds spent per stage, summed over rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageTotals {
    pub load: f64,
    pub encode_content: f64,
    pub encode_style: f64,
    pub adain: f64,
    pub decode: f64,
    pub save: f64,
}

impl StageTotals {
    pub fn add(&mut self, r: &Row) {
        self.load += r.load_ms / 1e3;
        self.encode_content += r.encode_content_ms / 1e3;
        self.encode_style += r.encode_style_ms / 1e3;
        self.adain += r.adain_ms / 1e3;
        self.decode += r.decode_ms / 1e3;
        self.save += r.save_ms / 1e3;
    }
}

impl Summary {
    /// Human-readable lines for stderr.
    pub fn render(&self) -> String {
        let s = &self.stage_s;
        let mut text = format!(
            "{ok} written, {sk} skipped (already there), {fail} failed{int} of {planned} planned\n\
             wall {wall:.2} s, {rate:.2} outputs/s, {ms:.1} ms per output ({mode}, provider {prov}, {prec}, batch {bs})\n\
             stages (s): load {:.2}, encode content {:.2}, encode style {:.2}, adain {:.2}, decode {:.2}, save {:.2}",
            s.load,
            s.encode_content,
            s.encode_style,
            s.adain,
            s.decode,
            s.save,
            ok = self.outputs_ok,
            sk = self.outputs_skipped,
            fail = self.outputs_failed,
            int = if self.interrupted {
                " (interrupted)"
            } else {
                ""
            },
            planned = self.outputs_planned,
            wall = self.wall_s,
            rate = self.outputs_per_s,
            ms = self.ms_per_output,
            mode = self.mode,
            prov = self.provider,
            prec = self.precision,
            bs = self.batch_size,
        );
        if self.video_frames > 0 {
            text.push_str(&format!(
                "\nvideo: {} frames written in {:.2} s, {:.2} frames/s",
                self.video_frames,
                self.video_s,
                self.video_frames as f64 / self.video_s.max(1e-9)
            ));
        }
        if let Some(e) = &self.report_error {
            text.push_str(&format!("\nreport incomplete: {e}"));
        }
        text
    }

    pub fn save(&self, report: &Path) -> Result<PathBuf> {
        let path = report.with_extension("summary.json");
        crate::fsutil::check_target(
            &path,
            &crate::fsutil::Target {
                option: "--report (its summary beside it)",
                writes: "the run summary (JSON)",
                same_kind: &|p| crate::fsutil::starts_with(p, b"{"),
                inputs: &[],
                force: false,
            },
        )?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// What [`merge`] made of its reports.
#[derive(Debug)]
pub struct Merged {
    /// One row per output, sorted by output path.
    pub rows: Vec<Row>,
    /// The reports merged, each file once.
    pub reports: usize,
    /// Reports given again (the same file, by any path), merged once: (repeat, first).
    pub repeated: Vec<(PathBuf, PathBuf)>,
}

/// Merges shard reports: rows of all, one per output (an `ok` row wins over `skipped`/`error`
/// rows for the same output), sorted by output path. A file given twice (a repeated argument, a
/// link) is read once and said, so the count of reports is the count of shards.
pub fn merge(paths: &[PathBuf]) -> Result<Merged> {
    let mut by_out: std::collections::BTreeMap<String, Row> = std::collections::BTreeMap::new();
    let mut read_already: Vec<&PathBuf> = Vec::new();
    let mut repeated = Vec::new();
    for p in paths {
        if let Some(first) = read_already.iter().find(|q| crate::fsutil::same_file(q, p)) {
            repeated.push((p.clone(), (*first).clone()));
            continue;
        }
        read_already.push(p);
        // Rows are written whole, each ending its line: a report that does not end with one
        // was cut inside its last row (a shard killed mid-write, or still running).
        let bytes = crate::fsutil::read_regular(p)?;
        if bytes.last().is_some_and(|&b| b != b'\n') {
            return Err(Error::Invalid(format!(
                "{}: its last row is cut short (no line end): is that shard still running, or was it killed mid-write? Rerun it, then merge",
                p.display()
            )));
        }
        for row in read(p)? {
            let better = match by_out.get(&row.output) {
                None => true,
                Some(old) => rank(row.status) > rank(old.status),
            };
            if better {
                by_out.insert(row.output.clone(), row);
            }
        }
    }
    Ok(Merged {
        rows: by_out.into_values().collect(),
        reports: read_already.len(),
        repeated,
    })
}

fn rank(s: Option<Status>) -> u8 {
    match s {
        Some(Status::Ok) => 3,
        Some(Status::Skipped) => 2,
        Some(Status::Error) => 1,
        None => 0,
    }
}

/// Writes rows as a report file (atomically).
pub fn write_all(path: &Path, rows: &[Row]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(header())
        .map_err(|e| Error::Invalid(e.to_string()))?;
    for r in rows {
        w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_merge_prefers_ok() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.csv"), d.path().join("b.csv"));
        let row = |out: &str, st| Row {
            output: out.into(),
            status: Some(st),
            alpha: 0.5,
            ..Default::default()
        };
        let mut w = ReportWriter::create(&a).unwrap();
        w.write(&row("x.jpg", Status::Error)).unwrap();
        w.write(&row("y.jpg", Status::Ok)).unwrap();
        drop(w);
        write_all(
            &b,
            &[row("x.jpg", Status::Ok), row("z.jpg", Status::Skipped)],
        )
        .unwrap();
        assert_eq!(read(&a).unwrap().len(), 2);
        let m = merge(&[a.clone(), b.clone()]).unwrap();
        assert_eq!((m.reports, m.repeated.len()), (2, 0));
        assert_eq!(
            m.rows
                .iter()
                .map(|r| (r.output.as_str(), r.status.unwrap()))
                .collect::<Vec<_>>(),
            [
                ("x.jpg", Status::Ok),
                ("y.jpg", Status::Ok),
                ("z.jpg", Status::Skipped)
            ]
        );
        // The same report again, by another path: read once, said, the same rows.
        let again = d.path().join(".").join("a.csv");
        let m2 = merge(&[a.clone(), b, again.clone()]).unwrap();
        assert_eq!(m2.reports, 2);
        assert_eq!(m2.repeated, [(again, a)]);
        assert_eq!(m2.rows, m.rows);
        std::fs::write(d.path().join("bad.csv"), "a,b\n1,2\n").unwrap();
        assert!(
            read(&d.path().join("bad.csv"))
                .unwrap_err()
                .to_string()
                .contains("not an adain-batch report")
        );
    }
}
