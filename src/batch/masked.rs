//! Masked outputs (`--mask`): per content, its features once, its mask on the feature grid, every
//! style's statistics, then per alpha the masked AdaIN target ([`crate::mask`]) decoded in one
//! pass. A mask that gives one style every cell (all white) takes the plain single-style path,
//! so its output is byte-identical to that style's. Contents are not tiled here: a masked
//! content's memory is its full-size features and decoder activations (a 12 MP content took
//! over 10 GB), so contents over [`MAX_PIXELS`] are refused, each as its own error row.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::{Array4, Axis};

use super::RunContext;
use super::outcome::{Sink, Sizes, fail_all};
use super::plan::{self, Job};
use super::report::Shares;
use super::save::{SaveSettings, save_job};
use super::styles::{self, StyleStats, StyleTable};
use crate::imaging::{self, Image};
use crate::mask::MaskWeights;
use crate::model::FEATURE_CHANNELS;
use crate::runtime::{self, Models};

/// Runs the masked jobs `todo`, handing each outcome to `sink`. Returns whether it was
/// interrupted.
pub(super) fn run(
    inputs: RunContext<'_>,
    sink: &mut Sink<'_>,
    models: &mut Models,
    todo: &[Job],
    stop: &AtomicBool,
) -> bool {
    if todo.is_empty() {
        return false;
    }
    let every: Vec<usize> = (0..inputs.styles.len()).collect();
    // Styles are encoded once for the run, unless recoloured to each content (preserve-color).
    let global = (!inputs.cfg.preserve_color).then(|| styles::encode(inputs, models, &every, None));
    for (ci, jobs) in plan::by_content(todo) {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let detail = super::detail::wanted(inputs.cfg.detail, &jobs);
        let content = match prepare(inputs, models, ci, global.as_ref(), detail) {
            Ok(c) => c,
            Err(e) => {
                fail_all(sink, &jobs, &e, Shares::default());
                continue;
            }
        };
        let style_outputs = if global.is_some() {
            todo.len()
        } else {
            jobs.len()
        };
        for job in &jobs {
            if stop.load(Ordering::SeqCst) {
                return true;
            }
            content.output(inputs, models, sink, job, jobs.len(), style_outputs);
        }
    }
    false
}

/// The most pixels a masked content may have (2048 x 2048): masked outputs are decoded whole,
/// at roughly 850 bytes per pixel (ONNX Runtime's full-resolution decoder activations), so
/// this bounds a masked output near 3.5 GB where a 12 MP photo took over 10 GB.
pub const MAX_PIXELS: u64 = 2048 * 2048;

/// One content made ready for its masked outputs.
struct Masked {
    image: Image,
    load_s: f64,
    features: Array4<f32>,
    encode_s: f64,
    mask: MaskWeights,
    /// Every style's statistics, in the order the mask's regions take them.
    stats: Vec<StyleStats>,
    /// `--detail`: what the decoder loses of this photo, `[3, h, w]` (`batch/detail.rs`).
    residual: Option<ndarray::Array3<f32>>,
}

/// Loads and encodes content `ci`, its mask on the feature grid, every style's statistics
/// (from `global`, or recoloured to it) and, when `detail`, its reconstruction's residual; the
/// error names what failed.
fn prepare(
    inputs: RunContext<'_>,
    models: &mut Models,
    ci: usize,
    global: Option<&StyleTable>,
    detail: bool,
) -> Result<Masked, String> {
    let path = &inputs.contents[ci].path;
    let t = Instant::now();
    let image = imaging::load(path, &inputs.cfg.content_sizing)
        .map_err(|e| super::outcome::about("content image", path, &e))?;
    let load_s = t.elapsed().as_secs_f64();
    let (w, h) = (image.width() as u64, image.height() as u64);
    if w * h > MAX_PIXELS {
        return Err(format!(
            "content image '{}': {w}x{h} = {} pixels, over the {MAX_PIXELS} a masked output may \
             have (masked outputs are not tiled: about 850 bytes per pixel, {:.1} GB here); \
             set --content-size to downscale it",
            path.display(),
            w * h,
            (w * h * 850) as f64 / 1e9
        ));
    }
    let t = Instant::now();
    let features = models
        .encode(image.data.view().insert_axis(Axis(0)))
        .map_err(|e| super::outcome::about("content image", path, &e))?
        .features;
    let residual = match detail {
        true => {
            let res = super::detail::residual_of(models, features.view(), image.data.view())
                .map_err(|e| super::outcome::about("content image", path, &e))?;
            Some(res)
        }
        false => None,
    };
    let encode_s = t.elapsed().as_secs_f64();
    let (fh, fw) = (features.shape()[2], features.shape()[3]);
    let mask_path = inputs.masks[ci]
        .as_ref()
        .expect("masked contents have a mask path");
    let mask =
        crate::mask::load(mask_path, inputs.styles.len(), fh, fw).map_err(|e| e.to_string())?;
    let every: Vec<usize> = (0..inputs.styles.len()).collect();
    let local: StyleTable;
    let table = match global {
        Some(t) => t,
        None => {
            local = styles::encode(inputs, models, &every, Some(&image));
            &local
        }
    };
    let stats = every
        .iter()
        .map(|si| table[si].clone())
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Masked {
        image,
        load_s,
        features,
        encode_s,
        mask,
        stats,
        residual,
    })
}

impl Masked {
    /// One masked output at `job.alpha`, handed to `sink`; `outputs` of this content share its
    /// load and encode, `style_outputs` the styles'.
    fn output(
        &self,
        inputs: RunContext<'_>,
        models: &mut Models,
        sink: &mut Sink<'_>,
        job: &Job,
        outputs: usize,
        style_outputs: usize,
    ) {
        let (adain_s, decode_s, images) = match self.stylize(models, job.alpha) {
            Ok(r) => r,
            Err(e) => {
                let msg =
                    super::outcome::about("content image", &inputs.contents[job.content].path, &e);
                return fail_all(sink, &[job], &msg, Shares::default());
            }
        };
        let (h, w) = (self.image.height(), self.image.width());
        let mut y = runtime::crop(images, h as usize, w as usize);
        if let Some(res) = &self.residual {
            super::detail::restore(y.index_axis_mut(Axis(0), 0), res.view(), job.alpha);
        }
        let shares = Shares {
            content_load_s: self.load_s,
            content_encode_s: self.encode_s,
            content_outputs: outputs,
            style_load_s: self.stats.iter().map(|s| s.load_s).sum(),
            style_encode_s: self.stats.iter().map(|s| s.encode_s).sum(),
            style_outputs,
            adain_s,
            decode_s,
            batch: 1,
        };
        let sizes = Sizes {
            content: (w, h),
            style: (self.stats[0].width, self.stats[0].height),
        };
        let settings = SaveSettings::of(inputs.cfg);
        sink(save_job(
            y.index_axis(Axis(0), 0),
            job,
            shares,
            sizes,
            settings,
        ));
    }

    /// The masked AdaIN target at `alpha`, decoded: AdaIN seconds, decoder seconds, the image.
    /// A mask that gives one style every cell takes that style's own path (byte-identical).
    fn stylize(
        &self,
        models: &mut Models,
        alpha: f32,
    ) -> crate::error::Result<(f64, f64, Array4<f32>)> {
        if let Some(k) = self.mask.uniform() {
            let r = self.stats[k].stylize_one(models, self.features.view(), alpha)?;
            return Ok((r.adain_s, r.decode_s, r.images));
        }
        let t = Instant::now();
        let pairs: Vec<(&[f32], &[f32])> = self
            .stats
            .iter()
            .map(|s| (s.mean.as_slice(), s.std.as_slice()))
            .collect();
        let flat = self
            .features
            .as_slice()
            .expect("encoder output is contiguous");
        let target = crate::mask::masked_adain(flat, FEATURE_CHANNELS, &self.mask, &pairs, alpha);
        let adain_s = t.elapsed().as_secs_f64();
        let (fh, fw) = (self.features.shape()[2], self.features.shape()[3]);
        let target = Array4::from_shape_vec((1, FEATURE_CHANNELS, fh, fw), target)
            .expect("the target has the features' shape");
        let t = Instant::now();
        let y = models.decode(target.view())?;
        Ok((adain_s, t.elapsed().as_secs_f64(), y))
    }
}
