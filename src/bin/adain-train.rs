//! `adain-train`: learn the AdaIN decoder (arguments -> TrainConfig -> adain::train).
//! Exit status: 0 done, 1 error, 130 (SIGINT) or 143 (SIGTERM) interrupted after saving a
//! checkpoint (rerun with --resume).

// `say!` (eprintln that never panics, adain::console) in every module of this binary.
#[macro_use]
extern crate adain;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use adain::console::Exit;
use adain::train::data::LoaderKind;
use adain::train::{
    self, Arithmetic, DeviceChoice, LossRow, Objective, Open, Select, TrainConfig, TrainOutcome,
    TrainProgress,
};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The trainer's defaults, which every option below shows and uses (one place: `TrainConfig`).
fn d() -> TrainConfig {
    TrainConfig::default()
}

#[derive(Parser, Clone)]
#[command(
    name = "adain-train",
    version,
    about = "Train the AdaIN decoder (VGG-19 encoder frozen) with tch/libtorch"
)]
struct Args {
    /// Content images (folders are searched recursively).
    #[arg(long, required_unless_present_any = ["replot", "publish_from"], num_args = 1.., value_name = "PATH")]
    content: Vec<PathBuf>,
    /// Style images (folders are searched recursively).
    #[arg(long, required_unless_present_any = ["replot", "publish_from"], num_args = 1.., value_name = "PATH")]
    style: Vec<PathBuf>,
    /// Run folder: config.json, losses.csv, losses.png, samples, checkpoints/, onnx/.
    #[arg(long, required_unless_present_any = ["replot", "publish_from"], value_name = "DIR")]
    out: Option<PathBuf>,
    /// Only redraw DIR/training/losses.png of a published decoder (e.g. onnx/) from its
    /// losses.csv and state.json, then exit: no training, no libtorch work.
    #[arg(long, exclusive = true, value_name = "DIR")]
    replot: Option<PathBuf>,
    /// Only publish checkpoint --checkpoint N of the finished run in RUN (chosen after it, e.g.
    /// by bench/checkpoints.sh) into --publish DIR, which must hold the decoder the run
    /// continued; with --blend, mixed with that decoder. No training; moments are not kept.
    #[arg(long, value_name = "RUN", requires_all = ["checkpoint", "publish"], conflicts_with_all = ["replot", "resume"])]
    publish_from: Option<PathBuf>,
    /// With --publish-from: the iteration of the checkpoint to publish.
    #[arg(long, value_name = "N", requires = "publish_from")]
    checkpoint: Option<u64>,
    /// With --publish-from: publish W x the checkpoint + (1 - W) x the decoder the run
    /// continued (W in (0, 1]; 1 = the checkpoint itself).
    #[arg(
        long,
        value_name = "W",
        default_value_t = 1.0,
        requires = "publish_from"
    )]
    blend: f64,
    /// With --blend W: mix the checkpoint with the decoder in FILE (a decoder.safetensors, e.g.
    /// the shipped onnx/decoder.safetensors) instead of the one the run continued. --publish DIR
    /// must still hold the decoder the run continued; the round's note names FILE and its hash.
    #[arg(long, value_name = "FILE", requires = "publish_from")]
    blend_with: Option<PathBuf>,
    /// Normalised encoder weights.
    #[arg(
        long,
        default_value_os_t = d().encoder,
        value_name = "FILE"
    )]
    encoder: PathBuf,
    /// Iterations to train to (total, counting those before a resume).
    #[arg(long, value_name = "N", conflicts_with = "epochs")]
    iterations: Option<u64>,
    /// Epochs over the content images, instead of --iterations.
    #[arg(long, value_name = "N")]
    epochs: Option<f64>,
    #[arg(long, default_value_t = d().batch_size, value_name = "N")]
    batch_size: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = d().lr)]
    lr: f64,
    /// Inverse decay: lr_i = lr / (1 + decay * i).
    #[arg(long, default_value_t = d().lr_decay)]
    lr_decay: f64,
    /// Learning-rate schedule after the warm-up: `inverse`, the reference port's
    /// lr / (1 + lr-decay x i); `one-cycle`, --lr as the peak then a linear decay to 0 at the
    /// round's planned end (--iterations, or --time-limit when it comes first).
    #[arg(long, value_enum, default_value_t = d().schedule)]
    schedule: adain::train::Schedule,
    /// Keep an exponential moving average of the decoder's weights with this decay (e.g. 0.999;
    /// 0 = none); checkpoints export it, validation scores it and --publish writes it.
    #[arg(long, default_value_t = d().ema, value_name = "DECAY")]
    ema: f64,
    /// Linear learning-rate warm-up over N iterations from this process's start (default: 0,
    /// or 500 when Adam starts without moments from --init-decoder or a --continue-from folder
    /// that kept none).
    #[arg(long, value_name = "N")]
    warmup: Option<u64>,
    /// What a step minimises: `adain`, the paper's content + style loss (plus the identity
    /// terms whose weights are set); `reconstruction`, the identity terms alone (D(E(c)) against
    /// c, no style pass: the decoder learns to invert relu4_1), a phase to run before AdaIN
    /// training and continue with --init-decoder. Reconstruction with both identity weights 0
    /// uses SANet's 50 (pixel) and 1 (feature).
    #[arg(long, value_enum, default_value_t = d().objective)]
    objective: Objective,
    #[arg(long, default_value_t = d().content_weight)]
    content_weight: f64,
    /// Style loss weight ("gamma" in the course report).
    #[arg(long, alias = "gamma", default_value_t = d().style_weight)]
    style_weight: f64,
    /// Per-layer style weights, relu1_1,relu2_1,relu3_1,relu4_1, replacing --style-weight:
    /// `published` (6.4,12.8,25.6,51.2: what the published decoder was trained with, in our
    /// channel-mean convention), `uniform` (--style-weight on each) or four numbers.
    #[arg(long, value_name = "W1,W2,W3,W4", default_value = "uniform", value_parser = layer_weights)]
    style_layer_weights: LayerWeights,
    /// The alphas the decoder trains at, one per sample: `1` (the paper), `LO-HI` (uniform) or
    /// `LO-HI,one=P` (alpha 1 with probability P, else uniform), then optionally `,target=mix`.
    /// Below 1, the decoder's input is alpha x AdaIN + (1 - alpha) x the content's features, the
    /// style terms are weighted by alpha (or, with target=mix, aimed at alpha x the style's +
    /// (1 - alpha) x the content's statistics, weight 1) and the output's pixel MSE against its
    /// content by (1 - alpha) x --identity-pixel-weight.
    #[arg(long, default_value_t = d().train_alpha, value_name = "DIST")]
    train_alpha: adain::train::AlphaDist,
    /// Weight of the identity pixel term, MSE of D(E(c)) against c (SANet: 50, beside a
    /// feature weight of 1). With the feature weight 0 too, the AdaIN objective skips the
    /// identity passes (an extra decoder and encoder pass).
    #[arg(long, default_value_t = d().identity_pixel_weight, value_name = "W")]
    identity_pixel_weight: f64,
    /// Weight of the identity feature term, the summed MSE of relu1_1..relu4_1 of D(E(c))
    /// against those of c (SANet: 1).
    #[arg(long, default_value_t = d().identity_feature_weight, value_name = "W")]
    identity_feature_weight: f64,
    /// Weight of the Laplacian term (Li et al. 2017): MSE between the Laplacian of the output's
    /// luma and the content's, after a 4x4 average pool; keeps the photo's structure (eyes,
    /// mouths, edges) while the style recolours and retextures it. Computed and logged always;
    /// 0 leaves it out of the loss.
    #[arg(long, default_value_t = d().laplacian_weight, value_name = "W")]
    laplacian_weight: f64,
    /// Clip the global gradient norm to this before each Adam step (0 = no clipping). Steps
    /// with a non-finite loss or gradient are always skipped and counted in losses.csv.
    #[arg(long, default_value_t = d().clip_grad_norm, value_name = "NORM")]
    clip_grad_norm: f64,
    /// Random crop size in pixels (a multiple of 8).
    #[arg(long, default_value_t = d().crop, value_name = "PX")]
    crop: u32,
    /// Images are downscaled so the shorter side is at most this before cropping (aspect kept).
    #[arg(long, default_value_t = d().resize, value_name = "PX")]
    resize: u32,
    #[arg(long, default_value_t = d().seed)]
    seed: u64,
    /// cuda is an error when libtorch sees no GPU.
    #[arg(long, value_enum, default_value_t = d().device)]
    device: DeviceChoice,
    /// Channels-last memory format (faster convolutions on CUDA tensor cores).
    #[arg(long)]
    channels_last: bool,
    /// bf16: encoder and decoder convolutions in bfloat16 with float32 master weights,
    /// statistics and losses (mixed precision; fast on GPUs with tensor cores).
    #[arg(long, value_enum, default_value_t = d().precision)]
    precision: Arithmetic,
    /// Data loader: resident keeps the whole training set in device memory as uint8 and crops
    /// there (auto: resident on CUDA, threads on the CPU).
    #[arg(long, value_enum, default_value_t = d().loader)]
    loader: LoaderKind,
    /// Feature bank: draw this many content and style crops once, encode them with the frozen
    /// encoder before training and reuse them every step (0 = fresh crops every step). Skips the
    /// two frozen passes of each step (a quarter of a CPU step) at the price of seeing only
    /// these crops; the start-up line gives its size (at 96 px with identity terms, ~4.4 MB
    /// per crop, ~0.3 MB without).
    #[arg(long, default_value_t = d().feature_cache)]
    feature_cache: usize,
    /// Checkpoint every N iterations (and always at the end).
    #[arg(long, default_value_t = d().save_every, value_name = "N")]
    save_every: u64,
    /// Write a losses.csv row (means over the last N iterations) every N iterations.
    #[arg(long, default_value_t = d().log_every, value_name = "N")]
    log_every: u64,
    /// Draw a sample grid every N iterations (0: only at the end).
    #[arg(long, default_value_t = d().sample_every, value_name = "N")]
    sample_every: u64,
    /// Validation scores (content/style loss, style error, SSIM at alpha 1 and 0) on the
    /// validation pairs every N iterations, into losses.csv and the plot; the best-scoring
    /// checkpoint is the one exported (0: none).
    #[arg(long, default_value_t = d().val_every, value_name = "N")]
    val_every: u64,
    /// Side of the centre-cropped validation images.
    #[arg(long, default_value_t = d().val_size, value_name = "PX")]
    val_size: u32,
    /// Fixed validation content images (sample grids and validation scores).
    #[arg(long, alias = "val-content", num_args = 1.., value_name = "FILE")]
    sample_content: Option<Vec<PathBuf>>,
    /// Fixed validation style images (sample grids and validation scores).
    #[arg(long, alias = "val-style", num_args = 1.., value_name = "FILE")]
    sample_style: Option<Vec<PathBuf>>,
    /// Data-loading threads (decode, resize, crop).
    #[arg(long, default_value_t = d().workers, value_name = "N")]
    workers: usize,
    /// Stop after this many seconds of training (checkpoint and export as at the end); 0 = none.
    #[arg(long, default_value_t = d().time_limit_s, value_name = "SECS")]
    time_limit: f64,
    /// Time every stage of every step (loader wait, each encoder pass, decoder, losses,
    /// backward, optimizer) and print the mean per step at the end. On CUDA each stage waits
    /// for the device, which slows the step.
    #[arg(long)]
    profile: bool,
    /// Start from these decoder weights (.safetensors or an exported decoder.onnx), fresh Adam.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resume", "continue_from"])]
    init_decoder: Option<PathBuf>,
    /// Continue the decoder published in DIR (decoder.safetensors, training/state.json and its
    /// Adam moments): iteration count, learning-rate schedule and data order go on from there.
    #[arg(long, value_name = "DIR")]
    continue_from: Option<PathBuf>,
    /// At the end, publish the exported decoder into DIR: decoder.safetensors, compact Adam
    /// moments (unless --publish-without-moments), training/state.json with this round
    /// appended, the cumulative losses.csv/png (and, when DIR already holds graphs, re-exported
    /// graphs).
    #[arg(long, value_name = "DIR")]
    publish: Option<PathBuf>,
    /// Which checkpoint to export and publish: best-loss (the lowest validation loss, or the
    /// last without validation) or last. Validation loss and the quality bench can disagree.
    #[arg(long, value_enum, default_value_t = d().select)]
    select: Select,
    /// With --publish: leave the Adam moments out (a second 14 MB file) and say so in
    /// training/state.json; the next --continue-from restarts Adam behind its warm-up. The
    /// choice for a models folder kept in git, such as onnx/.
    #[arg(long, requires = "publish")]
    publish_without_moments: bool,
    /// Free text stored with this run's round in the published state (e.g. the machine, data).
    #[arg(long, default_value = "")]
    note: String,
    /// Continue from the run folder's latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// Also install the exported graphs into this folder (e.g. onnx/).
    #[arg(long, value_name = "DIR")]
    export_to: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// `--style-layer-weights`, parsed by the library (`None`: uniform).
#[derive(Clone, Copy)]
struct LayerWeights(Option<[f64; 4]>);

fn layer_weights(s: &str) -> Result<LayerWeights, String> {
    adain::train::config::parse_style_layer_weights(s).map(LayerWeights)
}

/// The progress bar on stderr (hidden with --quiet); the trainer's lines print above it.
struct Bar(ProgressBar);

impl Bar {
    fn new(quiet: bool) -> Self {
        let target = match quiet {
            true => ProgressDrawTarget::hidden(),
            false => ProgressDrawTarget::stderr(),
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:30} {pos}/{len} it, ETA {eta} {msg}",
            )
            .expect("valid template"),
        );
        Bar(bar)
    }
}

impl TrainProgress for Bar {
    fn start(&self, from: u64, to: u64) {
        self.0.set_length(to);
        self.0.set_position(from);
        self.0.reset_eta();
    }
    fn step(&self, iteration: u64, row: Option<&LossRow>) {
        self.0.set_position(iteration);
        if let Some(r) = row {
            let terms: String = r
                .summary()
                .into_iter()
                .filter(|(n, v)| *v > 0.0 && (*n == "content" || *n == "style"))
                .map(|(n, v)| format!("{n} {v:.3} "))
                .collect();
            self.0.set_message(format!(
                "{terms}total {:.3}, {:.1} img/s",
                r.total, r.images_per_s
            ));
        }
    }
    fn println(&self, line: &str) {
        self.0.suspend(|| say!("{line}"));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Args {
    /// The run's configuration: the options as given, then [`TrainConfig::resolve`] (every
    /// default that depends on the data or the published state lives there).
    fn config(&self) -> anyhow::Result<TrainConfig> {
        let out = self
            .out
            .clone()
            .expect("clap requires --out unless --replot or --publish-from");
        let a = self.clone();
        let open = Open {
            iterations: a.iterations,
            epochs: a.epochs,
            warmup: a.warmup,
            sample_content: a.sample_content,
            sample_style: a.sample_style,
        };
        let given = TrainConfig {
            content: a.content,
            style: a.style,
            out,
            encoder: a.encoder,
            batch_size: a.batch_size,
            lr: a.lr,
            lr_decay: a.lr_decay,
            schedule: a.schedule,
            ema: a.ema,
            style_layer_weights: a.style_layer_weights.0,
            train_alpha: a.train_alpha,
            content_weight: a.content_weight,
            style_weight: a.style_weight,
            objective: a.objective,
            identity_pixel_weight: a.identity_pixel_weight,
            identity_feature_weight: a.identity_feature_weight,
            laplacian_weight: a.laplacian_weight,
            clip_grad_norm: a.clip_grad_norm,
            crop: a.crop,
            resize: a.resize,
            seed: a.seed,
            device: a.device,
            channels_last: a.channels_last,
            precision: a.precision,
            loader: a.loader,
            feature_cache: a.feature_cache,
            save_every: a.save_every,
            log_every: a.log_every,
            sample_every: a.sample_every,
            val_every: a.val_every,
            val_size: a.val_size,
            workers: a.workers,
            time_limit_s: a.time_limit,
            profile: a.profile,
            init_decoder: a.init_decoder,
            continue_from: a.continue_from,
            publish: a.publish,
            select: a.select,
            publish_moments: !a.publish_without_moments,
            note: a.note,
            // Settled by resolve from `open`.
            iterations: 0,
            warmup: 0,
            sample_content: Vec::new(),
            sample_style: Vec::new(),
        };
        Ok(given.resolve(open)?)
    }
}

fn run(a: Args, stop: &AtomicBool) -> anyhow::Result<()> {
    if let Some(dir) = &a.replot {
        let png = train::plot_published(dir)?;
        say!("redrew {}", png.display());
        return Ok(());
    }
    if let (Some(run), Some(it), Some(dir)) = (&a.publish_from, a.checkpoint, &a.publish) {
        return publish_from(run, it, dir, &a);
    }
    let cfg = a.config()?;
    say!("configuration:\n{}", serde_json::to_string_pretty(&cfg)?);
    let out = train::train(&cfg, a.resume, &Bar::new(a.quiet), stop)?;
    report(&out);
    if stop.load(Ordering::SeqCst) {
        anyhow::bail!(
            "interrupted at iteration {}; checkpoint saved, rerun with --resume",
            out.last_iteration
        );
    }
    export(&cfg, &out, a.export_to)
}

/// `--publish-from RUN --checkpoint N`: publishes that checkpoint (or its blend) into `dir`, and
/// re-exports the graphs there when it holds some, as a run's own publishing does.
fn publish_from(
    run: &std::path::Path,
    it: u64,
    dir: &std::path::Path,
    a: &Args,
) -> anyhow::Result<()> {
    let chosen = train::Chosen {
        run,
        iteration: it,
        blend: a.blend,
        blend_with: a.blend_with.as_deref(),
        note: &a.note,
    };
    let st = train::publish_checkpoint(&chosen, dir)?;
    let with = match &a.blend_with {
        Some(f) => format!(" with {}", f.display()),
        None => String::new(),
    };
    say!(
        "published checkpoint {it} of {} (blend {}{with}) to {}: {} rounds, iteration {}",
        run.display(),
        a.blend,
        dir.display(),
        st.rounds.len(),
        st.iteration
    );
    if train::reexport_published(dir, &a.encoder)? {
        say!("exported graphs to {}", dir.display());
    }
    Ok(())
}

/// The end of a run on stderr: the last log row, the chosen decoder and its validation.
fn report(out: &TrainOutcome) {
    if let Some(r) = out.rows.last() {
        // Every term the run computed, by name: a new term shows here without a line of its own.
        let terms: String = r
            .summary()
            .into_iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(n, v)| format!("{} {v:.4}, ", n.replace('_', " ")))
            .collect();
        say!(
            "iteration {}: {terms}total {:.4}, grad norm {:.3}, {:.2} images/s",
            r.iteration,
            r.total,
            r.grad_norm,
            r.images_per_s
        );
    }
    if let Some(v) = out.val {
        say!(
            "validation (iteration {}): content {:.4}, style {:.4}, style error {:.4}, SSIM {:.4}, SSIM at alpha 0 {:.4}",
            out.decoder_iteration,
            v.content,
            v.style,
            v.style_error,
            v.ssim,
            v.ssim_alpha0
        );
    }
    say!(
        "decoder: {} (iteration {})",
        out.decoder.display(),
        out.decoder_iteration
    );
}

/// Exports the chosen decoder (`train::export_outcome`) and says where.
fn export(cfg: &TrainConfig, out: &TrainOutcome, export_to: Option<PathBuf>) -> anyhow::Result<()> {
    for dir in train::export_outcome(cfg, &out.decoder, export_to)? {
        say!("exported graphs to {}", dir.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let stop =
        adain::signals::Stop::install("interrupted: saving a checkpoint (Ctrl-C again to abort)");
    let args = match adain::console::parse_args::<Args>() {
        Ok(a) => a,
        Err(exit) => return exit.into(),
    };
    match run(args, stop.flag()) {
        Ok(()) => Exit::Done.into(),
        Err(e) => {
            say!("error: {}", adain::console::describe(e.as_ref()));
            if stop.requested() {
                stop.exit().into()
            } else {
                Exit::CannotStart.into()
            }
        }
    }
}
