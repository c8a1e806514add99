//! The planned pipeline, as named stages: style statistics once per run (or per content with
//! preserve-color) -> a content stream decoded ahead on a loader thread (bounded queue) -> each
//! content encoded once (tiled when large) -> AdaIN + decoder on batches of (style, alpha) for
//! that content -> the save stage. Memory is bounded by the prefetch depth, the batch size and
//! the saves in flight, not by the number of images.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use ndarray::{Array1, Array4, Axis, s};

use super::RunContext;
use super::detail;
use super::outcome::{Sink, Sizes, about, fail_all};
use super::plan::{self, Job, StyleRef};
use super::report::Shares;
use super::save::{SaveSettings, Saver};
use super::styles::{self, StyleStats, StyleTable};
use crate::error::Result;
use crate::imaging::{self, Image};
use crate::runtime::{self, BoundContent, Models};

/// Contents decoded ahead of the encoder.
const PREFETCH: usize = 2;

/// Runs `todo` (jobs without an output yet), `batch_size` outputs per decoder call, handing each
/// job's outcome to `sink`, on one lane per entry of `lanes` (see [`lanes`]), or on `models`
/// alone when `lanes` is empty. The run-wide style statistics come from `models` (all the run's
/// threads) before the lanes start. Returns whether it was interrupted.
pub(super) fn run(
    inputs: RunContext<'_>,
    sink: &mut Sink<'_>,
    models: &mut Models,
    lanes: &mut [Models],
    todo: &[Job],
    batch_size: usize,
    stop: &AtomicBool,
) -> bool {
    if todo.is_empty() {
        return false;
    }
    let n_styles = inputs.styles.len();
    let all: Vec<&Job> = todo.iter().collect();
    // Styles are encoded once for the run, unless recoloured to each content (preserve-color).
    let global = (!inputs.cfg.preserve_color)
        .then(|| styles::encode(inputs, models, &styles::needed(&all, n_styles), None));
    let lanes = match lanes {
        [] => std::slice::from_mut(models),
        many => many,
    };
    let style_uses = styles::uses(todo, n_styles);
    let groups = plan::by_content(todo);
    let stream = ContentStream::start(inputs, groups.keys().copied());
    let pipeline = |models| Pipeline {
        inputs,
        models,
        batch_size,
        style_uses: style_uses.clone(),
        global: global.clone(),
        saver: Saver::new(SaveSettings::of(inputs.cfg), 2 * batch_size.max(4)),
        stop,
    };
    let interrupted = AtomicBool::new(false);
    // Each lane takes the next loaded content and runs all its outputs; one lane runs here,
    // more on their own threads, whose outcomes come back to `sink` on this one.
    let drive = |mut p: Pipeline<'_, '_>, sink: &mut Sink<'_>, rx: &Mutex<Receiver<Loaded>>| {
        loop {
            let next = rx.lock().map(|r| r.recv());
            let Ok(Ok((ci, loaded, load_s))) = next else {
                break;
            };
            if stop.load(Ordering::SeqCst) || p.content(sink, ci, &groups[&ci], loaded, load_s) {
                interrupted.store(true, Ordering::SeqCst);
                break;
            }
        }
        p.saver.finish(sink);
    };
    let (rx, loader) = (Mutex::new(stream.rx), stream.loader);
    match lanes {
        [models] => drive(pipeline(models), sink, &rx),
        _ => std::thread::scope(|scope| {
            let (tx, outcomes) = mpsc::channel();
            for models in lanes.iter_mut() {
                let (tx, p, rx, drive) = (tx.clone(), pipeline(models), &rx, &drive);
                scope.spawn(move || drive(p, &mut |o| drop(tx.send(o)), rx));
            }
            drop(tx);
            for o in outcomes {
                sink(o);
            }
        }),
    }
    // Lets the loader stop if the lanes left early, and waits for it.
    drop(rx);
    let _ = loader.join();
    interrupted.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst)
}

/// How many lanes (contents in flight, each on its own sessions) a CPU run uses, and the
/// ONNX Runtime threads of each: with the thread count left to us (0) and two or more
/// contents, two lanes of half the cores. Measured on one painting x 36 photos, 2 cores: two
/// images at a time on one thread each took 0.252 s per output against 0.310 for one image on
/// two threads (docs/performance.md), the split of one 150k-pixel convolution over two threads
/// wasting a fifth. One lane on CUDA, with `--threads` set, or for a single content.
pub(super) fn lanes(cores: usize, threads: usize, contents: usize, cuda: bool) -> (usize, usize) {
    if cuda || threads != 0 || cores < 2 || contents < 2 {
        return (1, threads);
    }
    (2, cores / 2)
}

/// A content from the loader: its index, the decoded image or why not, and the seconds taken.
type Loaded = (usize, Result<Image>, f64);

/// The run-wide state of the stages.
struct Pipeline<'a, 'm> {
    inputs: RunContext<'a>,
    models: &'m mut Models,
    batch_size: usize,
    /// Outputs of this run per style (for attributing its cost).
    style_uses: HashMap<usize, usize>,
    /// Statistics of every needed style, unless they are made per content (preserve-color).
    global: Option<StyleTable>,
    saver: Saver,
    stop: &'a AtomicBool,
}

impl Pipeline<'_, '_> {
    /// Every output of one content: encode it, get its styles' statistics, then decode in
    /// batches. Returns whether a stop was requested.
    fn content(
        &mut self,
        sink: &mut Sink<'_>,
        ci: usize,
        jobs: &[&Job],
        loaded: Result<Image>,
        load_s: f64,
    ) -> bool {
        let inputs = self.inputs;
        let Some(mut content) = encode_content(inputs, sink, self.models, ci, jobs, loaded, load_s)
        else {
            return false;
        };
        let local;
        let table = match &self.global {
            Some(t) => t,
            None => {
                let need = styles::needed(jobs, inputs.styles.len());
                local = styles::encode(inputs, self.models, &need, content.pixels.as_ref());
                &local
            }
        };
        // Outputs whose style failed are reported now; the rest go through in batches.
        let mut ready: Vec<(&Job, StyleStats)> = Vec::new();
        for j in jobs {
            match styles::target(inputs, j, table) {
                Ok(s) => ready.push((j, s)),
                Err(e) => fail_all(sink, &[j], &e, content.load_share()),
            }
        }
        // A tiled content's outputs are whole images: one at a time bounds the memory.
        let per_call = if content.tiled { 1 } else { self.batch_size };
        for chunk in ready.chunks(per_call) {
            if self.stop.load(Ordering::SeqCst) {
                return true;
            }
            self.batch(sink, ci, &mut content, chunk);
        }
        false
    }

    /// One decoder call's outputs: decoded, and handed to the save stage with their time shares.
    fn batch(
        &mut self,
        sink: &mut Sink<'_>,
        ci: usize,
        content: &mut Content,
        chunk: &[(&Job, StyleStats)],
    ) {
        let (adain_s, decode_s, images) =
            match decode_batch(self.inputs, self.models, content, chunk) {
                Ok(r) => r,
                Err(e) => {
                    let jobs: Vec<&Job> = chunk.iter().map(|(j, _)| *j).collect();
                    let msg = about("content image", &self.inputs.contents[ci].path, &e);
                    return fail_all(sink, &jobs, &msg, Shares::default());
                }
            };
        for (k, (job, st)) in chunk.iter().enumerate() {
            let sizes = Sizes {
                content: (content.w as u32, content.h as u32),
                style: (st.width, st.height),
            };
            // Styles encoded for this content alone (preserve-color) belong to its outputs.
            let style_outputs = match (&self.global, job.style) {
                (None, _) => content.outputs,
                (Some(_), StyleRef::One(i)) => self.style_uses[&i],
                (Some(_), StyleRef::Mix | StyleRef::Masked) => {
                    self.style_uses.get(&0).copied().unwrap_or(1)
                }
            };
            let shares = Shares {
                content_load_s: content.load_s,
                content_encode_s: content.encode_s,
                content_outputs: content.outputs,
                style_load_s: st.load_s,
                style_encode_s: st.encode_s,
                style_outputs,
                adain_s,
                decode_s,
                batch: chunk.len(),
            };
            let img = images.index_axis(Axis(0), k).to_owned();
            self.saver.spawn(img, job, shares, sizes);
        }
        self.saver.drain(sink);
    }
}

/// Contents decoded on a loader thread, in plan order, through a bounded queue.
struct ContentStream {
    rx: Receiver<Loaded>,
    loader: std::thread::JoinHandle<()>,
}

impl ContentStream {
    fn start(inputs: RunContext<'_>, order: impl Iterator<Item = usize>) -> Self {
        let sizing = inputs.cfg.content_sizing;
        let paths: Vec<(usize, PathBuf)> = order
            .map(|ci| (ci, inputs.contents[ci].path.clone()))
            .collect();
        let (tx, rx) = mpsc::sync_channel(PREFETCH);
        let loader = std::thread::spawn(move || {
            for (ci, p) in paths {
                let t = Instant::now();
                let r = imaging::load(&p, &sizing);
                if tx.send((ci, r, t.elapsed().as_secs_f64())).is_err() {
                    break; // the consumer stopped (Ctrl-C)
                }
            }
        });
        ContentStream { rx, loader }
    }
}

/// A content's relu4_1 features: bound to the fused graph (copied to the device once), or on
/// the host (tiled contents, and folders without the fused graph).
enum Features {
    Bound(Box<BoundContent>),
    Host(Array4<f32>),
}

/// One content, encoded once for all its outputs.
struct Content {
    features: Features,
    h: usize,
    w: usize,
    tiled: bool,
    load_s: f64,
    encode_s: f64,
    /// Outputs of this run made from it.
    outputs: usize,
    /// The pixels, kept only when styles are recoloured to them (preserve-color).
    pixels: Option<Image>,
    /// `--detail`: what the decoder loses of this photo, `[3, h, w]` ([`detail`]).
    residual: Option<ndarray::Array3<f32>>,
}

impl Content {
    /// One output's share of loading this content.
    fn load_share(&self) -> Shares {
        Shares::content_load(self.load_s, self.outputs)
    }
}

/// Encodes a loaded content (through tiles when large); a failure is handed to `sink` for each
/// of its jobs, and gives `None`.
fn encode_content(
    inputs: RunContext<'_>,
    sink: &mut Sink<'_>,
    models: &mut Models,
    ci: usize,
    jobs: &[&Job],
    loaded: Result<Image>,
    load_s: f64,
) -> Option<Content> {
    let share = Shares::content_load(load_s, jobs.len());
    // Every way this content can fail is one row per job, in one form.
    let path = &inputs.contents[ci].path;
    let fail = |sink: &mut Sink<'_>, e: &dyn std::fmt::Display| {
        fail_all(sink, jobs, &about("content image", path, e), share);
    };
    let img = match loaded {
        Ok(img) => img,
        Err(e) => {
            fail(sink, &e);
            return None;
        }
    };
    let (h, w) = (img.height() as usize, img.width() as usize);
    let t = Instant::now();
    // Large contents go through tiles: memory set by the tile, not by the image.
    let tiled = crate::tiling::should_tile(h, w, inputs.cfg.tile);
    let encoded = if tiled {
        crate::tiling::encode(models, img.data.view(), inputs.cfg.tile)
    } else {
        models
            .encode(img.data.view().insert_axis(Axis(0)))
            .map(|e| e.features)
    };
    let features = match encoded.and_then(|f| match tiled || !models.has_fused() {
        true => Ok(Features::Host(f)),
        false => models.bind_content(f).map(|b| Features::Bound(Box::new(b))),
    }) {
        Ok(f) => f,
        Err(e) => {
            fail(sink, &e);
            return None;
        }
    };
    let mut content = Content {
        features,
        h,
        w,
        tiled,
        load_s,
        encode_s: 0.0,
        outputs: jobs.len(),
        pixels: None,
        residual: None,
    };
    // The reconstruction's decode counts as encoding: it is made once per content, for all of
    // its outputs.
    if detail::wanted(inputs.cfg.detail, jobs) {
        let (mean, std) = detail::neutral_stats();
        let rec = decode(
            inputs,
            models,
            &mut content,
            mean,
            std,
            Array1::from(vec![0.0]),
        );
        match rec {
            Ok((_, _, rec)) => {
                let rec = rec.index_axis(Axis(0), 0);
                content.residual = Some(detail::residual(img.data.view(), rec));
            }
            Err(e) => {
                fail(sink, &e);
                return None;
            }
        }
    }
    content.encode_s = t.elapsed().as_secs_f64();
    // Dropped unless styles are recoloured to it: a large content's memory is its features.
    content.pixels = inputs.cfg.preserve_color.then_some(img);
    Some(content)
}

/// AdaIN + decoder for one batch of (style statistics, alpha) on one content: returns AdaIN
/// seconds (0 when fused into the decoder call), decoder seconds and the cropped images.
fn decode_batch(
    inputs: RunContext<'_>,
    models: &mut Models,
    content: &mut Content,
    chunk: &[(&Job, StyleStats)],
) -> Result<(f64, f64, Array4<f32>)> {
    let b = chunk.len();
    let mut mean = Array4::<f32>::zeros((b, crate::model::FEATURE_CHANNELS, 1, 1));
    let mut std = mean.clone();
    for (k, (_, st)) in chunk.iter().enumerate() {
        mean.slice_mut(s![k, .., 0, 0])
            .assign(&ndarray::ArrayView1::from(&st.mean));
        std.slice_mut(s![k, .., 0, 0])
            .assign(&ndarray::ArrayView1::from(&st.std));
    }
    let alpha = Array1::from_iter(chunk.iter().map(|(j, _)| j.alpha));
    let (adain_s, decode_s, mut images) = decode(inputs, models, content, mean, std, alpha)?;
    if let Some(res) = &content.residual {
        for (k, (j, _)) in chunk.iter().enumerate() {
            detail::restore(images.index_axis_mut(Axis(0), k), res.view(), j.alpha);
        }
    }
    Ok((adain_s, decode_s, images))
}

/// AdaIN + decoder on one content for a batch of style statistics `[B, C, 1, 1]` and alphas
/// `[B]`: AdaIN seconds (0 when fused into the decoder call), decoder seconds and the images
/// cropped to the content.
fn decode(
    inputs: RunContext<'_>,
    models: &mut Models,
    content: &mut Content,
    mean: Array4<f32>,
    std: Array4<f32>,
    alpha: Array1<f32>,
) -> Result<(f64, f64, Array4<f32>)> {
    let r = match &mut content.features {
        Features::Host(f) if content.tiled => {
            let t = Instant::now();
            let y = crate::tiling::stylize(
                models,
                f.view(),
                mean.view(),
                std.view(),
                alpha.as_slice().expect("contiguous"),
                (content.h, content.w),
                inputs.cfg.tile,
            )?;
            return Ok((0.0, t.elapsed().as_secs_f64(), y));
        }
        Features::Host(f) => {
            models.stylize_features_timed(f.view(), mean.view(), std.view(), alpha.view())?
        }
        Features::Bound(b) => models.stylize_bound(b, mean.view(), std.view(), alpha.view())?,
    };
    Ok((
        r.adain_s,
        r.decode_s,
        runtime::crop(r.images, content.h, content.w),
    ))
}

#[cfg(test)]
mod tests {
    use super::lanes;

    #[test]
    fn two_lanes_only_on_a_cpu_left_to_choose_its_threads_with_two_contents() {
        assert_eq!(lanes(2, 0, 36, false), (2, 1));
        assert_eq!(lanes(16, 0, 2, false), (2, 8));
        // One lane: a single content, --threads set, one core, CUDA.
        assert_eq!(lanes(2, 0, 1, false), (1, 0));
        assert_eq!(lanes(2, 2, 36, false), (1, 2));
        assert_eq!(lanes(1, 0, 36, false), (1, 0));
        assert_eq!(lanes(16, 0, 36, true), (1, 0));
    }
}
