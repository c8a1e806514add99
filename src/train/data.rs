//! Training batches: content and style images from folders (recursive), decoded, resized,
//! randomly cropped and flipped on worker threads ahead of the training step.
//!
//! Determinism: batch `i` is a pure function of (seed, i) — which files, which crop, which flip —
//! so a resumed run sees exactly the batches an uninterrupted one would, whatever the worker
//! timing. Workers claim iteration numbers from a counter and a small reorder buffer hands
//! batches out in order; the queue depth bounds memory.
//!
//! Aspect ratio is kept (unlike the PyTorch port, which squashes to 512x512): each image is
//! downscaled so its shorter side is at most `resize` (never upscaled; images whose shorter
//! side is under `crop` are upscaled to `crop`), then a random `crop` x `crop` window is taken,
//! mirrored left-right with probability 1/2.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use image::imageops;
use rand::{Rng, SeedableRng};

use crate::batch::plan;
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

/// One step's inputs, `[B, 3, crop, crop]` RGB in [0,1], flattened row-major.
pub struct Batch {
    pub iteration: u64,
    pub content: Vec<f32>,
    pub style: Vec<f32>,
}

/// Lists image files under folders (recursive), sorted.
pub fn list_images(what: &str, roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let found = plan::discover(what, roots, true)?;
    if found.inputs.is_empty() {
        return Err(Error::Invalid(format!(
            "no {what} images found in {roots:?}"
        )));
    }
    Ok(found.inputs.into_iter().map(|i| i.path).collect())
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
}

impl Loader {
    /// Starts workers producing batches from iteration `start` on.
    pub fn start(cfg: &DataConfig, start: u64) -> Result<Self> {
        if !cfg.crop.is_multiple_of(8) || cfg.crop < 64 {
            return Err(Error::Invalid(format!(
                "--crop {}: expected a multiple of 8, at least 64",
                cfg.crop
            )));
        }
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
    // One RNG per iteration, seeded from (seed, iteration): order-independent and resumable.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        cfg.seed ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
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
    let (k0, u, v, flip) = (
        rng.random_range(0..files.len()),
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<bool>(),
    );
    for step in 0..files.len() {
        let path = &files[(k0 + step) % files.len()];
        if shared.bad.lock().expect("loader lock").contains(path) {
            continue;
        }
        match crop(cfg, path, u, v, flip) {
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

fn crop(cfg: &DataConfig, path: &std::path::Path, u: f64, v: f64, flip: bool) -> Result<Vec<f32>> {
    let sizing = crate::imaging::Sizing {
        short_side: cfg.resize,
        crop: false,
        max_pixels: 100_000_000,
    };
    let img = crate::imaging::load(path, &sizing)?;
    let rgb = crate::imaging::to_rgb8(img.data.view());
    let (w, h) = rgb.dimensions();
    let short = w.min(h);
    let rgb = if short < cfg.crop {
        let s = cfg.crop as f64 / short as f64;
        imageops::resize(
            &rgb,
            ((w as f64 * s).ceil() as u32).max(cfg.crop),
            ((h as f64 * s).ceil() as u32).max(cfg.crop),
            imageops::FilterType::Triangle,
        )
    } else {
        rgb
    };
    let (w, h) = rgb.dimensions();
    let x0 = ((w - cfg.crop) as f64 * u) as u32;
    let y0 = ((h - cfg.crop) as f64 * v) as u32;
    let c = cfg.crop as usize;
    let mut out = vec![0f32; 3 * c * c];
    for y in 0..c {
        for x in 0..c {
            let sx = if flip {
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
    Ok(out)
}
