//! Style statistics: which styles a run needs, how many outputs share each (for the timing
//! report), and their relu4_1 mean/std, decoded in parallel (rayon) and encoded one at a time
//! (ONNX Runtime, outside rayon's pool). Only the statistics are kept, not the features.

use std::collections::HashMap;
use std::time::Instant;

use ndarray::Axis;

use super::RunContext;
use super::outcome::about;
use super::plan::{Job, StyleRef};
use crate::error::Result;
use crate::imaging::{self, Image};
use crate::runtime::Models;

/// One style target's relu4_1 statistics with the time they cost.
#[derive(Clone)]
pub(super) struct StyleStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub width: u32,
    pub height: u32,
    pub load_s: f64,
    pub encode_s: f64,
}

impl StyleStats {
    /// This style alone on one content's `features` at `alpha`, in one decoder call (batch 1):
    /// the naive path's step, which the masked stage takes for an all-white mask so that its
    /// output is that style's, byte for byte.
    pub fn stylize_one(
        &self,
        models: &mut Models,
        features: ndarray::ArrayView4<'_, f32>,
        alpha: f32,
    ) -> Result<crate::runtime::Stylized> {
        let stat = |v: &[f32]| {
            ndarray::Array4::from_shape_vec((1, v.len(), 1, 1), v.to_vec())
                .expect("one value per channel")
        };
        let (mean, std) = (stat(&self.mean), stat(&self.std));
        let alpha = ndarray::Array1::from(vec![alpha]);
        models.stylize_features_timed(features, mean.view(), std.view(), alpha.view())
    }
}

/// Statistics by style index; a style that failed holds its error message.
pub(super) type StyleTable = HashMap<usize, std::result::Result<StyleStats, String>>;

/// The styles `jobs` need, sorted: every style when a job mixes them.
pub(super) fn needed(jobs: &[&Job], n_styles: usize) -> Vec<usize> {
    if jobs
        .iter()
        .any(|j| matches!(j.style, StyleRef::Mix | StyleRef::Masked))
    {
        return (0..n_styles).collect();
    }
    let mut v: Vec<usize> = jobs
        .iter()
        .filter_map(|j| match j.style {
            StyleRef::One(i) => Some(i),
            StyleRef::Mix | StyleRef::Masked => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// How many of `jobs` use each style (a mix uses every style).
pub(super) fn uses(jobs: &[Job], n_styles: usize) -> HashMap<usize, usize> {
    let mut uses: HashMap<usize, usize> = HashMap::new();
    for j in jobs {
        match j.style {
            StyleRef::One(i) => *uses.entry(i).or_default() += 1,
            StyleRef::Mix | StyleRef::Masked => {
                for i in 0..n_styles {
                    *uses.entry(i).or_default() += 1;
                }
            }
        }
    }
    uses
}

/// Decodes (rayon) and encodes (ORT) the styles `needed`, optionally recoloured to `recolor`
/// (preserve-color).
pub(super) fn encode(
    inputs: RunContext<'_>,
    models: &mut Models,
    needed: &[usize],
    recolor: Option<&Image>,
) -> StyleTable {
    use rayon::prelude::*;
    let mut out = HashMap::new();
    // Chunks bound the decoded images held at once.
    for chunk in needed.chunks(8) {
        let decoded: Vec<(usize, Result<Image>, f64)> = chunk
            .par_iter()
            .map(|&si| {
                let t = Instant::now();
                let r =
                    imaging::load(&inputs.styles[si].path, &inputs.cfg.style_sizing).map(|img| {
                        match recolor {
                            Some(c) => imaging::match_color(&img, c),
                            None => img,
                        }
                    });
                (si, r, t.elapsed().as_secs_f64())
            })
            .collect();
        for (si, r, load_s) in decoded {
            let path = &inputs.styles[si].path;
            let stats = r
                .map_err(|e| about("style image", path, &e))
                .and_then(|img| {
                    let t = Instant::now();
                    let batch = img.data.clone().insert_axis(Axis(0));
                    let enc = models
                        .encode(batch.view())
                        .map_err(|e| about("style image", path, &e))?;
                    Ok(StyleStats {
                        mean: enc.mean.iter().copied().collect(),
                        std: enc.std.iter().copied().collect(),
                        width: img.width(),
                        height: img.height(),
                        load_s,
                        encode_s: t.elapsed().as_secs_f64(),
                    })
                });
            out.insert(si, stats);
        }
    }
    out
}

/// The statistics a job's style target stands for (a single style or the weighted mix).
pub(super) fn target(
    inputs: RunContext<'_>,
    job: &Job,
    table: &StyleTable,
) -> std::result::Result<StyleStats, String> {
    match job.style {
        StyleRef::One(i) => table[&i].clone(),
        // Masked jobs take every style's own statistics (batch::masked), never one target.
        StyleRef::Masked => Err("a masked output has no single style target".into()),
        StyleRef::Mix => {
            let weights = inputs.cfg.mix.as_deref().unwrap_or(&[]);
            let mut parts = Vec::new();
            for i in 0..inputs.styles.len() {
                parts.push(table[&i].clone()?);
            }
            let pairs: Vec<(&[f32], &[f32])> = parts
                .iter()
                .map(|p| (p.mean.as_slice(), p.std.as_slice()))
                .collect();
            let (mean, std) =
                crate::model::blend_stats(&pairs, weights).map_err(|e| e.to_string())?;
            Ok(StyleStats {
                mean,
                std,
                width: parts[0].width,
                height: parts[0].height,
                load_s: parts.iter().map(|p| p.load_s).sum(),
                encode_s: parts.iter().map(|p| p.encode_s).sum(),
            })
        }
    }
}
