//! The loss log: one `losses.csv` row per `--log-every` iterations (means over the window), with
//! the gradient norm, skipped steps and, on validation iterations, the validation scores. The
//! header comes from [`LossRow`]'s field names (serde) with the loss terms' columns, named by
//! [`terms::NAMES`], spliced in after `epoch`: the struct and the term list are its only owners.
//!
//! Step values are summed on the device and read back once per row, so logging costs one host
//! synchronisation per row, not one per step.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::terms::{self, Terms, Weighting};
use crate::error::{Error, Result};

/// One line of `losses.csv`. Validation columns are empty on rows without a validation pass.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LossRow {
    pub iteration: u64,
    pub epoch: f64,
    /// Each term's mean over the window, unweighted, by name: the columns after `epoch`, one per
    /// [`terms::NAMES`] entry, read and written by [`read`] and `write` (not by serde, so a
    /// new term needs no line here). `None` where an older log has no such column (the style
    /// layers were not always kept; the identity and alpha terms came later).
    #[serde(skip)]
    pub terms: Terms<Option<f64>>,
    /// The style terms summed over layers (unweighted); in every log, old ones included.
    pub style: f64,
    /// The weighted sum the steps minimised (means over the window).
    pub total: f64,
    pub lr: f64,
    /// Mean global gradient norm before clipping.
    #[serde(default)]
    pub grad_norm: f64,
    /// Steps skipped in the window because the loss or gradient was not finite.
    #[serde(default)]
    pub skipped: u64,
    pub images_per_s: f64,
    pub elapsed_s: f64,
    #[serde(default)]
    pub val_content: Option<f64>,
    #[serde(default)]
    pub val_style: Option<f64>,
    /// Relative style-statistics error (see [`crate::metrics::style_error`]).
    #[serde(default)]
    pub val_style_error: Option<f64>,
    /// Luma SSIM of the alpha-1 output against its content.
    #[serde(default)]
    pub val_ssim: Option<f64>,
    /// Luma SSIM of the reconstruction (alpha 0) against the content.
    #[serde(default)]
    pub val_ssim_alpha0: Option<f64>,
}

impl LossRow {
    /// The row as people read it (progress line, end report, plot): content, the style terms
    /// summed over layers as `style`, then every other term, each with its [`terms::NAMES`]
    /// name. A term an older log lacks reads 0, as one the run did not compute.
    pub fn summary(&self) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> = Vec::with_capacity(Terms::<f64>::LEN);
        for (name, v) in self.terms.named() {
            if terms::is_style_layer(name) {
                if !out.iter().any(|(n, _)| *n == "style") {
                    out.push(("style", self.style));
                }
                continue;
            }
            out.push((name, v.unwrap_or(0.0)));
        }
        out
    }

    /// One term of [`LossRow::summary`] by name (0 when the row has no such term).
    pub fn term(&self, name: &str) -> f64 {
        self.summary()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, v)| v)
    }
}

/// Step values summed on the device since the last row.
pub struct LogWindow {
    /// The [`Terms`] in their fixed order, then the gradient norm, summed over applied steps.
    sums: Option<Tensor>,
    /// Applied steps, summed on the device.
    applied: Option<Tensor>,
    pub steps: usize,
    images: usize,
    start: Instant,
}

impl LogWindow {
    pub fn new() -> Self {
        LogWindow {
            sums: None,
            applied: None,
            steps: 0,
            images: 0,
            start: Instant::now(),
        }
    }

    /// Adds one step: its loss terms, gradient norm and applied flag (0-dim tensors).
    pub fn add(
        &mut self,
        terms: Terms<&Tensor>,
        grad_norm: &Tensor,
        applied: &Tensor,
        images: usize,
    ) {
        let mut values = terms.into_vec();
        values.push(grad_norm);
        let flat: Vec<Tensor> = values
            .into_iter()
            .map(|t| t.detach().to_kind(Kind::Float).reshape([1]))
            .collect();
        let v = Tensor::cat(&flat, 0) * applied;
        self.sums = Some(match self.sums.take() {
            Some(s) => s + v,
            None => v,
        });
        self.applied = Some(match self.applied.take() {
            Some(a) => a + applied,
            None => applied.shallow_clone(),
        });
        self.steps += 1;
        self.images += images;
    }

    /// The window's row (means over applied steps), and a new empty window.
    pub fn close(
        &mut self,
        iteration: u64,
        epoch: f64,
        lr: f64,
        elapsed_s: f64,
        w: Weighting,
    ) -> LossRow {
        let rate = self.images as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        let n_values = Terms::<f64>::LEN + 1;
        let sums: Vec<f64> = match &self.sums {
            Some(s) => Vec::<f64>::try_from(s.to_kind(Kind::Double).to_device(tch::Device::Cpu))
                .expect("the terms' and the gradient norm's sums"),
            None => vec![0.0; n_values],
        };
        let applied = self
            .applied
            .as_ref()
            .map(|a| a.double_value(&[]))
            .unwrap_or(0.0);
        let n = applied.max(1.0);
        let mut means: Vec<f64> = sums
            .iter()
            .map(|s| match applied > 0.0 {
                true => s / n,
                false => f64::NAN,
            })
            .collect();
        let grad_norm = means.pop().expect("the gradient norm");
        let t = Terms::from_vec(means).expect("one mean per term");
        let row = LossRow {
            iteration,
            epoch,
            terms: t.map(Some),
            style: t.style_sum(),
            total: w.total(t),
            lr,
            grad_norm,
            skipped: (self.steps as f64 - applied).round().max(0.0) as u64,
            images_per_s: rate,
            elapsed_s,
            ..Default::default()
        };
        *self = LogWindow::new();
        row
    }
}

impl Default for LogWindow {
    fn default() -> Self {
        Self::new()
    }
}

/// The term columns go right after `iteration` and `epoch`, where people look first.
const TERMS_AT: usize = 2;

/// `r` serialised by serde (its derived columns, the terms skipped) as one CSV record, with the
/// header record when `header`.
fn serde_records(r: &LossRow, header: bool) -> Result<Vec<csv::StringRecord>> {
    let bad = |e: &dyn std::fmt::Display| Error::Invalid(format!("loss log row: {e}"));
    let mut w = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(Vec::new());
    w.serialize(r).map_err(|e| bad(&e))?;
    let bytes = w.into_inner().map_err(|e| bad(&e))?;
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice())
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(&e))
}

/// `fields` with `terms` inserted at [`TERMS_AT`], as one CSV line.
fn spliced(fields: &csv::StringRecord, terms: impl IntoIterator<Item = String>) -> Result<Vec<u8>> {
    let head = fields.iter().take(TERMS_AT).map(str::to_string);
    let tail = fields.iter().skip(TERMS_AT).map(str::to_string);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(head.chain(terms).chain(tail))
        .map_err(|e| Error::Invalid(format!("loss log row: {e}")))?;
    w.into_inner()
        .map_err(|e| Error::Invalid(format!("loss log row: {e}")))
}

/// The CSV header line: [`LossRow`]'s fields with the term names.
fn header() -> Result<Vec<u8>> {
    let records = serde_records(&LossRow::default(), true)?;
    spliced(&records[0], terms::NAMES.map(str::to_string))
}

/// One row's CSV line, in [`header`]'s columns (an empty field for a term without a value).
fn row_bytes(r: &LossRow) -> Result<Vec<u8>> {
    let records = serde_records(r, false)?;
    let values = r.terms.into_vec().into_iter().map(|v| match v {
        Some(x) => x.to_string(),
        None => String::new(),
    });
    spliced(&records[0], values)
}

/// Reads `losses.csv`. Columns are found by name, so older logs (other orders, columns missing)
/// read too, with their missing terms `None`.
pub fn read(path: &Path) -> Result<Vec<LossRow>> {
    let bad = |e: &dyn std::fmt::Display| Error::Invalid(format!("{}: {e}", path.display()));
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(&e))?;
    let headers = r.headers().map_err(|e| bad(&e))?.clone();
    let columns = terms::NAMES.map(|n| headers.iter().position(|h| h == n));
    let mut rows = Vec::new();
    for (line, record) in r.records().enumerate() {
        let record = record.map_err(|e| bad(&e))?;
        let mut row: LossRow = record.deserialize(Some(&headers)).map_err(|e| bad(&e))?;
        let mut values = Vec::with_capacity(columns.len());
        for (name, column) in terms::NAMES.iter().zip(columns) {
            let text = column.and_then(|i| record.get(i)).unwrap_or("");
            values.push(match text.is_empty() {
                true => None,
                false => Some(text.parse::<f64>().map_err(|e| {
                    bad(&format!("row {}: column '{name}': '{text}': {e}", line + 2))
                })?),
            });
        }
        row.terms = Terms::from_vec(values).expect("one value per term name");
        rows.push(row);
    }
    Ok(rows)
}

/// Rewrites `losses.csv` with `rows` (atomically).
pub fn write(path: &Path, rows: &[LossRow]) -> Result<()> {
    let mut bytes = header()?;
    for r in rows {
        bytes.extend(row_bytes(r)?);
    }
    crate::fsutil::write_atomic(path, &bytes)
}

/// Appends one row, in one write call, and flushes.
pub fn append(log: &mut std::fs::File, path: &Path, r: &LossRow) -> Result<()> {
    let line = row_bytes(r)?;
    log.write_all(&line)
        .and_then(|_| log.flush())
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: u64) -> LossRow {
        let t = Terms {
            content: 2.5,
            style: [0.1, 0.2, 0.3, 0.4],
            identity_pixel: 0.01,
            identity_feature: 7.0,
            alpha_pixel: 0.0,
            laplacian: 0.03,
        };
        LossRow {
            iteration,
            epoch: 0.5,
            terms: t.map(Some),
            style: t.style_sum(),
            total: 42.0,
            lr: 1e-4,
            images_per_s: 4.0,
            val_ssim: Some(0.6),
            ..Default::default()
        }
    }

    #[test]
    fn rows_round_trip_with_the_terms_named_after_epoch() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("losses.csv");
        let rows = vec![row(10), row(20)];
        write(&p, &rows).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        assert_eq!(&head[..2], ["iteration", "epoch"]);
        assert_eq!(head[2..2 + terms::NAMES.len()], terms::NAMES);
        assert!(head.contains(&"total") && head.contains(&"val_ssim_alpha0"));
        assert_eq!(read(&p).unwrap(), rows);
        let s = rows[0].summary();
        let names: Vec<&str> = s.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "content",
                "style",
                "identity_pixel",
                "identity_feature",
                "alpha_pixel",
                "laplacian"
            ]
        );
        assert_eq!(rows[0].term("style"), rows[0].style);
        assert_eq!(rows[0].term("identity_feature"), 7.0);
    }

    #[test]
    fn an_older_log_reads_by_column_name_with_missing_terms_empty() {
        // The column set of the first rounds: no identity, alpha or per-layer style columns,
        // and `content` after `style`.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("losses.csv");
        std::fs::write(
            &p,
            "iteration,epoch,style,content,total,lr,images_per_s,elapsed_s\n\
             100,1.5,20.5,4.25,209.25,0.0001,71.1,11.2\n",
        )
        .unwrap();
        let r = &read(&p).unwrap()[0];
        assert_eq!((r.iteration, r.style, r.total), (100, 20.5, 209.25));
        assert_eq!(r.terms.content, Some(4.25));
        assert_eq!(r.terms.style, [None; 4]);
        assert_eq!(r.terms.identity_pixel, None);
        assert_eq!(r.term("identity_pixel"), 0.0);
        assert_eq!(r.term("content"), 4.25);
    }

    #[test]
    fn a_term_that_is_not_a_number_names_the_file_row_and_column() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("losses.csv");
        std::fs::write(
            &p,
            "iteration,epoch,content,style,total,lr,images_per_s,elapsed_s\n\
             100,1.5,oops,20.5,209.25,0.0001,71.1,11.2\n",
        )
        .unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("losses.csv") && e.contains("row 2") && e.contains("'content'"),
            "{e}"
        );
    }
}
