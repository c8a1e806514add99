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

mod masked;
mod naive;
mod outcome;
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
use plan::{Input, Shard};
use record::Recorder;
use report::{ReportWriter, Summary};

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
    /// Style interpolation: one weight per style (in discovery order); outputs blend all styles.
    pub mix: Option<Vec<f32>>,
    pub runtime: RuntimeConfig,
    /// Outputs per decoder call; 0 picks by provider (2 on CPU, 16 on CUDA).
    pub batch_size: usize,
    pub overwrite: bool,
    /// Resume decodes each existing output fully before trusting it (see [`record::finished`]).
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
    let all = plan::jobs(
        inputs.contents,
        inputs.styles,
        &cfg.alphas,
        cfg.mix.is_some(),
        &masked,
        &cfg.out,
        cfg.encoding.extension(),
    );
    // A video's outputs are videos.
    let all = all
        .into_iter()
        .map(|mut j| {
            if inputs.videos[j.content].is_some() {
                j.output.set_extension("mp4");
            }
            j
        })
        .collect();
    match cfg.shard {
        Some(s) => plan::shard(all, s),
        None => all,
    }
}

/// Which contents are videos: files with a video extension (probed: one that is no video is
/// an error row, not a photo), and GIFs that probe as more than one frame. Without FFmpeg,
/// video files get an error row saying how to install it, and GIFs stay pictures.
#[allow(clippy::type_complexity)]
fn classify_videos(
    cfg: &BatchConfig,
    contents: &[Input],
) -> (
    Vec<Option<std::result::Result<crate::video::Probe, String>>>,
    Option<crate::video::Tools>,
) {
    use crate::video;
    let any = contents
        .iter()
        .any(|c| video::has_video_ext(&c.path) || video::is_gif(&c.path));
    if !any {
        return (vec![None; contents.len()], None);
    }
    let tools = video::Tools::find(cfg.ffmpeg.as_deref());
    let kinds = contents
        .iter()
        .map(|c| {
            let named_video = video::has_video_ext(&c.path);
            match (&tools, named_video, video::is_gif(&c.path)) {
                (Err(e), true, _) => Some(Err(format!("video '{}': {e}", c.path.display()))),
                (Ok(t), true, _) => Some(match video::probe(t, &c.path) {
                    Ok(Some(p)) => Ok(p),
                    Ok(None) => Err(format!(
                        "video '{}': a still picture, not a video (give it an image extension)",
                        c.path.display()
                    )),
                    Err(e) => Err(e.to_string()),
                }),
                // An animated GIF is a video; a still one (or one ffprobe cannot read) a picture.
                (Ok(t), false, true) => video::probe(t, &c.path).ok().flatten().map(Ok),
                _ => None,
            }
        })
        .collect();
    (kinds, tools.ok())
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

/// Makes the output folder ready: writable, locked for this run (the returned file holds the
/// lock), cleared of an interrupted run's temporary files, with the report created.
fn prepare_out(
    cfg: &BatchConfig,
    manifest: &manifest::Manifest,
    progress: &dyn Progress,
) -> Result<(lock::RunLock, PathBuf, ReportWriter)> {
    check_writable(&cfg.out)?;
    let lock = lock::acquire(&cfg.out, cfg.shard)?;
    // Under the lock, before the report or any output: a resume with other settings is refused.
    manifest::check_and_write(&cfg.out, manifest, cfg.overwrite)?;
    let stale = crate::fsutil::remove_stale_temps(&cfg.out);
    if stale > 0 {
        progress.println(&format!(
            "note: removed {stale} temporary file(s) left in {} by an interrupted run",
            cfg.out.display()
        ));
    }
    let path = report_path(cfg);
    let report = ReportWriter::create(&path)?;
    Ok((lock, path, report))
}

/// The files a mask for content `name` may be in `dir`: `name` with each image extension
/// ([`crate::inputs::IMAGE_EXTENSIONS`], lower then upper case), PNG first (a lossless mask
/// wins over a JPEG of the same name).
fn mask_candidates<'a>(dir: &'a Path, name: &'a str) -> impl Iterator<Item = PathBuf> + 'a {
    let png = std::iter::once("png");
    let others = crate::inputs::IMAGE_EXTENSIONS
        .iter()
        .copied()
        .filter(|e| *e != "png");
    png.chain(others)
        .flat_map(|e| [e.to_string(), e.to_ascii_uppercase()])
        .map(move |e| dir.join(format!("{name}.{e}")))
}

/// Each content's mask under `--mask`: `DIR/<content name>.png` (the name as outputs spell it),
/// or the one file given for a single content. Contents without one get unmasked outputs and
/// one note, or, with `--mask-required`, are planned masked so that each output is an error
/// row naming the mask looked for.
fn find_masks(
    cfg: &BatchConfig,
    contents: &[Input],
    styles: &[Input],
    progress: &dyn Progress,
) -> Result<Vec<Option<PathBuf>>> {
    let Some(m) = &cfg.mask else {
        return Ok(vec![None; contents.len()]);
    };
    if styles.len() < 2 {
        return Err(Error::Invalid(format!(
            "--mask places two or more styles by region; found {} style image(s)",
            styles.len()
        )));
    }
    if cfg.mix.is_some() {
        return Err(Error::Invalid(
            "--mask and --mix both decide how styles combine; give one".into(),
        ));
    }
    if m.is_file() {
        if contents.len() != 1 {
            return Err(Error::Invalid(format!(
                "--mask {} is one file, for one content; found {} contents (give a folder of <content name>.png masks)",
                m.display(),
                contents.len()
            )));
        }
        return Ok(vec![Some(m.clone())]);
    }
    if !m.is_dir() {
        return Err(Error::Invalid(format!(
            "--mask {}: no such file or folder",
            m.display()
        )));
    }
    let mut missing = Vec::new();
    let found: Vec<Option<PathBuf>> = contents
        .iter()
        .map(|c| {
            let hit = mask_candidates(m, &c.name).find(|p| p.is_file());
            match hit {
                Some(p) => Some(p),
                None => {
                    let want = m.join(format!("{}.png", c.name));
                    missing.push(want.clone());
                    cfg.mask_required.then_some(want)
                }
            }
        })
        .collect();
    if !missing.is_empty() && !cfg.mask_required {
        progress.println(&format!(
            "note: {} content(s) have no mask (e.g. {}): their outputs are unmasked, one per style; --mask-required makes that an error",
            missing.len(),
            missing[0].display()
        ));
    }
    Ok(found)
}

/// Finds the content and style images (never the output folder or files named like outputs),
/// printing what was passed over; none of either, or a `--mix` of the wrong length, is an error.
fn discover(cfg: &BatchConfig, progress: &dyn Progress) -> Result<(Vec<Input>, Vec<Input>)> {
    let out = Some(cfg.out.as_path());
    let contents = plan::discover_inputs("content", &cfg.content, cfg.recursive, out, true)?;
    let styles = plan::discover_inputs("style", &cfg.style, cfg.recursive, out, false)?;
    for (what, f, roots) in [
        ("content", &contents, &cfg.content),
        ("style", &styles, &cfg.style),
    ] {
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
        if !f.loops.is_empty() {
            progress.println(&format!(
                "note: did not follow {} {what} folder link(s) to a folder already searched (file system loop or repeat), e.g. {}",
                f.loops.len(),
                f.loops[0].display()
            ));
        }
        if f.inputs.is_empty() {
            return Err(Error::Invalid(format!(
                "no {what} images found in {roots:?}"
            )));
        }
    }
    if let Some(w) = &cfg.mix
        && w.len() != styles.inputs.len()
    {
        return Err(Error::Invalid(format!(
            "--mix gives {} weights but {} style images were found",
            w.len(),
            styles.inputs.len()
        )));
    }
    Ok((contents.inputs, styles.inputs))
}

/// OUT/report.csv, or OUT/report-shard-I-of-N.csv, unless --report names it.
/// Refuses a report path that would overwrite something that is not a report: `--report
/// photo.jpg` once replaced the photo with CSV, and `--report MODELS/adain_decoder.onnx` the
/// model (`cp a a` refuses the same way). A report is a `.csv` path that is not an input, not in
/// the models folder, and, if it exists, empty or already an adain report.
fn check_report_path(
    path: &Path,
    cfg: &BatchConfig,
    contents: &[Input],
    styles: &[Input],
) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::Invalid(format!(
            "--report {}: {what}; refusing to overwrite it with the CSV report",
            path.display()
        )))
    };
    let csv = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("csv"));
    if !csv {
        return refuse("not a .csv path".into());
    }
    // A FIFO, device or folder there (through a link too) is never written: opening a FIFO
    // for writing waits for a reader forever, and a device would be fed the report.
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        return refuse(format!("it is {}", crate::fsutil::describe(&m.file_type())));
    }
    // A link there is replaced, its target untouched (ReportWriter::create); only a file that
    // exists can be an input or a model.
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_symlink() => {}
        _ => return Ok(()),
    }
    let Ok(target) = path.canonicalize() else {
        return Ok(());
    };
    for (what, set) in [("content", contents), ("style", styles)] {
        if let Some(i) = set.iter().find(|i| crate::fsutil::same_file(&i.path, path)) {
            return refuse(format!("it is the {what} image {}", i.path.display()));
        }
    }
    if cfg
        .models
        .canonicalize()
        .is_ok_and(|m| target.starts_with(m))
    {
        return refuse(format!(
            "it is in the models folder {}",
            cfg.models.display()
        ));
    }
    if target.is_file() && !report::looks_like_report(&target) {
        return refuse("it holds something other than an adain report".into());
    }
    Ok(())
}

fn report_path(cfg: &BatchConfig) -> PathBuf {
    cfg.report.clone().unwrap_or_else(|| match cfg.shard {
        Some(s) => cfg
            .out
            .join(format!("report-shard-{}-of-{}.csv", s.index, s.count)),
        None => cfg.out.join("report.csv"),
    })
}

/// Fails early, naming the folder, when outputs cannot be written there: the folder is made,
/// and a 512-byte probe (one block: any write fails on a full disk, and it stays under a small
/// `ulimit -f`) is written and removed, so a full disk stops the run before it
/// leaves a lock or an empty report behind.
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
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&[0u8; 512])?;
            f.flush()
        })
        .map_err(|e| {
            Error::Invalid(format!(
                "output folder '{}' is not writable: {e}",
                dir.display()
            ))
        })
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
