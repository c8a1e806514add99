//! `adain-batch`'s engine: stylize every content x style pair at every alpha through the split
//! ONNX graphs, encoding each image once.
//!
//! Flow: [`plan`] lists the outputs (naming, resume, shard) -> `record` skips those already on
//! disk -> `pipeline` runs the rest (`styles`: statistics once; contents streamed and encoded
//! once; batched AdaIN + decoder; `save`: atomic writes on rayon's pool), `naive` does
//! everything again per output (the benchmark's baseline) and `masked` places styles by region.
//! Each stage hands one `outcome` per job to the driver ([`run`]), whose `record` is the one
//! place it becomes a [`report::Row`], flushed as it arrives, and whose thumbnails `sheets`
//! draws as contact sheets -> the [`report::Summary`].

pub mod lock;
pub mod manifest;
pub mod plan;
pub mod report;

mod detail;
mod gather;
mod masked;
mod naive;
mod outcome;
mod outdir;
mod pipeline;
mod record;
mod save;
mod sheets;
mod styles;
mod video;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::imaging::{Encoding, Sizing};
use crate::onnx::Precision;
use crate::runtime::{self, Models, RuntimeConfig};
use gather::{classify_videos, discover, find_masks};
use outdir::{check_report_path, prepare_out, report_path};
use plan::{Input, Shard};
use record::Recorder;
use report::Summary;

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
    /// How outputs are written (format and its settings).
    pub encoding: Encoding,
    pub recursive: bool,
    pub preserve_color: bool,
    /// Keep the photo's fine detail at alphas below 1 (`--detail`, see `batch/detail.rs`).
    pub detail: bool,
    /// Style interpolation: one weight per style (in discovery order); outputs blend all styles.
    pub mix: Option<Vec<f32>>,
    pub runtime: RuntimeConfig,
    /// Outputs per decoder call; 0 picks by provider (2 on CPU, 16 on CUDA).
    pub batch_size: usize,
    pub overwrite: bool,
    /// Resume decodes each existing output fully before trusting it (see `record::finished`).
    pub verify: bool,
    pub shard: Option<Shard>,
    pub report: Option<PathBuf>,
    pub grid: Grid,
    /// Benchmark baseline: decode and encode content and style again for every output, batch 1,
    /// as the PyTorch scripts do.
    pub naive: bool,
    /// Tile side in pixels for contents over four tiles' worth of pixels (see [`crate::tiling`]);
    /// 0 never tiles.
    pub tile: usize,
    /// Masks (`--mask`): a folder of `<content name>.png` masks, or one mask file for a single
    /// content; masked contents get one output per alpha placing every style by region.
    pub mask: Option<PathBuf>,
    /// A content without a mask is an error (exit 2) instead of getting unmasked outputs.
    pub mask_required: bool,
    /// Video contents: flicker reduction in [0, 1) ([`crate::video::temporal`]); 0 stylizes
    /// frame by frame.
    pub temporal_smoothing: f32,
    /// The `ffmpeg` program for videos (`ffprobe` beside it); `None` looks on PATH.
    pub ffmpeg: Option<PathBuf>,
}

/// Progress callbacks (the binary draws an indicatif bar; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    fn start(&self, total: u64);
    fn inc(&self, n: u64);
    /// A line for the user (warnings, per-file errors), printed without tearing the bar.
    fn println(&self, line: &str);
    fn finish(&self);
    /// A video's frames done so far (of `total` when known); a bar may show it beside the
    /// outputs' count.
    fn frames(&self, _video: &str, _done: u64, _total: Option<u64>) {}
}

/// Prints lines to stderr and draws nothing.
pub struct NoProgress;
impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn inc(&self, _: u64) {}
    fn println(&self, line: &str) {
        crate::console::say(line);
    }
    fn finish(&self) {}
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub summary: Summary,
    pub report: PathBuf,
    pub sheets: Vec<PathBuf>,
}

/// What every stage reads: the run's settings and its discovered inputs.
#[derive(Clone, Copy)]
struct RunContext<'a> {
    cfg: &'a BatchConfig,
    contents: &'a [Input],
    styles: &'a [Input],
    /// Per content, its mask's path when its outputs are masked (`--mask`).
    masks: &'a [Option<PathBuf>],
    /// Per content, whether it is a video: its probe, or why it cannot be read (one error row
    /// per output); `None` for photos.
    videos: &'a [Option<std::result::Result<crate::video::Probe, String>>],
    /// FFmpeg, when the run has videos and it was found.
    tools: Option<&'a crate::video::Tools>,
    progress: &'a dyn Progress,
}

/// ONNX Runtime threads beyond this many per core only add contention (and memory).
const MAX_THREADS_PER_CORE: usize = 4;

impl BatchConfig {
    /// The checks on the numbers a user gives that need no file: thread count against the
    /// machine, `--mix` weights after summing (finite weights can overflow together).
    pub fn check(&self) -> Result<()> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = self.runtime.threads;
        if threads > cores * MAX_THREADS_PER_CORE {
            return Err(Error::Invalid(format!(
                "--threads {threads}: this machine has {cores} cores; at most {} threads are allowed (0 = one per core)",
                cores * MAX_THREADS_PER_CORE
            )));
        }
        if !(0.0..1.0).contains(&self.temporal_smoothing) {
            return Err(Error::Invalid(format!(
                "--temporal-smoothing {}: expected a number in [0, 1) (0 = frame by frame)",
                self.temporal_smoothing
            )));
        }
        if let Some(w) = &self.mix {
            let sum = w.iter().sum::<f32>();
            if !sum.is_finite() {
                return Err(Error::Invalid(format!(
                    "--mix {w:?}: the weights must have a finite sum (only their ratios matter)"
                )));
            }
            if sum <= 0.0 {
                return Err(Error::Invalid(format!(
                    "--mix {w:?}: the weights must have a positive sum"
                )));
            }
        }
        Ok(())
    }
}

/// Runs a batch. Errors returned here mean nothing could start (exit 1); per-output failures
/// are rows with status `error`.
pub fn run(cfg: &BatchConfig, progress: &dyn Progress, stop: &AtomicBool) -> Result<RunOutcome> {
    let t0 = Instant::now();
    cfg.check()?;
    let (contents, styles) = discover(cfg, progress)?;
    let masks = find_masks(cfg, &contents, &styles, progress)?;
    let (videos, tools) = classify_videos(cfg, &contents);
    let inputs = RunContext {
        cfg,
        contents: &contents,
        styles: &styles,
        masks: &masks,
        videos: &videos,
        tools: tools.as_ref(),
        progress,
    };
    let planned = planned_jobs(inputs);
    // Everything that can fail before work starts is checked before anything is written.
    let mut models = Models::open(&cfg.models, &cfg.runtime)?;
    // Lanes serve photos: videos run in their own stage (with its own sessions).
    let photo_contents = plan::by_content(&planned)
        .keys()
        .filter(|&&ci| videos[ci].is_none())
        .count();
    let (mut lanes, lane_shape) = open_lanes(cfg, &models, photo_contents)?;
    check_report_path(&report_path(cfg), cfg, &contents, &styles)?;
    let mut manifest = manifest::of(
        cfg,
        &models.files,
        &models.provider.to_string(),
        &models.precision().to_string(),
    )?;
    // Only runs with videos record it, so folders of photos made before videos still resume.
    if videos.iter().any(Option::is_some) {
        manifest.insert(
            "temporal smoothing".into(),
            f64::from(cfg.temporal_smoothing).into(),
        );
    }
    let (_lock, report_path, report) = prepare_out(cfg, &manifest, progress)?;
    if models.provider == runtime::Resolved::Cpu && models.precision() == Precision::Fp16 {
        progress.println(FP16_ON_CPU);
    }
    let batch_size = match cfg.batch_size {
        0 if models.provider == runtime::Resolved::Cuda => 16,
        0 => 2,
        n => n,
    };
    let shape = Shape {
        batch_size,
        lanes: lane_shape,
    };
    let (provider, precision) = (models.provider.to_string(), models.precision().to_string());
    let mut rec = Recorder::new(inputs, provider, precision, report, progress);
    progress.start(planned.len() as u64);
    // The stages hand back one outcome per job; only this driver records them.
    let sink: &mut outcome::Sink<'_> = &mut |o| rec.record(o);
    // Resume: outputs already on disk are skipped (and reported) unless --overwrite.
    let todo = record::skip_existing(inputs, &planned, sink);
    let (video_todo, todo): (Vec<plan::Job>, Vec<plan::Job>) =
        todo.into_iter().partition(|j| videos[j.content].is_some());
    let (masked_todo, todo): (Vec<plan::Job>, Vec<plan::Job>) = todo
        .into_iter()
        .partition(|j| j.style == plan::StyleRef::Masked);
    let interrupted = if cfg.naive {
        naive::run(inputs, sink, &mut models, &todo, stop)
    } else {
        pipeline::run(
            inputs,
            sink,
            &mut models,
            &mut lanes,
            &todo,
            batch_size,
            stop,
        )
    };
    let interrupted = interrupted || masked::run(inputs, sink, &mut models, &masked_todo, stop);
    let t_video = Instant::now();
    let interrupted =
        interrupted || video::run(inputs, sink, &mut models, &video_todo, batch_size, stop);
    let video_s = t_video.elapsed().as_secs_f64();
    progress.finish();
    let sheets = sheets::draw(inputs, &rec.thumbs, &planned, progress).unwrap_or_else(|e| {
        progress.println(&format!("error: cannot draw the contact sheets: {e}"));
        Vec::new()
    });
    let mut summary = summarise(cfg, &planned, &rec, &models, interrupted, shape, t0);
    summary.video_s = if video_todo.is_empty() { 0.0 } else { video_s };
    check_still_there(&rec.written, &report_path, &mut summary, progress);
    // The summary is saved when it can be; the caller prints it either way.
    if let Err(e) = summary.save(&report_path) {
        progress.println(&format!("error: cannot save the summary: {e}"));
    }
    Ok(RunOutcome {
        summary,
        report: report_path,
        sheets,
    })
}

/// The end-of-run check: every output this run counted as written is still there, and so is
/// the report. A folder removed or cleaned during the run once ended with "72 written" and exit
/// 0 while 14 were gone with the report; now those outputs count as failed (exit 2), named.
fn check_still_there(
    written: &[PathBuf],
    report: &Path,
    summary: &mut Summary,
    progress: &dyn Progress,
) {
    let missing: Vec<&PathBuf> = written.iter().filter(|p| !p.is_file()).collect();
    if let Some(first) = missing.first() {
        progress.println(&format!(
            "error: {} output(s) written by this run are no longer there (first: {}); was the output folder removed or cleaned during the run?",
            missing.len(),
            crate::console::escape_controls(&first.display().to_string(), false)
        ));
        summary.outputs_ok -= missing.len().min(summary.outputs_ok);
        summary.outputs_failed += missing.len();
    }
    if !report.is_file() && summary.report_error.is_none() {
        summary.report_error = Some(format!("{} was removed during the run", report.display()));
        progress.println(&format!(
            "error: the report {} was removed during the run",
            report.display()
        ));
    }
}

/// How the run was laid out, for the summary: outputs per decoder call, and the pipeline's lanes
/// (contents in flight) with ONNX Runtime threads per lane.
#[derive(Debug, Clone, Copy)]
struct Shape {
    batch_size: usize,
    lanes: (usize, usize),
}

/// The pipeline's lanes ([`pipeline::lanes`]) for its `contents` (photos), each with its own
/// sessions, opened before anything is written; none when the run uses one (then `models`
/// serves it). Returns them with (lanes, threads per lane) for the summary.
fn open_lanes(
    cfg: &BatchConfig,
    models: &Models,
    contents: usize,
) -> Result<(Vec<Models>, (usize, usize))> {
    if cfg.naive {
        return Ok((Vec::new(), (1, cfg.runtime.threads)));
    }
    let (lanes, threads) = side_by_side(cfg, models, contents)?;
    let n = lanes.len().max(1);
    Ok((lanes, (n, threads)))
}

/// Sessions of their own for `parts` pieces of work run side by side (the pipeline's contents,
/// a video's encoder and decoder stages), each on its share of the cores as [`pipeline::lanes`]
/// decides, with the ONNX Runtime threads of each; none when one part runs at a time (CUDA,
/// `--threads` set, one core, one part), and then the run's `models` serve.
fn side_by_side(cfg: &BatchConfig, models: &Models, parts: usize) -> Result<(Vec<Models>, usize)> {
    let cuda = models.provider == runtime::Resolved::Cuda;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (n, threads) = pipeline::lanes(cores, cfg.runtime.threads, parts, cuda);
    if n == 1 {
        return Ok((Vec::new(), threads));
    }
    let lane_cfg = RuntimeConfig {
        provider: runtime::Provider::Cpu,
        threads,
        precision: models.precision(),
    };
    let sessions = (0..n)
        .map(|_| Models::open(&cfg.models, &lane_cfg))
        .collect::<Result<Vec<_>>>()?;
    Ok((sessions, threads))
}

/// Said when fp16 graphs run on the CPU provider.
const FP16_ON_CPU: &str = "note: fp16 graphs on the CPU provider run slower than fp32 (ONNX \
     Runtime's CPU kernels convert float16 back to float32); fp16 is for GPUs, int8 is the fast \
     CPU path";

/// Every output of this run's share, in plan order.
fn planned_jobs(inputs: RunContext<'_>) -> Vec<plan::Job> {
    let cfg = inputs.cfg;
    let masked: Vec<bool> = inputs.masks.iter().map(Option::is_some).collect();
    let video: Vec<bool> = inputs.videos.iter().map(Option::is_some).collect();
    let all = plan::Plan {
        contents: inputs.contents,
        styles: inputs.styles,
        alphas: &cfg.alphas,
        mix: cfg.mix.is_some(),
        masked: &masked,
        video: &video,
        out: &cfg.out,
        ext: cfg.encoding.extension(),
    }
    .jobs();
    match cfg.shard {
        Some(s) => plan::shard(all, s),
        None => all,
    }
}

/// The run's figures.
fn summarise(
    cfg: &BatchConfig,
    planned: &[plan::Job],
    rec: &Recorder<'_>,
    models: &Models,
    interrupted: bool,
    shape: Shape,
    t0: Instant,
) -> Summary {
    let (lanes, lane_threads) = shape.lanes;
    let wall = t0.elapsed().as_secs_f64();
    let log = &rec.log;
    Summary {
        outputs_planned: planned.len(),
        outputs_ok: log.ok,
        outputs_skipped: log.skipped,
        outputs_failed: log.failed,
        interrupted,
        wall_s: wall,
        outputs_per_s: if wall > 0.0 {
            log.ok as f64 / wall
        } else {
            0.0
        },
        ms_per_output: if log.ok > 0 {
            wall * 1e3 / log.ok as f64
        } else {
            0.0
        },
        stage_s: log.totals.clone(),
        provider: models.provider.to_string(),
        precision: models.precision().to_string(),
        ort_threads: lane_threads,
        lanes,
        batch_size: if cfg.naive { 1 } else { shape.batch_size },
        mode: match (cfg.naive, lanes) {
            (true, _) => "naive: re-encode per output".into(),
            (false, 1) => "planned: encode once".into(),
            (false, n) => format!("planned: encode once, {n} contents at a time"),
        },
        adain_version: env!("CARGO_PKG_VERSION").into(),
        onnxruntime: runtime::environment()
            .map(|(_, l)| l.display().to_string())
            .unwrap_or_default(),
        models: cfg.models.display().to_string(),
        decoder: models.decoder_label(),
        report_error: rec.report_error.clone(),
        video_frames: log.video_frames,
        // Set by the caller, which timed the video stage.
        video_s: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 48 item 8: outputs counted as written that are gone at the end (a folder cleaned
    /// during the run) count as failed and are named; a removed report is a report error.
    #[test]
    fn outputs_and_report_gone_by_the_end_are_failures() {
        let d = tempfile::tempdir().unwrap();
        let kept = d.path().join("kept.jpg");
        std::fs::write(&kept, b"x").unwrap();
        let gone = d.path().join("gone.jpg");
        let mut s = Summary {
            outputs_ok: 2,
            ..Default::default()
        };
        check_still_there(
            &[kept.clone(), gone],
            &d.path().join("report.csv"),
            &mut s,
            &NoProgress,
        );
        assert_eq!((s.outputs_ok, s.outputs_failed), (1, 1));
        assert!(
            s.report_error
                .as_deref()
                .is_some_and(|e| e.contains("removed"))
        );
        let report = d.path().join("r.csv");
        std::fs::write(&report, b"content,style\n").unwrap();
        let mut s = Summary {
            outputs_ok: 1,
            ..Default::default()
        };
        check_still_there(&[kept], &report, &mut s, &NoProgress);
        assert_eq!(
            (s.outputs_ok, s.outputs_failed, s.report_error),
            (1, 0, None)
        );
    }
}
