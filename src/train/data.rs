//! Training batches: content and style images from folders (recursive), decoded, resized,
//! randomly cropped and flipped, either on worker threads ahead of the step ([`Loader`]) or from
//! the whole set decoded once into device memory as uint8 (`resident.rs`: crops and flips are
//! then tensor slices on the GPU, and the step never waits for the CPU); `batches.rs` picks one.
//!
//! Determinism: batch `i` is a pure function of (seed, i) — which files, which crop, which flip —
//! so a resumed run sees exactly the batches an uninterrupted one would, whatever the worker
//! timing. Workers claim iteration numbers from a counter and a small reorder buffer hands
//! batches out in order; the queue depth bounds memory.
//!
//! Aspect ratio is kept (unlike the PyTorch port, which squashes to 512x512): each image is
//! downscaled so its shorter side is at most `resize` (never upscaled; images whose shorter
//! side is under `crop` are upscaled to `crop`), then a random `crop` x `crop` window is taken,
//! mirrored left-right with probability 1/2. Both loaders draw the same random numbers per
//! iteration ([`Draw`]) and prepare images the same way ([`prepare`]), so they give identical
//! batches (tested).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use image::imageops;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// Loader settings.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub batch_size: usize,
    pub crop: u32,
    pub resize: u32,
    pub seed: u64,
    pub workers: usize,
    /// Batches prepared ahead of the step.
    pub prefetch: usize,
}

/// One step's inputs, `[B, 3, crop, crop]` RGB in `[0, 1]`, flattened row-major.
pub struct Batch {
    pub iteration: u64,
    pub content: Vec<f32>,
    pub style: Vec<f32>,
}

/// Lists image files under folders (recursive), sorted.
pub fn list_images(what: &str, roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(crate::inputs::discover_some(what, roots, true)?
        .into_iter()
        .map(|i| i.path)
        .collect())
}

struct Shared {
    ready: Mutex<BTreeMap<u64, std::result::Result<Batch, String>>>,
    cond: Condvar,
    bad: Mutex<HashSet<PathBuf>>,
    warnings: Mutex<Vec<String>>,
    stop: std::sync::atomic::AtomicBool,
}

/// Background loader; `next()` returns batches in iteration order.
pub struct Loader {
    shared: Arc<Shared>,
    next_iter: u64,
    workers: Vec<std::thread::JoinHandle<()>>,
    pub content_files: usize,
    pub style_files: usize,
    pub(super) batch_size: usize,
    pub(super) crop: u32,
}

impl Loader {
    /// Starts workers producing batches from iteration `start` on.
    pub fn start(cfg: &DataConfig, start: u64) -> Result<Self> {
        check_crop(cfg)?;
        let content = Arc::new(list_images("content", &cfg.content)?);
        let style = Arc::new(list_images("style", &cfg.style)?);
        let shared = Arc::new(Shared {
            ready: Mutex::new(BTreeMap::new()),
            cond: Condvar::new(),
            bad: Mutex::new(HashSet::new()),
            warnings: Mutex::new(Vec::new()),
            stop: false.into(),
        });
        let counter = Arc::new(AtomicU64::new(start));
        let mut workers = Vec::new();
        for _ in 0..cfg.workers.max(1) {
            let (shared, counter, content, style, cfg) = (
                shared.clone(),
                counter.clone(),
                content.clone(),
                style.clone(),
                cfg.clone(),
            );
            workers.push(std::thread::spawn(move || {
                loop {
                    let i = counter.fetch_add(1, Ordering::SeqCst);
                    // Wait while the queue is full (bounded memory), unless stopping.
                    {
                        let mut ready = shared.ready.lock().expect("loader lock");
                        while !shared.stop.load(Ordering::SeqCst)
                            && ready.keys().next().is_some_and(|&first| {
                                i >= first + cfg.prefetch as u64 + cfg.workers as u64
                            })
                        {
                            ready = shared.cond.wait(ready).expect("loader lock");
                        }
                    }
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let b = make_batch(&cfg, i, &content, &style, &shared);
                    let mut ready = shared.ready.lock().expect("loader lock");
                    ready.insert(i, b);
                    shared.cond.notify_all();
                }
            }));
        }
        Ok(Loader {
            shared,
            next_iter: start,
            workers,
            content_files: content.len(),
            style_files: style.len(),
            batch_size: cfg.batch_size,
            crop: cfg.crop,
        })
    }

    /// The next batch in iteration order (blocks until it is ready).
    pub fn next_batch(&mut self) -> Result<Batch> {
        let mut ready = self.shared.ready.lock().expect("loader lock");
        loop {
            if let Some(b) = ready.remove(&self.next_iter) {
                self.next_iter += 1;
                self.shared.cond.notify_all();
                return b.map_err(Error::Invalid);
            }
            ready = self.shared.cond.wait(ready).expect("loader lock");
        }
    }

    /// Warnings (one per unreadable file) since the last call.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.shared.warnings.lock().expect("loader lock"))
    }

    /// Files skipped as unreadable so far.
    pub fn bad_files(&self) -> usize {
        self.shared.bad.lock().expect("loader lock").len()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cond.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn make_batch(
    cfg: &DataConfig,
    iteration: u64,
    content: &[PathBuf],
    style: &[PathBuf],
    shared: &Shared,
) -> std::result::Result<Batch, String> {
    let mut rng = iteration_rng(cfg.seed, iteration);
    let n = (cfg.crop * cfg.crop * 3) as usize;
    let mut c = Vec::with_capacity(n * cfg.batch_size);
    let mut s = Vec::with_capacity(n * cfg.batch_size);
    for _ in 0..cfg.batch_size {
        c.extend(sample(cfg, content, &mut rng, shared)?);
        s.extend(sample(cfg, style, &mut rng, shared)?);
    }
    Ok(Batch {
        iteration,
        content: c,
        style: s,
    })
}

/// One random crop; an unreadable file is recorded once and the next file is tried
/// (deterministically, so the choice does not depend on timing).
fn sample(
    cfg: &DataConfig,
    files: &[PathBuf],
    rng: &mut rand_chacha::ChaCha8Rng,
    shared: &Shared,
) -> std::result::Result<Vec<f32>, String> {
    let d = Draw::new(rng, files.len());
    for step in 0..files.len() {
        let path = &files[(d.k0 + step) % files.len()];
        if shared.bad.lock().expect("loader lock").contains(path) {
            continue;
        }
        match prepare(cfg, path).map(|img| crop_cpu(cfg, &img, &d)) {
            Ok(x) => return Ok(x),
            Err(e) => {
                if shared.bad.lock().expect("loader lock").insert(path.clone()) {
                    shared
                        .warnings
                        .lock()
                        .expect("loader lock")
                        .push(format!("warning: skipping unreadable training image: {e}"));
                }
            }
        }
    }
    Err(format!(
        "every one of the {} training images in this list is unreadable (first: {})",
        files.len(),
        files[0].display()
    ))
}

/// The random numbers of one sample: file index (the first readable one from there), crop
/// position as fractions of the free space, and the flip.
pub struct Draw {
    pub k0: usize,
    pub u: f64,
    pub v: f64,
    pub flip: bool,
}

impl Draw {
    pub(super) fn new(rng: &mut rand_chacha::ChaCha8Rng, files: usize) -> Self {
        Draw {
            k0: rng.random_range(0..files),
            u: rng.random::<f64>(),
            v: rng.random::<f64>(),
            flip: rng.random::<bool>(),
        }
    }

    /// Top-left corner of the crop in a `w` x `h` image.
    pub(super) fn origin(&self, w: u32, h: u32, crop: u32) -> (u32, u32) {
        (
            ((w - crop) as f64 * self.u) as u32,
            ((h - crop) as f64 * self.v) as u32,
        )
    }
}

/// One RNG per iteration, seeded from (seed, iteration): order-independent and resumable.
pub(super) fn iteration_rng(seed: u64, iteration: u64) -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A training image as both loaders use it: shorter side downscaled to at most `resize`, then
/// upscaled to `crop` if it is shorter than that.
pub fn prepare(cfg: &DataConfig, path: &std::path::Path) -> Result<image::RgbImage> {
    let sizing = crate::imaging::Sizing {
        short_side: cfg.resize,
        crop: false,
        max_pixels: crate::imaging::DEFAULT_MAX_PIXELS,
    };
    let img = crate::imaging::load(path, &sizing)?;
    let rgb = crate::imaging::to_rgb8(img.data.view());
    let (w, h) = rgb.dimensions();
    let short = w.min(h);
    Ok(if short < cfg.crop {
        let s = cfg.crop as f64 / short as f64;
        imageops::resize(
            &rgb,
            ((w as f64 * s).ceil() as u32).max(cfg.crop),
            ((h as f64 * s).ceil() as u32).max(cfg.crop),
            imageops::FilterType::Triangle,
        )
    } else {
        rgb
    })
}

fn crop_cpu(cfg: &DataConfig, rgb: &image::RgbImage, d: &Draw) -> Vec<f32> {
    let (w, h) = rgb.dimensions();
    let (x0, y0) = d.origin(w, h, cfg.crop);
    let c = cfg.crop as usize;
    let mut out = vec![0f32; 3 * c * c];
    for y in 0..c {
        for x in 0..c {
            let sx = if d.flip {
                cfg.crop - 1 - x as u32
            } else {
                x as u32
            };
            let p = rgb.get_pixel(x0 + sx, y0 + y as u32).0;
            for ch in 0..3 {
                out[ch * c * c + y * c + x] = p[ch] as f32 / 255.0;
            }
        }
    }
    out
}

/// Iterations in one pass over the content images (the last batch may be partial).
pub fn iterations_per_epoch(content_files: usize, batch_size: usize) -> f64 {
    (content_files as f64 / batch_size.max(1) as f64)
        .ceil()
        .max(1.0)
}

/// Which loader feeds the step.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LoaderKind {
    /// `resident` on CUDA, `threads` on the CPU.
    #[default]
    Auto,
    /// Worker threads decode and crop every batch.
    Threads,
    /// Every image decoded once into device memory (uint8); crops are tensor slices there.
    Resident,
}

/// A crop the encoder's grid can take (multiple of 8) and large enough to be a training crop.
pub(super) fn check_crop(cfg: &DataConfig) -> Result<()> {
    if !cfg.crop.is_multiple_of(8) || cfg.crop < 64 {
        return Err(Error::Invalid(format!(
            "--crop {}: expected a multiple of 8, at least 64",
            cfg.crop
        )));
    }
    Ok(())
}
