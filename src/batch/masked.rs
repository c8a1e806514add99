//! Masked outputs (`--mask`): per content, its features once, its mask on the feature grid, every
//! style's statistics, then per alpha the masked AdaIN target ([`crate::mask`]) decoded in one
//! pass. A mask that gives one style every cell (all white) takes the plain single-style path,
//! so its output is byte-identical to that style's. Contents are not tiled here: a masked
//! content's memory is its full-size features.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::{Array4, Axis};

use super::Inputs;
use super::plan::{self, Job};
use super::record::Recorder;
use super::report::Shares;
use super::save::{SaveSettings, save_output};
use super::styles::{self, StyleTable};
use crate::error::Result;
use crate::imaging;
use crate::model::FEATURE_CHANNELS;
use crate::runtime::{self, Models};

/// Runs the masked jobs `todo`. Returns whether it was interrupted.
pub(super) fn run(
    inputs: Inputs<'_>,
    rec: &mut Recorder<'_>,
    models: &mut Models,
    todo: &[Job],
    stop: &AtomicBool,
) -> Result<bool> {
    if todo.is_empty() {
        return Ok(false);
    }
    let cfg = inputs.cfg;
    let settings = SaveSettings::of(cfg);
    let every: Vec<usize> = (0..inputs.styles.len()).collect();
    let global = (!cfg.preserve_color).then(|| styles::encode(inputs, models, &every, None));
    for (ci, jobs) in plan::by_content(todo) {
        if stop.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let t = Instant::now();
        let content = match imaging::load(&inputs.contents[ci].path, &cfg.content_sizing) {
            Ok(c) => c,
            Err(e) => {
                rec.error_rows(&jobs, &format!("content image {e}"), |_| {})?;
                continue;
            }
        };
        let load_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let feats = match models.encode(content.data.view().insert_axis(Axis(0))) {
            Ok(e) => e.features,
            Err(e) => {
                let msg = format!(
                    "content image '{}': {e}",
                    inputs.contents[ci].path.display()
                );
                rec.error_rows(&jobs, &msg, |_| {})?;
                continue;
            }
        };
        let encode_s = t.elapsed().as_secs_f64();
        let (fh, fw) = (feats.shape()[2], feats.shape()[3]);
        let mask_path = inputs.masks[ci]
            .clone()
            .expect("masked contents have a mask path");
        let mask = match crate::mask::load(&mask_path, inputs.styles.len(), fh, fw) {
            Ok(m) => m,
            Err(e) => {
                rec.error_rows(&jobs, &e.to_string(), |_| {})?;
                continue;
            }
        };
        let local: StyleTable;
        let table = match &global {
            Some(t) => t,
            None => {
                local = styles::encode(inputs, models, &every, Some(&content));
                &local
            }
        };
        let mut stats = Vec::new();
        for si in &every {
            match &table[si] {
                Ok(s) => stats.push(s.clone()),
                Err(e) => {
                    stats.clear();
                    rec.error_rows(&jobs, e, |_| {})?;
                    break;
                }
            }
        }
        if stats.is_empty() {
            continue;
        }
        let n = jobs.len();
        for job in &jobs {
            if stop.load(Ordering::SeqCst) {
                return Ok(true);
            }
            let t = Instant::now();
            let r = match mask.uniform() {
                Some(k) => stats[k]
                    .stylize_one(models, feats.view(), job.alpha)
                    .map(|r| (r.adain_s, r.decode_s, r.images)),
                None => {
                    let pairs: Vec<(&[f32], &[f32])> = stats
                        .iter()
                        .map(|s| (s.mean.as_slice(), s.std.as_slice()))
                        .collect();
                    let flat = feats.as_slice().expect("encoder output is contiguous");
                    let target =
                        crate::mask::masked_adain(flat, FEATURE_CHANNELS, &mask, &pairs, job.alpha);
                    let adain_s = t.elapsed().as_secs_f64();
                    let target = Array4::from_shape_vec((1, FEATURE_CHANNELS, fh, fw), target)
                        .expect("the target has the features' shape");
                    let t2 = Instant::now();
                    models
                        .decode(target.view())
                        .map(|y| (adain_s, t2.elapsed().as_secs_f64(), y))
                }
            };
            let (adain_s, decode_s, images) = match r {
                Ok(r) => r,
                Err(e) => {
                    let msg = format!(
                        "content image '{}': {e}",
                        inputs.contents[ci].path.display()
                    );
                    rec.error_rows(&[job], &msg, |_| {})?;
                    continue;
                }
            };
            let y = runtime::crop(images, content.height() as usize, content.width() as usize);
            let mut row = rec.base_row(job);
            (row.content_width, row.content_height) = (content.width(), content.height());
            (row.style_width, row.style_height) = (stats[0].width, stats[0].height);
            Shares {
                content_load_s: load_s,
                content_encode_s: encode_s,
                content_outputs: n,
                style_load_s: stats.iter().map(|s| s.load_s).sum(),
                style_encode_s: stats.iter().map(|s| s.encode_s).sum(),
                style_outputs: if global.is_some() { todo.len() } else { n },
                adain_s,
                decode_s,
                batch: 1,
            }
            .apply(&mut row);
            rec.saved(save_output(
                y.index_axis(Axis(0), 0),
                &job.output,
                row,
                settings,
            ))?;
        }
    }
    Ok(false)
}
