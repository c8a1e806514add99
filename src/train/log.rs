//! The loss log: one `losses.csv` row per `--log-every` iterations (means over the window), with
//! the gradient norm, skipped steps and, on validation iterations, the validation scores. The
//! header comes from [`LossRow`]'s field names (serde), so the struct is its only owner.
//!
//! Step values are summed on the device and read back once per row, so logging costs one host
//! synchronisation per row, not one per step.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::terms::{Terms, Weighting};
use crate::error::{Error, Result};

/// One line of `losses.csv`. Validation columns are empty on rows without a validation pass.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LossRow {
    pub iteration: u64,
    pub epoch: f64,
    pub content: f64,
    /// The style terms summed over layers (unweighted).
    pub style: f64,
    /// Identity pixel term (unweighted), 0 when it is not computed.
    #[serde(default)]
    pub identity_pixel: f64,
    /// Identity feature term (unweighted), 0 when it is not computed.
    #[serde(default)]
    pub identity_feature: f64,
    /// Alpha-sampled training's (1 - alpha)-weighted pixel term (unweighted), 0 at alpha 1.
    #[serde(default)]
    pub alpha_pixel: f64,
    /// The style term of each layer, relu1_1..relu4_1 (unweighted; they sum to `style`). Empty
    /// in logs from before they were kept.
    #[serde(default)]
    pub style_relu1_1: Option<f64>,
    #[serde(default)]
    pub style_relu2_1: Option<f64>,
    #[serde(default)]
    pub style_relu3_1: Option<f64>,
    #[serde(default)]
    pub style_relu4_1: Option<f64>,
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
        let [s1, s2, s3, s4] = t.style;
        let row = LossRow {
            iteration,
            epoch,
            content: t.content,
            style: t.style_sum(),
            identity_pixel: t.identity_pixel,
            identity_feature: t.identity_feature,
            alpha_pixel: t.alpha_pixel,
            style_relu1_1: Some(s1),
            style_relu2_1: Some(s2),
            style_relu3_1: Some(s3),
            style_relu4_1: Some(s4),
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

/// The CSV header line, derived from [`LossRow`]'s fields.
fn header() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(LossRow::default()).expect("a row serialises");
    let bytes = w.into_inner().expect("in-memory writer");
    let end = bytes.iter().position(|&b| b == b'\n').expect("header line");
    bytes[..=end].to_vec()
}

fn row_bytes(r: &LossRow) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
    w.into_inner().map_err(|e| Error::Invalid(e.to_string()))
}

/// Reads `losses.csv` (older logs without the newer columns read with those empty).
pub fn read(path: &Path) -> Result<Vec<LossRow>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    r.deserialize()
        .map(|x| x.map_err(|e| Error::Invalid(format!("{}: {e}", path.display()))))
        .collect()
}

/// Rewrites `losses.csv` with `rows` (atomically).
pub fn write(path: &Path, rows: &[LossRow]) -> Result<()> {
    let mut bytes = header();
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
