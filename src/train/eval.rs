//! `adain eval`: the paper's measures for a decoder over content x style pairs — content loss
//! (MSE between relu4_1 of the output and the AdaIN target) and style loss (relu1_1..relu4_1
//! mean/std MSE, summed), computed with the frozen encoder exactly as in training — written as
//! CSV so two decoders can be compared on the same pairs.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tch::{Device, Tensor};

use super::config::{Arithmetic, Objective};
use super::net::Network;
use crate::error::{Error, Result};
use crate::imaging::{self, Sizing};
use crate::model::Weights;

#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    pub content: String,
    pub style: String,
    pub content_loss: f64,
    pub style_loss: f64,
}

/// Means over rows: (content, style).
pub fn means(rows: &[EvalRow]) -> (f64, f64) {
    let n = rows.len().max(1) as f64;
    (
        rows.iter().map(|r| r.content_loss).sum::<f64>() / n,
        rows.iter().map(|r| r.style_loss).sum::<f64>() / n,
    )
}

fn load(path: &Path, size: u32, device: Device) -> Result<Tensor> {
    let img = imaging::load(
        path,
        &Sizing {
            short_side: size,
            crop: true,
            max_pixels: crate::imaging::DEFAULT_MAX_PIXELS,
        },
    )?;
    Ok(super::layers::image_tensor(&img, device))
}

/// Losses of `decoder` on every content x style pair, images centre-cropped to `size`.
pub fn evaluate(
    encoder: &Weights,
    decoder: &Weights,
    contents: &[PathBuf],
    styles: &[PathBuf],
    size: u32,
    device: Device,
) -> Result<Vec<EvalRow>> {
    let mut model = Network::new(encoder, device, 0, false, Arithmetic::Fp32)?;
    super::layers::load_decoder(&mut model.vs, decoder)?;
    let styles_t: Vec<(String, Tensor)> = styles
        .iter()
        .map(|p| Ok((p.display().to_string(), load(p, size, device)?)))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for c in contents {
        let ct = load(c, size, device)?;
        for (sname, st) in &styles_t {
            let l = tch::no_grad(|| model.losses(&ct, st, Objective::Adain, false));
            rows.push(EvalRow {
                content: c.display().to_string(),
                style: sname.clone(),
                content_loss: l.content.double_value(&[]),
                style_loss: l.style_sum().double_value(&[]),
            });
        }
    }
    Ok(rows)
}

/// Writes the rows and a final `MEAN` row.
pub fn write_csv(rows: &[EvalRow], path: &Path) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let (c, s) = means(rows);
    w.serialize(EvalRow {
        content: "MEAN".into(),
        style: format!("{} pairs", rows.len()),
        content_loss: c,
        style_loss: s,
    })
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let bytes = w.into_inner().map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(path, &bytes)
}
