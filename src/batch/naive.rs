//! The benchmark's baseline (`--naive`): every output on its own, in order, batch 1, content and
//! style decoded and encoded again each time, as the PyTorch scripts do. Its outputs are
//! byte-identical to the planned pipeline's (tests/batch.rs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::Axis;

use super::Inputs;
use super::plan::{Job, StyleRef};
use super::record::Recorder;
use super::report::Shares;
use super::save::{SaveSettings, save_output};
use super::styles;
use crate::error::Result;
use crate::imaging;
use crate::runtime::{self, Models};

/// Runs `todo` one output at a time. Returns whether it was interrupted.
pub(super) fn run(
    inputs: Inputs<'_>,
    rec: &mut Recorder<'_>,
    models: &mut Models,
    todo: &[Job],
    stop: &AtomicBool,
) -> Result<bool> {
    let cfg = inputs.cfg;
    let settings = SaveSettings::of(cfg);
    for job in todo {
        if stop.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let t = Instant::now();
        let content = match imaging::load(&inputs.contents[job.content].path, &cfg.content_sizing) {
            Ok(c) => c,
            Err(e) => {
                rec.error_rows(&[job], &format!("content image {e}"), |_| {})?;
                continue;
            }
        };
        let content_load_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let feats = models
            .encode(content.data.clone().insert_axis(Axis(0)).view())?
            .features;
        let content_encode_s = t.elapsed().as_secs_f64();
        let needed: Vec<usize> = match job.style {
            StyleRef::One(i) => vec![i],
            StyleRef::Mix | StyleRef::Masked => (0..inputs.styles.len()).collect(),
        };
        let recolor = cfg.preserve_color.then_some(&content);
        let table = styles::encode(inputs, models, &needed, recolor);
        let st = match styles::target(inputs, job, &table) {
            Ok(s) => s,
            Err(e) => {
                rec.error_rows(&[job], &e, |_| {})?;
                continue;
            }
        };
        let r = st.stylize_one(models, feats.view(), job.alpha)?;
        let y = runtime::crop(
            r.images,
            content.height() as usize,
            content.width() as usize,
        );
        let mut row = rec.base_row(job);
        (row.content_width, row.content_height) = (content.width(), content.height());
        (row.style_width, row.style_height) = (st.width, st.height);
        Shares {
            content_load_s,
            content_encode_s,
            content_outputs: 1,
            style_load_s: st.load_s,
            style_encode_s: st.encode_s,
            style_outputs: 1,
            adain_s: r.adain_s,
            decode_s: r.decode_s,
            batch: 1,
        }
        .apply(&mut row);
        let saved = save_output(y.index_axis(Axis(0), 0), &job.output, row, settings);
        rec.saved(saved)?;
    }
    Ok(false)
}
