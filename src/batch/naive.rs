//! The benchmark's baseline (`--naive`): every output on its own, in order, batch 1, content and
//! style decoded and encoded again each time, as the PyTorch scripts do. Its outputs are
//! byte-identical to the planned pipeline's (tests/batch.rs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::Axis;

use super::RunContext;
use super::detail;
use super::outcome::{JobOutcome, Sink, Sizes, about, fail_all};
use super::plan::{Job, StyleRef};
use super::report::Shares;
use super::save::{SaveSettings, save_job};
use super::styles;
use crate::imaging;
use crate::runtime::{self, Models};

/// Runs `todo` one output at a time, handing each outcome to `sink`. Returns whether it was
/// interrupted.
pub(super) fn run(
    inputs: RunContext<'_>,
    sink: &mut Sink<'_>,
    models: &mut Models,
    todo: &[Job],
    stop: &AtomicBool,
) -> bool {
    let settings = SaveSettings::of(inputs.cfg);
    for job in todo {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        match one(inputs, models, job, settings) {
            Ok(o) => sink(o),
            Err(e) => fail_all(sink, &[job], &e, Shares::default()),
        }
    }
    false
}

/// One output from scratch: load and encode its content and style, stylize, save.
fn one(
    inputs: RunContext<'_>,
    models: &mut Models,
    job: &Job,
    settings: SaveSettings,
) -> Result<JobOutcome, String> {
    let cfg = inputs.cfg;
    let path = &inputs.contents[job.content].path;
    let t = Instant::now();
    let content =
        imaging::load(path, &cfg.content_sizing).map_err(|e| about("content image", path, &e))?;
    let content_load_s = t.elapsed().as_secs_f64();
    let in_content = |e: crate::error::Error| about("content image", path, &e);
    let t = Instant::now();
    let feats = models
        .encode(content.data.clone().insert_axis(Axis(0)).view())
        .map_err(in_content)?
        .features;
    let mut content_encode_s = t.elapsed().as_secs_f64();
    let needed: Vec<usize> = match job.style {
        StyleRef::One(i) => vec![i],
        StyleRef::Mix | StyleRef::Masked => (0..inputs.styles.len()).collect(),
    };
    let recolor = cfg.preserve_color.then_some(&content);
    let table = styles::encode(inputs, models, &needed, recolor);
    let st = styles::target(inputs, job, &table)?;
    let r = st
        .stylize_one(models, feats.view(), job.alpha)
        .map_err(in_content)?;
    let (h, w) = (content.height(), content.width());
    let mut y = runtime::crop(r.images, h as usize, w as usize);
    // `--detail`: the reconstruction decoded for this output alone, as everything here is.
    if detail::wanted(cfg.detail, &[job]) {
        let t = Instant::now();
        let res =
            detail::residual_of(models, feats.view(), content.data.view()).map_err(in_content)?;
        detail::restore(y.index_axis_mut(Axis(0), 0), res.view(), job.alpha);
        content_encode_s += t.elapsed().as_secs_f64();
    }
    let shares = Shares {
        content_load_s,
        content_encode_s,
        content_outputs: 1,
        style_load_s: st.load_s,
        style_encode_s: st.encode_s,
        style_outputs: 1,
        adain_s: r.adain_s,
        decode_s: r.decode_s,
        batch: 1,
    };
    let sizes = Sizes {
        content: (w, h),
        style: (st.width, st.height),
    };
    Ok(save_job(
        y.index_axis(Axis(0), 0),
        job,
        shares,
        sizes,
        settings,
    ))
}
