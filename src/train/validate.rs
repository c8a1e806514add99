//! Validation on fixed pairs: the sample images, the scores of a model on them ([`ValScores`]:
//! content and style loss, style error and luma SSIM at alpha 1, SSIM of the reconstruction),
//! and their columns in the loss log.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::config::{Objective, TrainConfig};
use super::layers::{adain, image_tensor, mean_std};
use super::log::LossRow;
use super::loss::{mse, style_losses};
use super::net::Network;
use super::terms::Terms;
use crate::error::Result;

/// Validation scores over the fixed pairs (means).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ValScores {
    pub content: f64,
    pub style: f64,
    /// The style loss per layer (relu1_1..relu4_1; `style` is their sum), for the validation
    /// loss under per-layer weights. Absent in scores read back from a log row or older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_layers: Option<[f64; 4]>,
    pub style_error: f64,
    pub ssim: f64,
    pub ssim_alpha0: f64,
}

impl TrainConfig {
    /// The validation loss that picks the best checkpoint: the AdaIN objective's content and
    /// per-layer style weighting at alpha 1; for reconstruction, 1 - SSIM of the reconstruction
    /// to the content.
    pub fn val_loss(&self, v: &ValScores) -> f64 {
        match self.objective {
            // Validation runs at alpha 1 with no identity pass: those terms weigh nothing here.
            Objective::Adain => {
                let w = self.weighting();
                // Scores without the per-layer split (read back from a log row) weigh their
                // sum by the mean layer weight: exact for uniform weights.
                let style = v.style_layers.unwrap_or([v.style / 4.0; 4]);
                w.total(Terms {
                    content: v.content,
                    style,
                    ..Terms::default()
                })
            }
            Objective::Reconstruction => 1.0 - v.ssim_alpha0,
        }
    }
}

impl Network {
    /// Validation scores over every sample content x style pair (see [`ValScores`]).
    pub fn validate(&self, samples: &Samples) -> ValScores {
        tch::no_grad(|| {
            let style_taps: Vec<Vec<Tensor>> = samples
                .style
                .iter()
                .map(|(_, s)| self.enc_taps(s))
                .collect();
            let (mut acc, mut pairs, mut ssim0) = ([0.0f64; 4], 0usize, 0.0);
            let mut layers = [0.0f64; 4];
            for (_, c) in &samples.content {
                let c_taps = self.enc_taps(c);
                let (h, w) = (c.size()[2], c.size()[3]);
                let c_img = to_array(c);
                let rec = self.decode(&c_taps[3]).narrow(2, 0, h).narrow(3, 0, w);
                ssim0 += crate::metrics::ssim_luma(to_array(&rec).view(), c_img.view());
                for s_taps in &style_taps {
                    let s_stats: Vec<(Tensor, Tensor)> = s_taps.iter().map(mean_std).collect();
                    let (sm, ss) = &s_stats[3];
                    let one = Tensor::ones([1], (Kind::Float, self.device));
                    let t = adain(&c_taps[3], sm, ss, &one);
                    let g = self.decode(&t).narrow(2, 0, h).narrow(3, 0, w);
                    let g_taps = self.enc_taps(&g);
                    acc[0] += mse(&g_taps[3], &t).double_value(&[]);
                    let per_layer = style_losses(&g_taps, &s_stats, None);
                    for (sum, l) in layers.iter_mut().zip(&per_layer) {
                        *sum += l.double_value(&[]);
                    }
                    acc[2] +=
                        crate::metrics::style_error(&host_stats(&g_taps), &host_stats(s_taps));
                    acc[3] += crate::metrics::ssim_luma(to_array(&g).view(), c_img.view());
                    pairs += 1;
                }
            }
            let n = pairs.max(1) as f64;
            let layers = layers.map(|x| x / n);
            ValScores {
                content: acc[0] / n,
                style: layers.iter().sum(),
                style_layers: Some(layers),
                style_error: acc[2] / n,
                ssim: acc[3] / n,
                ssim_alpha0: ssim0 / samples.content.len().max(1) as f64,
            }
        })
    }
}

/// Each tap's per-channel mean and std on the host, as the quality metrics take them.
fn host_stats(taps: &[Tensor]) -> Vec<(Vec<f32>, Vec<f32>)> {
    let v = |x: Tensor| Vec::<f32>::try_from(x.flatten(0, -1).to_device(Device::Cpu)).expect("f32");
    taps.iter()
        .map(|t| {
            let (m, s) = mean_std(t);
            (v(m), v(s))
        })
        .collect()
}

/// A `[1, 3, H, W]` image clamped to [0, 1] as a host `[3, H, W]` array.
fn to_array(t: &Tensor) -> ndarray::Array3<f32> {
    let t = t
        .clamp(0.0, 1.0)
        .squeeze_dim(0)
        .to_device(Device::Cpu)
        .contiguous();
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let data = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32");
    ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), data).expect("3 x h x w")
}

/// The validation scores logged in `row`, if it has them.
pub(super) fn row_val(row: &LossRow) -> Option<ValScores> {
    Some(ValScores {
        content: row.val_content?,
        style: row.val_style?,
        style_layers: None,
        style_error: row.val_style_error?,
        ssim: row.val_ssim?,
        ssim_alpha0: row.val_ssim_alpha0?,
    })
}

pub(super) fn set_val(row: &mut LossRow, v: &ValScores) {
    row.val_content = Some(v.content);
    row.val_style = Some(v.style);
    row.val_style_error = Some(v.style_error);
    row.val_ssim = Some(v.ssim);
    row.val_ssim_alpha0 = Some(v.ssim_alpha0);
}

/// Fixed validation pairs: each listed content with each listed style.
pub struct Samples {
    pub content: Vec<(String, Tensor)>,
    pub style: Vec<(String, Tensor)>,
}

impl Samples {
    pub fn is_empty(&self) -> bool {
        self.content.is_empty() || self.style.is_empty()
    }
}

pub(super) fn load_samples(cfg: &TrainConfig, device: Device) -> Result<Samples> {
    let sizing = crate::imaging::Sizing {
        short_side: cfg.val_size,
        crop: true,
        max_pixels: crate::imaging::DEFAULT_MAX_PIXELS,
    };
    let load = |paths: &[PathBuf]| -> Result<Vec<(String, Tensor)>> {
        paths
            .iter()
            .map(|p| {
                let img = crate::imaging::load(p, &sizing)?;
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok((name, image_tensor(&img, device)))
            })
            .collect()
    };
    Ok(Samples {
        content: load(&cfg.sample_content)?,
        style: load(&cfg.sample_style)?,
    })
}
