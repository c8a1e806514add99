//! `adain-batch`: stylize every content x style pair at every alpha (arguments -> BatchConfig ->
//! adain::batch::run). Exit status: 0 all outputs written or already there, 2 some outputs
//! failed (see the report), 1 nothing could start, 130 interrupted (rerun to resume).

use std::path::PathBuf;
use std::process::ExitCode;

use adain::batch::{self, BatchConfig, Grid, Progress, plan};
use adain::console::{Exit, say};
use adain::imaging::{Format, Sizing};
use adain::onnx::Precision;
use adain::runtime::{Provider, RuntimeConfig};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "adain-batch",
    version,
    about = "Stylize every content x style pair at every alpha with AdaIN (ONNX Runtime)",
    after_help = "Outputs are named <content>_stylized_<style>_alpha<alpha>.<ext>; see docs/batch.md. \
                  Existing outputs are skipped, so rerunning an interrupted command finishes the rest."
)]
struct Args {
    /// Content images: folders and/or files.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    content: Vec<PathBuf>,
    /// Style images: folders and/or files.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    style: Vec<PathBuf>,
    /// Content-style trade-offs, comma-separated, each in [0, 1] (1 = full style).
    #[arg(long, default_value = "1.0", value_name = "LIST", value_parser = plan::parse_alphas, allow_hyphen_values = true)]
    alphas: std::vec::Vec<f32>,
    /// Output folder (created if missing).
    #[arg(long, default_value = "outputs/batch", value_name = "DIR")]
    out: PathBuf,
    /// Folder with the graphs (`adain export`): encoder.onnx, adain.onnx, decoder.onnx and
    /// adain_decoder.onnx, plus *.int8.onnx / *.fp16.onnx for --precision. Default: the
    /// checkout's onnx/, else the installed ones, else the data folder's (`adain info` shows
    /// which; never the current folder).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Downscale content images so the shorter side is at most this many pixels (never upscaled;
    /// 0 keeps the original size). Outputs have the resized content's size.
    #[arg(long, default_value_t = 512, value_name = "PX")]
    content_size: u32,
    /// Downscale style images so the shorter side is at most this many pixels (0 keeps the original).
    #[arg(long, default_value_t = 512, value_name = "PX")]
    style_size: u32,
    /// Centre-crop content and style to a square of the size above after resizing.
    #[arg(long)]
    crop: bool,
    /// Refuse images with more pixels than this when their size is kept (0 size); with a size
    /// set, images up to 4x this are decoded and downscaled.
    #[arg(long, default_value_t = adain::imaging::FULL_SIZE_MAX_PIXELS, value_name = "PIXELS")]
    max_pixels: u64,
    /// Output image format (webp is lossless).
    #[arg(long, value_enum, default_value_t = Format::Jpg)]
    format: Format,
    /// JPEG quality, 1-100.
    #[arg(long, default_value_t = 92, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Look for images in subfolders too (subfolders become part of the output names).
    #[arg(long)]
    recursive: bool,
    /// Keep the content's colours: match each style image's colour statistics to the content
    /// before encoding it (paper section 7.2). Styles are then encoded once per content.
    #[arg(long)]
    preserve_color: bool,
    /// Keep the photo's fine detail (eyes, edges, lettering) at alphas below 1: each output adds
    /// back (1 - alpha) of what the decoder loses of the photo, so alpha 0 is the photo itself
    /// and alpha 1 is unchanged. One more decode per content (per frame of a video) when some
    /// alpha is below 1.
    #[arg(long)]
    detail: bool,
    /// Style interpolation: one weight per style image (in sorted path order); each content gets
    /// one output per alpha that blends all styles with these weights (normalised to sum 1).
    #[arg(long, value_name = "W1,W2,...", value_delimiter = ',', value_parser = parse_weight, allow_hyphen_values = true)]
    mix: Option<Vec<f32>>,
    /// Spatial control: a folder of masks named like the contents (`<content name>.png`), or one
    /// mask file for one content. Two styles: white takes the first (sorted order), black the
    /// second, grey blends; K >= 3 styles: a PNG with exactly K colours, the colours sorted by
    /// (R, G, B) taking the styles in sorted order. One output per alpha, named
    /// `<content>_stylized_mask-<style1>-<style2>..._alpha<a>`.
    #[arg(long, value_name = "DIR|FILE")]
    mask: Option<PathBuf>,
    /// With --mask, a content without a mask is an error row per output (exit 2) instead of
    /// getting unmasked outputs.
    #[arg(long, requires = "mask")]
    mask_required: bool,
    /// Video contents (mp4, mov, mkv, webm, avi, m4v, animated GIF; written as H.264 MP4 with
    /// the source's audio): flicker reduction in [0, 1). Content statistics are averaged over
    /// frames and each pixel keeps this share of its previous stylized value where the input
    /// did not change there; 0 stylizes frame by frame (see docs/batch.md).
    #[arg(long, default_value_t = 0.5, value_name = "S")]
    temporal_smoothing: f32,
    /// The ffmpeg program for video contents (ffprobe is looked for beside it); default: PATH.
    #[arg(long, value_name = "PATH")]
    ffmpeg: Option<PathBuf>,
    /// Execution provider: auto (CUDA if usable, else CPU, and says so), cpu, or cuda (an error
    /// if CUDA cannot run).
    #[arg(long, value_enum, default_value_t = Provider::Auto)]
    provider: Provider,
    /// Graph precision: int8 (encoder and decoder quantised, 2.5-4x faster than fp32 on a CPU,
    /// SSIM and style error within 2% of fp32; `adain export --int8`), fp32 (exact), fp16 (for
    /// GPUs; `adain export --half`). Default: int8 on the CPU when the models folder holds
    /// current int8 graphs (else fp32, with a note), fp32 on CUDA.
    #[arg(long, value_enum)]
    precision: Option<Precision>,
    /// Contents with more than four tiles' worth of pixels run through the networks in
    /// overlapping tiles of this side, so memory is bounded whatever the image size (AdaIN still
    /// uses the whole image's statistics); a multiple of 8, at least 64; 0 = never tile.
    #[arg(long, default_value_t = adain::tiling::DEFAULT_TILE, value_name = "PX", value_parser = parse_tile)]
    tile: usize,
    /// ONNX Runtime intra-op threads (0 = one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// Outputs of one content decoded per ONNX Runtime call (0 = auto: 2 on CPU, where larger
    /// batches only cost cache, 16 on CUDA).
    #[arg(long, default_value_t = 0, value_name = "N")]
    batch_size: usize,
    /// Rewrite outputs that already exist (default: skip them, so a rerun resumes).
    #[arg(long)]
    overwrite: bool,
    /// Resume trusts an existing output when it is a regular, non-empty file that starts like
    /// the format (anything else is made again); --verify also decodes each one whole first.
    #[arg(long)]
    verify: bool,
    /// Do only shard I of N (0-based) of the job list: N processes together write every output once.
    #[arg(long, value_name = "I/N")]
    shard: Option<plan::Shard>,
    /// CSV timing report (default: OUT/report.csv, or OUT/report-shard-I-of-N.csv).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Contact sheets: one per run (rows content x style, columns alphas), or one per content.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "run", value_name = "PER")]
    grid: Option<GridArg>,
    /// No progress bar; errors and the summary are still printed.
    #[arg(long, short)]
    quiet: bool,
    /// Benchmark baseline: decode and encode content and style again for every output.
    #[arg(long, hide = true)]
    naive: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum GridArg {
    Run,
    Content,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn println(&self, line: &str) {
        // suspend() keeps the bar intact, and prints plainly when the bar is hidden.
        self.0.suspend(|| say(line));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
    fn frames(&self, video: &str, done: u64, total: Option<u64>) {
        let of = total.map(|t| format!("/{t}")).unwrap_or_default();
        self.0.set_message(format!("{video}: frame {done}{of}"));
    }
}

fn config(a: Args) -> Result<BatchConfig, String> {
    let models = match a.models {
        Some(m) => m,
        None => adain::paths::models_dir().map_err(|e| e.to_string())?.path,
    };
    let (precision, note) = adain::runtime::resolve_precision(&models, a.provider, a.precision);
    if let Some(note) = note {
        say(&note);
    }
    let sizing = |short_side| Sizing {
        short_side,
        crop: a.crop,
        max_pixels: a.max_pixels,
    };
    Ok(BatchConfig {
        content_sizing: sizing(a.content_size),
        style_sizing: sizing(a.style_size),
        content: a.content,
        style: a.style,
        alphas: a.alphas,
        out: a.out,
        models,
        encoding: adain::imaging::Encoding::new(a.format, a.quality),
        recursive: a.recursive,
        preserve_color: a.preserve_color,
        detail: a.detail,
        mix: a.mix,
        runtime: RuntimeConfig {
            provider: a.provider,
            threads: a.threads,
            precision,
        },
        batch_size: a.batch_size,
        overwrite: a.overwrite,
        verify: a.verify,
        shard: a.shard,
        report: a.report,
        grid: match a.grid {
            None => Grid::None,
            Some(GridArg::Run) => Grid::PerRun,
            Some(GridArg::Content) => Grid::PerContent,
        },
        naive: a.naive,
        tile: a.tile,
        mask: a.mask,
        mask_required: a.mask_required,
        temporal_smoothing: a.temporal_smoothing,
        ffmpeg: a.ffmpeg,
    })
}

fn parse_tile(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Ok(0),
        Ok(t) if t >= 64 && t.is_multiple_of(8) => Ok(t),
        Ok(t) => Err(format!("{t}: expected 0 or a multiple of 8, at least 64")),
        Err(e) => Err(format!("'{s}': {e}")),
    }
}

/// A `--mix` weight: finite and not negative.
fn parse_weight(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(w) if w.is_finite() && w >= 0.0 => Ok(w),
        Ok(w) => Err(format!("{w} is not a finite, non-negative weight")),
        Err(e) => Err(format!("'{s}': {e}")),
    }
}

fn main() -> ExitCode {
    // Usage errors exit 1 ("nothing could start"), not clap's 2, which here means "some outputs failed".
    let args = match adain::console::parse_args::<Args>() {
        Ok(a) => a,
        Err(exit) => return exit.into(),
    };
    let quiet = args.quiet;
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} outputs, {per_sec}, ETA {eta} {msg}",
        )
        .expect("valid template"),
    );
    // First SIGINT/SIGTERM: finish the images in flight, flush the report, exit 130/143.
    let stop = adain::signals::Stop::install(
        "interrupted: finishing the images in flight (Ctrl-C again to abort)",
    );
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            say(&format!("error: {e}"));
            return Exit::CannotStart.into();
        }
    };
    match batch::run(&cfg, &Bar(bar), stop.flag()) {
        Ok(out) => {
            say(&out.summary.render());
            say(&format!("report: {}", out.report.display()));
            for s in &out.sheets {
                say(&format!("contact sheet: {}", s.display()));
            }
            if out.summary.interrupted {
                say("interrupted: rerun the same command to finish the remaining outputs");
                stop.exit().into()
            } else if out.summary.outputs_failed > 0 || out.summary.report_error.is_some() {
                Exit::SomeFailed.into()
            } else {
                Exit::Done.into()
            }
        }
        Err(e) => {
            say(&format!("error: {}", adain::console::describe(&e)));
            Exit::CannotStart.into()
        }
    }
}
