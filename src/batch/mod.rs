//! `adain-batch`'s engine: stylize every content x style pair at every alpha through the split
//! ONNX graphs, encoding each image once.
//!
//! Flow: [`plan`] lists the outputs (naming, resume, shard) -> styles are decoded in parallel
//! (rayon) and encoded one by one (ONNX Runtime, outside rayon's pool), keeping only their relu4_1
//! mean/std -> contents stream through a bounded prefetch queue, each encoded once -> AdaIN and the
//! decoder run on batches of (style, alpha) for that content -> images are clamped, encoded and
//! written atomically on rayon's pool -> one [`report::Row`] per output, flushed as it arrives.
//! Memory is bounded by the prefetch depth, the batch size and the in-flight saves, not by the
//! number of images.

pub mod plan;
pub mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use image::RgbImage;
use ndarray::{Array1, Array4, Axis, s};

use crate::error::{Error, Result};
use crate::imaging::{self, Format, Image, Sizing};
use crate::onnx::Precision;
use crate::runtime::{self, Models, RuntimeConfig};
use plan::{Input, Job, Shard, StyleRef};
use report::{ReportWriter, Row, StageTotals, Status, Summary};

/// Contact sheets to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grid {
    None,
    /// One sheet per content image: rows styles, columns alphas.
    PerContent,
    /// One sheet for the run: rows content x style, columns alphas.
    PerRun,
}

/// Everything a run needs; built by the binary from its arguments.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub alphas: Vec<f32>,
    pub out: PathBuf,
    pub models: PathBuf,
    pub content_sizing: Sizing,
    pub style_sizing: Sizing,
    pub format: Format,
    pub quality: u8,
    pub recursive: bool,
    pub preserve_color: bool,
    /// Style interpolation: one weight per style (in discovery order); outputs blend all styles.
    pub mix: Option<Vec<f32>>,
    pub runtime: RuntimeConfig,
    /// Outputs per decoder call; 0 picks by provider (2 on CPU, 16 on CUDA).
    pub batch_size: usize,
    pub overwrite: bool,
    pub shard: Option<Shard>,
    pub report: Option<PathBuf>,
    pub grid: Grid,
    /// Benchmark baseline: decode and encode content and style again for every output, batch 1,
    /// as the PyTorch scripts do.
    pub naive: bool,
    /// Tile side in pixels for contents over four tiles' worth of pixels (see [`crate::tiling`]);
    /// 0 never tiles.
    pub tile: usize,
}

/// Progress callbacks (the binary draws an indicatif bar; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    fn start(&self, total: u64);
    fn inc(&self, n: u64);
    /// A line for the user (warnings, per-file errors), printed without tearing the bar.
    fn println(&self, line: &str);
    fn finish(&self);
}

/// Prints lines to stderr and draws nothing.
pub struct NoProgress;
impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn inc(&self, _: u64) {}
    fn println(&self, line: &str) {
        eprintln!("{line}");
    }
    fn finish(&self) {}
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    pub report: PathBuf,
    pub sheets: Vec<PathBuf>,
}

/// Style statistics (relu4_1 mean/std) with the time they cost.
#[derive(Clone)]
struct StyleStats {
    mean: Vec<f32>,
    std: Vec<f32>,
    width: u32,
    height: u32,
    load_s: f64,
    encode_s: f64,
}

fn ms(s: f64) -> f64 {
    (s * 1e3 * 1000.0).round() / 1000.0
}

/// Runs a batch. Errors returned here mean nothing could start (exit 1); per-output failures
/// are rows with status `error`.
pub fn run(cfg: &BatchConfig, progress: &dyn Progress, stop: &AtomicBool) -> Result<Outcome> {
    let t0 = Instant::now();
    let out = Some(cfg.out.as_path());
    let contents = plan::discover_inputs("content", &cfg.content, cfg.recursive, out)?;
    let styles = plan::discover_inputs("style", &cfg.style, cfg.recursive, out)?;
    for (what, f) in [("content", &contents), ("style", &styles)] {
        if !f.ignored.is_empty() {
            progress.println(&format!(
                "note: ignored {} {what} file(s) without an image extension, e.g. {}",
                f.ignored.len(),
                f.ignored[0].display()
            ));
        }
        if !f.outputs_skipped.is_empty() {
            progress.println(&format!(
                "note: skipped {} {what} path(s): the output folder, or images named like outputs, e.g. {}",
                f.outputs_skipped.len(),
                f.outputs_skipped[0].display()
            ));
        }
        if f.inputs.is_empty() {
            return Err(Error::Invalid(format!(
                "no {what} images found in {:?}",
                cfg_paths(cfg, what)
            )));
        }
    }
    let (contents, styles) = (contents.inputs, styles.inputs);
    if let Some(w) = &cfg.mix
        && w.len() != styles.len()
    {
        return Err(Error::Invalid(format!(
            "--mix gives {} weights but {} style images were found",
            w.len(),
            styles.len()
        )));
    }
    let all = plan::jobs(
        &contents,
        &styles,
        &cfg.alphas,
        cfg.mix.is_some(),
        &cfg.out,
        cfg.format.extension(),
    );
    let planned = match cfg.shard {
        Some(s) => plan::shard(all, s),
        None => all,
    };
    // Everything that can fail before work starts is checked before anything is written.
    let mut models = Models::open(&cfg.models, &cfg.runtime)?;
    check_writable(&cfg.out)?;
    let _lock = lock_out(cfg)?;
    let stale = crate::fsutil::remove_stale_temps(&cfg.out);
    if stale > 0 {
        progress.println(&format!(
            "note: removed {stale} temporary file(s) left in {} by an interrupted run",
            cfg.out.display()
        ));
    }
    let report_path = cfg.report.clone().unwrap_or_else(|| match cfg.shard {
        Some(s) => cfg
            .out
            .join(format!("report-shard-{}-of-{}.csv", s.index, s.count)),
        None => cfg.out.join("report.csv"),
    });
    let mut report = ReportWriter::create(&report_path)?;
    let provider = models.provider.to_string();
    if models.provider == runtime::Resolved::Cpu && models.precision() == Precision::Fp16 {
        progress.println(
            "note: fp16 graphs on the CPU provider run slower than fp32 (ONNX Runtime's CPU \
             kernels convert float16 back to float32); fp16 is for GPUs, int8 is the fast CPU path",
        );
    }
    let batch_size = match cfg.batch_size {
        0 if models.provider == runtime::Resolved::Cuda => 16,
        0 => 2,
        n => n,
    };
    let cfg = &BatchConfig {
        batch_size,
        ..cfg.clone()
    };

    let mut ctx = Ctx {
        cfg,
        contents: &contents,
        styles: &styles,
        provider: provider.clone(),
        precision: models.precision().to_string(),
        progress,
        report: &mut report,
        totals: StageTotals::default(),
        counts: [0; 3],
        thumbs: HashMap::new(),
        printed: Default::default(),
        report_error: None,
    };
    progress.start(planned.len() as u64);

    // Resume: outputs already on disk are skipped (and reported) unless --overwrite.
    let mut todo = Vec::new();
    for job in &planned {
        if !cfg.overwrite && job.output.is_file() {
            let mut row = ctx.base_row(job);
            row.status = Some(Status::Skipped);
            if cfg.grid != Grid::None
                && let Ok(img) = image::open(&job.output)
            {
                ctx.thumbs
                    .insert(job.output.clone(), thumbnail(&img.to_rgb8()));
            }
            ctx.emit(row)?;
        } else {
            todo.push(job.clone());
        }
    }

    let interrupted = if cfg.naive {
        ctx.run_naive(&mut models, &todo, stop)?
    } else {
        ctx.run_planned(&mut models, &todo, stop)?
    };
    progress.finish();

    let sheets = ctx.draw_sheets(&planned).unwrap_or_else(|e| {
        progress.println(&format!("error: cannot draw the contact sheets: {e}"));
        Vec::new()
    });
    let wall = t0.elapsed().as_secs_f64();
    let ok = ctx.counts[0];
    let summary = Summary {
        outputs_planned: planned.len(),
        outputs_ok: ok,
        outputs_skipped: ctx.counts[1],
        outputs_failed: ctx.counts[2],
        interrupted,
        wall_s: wall,
        outputs_per_s: if wall > 0.0 { ok as f64 / wall } else { 0.0 },
        ms_per_output: if ok > 0 { wall * 1e3 / ok as f64 } else { 0.0 },
        stage_s: ctx.totals.clone(),
        provider,
        precision: models.precision().to_string(),
        ort_threads: cfg.runtime.threads,
        batch_size: if cfg.naive { 1 } else { cfg.batch_size },
        mode: if cfg.naive {
            "naive: re-encode per output".into()
        } else {
            "planned: encode once".into()
        },
        adain_version: env!("CARGO_PKG_VERSION").into(),
        onnxruntime: runtime::environment()
            .map(|(_, l)| l.display().to_string())
            .unwrap_or_default(),
        models: cfg.models.display().to_string(),
        decoder: models.decoder_label(),
        report_error: ctx.report_error.clone(),
    };
    // The summary is saved when it can be; the caller prints it either way.
    if let Err(e) = summary.save(&report_path) {
        progress.println(&format!("error: cannot save the summary: {e}"));
    }
    Ok(Outcome {
        summary,
        report: report_path,
        sheets,
    })
}

/// AdaIN then the decoder, timed (see [`runtime::Stylized`]).
fn adain_decode(
    models: &mut Models,
    feats: &Array4<f32>,
    mean: &Array4<f32>,
    std: &Array4<f32>,
    alpha: &Array1<f32>,
) -> Result<(f64, f64, Array4<f32>)> {
    let r = models.stylize_features_timed(feats.view(), mean.view(), std.view(), alpha.view())?;
    Ok((r.adain_s, r.decode_s, r.images))
}

fn cfg_paths(cfg: &BatchConfig, what: &str) -> Vec<PathBuf> {
    if what == "content" {
        cfg.content.clone()
    } else {
        cfg.style.clone()
    }
}

/// Fails early, naming the folder, when outputs cannot be written there.
/// Takes the output folder's run lock (one per shard), held until the returned file is dropped:
/// two processes writing the same outputs and report would both do all the work and interleave
/// the report. The lock is advisory (flock) and released by the kernel if the process dies.
fn lock_out(cfg: &BatchConfig) -> Result<std::fs::File> {
    let name = match cfg.shard {
        Some(s) => format!(".adain-lock-shard-{}-of-{}", s.index, s.count),
        None => ".adain-lock".into(),
    };
    let path = cfg.out.join(name);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
            "output folder '{}' is in use by another adain-batch run (lock {}); wait for it, or use another --out or --shard",
            cfg.out.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

fn check_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Invalid(format!(
            "output folder '{}': cannot create: {e}",
            dir.display()
        ))
    })?;
    tempfile::Builder::new()
        .prefix(".adain-write-test-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            Error::Invalid(format!(
                "output folder '{}' is not writable: {e}",
                dir.display()
            ))
        })
}

const THUMB: u32 = 160;

fn thumbnail(img: &RgbImage) -> RgbImage {
    let w = (img.width() as f64 * THUMB as f64 / img.height() as f64)
        .round()
        .max(1.0) as u32;
    image::imageops::resize(img, w, THUMB, image::imageops::FilterType::Triangle)
}

/// A finished save, sent from rayon's pool back to the thread that owns the report.
struct Saved {
    row: Row,
    thumb: Option<RgbImage>,
}

struct Ctx<'a> {
    cfg: &'a BatchConfig,
    contents: &'a [Input],
    styles: &'a [Input],
    provider: String,
    precision: String,
    progress: &'a dyn Progress,
    report: &'a mut ReportWriter,
    totals: StageTotals,
    counts: [usize; 3], // ok, skipped, error
    thumbs: HashMap<PathBuf, RgbImage>,
    /// Error messages already printed: a bad file's error is printed once, not once per output
    /// (every output still gets its row).
    printed: std::collections::HashSet<String>,
    report_error: Option<String>,
}

impl Ctx<'_> {
    fn style_label(&self, s: &StyleRef) -> String {
        match s {
            StyleRef::One(i) => self.styles[*i].path.display().to_string(),
            StyleRef::Mix => {
                let w = self.cfg.mix.as_deref().unwrap_or(&[]);
                self.styles
                    .iter()
                    .zip(w)
                    .map(|(s, w)| format!("{}:{w}", s.path.display()))
                    .collect::<Vec<_>>()
                    .join(";")
            }
        }
    }

    fn base_row(&self, job: &Job) -> Row {
        Row {
            content: self.contents[job.content].path.display().to_string(),
            style: self.style_label(&job.style),
            alpha: job.alpha,
            output: job.output.display().to_string(),
            provider: self.provider.clone(),
            precision: self.precision.clone(),
            ..Default::default()
        }
    }

    fn emit(&mut self, mut row: Row) -> Result<()> {
        row.total_ms = ms((row.load_ms
            + row.encode_content_ms
            + row.encode_style_ms
            + row.adain_ms
            + row.decode_ms
            + row.save_ms)
            / 1e3);
        match row.status {
            Some(Status::Ok) => self.counts[0] += 1,
            Some(Status::Skipped) => self.counts[1] += 1,
            _ => {
                self.counts[2] += 1;
                if self.printed.insert(row.error.clone()) {
                    self.progress.println(&format!("error: {}", row.error));
                }
            }
        }
        self.totals.add(&row);
        // A report that cannot be written (disk full) stops being written; the work goes on,
        // since every finished output is on disk and a rerun skips it.
        if self.report_error.is_none()
            && let Err(e) = self.report.write(&row)
        {
            self.progress.println(&format!(
                "error: cannot write the report ({e}); later rows are not recorded"
            ));
            self.report_error = Some(e.to_string());
        }
        self.progress.inc(1);
        Ok(())
    }

    fn error_rows(&mut self, jobs: &[&Job], err: &str, share: impl Fn(&mut Row)) -> Result<()> {
        for j in jobs {
            let mut row = self.base_row(j);
            row.status = Some(Status::Error);
            row.error = err.to_string();
            share(&mut row);
            self.emit(row)?;
        }
        Ok(())
    }

    /// Decodes (rayon) and encodes (ORT) the styles `needed`, optionally recoloured to `content`.
    fn encode_styles(
        &self,
        models: &mut Models,
        needed: &[usize],
        recolor: Option<&Image>,
    ) -> HashMap<usize, Result<StyleStats, String>> {
        use rayon::prelude::*;
        let mut out = HashMap::new();
        // Chunks bound the decoded images held at once.
        for chunk in needed.chunks(8) {
            let decoded: Vec<(usize, Result<Image>, f64)> = chunk
                .par_iter()
                .map(|&si| {
                    let t = Instant::now();
                    let r =
                        imaging::load(&self.styles[si].path, &self.cfg.style_sizing).map(|img| {
                            match recolor {
                                Some(c) => imaging::match_color(&img, c),
                                None => img,
                            }
                        });
                    (si, r, t.elapsed().as_secs_f64())
                })
                .collect();
            for (si, r, load_s) in decoded {
                let stats = r.map_err(|e| format!("style image {e}")).and_then(|img| {
                    let t = Instant::now();
                    let batch = img.data.clone().insert_axis(Axis(0));
                    let enc = models.encode(batch.view()).map_err(|e| {
                        format!("style image '{}': {e}", self.styles[si].path.display())
                    })?;
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
    fn target_stats(
        &self,
        job: &Job,
        stats: &HashMap<usize, Result<StyleStats, String>>,
    ) -> Result<StyleStats, String> {
        match job.style {
            StyleRef::One(i) => stats[&i].clone(),
            StyleRef::Mix => {
                let weights = self.cfg.mix.as_deref().unwrap_or(&[]);
                let mut parts = Vec::new();
                for i in 0..self.styles.len() {
                    parts.push(stats[&i].clone()?);
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

    fn run_planned(
        &mut self,
        models: &mut Models,
        todo: &[Job],
        stop: &AtomicBool,
    ) -> Result<bool> {
        if todo.is_empty() {
            return Ok(false);
        }
        let needed: Vec<usize> = if todo.iter().any(|j| j.style == StyleRef::Mix) {
            (0..self.styles.len()).collect()
        } else {
            let mut v: Vec<usize> = todo
                .iter()
                .filter_map(|j| {
                    if let StyleRef::One(i) = j.style {
                        Some(i)
                    } else {
                        None
                    }
                })
                .collect();
            v.sort();
            v.dedup();
            v
        };
        // How many outputs of this run share each style (for attributing its cost).
        let mut style_uses: HashMap<usize, usize> = HashMap::new();
        for j in todo {
            match j.style {
                StyleRef::One(i) => *style_uses.entry(i).or_default() += 1,
                StyleRef::Mix => {
                    for i in 0..self.styles.len() {
                        *style_uses.entry(i).or_default() += 1;
                    }
                }
            }
        }
        let global_styles = if self.cfg.preserve_color {
            None
        } else {
            Some(self.encode_styles(models, &needed, None))
        };

        let groups = plan::by_content(todo);
        let order: Vec<usize> = groups.keys().copied().collect();
        let (tx_saved, rx_saved) = mpsc::channel::<Saved>();
        let mut in_flight = 0usize;
        let mut interrupted = false;

        // Contents are decoded ahead on a loader thread; the queue depth bounds memory.
        let sizing = self.cfg.content_sizing;
        let paths: Vec<(usize, PathBuf)> = order
            .iter()
            .map(|&ci| (ci, self.contents[ci].path.clone()))
            .collect();
        let (tx_img, rx_img) = mpsc::sync_channel::<(usize, Result<Image>, f64)>(2);
        let loader = std::thread::spawn(move || {
            for (ci, p) in paths {
                let t = Instant::now();
                let r = imaging::load(&p, &sizing);
                if tx_img.send((ci, r, t.elapsed().as_secs_f64())).is_err() {
                    break; // the consumer stopped (Ctrl-C)
                }
            }
        });

        for (ci, loaded, load_s) in rx_img.iter() {
            if stop.load(Ordering::SeqCst) {
                interrupted = true;
                break;
            }
            let jobs = &groups[&ci];
            let n = jobs.len() as f64;
            let img = match loaded {
                Ok(img) => img,
                Err(e) => {
                    self.error_rows(jobs, &format!("content image {e}"), |r| {
                        r.load_ms = ms(load_s / n)
                    })?;
                    continue;
                }
            };
            let (h, w) = (img.height() as usize, img.width() as usize);
            let t = Instant::now();
            // Large contents go through tiles: memory set by the tile, not by the image.
            let tiled = crate::tiling::should_tile(h, w, self.cfg.tile);
            let encoded = if tiled {
                crate::tiling::encode(models, img.data.view(), self.cfg.tile)
            } else {
                models
                    .encode(img.data.view().insert_axis(Axis(0)))
                    .map(|e| e.features)
            };
            let feats = match encoded {
                Ok(f) => f,
                Err(e) => {
                    let msg = format!("content image '{}': {e}", self.contents[ci].path.display());
                    self.error_rows(jobs, &msg, |r| r.load_ms = ms(load_s / n))?;
                    continue;
                }
            };
            let enc_s = t.elapsed().as_secs_f64();
            // The pixels are needed after encoding only to recolour styles (preserve-color);
            // dropping them here keeps a large content's memory to its features.
            let img = global_styles.is_none().then_some(img);
            let local;
            let stats = match &global_styles {
                Some(s) => s,
                None => {
                    let mut need: Vec<usize> = needed.clone();
                    if !jobs.iter().any(|j| j.style == StyleRef::Mix) {
                        need.retain(|i| jobs.iter().any(|j| j.style == StyleRef::One(*i)));
                    }
                    local = self.encode_styles(models, &need, img.as_ref());
                    &local
                }
            };
            // Outputs whose style failed are reported now; the rest go through in batches.
            let mut ready: Vec<(&Job, StyleStats)> = Vec::new();
            for j in jobs {
                match self.target_stats(j, stats) {
                    Ok(s) => ready.push((j, s)),
                    Err(e) => self.error_rows(&[j], &e, |r| r.load_ms = ms(load_s / n))?,
                }
            }
            // A tiled content's outputs are whole images: one at a time bounds the memory.
            let per_call = if tiled { 1 } else { self.cfg.batch_size };
            for chunk in ready.chunks(per_call) {
                if stop.load(Ordering::SeqCst) {
                    interrupted = true;
                    break;
                }
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
                let result = if tiled {
                    let t = Instant::now();
                    crate::tiling::stylize(
                        models,
                        feats.view(),
                        mean.view(),
                        std.view(),
                        alpha.as_slice().expect("contiguous"),
                        (h, w),
                        self.cfg.tile,
                    )
                    .map(|y| (0.0, t.elapsed().as_secs_f64(), y))
                } else {
                    adain_decode(models, &feats, &mean, &std, &alpha)
                        .map(|(a, d, y)| (a, d, runtime::crop(y, h, w)))
                };
                let (adain_s, decode_s, images) = match result {
                    Ok(r) => r,
                    Err(e) => {
                        let jobs: Vec<&Job> = chunk.iter().map(|(j, _)| *j).collect();
                        let msg =
                            format!("content image '{}': {e}", self.contents[ci].path.display());
                        self.error_rows(&jobs, &msg, |_| {})?;
                        continue;
                    }
                };
                for (k, (job, st)) in chunk.iter().enumerate() {
                    let mut row = self.base_row(job);
                    row.content_width = w as u32;
                    row.content_height = h as u32;
                    row.style_width = st.width;
                    row.style_height = st.height;
                    let uses = match job.style {
                        StyleRef::One(i) => style_uses[&i] as f64,
                        StyleRef::Mix => style_uses.get(&0).copied().unwrap_or(1) as f64,
                    };
                    // Per content-encode styles (preserve-color) belong to this content's outputs.
                    let uses = if global_styles.is_some() { uses } else { n };
                    row.load_ms = ms(load_s / n + st.load_s / uses);
                    row.encode_content_ms = ms(enc_s / n);
                    row.encode_style_ms = ms(st.encode_s / uses);
                    row.adain_ms = ms(adain_s / b as f64);
                    row.decode_ms = ms(decode_s / b as f64);
                    let img = images.index_axis(Axis(0), k).to_owned();
                    let (fmt, q, grid, out) = (
                        self.cfg.format,
                        self.cfg.quality,
                        self.cfg.grid != Grid::None,
                        job.output.clone(),
                    );
                    let tx = tx_saved.clone();
                    in_flight += 1;
                    rayon::spawn(move || {
                        let t = Instant::now();
                        let rgb = imaging::to_rgb8(img.view());
                        let r = imaging::save(&out, &rgb, fmt, q);
                        row.save_ms = ms(t.elapsed().as_secs_f64());
                        row.output_width = rgb.width();
                        row.output_height = rgb.height();
                        match r {
                            Ok(()) => row.status = Some(Status::Ok),
                            Err(e) => {
                                row.status = Some(Status::Error);
                                row.error = format!("cannot write output: {e}");
                            }
                        }
                        let thumb = grid.then(|| thumbnail(&rgb));
                        let _ = tx.send(Saved { row, thumb });
                    });
                }
                // Report what finished so far without waiting for the rest.
                while let Ok(s) = rx_saved.try_recv() {
                    in_flight -= 1;
                    self.finish_saved(s)?;
                }
                // Bound the images waiting to be saved.
                while in_flight > 2 * self.cfg.batch_size.max(4) {
                    let s = rx_saved.recv().expect("save tasks hold a sender");
                    in_flight -= 1;
                    self.finish_saved(s)?;
                }
            }
            if interrupted {
                break;
            }
        }
        drop(rx_img); // lets the loader thread stop if we left early
        let _ = loader.join();
        while in_flight > 0 {
            let s = rx_saved.recv().expect("save tasks hold a sender");
            in_flight -= 1;
            self.finish_saved(s)?;
        }
        Ok(interrupted || stop.load(Ordering::SeqCst))
    }

    fn finish_saved(&mut self, s: Saved) -> Result<()> {
        if let Some(t) = s.thumb {
            self.thumbs.insert(PathBuf::from(&s.row.output), t);
        }
        self.emit(s.row)
    }

    /// The baseline of the benchmark: everything again for every output, batch 1, in order.
    fn run_naive(&mut self, models: &mut Models, todo: &[Job], stop: &AtomicBool) -> Result<bool> {
        for job in todo {
            if stop.load(Ordering::SeqCst) {
                return Ok(true);
            }
            let mut row = self.base_row(job);
            let t = Instant::now();
            let content =
                match imaging::load(&self.contents[job.content].path, &self.cfg.content_sizing) {
                    Ok(c) => c,
                    Err(e) => {
                        self.error_rows(&[job], &format!("content image {e}"), |_| {})?;
                        continue;
                    }
                };
            row.load_ms = ms(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let feats = models
                .encode(content.data.clone().insert_axis(Axis(0)).view())?
                .features;
            row.encode_content_ms = ms(t.elapsed().as_secs_f64());
            let needed: Vec<usize> = match job.style {
                StyleRef::One(i) => vec![i],
                StyleRef::Mix => (0..self.styles.len()).collect(),
            };
            let recolor = self.cfg.preserve_color.then_some(&content);
            let stats = self.encode_styles(models, &needed, recolor);
            let st = match self.target_stats(job, &stats) {
                Ok(s) => s,
                Err(e) => {
                    self.error_rows(&[job], &e, |_| {})?;
                    continue;
                }
            };
            row.load_ms += ms(st.load_s);
            row.encode_style_ms = ms(st.encode_s);
            let mean = Array4::from_shape_vec((1, st.mean.len(), 1, 1), st.mean.clone())
                .expect("512 values");
            let std = Array4::from_shape_vec((1, st.std.len(), 1, 1), st.std.clone())
                .expect("512 values");
            let alpha = Array1::from(vec![job.alpha]);
            let (adain_s, decode_s, y) = adain_decode(models, &feats, &mean, &std, &alpha)?;
            let y = runtime::crop(y, content.height() as usize, content.width() as usize);
            row.adain_ms = ms(adain_s);
            row.decode_ms = ms(decode_s);
            let t = Instant::now();
            let rgb = imaging::to_rgb8(y.index_axis(Axis(0), 0));
            match imaging::save(&job.output, &rgb, self.cfg.format, self.cfg.quality) {
                Ok(()) => row.status = Some(Status::Ok),
                Err(e) => {
                    row.status = Some(Status::Error);
                    row.error = format!("cannot write output: {e}");
                }
            }
            row.save_ms = ms(t.elapsed().as_secs_f64());
            (
                row.content_width,
                row.content_height,
                row.style_width,
                row.style_height,
            ) = (content.width(), content.height(), st.width, st.height);
            (row.output_width, row.output_height) = (rgb.width(), rgb.height());
            if self.cfg.grid != Grid::None {
                self.thumbs.insert(job.output.clone(), thumbnail(&rgb));
            }
            self.emit(row)?;
        }
        Ok(false)
    }

    /// Contact sheets like the course report's tables: rows content x style, columns alphas,
    /// with the content and style images in the first two columns.
    fn draw_sheets(&mut self, planned: &[Job]) -> Result<Vec<PathBuf>> {
        if self.cfg.grid == Grid::None || planned.is_empty() {
            return Ok(Vec::new());
        }
        let mut col_labels = vec!["content".to_string(), "style".to_string()];
        col_labels.extend(
            self.cfg
                .alphas
                .iter()
                .map(|a| format!("alpha {}", plan::alpha_label(*a))),
        );
        // rows keyed by (content, style) in plan order
        let mut rows: Vec<((usize, String), Vec<&Job>)> = Vec::new();
        for j in planned {
            let key = (j.content, format!("{:?}", j.style));
            match rows.last_mut() {
                Some((k, v)) if *k == key => v.push(j),
                _ => rows.push((key, vec![j])),
            }
        }
        const MAX_ROWS: usize = 60; // one sheet stays viewable; larger runs: use --grid content
        let mut sheets = Vec::new();
        let groups: Vec<Vec<usize>> = match self.cfg.grid {
            Grid::PerRun => vec![(0..rows.len().min(MAX_ROWS)).collect()],
            _ => {
                let mut g: Vec<Vec<usize>> = Vec::new();
                for (i, ((ci, _), _)) in rows.iter().enumerate() {
                    if i > 0 && rows[i - 1].0.0 == *ci {
                        g.last_mut().expect("non-empty").push(i);
                    } else {
                        g.push(vec![i]);
                    }
                }
                g
            }
        };
        if self.cfg.grid == Grid::PerRun && rows.len() > MAX_ROWS {
            self.progress.println(&format!("note: contact sheet shows the first {MAX_ROWS} of {} content x style rows (use --grid content for all)", rows.len()));
        }
        let sizing_thumb = |p: &Path| image::open(p).ok().map(|i| thumbnail(&i.to_rgb8()));
        let mut input_thumbs: HashMap<PathBuf, Option<RgbImage>> = HashMap::new();
        for group in groups {
            let mut cells = Vec::new();
            let mut labels = Vec::new();
            for &ri in &group {
                let jobs = &rows[ri].1;
                let j0 = jobs[0];
                let cpath = self.contents[j0.content].path.clone();
                let mut row_cells = Vec::new();
                let blank = || RgbImage::from_pixel(THUMB, THUMB, image::Rgb([235, 235, 235]));
                let ct = input_thumbs
                    .entry(cpath.clone())
                    .or_insert_with(|| sizing_thumb(&cpath))
                    .clone();
                row_cells.push(ct.unwrap_or_else(blank));
                let st = match j0.style {
                    StyleRef::One(i) => {
                        let sp = self.styles[i].path.clone();
                        input_thumbs
                            .entry(sp.clone())
                            .or_insert_with(|| sizing_thumb(&sp))
                            .clone()
                    }
                    StyleRef::Mix => None,
                };
                row_cells.push(st.unwrap_or_else(blank));
                for a in &self.cfg.alphas {
                    let cell = jobs
                        .iter()
                        .find(|j| j.alpha == *a)
                        .and_then(|j| self.thumbs.get(&j.output).cloned());
                    row_cells.push(cell.unwrap_or_else(blank));
                }
                let sname = match j0.style {
                    StyleRef::One(i) => self.styles[i].name.clone(),
                    StyleRef::Mix => "mix".into(),
                };
                labels.push(format!("{} x {}", self.contents[j0.content].name, sname));
                cells.push(row_cells);
            }
            let sheet = imaging::contact_sheet(&cells, &col_labels, &labels, THUMB);
            let name = match self.cfg.grid {
                Grid::PerRun => match self.cfg.shard {
                    Some(s) => format!("contact_sheet-shard-{}-of-{}.png", s.index, s.count),
                    None => "contact_sheet.png".into(),
                },
                _ => format!(
                    "contact_sheet_{}.png",
                    self.contents[rows[group[0]].1[0].content].name
                ),
            };
            let path = self.cfg.out.join(name);
            imaging::save(&path, &sheet, Format::Png, 100)?;
            sheets.push(path);
        }
        Ok(sheets)
    }
}
