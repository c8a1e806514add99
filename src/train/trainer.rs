//! The training loop: the objectives (the paper's: content loss on relu4_1 against the AdaIN
//! target, style loss on relu1_1..relu4_1 mean/std, unbiased variance; optional identity terms
//! (SANet), pixel and feature, each weighted; reconstruction: the identity terms alone), Adam
//! with inverse decay `lr_i = lr / (1 + decay * i)` behind an optional warm-up, validation scores
//! in the log, and the orchestration of checkpoints, plots and samples.
//! Optimizer, checkpoints and the loss log live in `optim`, `checkpoint` and `log`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};

use super::bank::{Bank, Frozen};
use super::checkpoint::{self, CheckpointMeta, Progress, Published, Round};
use super::data::{Batches, DataConfig, LoaderKind};
use super::log::{self as losslog, LogWindow, Weighting};
use super::model::{Decoder, Encoder, adain, channels_last, image_tensor, mean_std};
use super::optim::Adam;
use super::profile::Laps;
use crate::error::{Error, Result};
use crate::model::{self, Weights};

pub use super::log::{LossRow, read as read_losses};

/// Which device trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU, else the CPU.
    Auto,
    Cpu,
    /// An error when libtorch sees no GPU.
    Cuda,
}

/// Arithmetic of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    /// Encoder and decoder convolutions in bfloat16; float32 master weights, statistics and
    /// losses.
    Bf16,
}

/// What a training step minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The paper's loss, content + style weight x style at alpha 1, plus the identity terms
    /// whose weights are set.
    #[default]
    Adain,
    /// The identity terms alone: the decoder learns to invert relu4_1 (D(E(c)) against c), with
    /// no style pass; a phase that can precede AdaIN training (--init-decoder from its output).
    Reconstruction,
}

/// Which checkpoint a run exports and publishes at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Select {
    /// The lowest validation loss (content + style weight x style, on the training encoder);
    /// the last checkpoint when validation is off. Guards against ending mid-spike.
    #[default]
    BestLoss,
    /// The last checkpoint. Validation loss can disagree with the quality bench: in round 3 it
    /// picked iteration 9,000, which the bench scored below the last (10,391) on SSIM.
    Last,
}

/// Everything that defines a run; saved as `config.json` in the run folder before training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub out: PathBuf,
    pub encoder: PathBuf,
    pub iterations: u64,
    pub batch_size: usize,
    pub lr: f64,
    pub lr_decay: f64,
    /// Linear learning-rate warm-up over this many iterations from the start of this process
    /// (used when Adam starts without moments, e.g. from --init-decoder).
    #[serde(default)]
    pub warmup: u64,
    #[serde(default)]
    pub objective: Objective,
    pub content_weight: f64,
    pub style_weight: f64,
    /// Weight of the identity pixel term, MSE of D(E(c)) against c (SANet: 50 beside a feature
    /// weight of 1).
    #[serde(default)]
    pub identity_pixel_weight: f64,
    /// Weight of the identity feature term, the summed MSE of relu1_1..relu4_1 of D(E(c))
    /// against c's. Both 0: no identity passes.
    #[serde(default)]
    pub identity_feature_weight: f64,
    /// Clip the global gradient norm to this (0 = no clipping).
    #[serde(default)]
    pub clip_grad_norm: f64,
    pub crop: u32,
    pub resize: u32,
    pub seed: u64,
    pub device: DeviceChoice,
    pub channels_last: bool,
    pub precision: Precision,
    #[serde(default)]
    pub loader: LoaderKind,
    /// Crops in the feature bank (0 = off): this many content and style crops are drawn once
    /// and their frozen-encoder outputs reused by every step (see [`super::bank`]).
    #[serde(default)]
    pub feature_cache: usize,
    pub save_every: u64,
    pub log_every: u64,
    pub sample_every: u64,
    /// Validation scores on the sample pairs every N iterations (0 = only at the end).
    #[serde(default)]
    pub val_every: u64,
    /// Side of the (centre-cropped) validation images.
    #[serde(default = "default_val_size")]
    pub val_size: u32,
    pub workers: usize,
    /// Start from these decoder weights instead of a random init (fresh Adam state).
    #[serde(default)]
    pub init_decoder: Option<PathBuf>,
    /// Continue a published decoder (decoder, moments, iteration, seed) from this folder.
    #[serde(default)]
    pub continue_from: Option<PathBuf>,
    /// At the end, write the exported decoder, its moments and the round into this folder.
    #[serde(default)]
    pub publish: Option<PathBuf>,
    /// Which checkpoint is exported and published.
    #[serde(default)]
    pub select: Select,
    /// Whether publishing writes the Adam moments (a second decoder-sized file). Without them
    /// the published state says so, and the next `--continue-from` restarts Adam behind its
    /// warm-up: the choice for a models folder kept in git.
    #[serde(default = "yes")]
    pub publish_moments: bool,
    /// Time every stage of every step and print the table at the end (`--profile`).
    #[serde(default)]
    pub profile: bool,
    /// Free text recorded with this run's round in the published state.
    #[serde(default)]
    pub note: String,
    /// Stop (checkpoint, export) after this many seconds of training in this process; 0 = no limit.
    #[serde(default)]
    pub time_limit_s: f64,
    /// Fixed validation pairs: sample grids and validation scores.
    pub sample_content: Vec<PathBuf>,
    pub sample_style: Vec<PathBuf>,
}

fn yes() -> bool {
    true
}

impl Default for TrainConfig {
    /// The paper's recipe at the reference port's settings, the one place each default is
    /// written: `adain-train`'s options default to these fields, and tests change only what
    /// they need (`TrainConfig { crop: 64, ..Default::default() }`).
    fn default() -> Self {
        TrainConfig {
            content: Vec::new(),
            style: Vec::new(),
            out: PathBuf::from("runs/adain"),
            encoder: PathBuf::from("models").join(crate::vgg::ENCODER_WEIGHTS),
            iterations: 160_000,
            batch_size: 8,
            lr: 1e-4,
            lr_decay: 5e-5,
            warmup: 0,
            objective: Objective::Adain,
            content_weight: 1.0,
            style_weight: 10.0,
            identity_pixel_weight: 0.0,
            identity_feature_weight: 0.0,
            clip_grad_norm: 0.0,
            crop: 256,
            resize: 512,
            seed: 0,
            device: DeviceChoice::Auto,
            channels_last: false,
            precision: Precision::Fp32,
            loader: LoaderKind::Auto,
            feature_cache: 0,
            save_every: 1000,
            log_every: 50,
            sample_every: 1000,
            val_every: 1000,
            val_size: default_val_size(),
            workers: 2,
            init_decoder: None,
            continue_from: None,
            publish: None,
            select: Select::BestLoss,
            publish_moments: true,
            profile: false,
            note: String::new(),
            time_limit_s: 0.0,
            sample_content: Vec::new(),
            sample_style: Vec::new(),
        }
    }
}

fn default_val_size() -> u32 {
    256
}

impl TrainConfig {
    /// The validation loss that picks the best checkpoint: the AdaIN objective's content and
    /// style weighting; for reconstruction, 1 - SSIM of the reconstruction to the content.
    pub fn val_loss(&self, v: &ValScores) -> f64 {
        match self.objective {
            Objective::Adain => self.content_weight * v.content + self.style_weight * v.style,
            Objective::Reconstruction => 1.0 - v.ssim_alpha0,
        }
    }

    /// Whether a step computes the identity terms.
    pub fn identity(&self) -> bool {
        self.objective == Objective::Reconstruction
            || self.identity_pixel_weight > 0.0
            || self.identity_feature_weight > 0.0
    }

    /// The loader's settings for this run.
    pub fn data(&self) -> DataConfig {
        DataConfig {
            content: self.content.clone(),
            style: self.style.clone(),
            batch_size: self.batch_size,
            crop: self.crop,
            resize: self.resize,
            seed: self.seed,
            workers: self.workers,
            prefetch: 4,
        }
    }

    /// The weights of the step's terms; reconstruction has no content or style term.
    pub fn weighting(&self) -> Weighting {
        let adain = self.objective == Objective::Adain;
        Weighting {
            content: if adain { self.content_weight } else { 0.0 },
            style: if adain { self.style_weight } else { 0.0 },
            identity_pixel: self.identity_pixel_weight,
            identity_feature: self.identity_feature_weight,
        }
    }
}

pub fn resolve_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err(Error::Invalid(
            "--device cuda: libtorch sees no CUDA device (CPU-only libtorch, no GPU, or no driver)"
                .into(),
        )),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
    }
}

/// Callbacks for the binary's progress bar.
pub trait TrainProgress {
    fn start(&self, from: u64, to: u64);
    fn step(&self, iteration: u64, row: Option<&LossRow>);
    fn println(&self, line: &str);
    fn finish(&self);
}

/// The networks and optimizer state of a run.
pub struct Model {
    pub encoder: Encoder,
    pub vs: nn::VarStore,
    pub decoder: Decoder,
    pub adam: Adam,
    pub device: Device,
    kind: Kind,
    cl: bool,
}

/// The losses of one step, unweighted, as 0-dim tensors on the device. A term the objective
/// does not compute is zero.
pub struct Losses {
    pub content: Tensor,
    pub style: Tensor,
    /// MSE of D(E(c)) against c.
    pub identity_pixel: Tensor,
    /// Summed MSE of relu1_1..relu4_1 of D(E(c)) against those of c.
    pub identity_feature: Tensor,
}

impl Losses {
    /// The four terms, in [`Weighting::total`]'s order.
    pub fn terms(&self) -> [&Tensor; 4] {
        [
            &self.content,
            &self.style,
            &self.identity_pixel,
            &self.identity_feature,
        ]
    }

    /// The weighted sum a step minimises: the one place the weighting meets the tensors.
    pub fn total(&self, w: &Weighting) -> Tensor {
        let [c, s, p, f] = self.terms();
        c * w.content + s * w.style + p * w.identity_pixel + f * w.identity_feature
    }
}

/// Validation scores over the fixed pairs (means).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ValScores {
    pub content: f64,
    pub style: f64,
    pub style_error: f64,
    pub ssim: f64,
    pub ssim_alpha0: f64,
}

fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    a.mse_loss(b, tch::Reduction::Mean)
}

/// The style loss of taps `a` against the per-layer (mean, std) `b` of the style.
fn style_loss(a: &[Tensor], b: &[(Tensor, Tensor)], device: Device) -> Tensor {
    let mut style = Tensor::zeros([], (Kind::Float, device));
    for (x, (ym, ys)) in a.iter().zip(b) {
        let (xm, xs) = mean_std(x);
        style = style + mse(&xm, ym) + mse(&xs, ys);
    }
    style
}

impl Model {
    /// Encoder from `enc`; decoder initialised as PyTorch's `nn.Conv2d` does
    /// ([`Weights::random`], seeded), so a fresh run starts where the reference port starts.
    pub fn new(
        enc: &Weights,
        device: Device,
        seed: u64,
        channels_last_fmt: bool,
        precision: Precision,
    ) -> Result<Self> {
        tch::manual_seed(seed as i64);
        let kind = match precision {
            Precision::Fp32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        };
        let mut encoder = Encoder::new(enc, device);
        if kind != Kind::Float {
            encoder.to_kind(kind);
        }
        if channels_last_fmt {
            encoder.use_channels_last();
        }
        let mut vs = nn::VarStore::new(device);
        let decoder = Decoder::new(&vs.root());
        super::model::load_decoder(&mut vs, &Weights::random(model::DECODER, seed))?;
        let adam = Adam::new(&vs);
        Ok(Model {
            encoder,
            vs,
            decoder,
            adam,
            device,
            kind,
            cl: channels_last_fmt,
        })
    }

    fn prep(&self, x: &Tensor) -> Tensor {
        if self.cl {
            channels_last(x)
        } else {
            x.shallow_clone()
        }
    }

    /// relu1_1..relu4_1 of `x` through the frozen encoder, in the run's precision, as float32.
    pub fn enc_taps(&self, x: &Tensor) -> Vec<Tensor> {
        self.encoder
            .taps(&self.prep(&x.to_kind(self.kind)))
            .into_iter()
            .map(|t| t.to_kind(Kind::Float))
            .collect()
    }

    fn decode(&self, t: &Tensor) -> Tensor {
        self.decoder.forward_kind(&self.prep(t), self.kind)
    }

    /// The losses of `objective` for content `c` and style `s` (`[B,3,H,W]`; `s` unused by
    /// reconstruction), alpha 1, with the identity terms when `identity` is set (always for
    /// reconstruction).
    pub fn losses(&self, c: &Tensor, s: &Tensor, objective: Objective, identity: bool) -> Losses {
        self.losses_timed(c, s, objective, identity, &mut Laps::off())
    }

    /// [`Model::losses`], charging each stage to `laps`.
    pub fn losses_timed(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Losses {
        let frozen = self.frozen(c, s, objective, identity, laps);
        self.losses_from(&frozen, objective, identity, laps)
    }

    /// The frozen encoder's share of a step (no gradients): what [`Model::losses_from`] needs,
    /// and what a [`Bank`] holds precomputed.
    pub fn frozen(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Frozen {
        tch::no_grad(|| {
            let style_stats = match objective {
                Objective::Reconstruction => Vec::new(),
                Objective::Adain => {
                    let st = self.enc_taps(s).iter().map(mean_std).collect();
                    laps.lap("style encoder (no grad)");
                    st
                }
            };
            let mut content_taps = self.enc_taps(c);
            if !(identity || objective == Objective::Reconstruction) {
                content_taps = content_taps.split_off(3);
            }
            laps.lap("content encoder (no grad)");
            Frozen {
                content: c.shallow_clone(),
                content_taps,
                style_stats,
            }
        })
    }

    /// The losses of a step from its frozen inputs: decoder, encoder of the output, terms.
    pub fn losses_from(
        &self,
        f: &Frozen,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Losses {
        let zero = || Tensor::zeros([], (Kind::Float, self.device));
        let c4 = f.content_taps.last().expect("relu4_1");
        if objective == Objective::Reconstruction {
            let (identity_pixel, identity_feature) =
                self.identity_terms(&f.content, &f.content_taps);
            laps.lap("identity passes");
            return Losses {
                content: zero(),
                style: zero(),
                identity_pixel,
                identity_feature,
            };
        }
        let t = tch::no_grad(|| {
            let (sm, ss) = &f.style_stats[3];
            let alpha = Tensor::ones([c4.size()[0]], (Kind::Float, self.device));
            adain(c4, sm, ss, &alpha)
        });
        laps.lap("AdaIN");
        let g = self.decode(&t);
        laps.lap("decoder forward");
        let g_taps = self.enc_taps(&g);
        laps.lap("encoder of the output");
        let content = mse(&g_taps[3], &t);
        let style = style_loss(&g_taps, &f.style_stats, self.device);
        laps.lap("content + style loss");
        let (identity_pixel, identity_feature) = match identity {
            true => {
                let terms = self.identity_terms(&f.content, &f.content_taps);
                laps.lap("identity passes");
                terms
            }
            false => (zero(), zero()),
        };
        Losses {
            content,
            style,
            identity_pixel,
            identity_feature,
        }
    }

    /// The identity terms of content `c` with encoder taps `c_taps`: pixel MSE and summed
    /// feature MSE of D(E(c)), cropped to `c`, against `c`.
    fn identity_terms(&self, c: &Tensor, c_taps: &[Tensor]) -> (Tensor, Tensor) {
        // AdaIN(c, c) is c's own relu4_1 (exactly, up to eps), so the identity pair decodes the
        // content's features directly.
        let icc = self.decode(&c_taps[3]);
        let (h, w) = (c.size()[2], c.size()[3]);
        let icc = icc.narrow(2, 0, h).narrow(3, 0, w);
        let feat = self.enc_taps(&icc).iter().zip(c_taps).fold(
            Tensor::zeros([], (Kind::Float, self.device)),
            |acc, (a, b)| acc + mse(a, b),
        );
        (mse(&icc, c), feat)
    }

    /// Decoder weights in `decoder.pth` layout.
    pub fn decoder_weights(&self) -> Weights {
        super::model::decoder_weights(&self.vs)
    }

    /// Stylizes `content` with `style` (`[1,3,H,W]` each) at `alpha`, cropped to the content size.
    pub fn stylize_alpha(&self, content: &Tensor, style: &Tensor, alpha: f64) -> Tensor {
        tch::no_grad(|| {
            let fc = self.enc_taps(content).pop().expect("taps");
            let fs = self.enc_taps(style).pop().expect("taps");
            let (sm, ss) = mean_std(&fs);
            let a = Tensor::full([1], alpha, (Kind::Float, self.device));
            let t = adain(&fc, &sm, &ss, &a);
            let (h, w) = (content.size()[2], content.size()[3]);
            self.decode(&t).narrow(2, 0, h).narrow(3, 0, w)
        })
    }

    /// [`Model::stylize_alpha`] at alpha 1.
    pub fn stylize(&self, content: &Tensor, style: &Tensor) -> Tensor {
        self.stylize_alpha(content, style, 1.0)
    }

    /// Validation scores over every sample content x style pair (see [`ValScores`]).
    pub fn validate(&self, samples: &Samples) -> ValScores {
        tch::no_grad(|| {
            let stats = |taps: &[Tensor]| -> Vec<(Vec<f32>, Vec<f32>)> {
                taps.iter()
                    .map(|t| {
                        let (m, s) = mean_std(t);
                        let v = |x: Tensor| {
                            Vec::<f32>::try_from(x.flatten(0, -1).to_device(Device::Cpu))
                                .expect("f32")
                        };
                        (v(m), v(s))
                    })
                    .collect()
            };
            let to_array = |t: &Tensor| {
                let t = t
                    .clamp(0.0, 1.0)
                    .squeeze_dim(0)
                    .to_device(Device::Cpu)
                    .contiguous();
                let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
                let data = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32");
                ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), data)
                    .expect("3 x h x w")
            };
            let style_taps: Vec<Vec<Tensor>> = samples
                .style
                .iter()
                .map(|(_, s)| self.enc_taps(s))
                .collect();
            let (mut acc, mut pairs, mut ssim0) = ([0.0f64; 4], 0usize, 0.0);
            for (_, c) in &samples.content {
                let c_taps = self.enc_taps(c);
                let (h, w) = (c.size()[2], c.size()[3]);
                let c_img = to_array(c);
                let rec = self.decode(&c_taps[3]).narrow(2, 0, h).narrow(3, 0, w);
                ssim0 += crate::metrics::ssim_luma(to_array(&rec).view(), c_img.view());
                for s_taps in &style_taps {
                    let s_stats: Vec<(Tensor, Tensor)> = s_taps.iter().map(mean_std).collect();
                    let (sm, ss) = &s_stats[3];
                    let one = Tensor::ones([1], (Kind::Float, self.device));
                    let t = adain(&c_taps[3], sm, ss, &one);
                    let g = self.decode(&t).narrow(2, 0, h).narrow(3, 0, w);
                    let g_taps = self.enc_taps(&g);
                    acc[0] += mse(&g_taps[3], &t).double_value(&[]);
                    acc[1] += style_loss(&g_taps, &s_stats, self.device).double_value(&[]);
                    acc[2] += crate::metrics::style_error(&stats(&g_taps), &stats(s_taps));
                    acc[3] += crate::metrics::ssim_luma(to_array(&g).view(), c_img.view());
                    pairs += 1;
                }
            }
            let n = pairs.max(1) as f64;
            ValScores {
                content: acc[0] / n,
                style: acc[1] / n,
                style_error: acc[2] / n,
                ssim: acc[3] / n,
                ssim_alpha0: ssim0 / samples.content.len().max(1) as f64,
            }
        })
    }
}

impl Encoder {
    /// Casts the frozen weights (bf16 mixed precision).
    pub fn to_kind(&mut self, kind: Kind) {
        self.map_weights(|t| t.to_kind(kind));
    }
}

/// Decoder weights from a safetensors file, or from the initializers of an exported decoder.onnx.
pub fn load_decoder_file(p: &Path) -> Result<Weights> {
    if p.extension().is_some_and(|e| e == "onnx") {
        crate::onnx::read_weights(p, "decoder", model::DECODER)
    } else {
        Weights::load(p, model::DECODER)
    }
}

/// `lr / (1 + decay * i)` (PyTorch port's `adjust_learning_rate`).
pub fn learning_rate(lr: f64, decay: f64, iteration: u64) -> f64 {
    lr / (1.0 + decay * iteration as f64)
}

/// The learning rate of iteration `it` when the Adam moments started at `adam_start`: the
/// schedule, times a linear warm-up over `cfg.warmup` iterations from `adam_start`.
fn scheduled_lr(cfg: &TrainConfig, it: u64, adam_start: u64) -> f64 {
    let warm = if cfg.warmup > 0 {
        ((it.saturating_sub(adam_start) + 1) as f64 / cfg.warmup as f64).min(1.0)
    } else {
        1.0
    };
    learning_rate(cfg.lr, cfg.lr_decay, it) * warm
}

/// What a finished (or stopped) run reports.
pub struct TrainOutcome {
    pub last_iteration: u64,
    pub rows: Vec<LossRow>,
    /// The decoder to export: the best-validated checkpoint, else the last.
    pub decoder: PathBuf,
    pub decoder_iteration: u64,
    pub images_per_s: f64,
    /// Validation scores of that decoder, when measured.
    pub val: Option<ValScores>,
}

/// Where this process starts: iteration, elapsed seconds before it, earlier log rows, and the
/// published state it continues (if any).
struct Start {
    iteration: u64,
    /// Iteration at which the current Adam moments began (bias correction and warm-up count
    /// from there).
    adam_start: u64,
    elapsed_s: f64,
    rows: Vec<LossRow>,
    published: Option<Published>,
}

/// Where a run starts: its own latest checkpoint (with `resume`), else the published decoder
/// (`--continue-from`), else `--init-decoder` or scratch.
fn restore(
    cfg: &TrainConfig,
    resume: bool,
    model: &mut Model,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    if resume && let Some(meta) = checkpoint::latest(&cfg.out)? {
        return from_checkpoint(cfg, &meta, model, progress);
    }
    if resume {
        progress.println(&format!(
            "--resume: no checkpoint in {}, starting from {}",
            cfg.out.display(),
            if cfg.continue_from.is_some() {
                "the published decoder"
            } else {
                "scratch"
            }
        ));
    }
    if let Some(dir) = &cfg.continue_from {
        return from_published(cfg, dir, model, progress);
    }
    if let Some(p) = &cfg.init_decoder {
        let w = load_decoder_file(p)?;
        super::model::load_decoder(&mut model.vs, &w)?;
        progress.println(&format!("decoder initialised from {}", p.display()));
    }
    Ok(Start {
        iteration: 0,
        adam_start: 0,
        elapsed_s: 0.0,
        rows: Vec::new(),
        published: None,
    })
}

/// The rows of the loss log at `path` up to iteration `it` (none when there is no log): a
/// continued log picks up exactly where its weights were saved.
fn log_until(path: &Path, it: u64) -> Result<Vec<LossRow>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    Ok(read_losses(path)?
        .into_iter()
        .filter(|r| r.iteration <= it)
        .collect())
}

fn from_checkpoint(
    cfg: &TrainConfig,
    meta: &checkpoint::CheckpointMeta,
    model: &mut Model,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    checkpoint::load(model, &cfg.out, meta)?;
    let it = meta.progress.iteration;
    let published = match &cfg.continue_from {
        Some(d) => Some(checkpoint::read_published(d)?),
        None => None,
    };
    progress.println(&format!("resuming {} at iteration {it}", cfg.out.display()));
    Ok(Start {
        iteration: it,
        adam_start: meta.progress.adam_start,
        elapsed_s: meta.progress.elapsed_s,
        rows: log_until(&cfg.out.join("losses.csv"), it)?,
        published,
    })
}

fn from_published(
    cfg: &TrainConfig,
    dir: &Path,
    model: &mut Model,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    let st = checkpoint::load_published(model, dir)?;
    if st.seed != cfg.seed {
        return Err(Error::Invalid(format!(
            "--continue-from {}: it was trained with --seed {} (the data order depends on it); got --seed {}",
            dir.display(),
            st.seed,
            cfg.seed
        )));
    }
    progress.println(&format!(
        "continuing the decoder published in {} at iteration {} ({} moments)",
        dir.display(),
        st.iteration,
        if st.has_optimizer_state {
            "with its Adam"
        } else {
            "fresh Adam"
        }
    ));
    Ok(Start {
        iteration: st.iteration,
        adam_start: if st.has_optimizer_state {
            st.adam_start
        } else {
            st.iteration
        },
        elapsed_s: st.elapsed_s,
        rows: log_until(&dir.join("training/losses.csv"), st.iteration)?,
        published: Some(st),
    })
}

/// Trains (or resumes, when `resume` and a checkpoint exists) until `cfg.iterations`.
pub fn train(
    cfg: &TrainConfig,
    resume: bool,
    progress: &dyn TrainProgress,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<TrainOutcome> {
    let mut run = Run::start(cfg, resume, progress)?;
    let t0 = Instant::now();
    for it in run.start.iteration..cfg.iterations {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        if cfg.time_limit_s > 0.0 && t0.elapsed().as_secs_f64() >= cfg.time_limit_s {
            progress.println(&format!(
                "time limit of {:.0} s reached at iteration {it}",
                cfg.time_limit_s
            ));
            break;
        }
        run.step(it)?;
        run.after_step(it + 1)?;
    }
    run.train_s = t0.elapsed().as_secs_f64();
    run.finish()
}

/// Where a step's inputs come from.
enum Feed {
    /// Fresh crops every step; the frozen encoder runs in the step.
    Loader(Batches),
    /// A fixed bank of crops whose frozen features were computed before training.
    Bank(Box<Bank>),
}

impl Feed {
    fn content_files(&self) -> usize {
        match self {
            Feed::Loader(b) => b.content_files(),
            Feed::Bank(b) => b.content_files,
        }
    }

    fn bad_files(&self) -> usize {
        match self {
            Feed::Loader(b) => b.bad_files(),
            Feed::Bank(b) => b.bad_files,
        }
    }
}

/// One training process: the model, its data, the log and the best checkpoint so far.
struct Run<'a> {
    cfg: &'a TrainConfig,
    progress: &'a dyn TrainProgress,
    model: Model,
    feed: Feed,
    samples: Samples,
    start: Start,
    per_epoch: f64,
    rows: Vec<LossRow>,
    log: std::fs::File,
    window: LogWindow,
    /// The best-validated checkpoint so far (only a resumed run inherits one).
    best: Option<CheckpointMeta>,
    last_it: u64,
    last_val_it: Option<u64>,
    whole_windows_skipped: usize,
    wait_s: f64,
    /// Stage times of every step when `--profile` is on.
    laps: Laps,
    /// Wall time of this process's training loop, and when it began.
    train_s: f64,
    t0: Instant,
}

impl<'a> Run<'a> {
    fn start(cfg: &'a TrainConfig, resume: bool, progress: &'a dyn TrainProgress) -> Result<Self> {
        let device = resolve_device(cfg.device)?;
        if device.is_cuda() {
            tch::Cuda::cudnn_set_benchmark(true);
        }
        std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
        let enc_w = Weights::load(&cfg.encoder, model::ENCODER)?;
        let mut model = Model::new(&enc_w, device, cfg.seed, cfg.channels_last, cfg.precision)?;
        let mut start = restore(cfg, resume, &mut model, progress)?;
        let json = serde_json::to_string_pretty(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::fsutil::write_atomic(&cfg.out.join("config.json"), json.as_bytes())?;
        let losses_path = cfg.out.join("losses.csv");
        let rows = std::mem::take(&mut start.rows);
        losslog::write(&losses_path, &rows)?;
        let feed = match cfg.feature_cache {
            0 => Feed::Loader(Batches::start(
                &cfg.data(),
                start.iteration,
                cfg.loader,
                device,
            )?),
            n => {
                let m = &model;
                let mut bank = Bank::build(
                    &cfg.data(),
                    n,
                    cfg.loader,
                    device,
                    cfg.identity(),
                    cfg.objective == Objective::Adain,
                    &|x| m.enc_taps(x),
                )?;
                progress.println(&format!(
                    "feature bank: {n} content and {n} style crops encoded in {:.1} s ({:.2} GB)",
                    bank.build_s,
                    bank.bytes() as f64 / 1e9
                ));
                for w in std::mem::take(&mut bank.warnings) {
                    progress.println(&w);
                }
                Feed::Bank(Box::new(bank))
            }
        };
        let per_epoch = super::data::iterations_per_epoch(feed.content_files(), cfg.batch_size);
        let samples = load_samples(cfg, device)?;
        let best = match resume {
            true => checkpoint::read_pointer(&cfg.out, "best.json")?
                .filter(|m| m.progress.iteration <= start.iteration),
            false => None,
        };
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&losses_path)
            .map_err(|e| Error::io(&losses_path, e))?;
        progress.start(start.iteration, cfg.iterations);
        Ok(Run {
            cfg,
            progress,
            model,
            feed,
            samples,
            last_it: start.iteration,
            start,
            per_epoch,
            rows,
            log,
            window: LogWindow::new(),
            best,
            last_val_it: None,
            whole_windows_skipped: 0,
            wait_s: 0.0,
            laps: match cfg.profile {
                true => Laps::on(device),
                false => Laps::off(),
            },
            train_s: 0.0,
            t0: Instant::now(),
        })
    }

    fn progress_at(&self, it: u64) -> Progress {
        Progress {
            iteration: it,
            epoch: it as f64 / self.per_epoch,
            elapsed_s: self.elapsed(),
            seed: self.cfg.seed,
            adam_start: self.start.adam_start,
        }
    }

    /// Iterations where a later round began: those of the published rounds this run continues,
    /// and this run's own start (the published iteration), for the loss plot's marks.
    fn round_starts(&self) -> Vec<u64> {
        let Some(p) = &self.start.published else {
            return Vec::new();
        };
        let mut v = p.later_round_starts();
        v.push(p.iteration);
        v
    }

    fn elapsed(&self) -> f64 {
        self.start.elapsed_s + self.t0.elapsed().as_secs_f64()
    }

    /// One optimizer step on batch `it`.
    fn step(&mut self, it: u64) -> Result<()> {
        let cfg = self.cfg;
        let tw = Instant::now();
        self.laps.start();
        let (objective, identity) = (cfg.objective, cfg.identity());
        let l = match &mut self.feed {
            Feed::Loader(b) => {
                let (c, s) = b.next(self.model.device)?;
                self.wait_s += tw.elapsed().as_secs_f64();
                self.laps.lap("data loader wait");
                for w in b.take_warnings() {
                    self.progress.println(&w);
                }
                self.model
                    .losses_timed(&c, &s, objective, identity, &mut self.laps)
            }
            Feed::Bank(bank) => {
                let (frozen, _) = bank.batch(it);
                self.laps.lap("feature bank batch");
                self.model
                    .losses_from(&frozen, objective, identity, &mut self.laps)
            }
        };
        let lr = scheduled_lr(cfg, it, self.start.adam_start);
        let total = l.total(&cfg.weighting());
        // Adam's step count starts with its moments (bias correction as a fresh torch.optim.Adam).
        let adam_step = it - self.start.adam_start + 1;
        let m = &mut self.model;
        let info = m.adam.step_timed(
            &m.vs,
            &total,
            lr,
            adam_step,
            cfg.clip_grad_norm,
            &mut self.laps,
        );
        self.window
            .add(l.terms(), &info.grad_norm, &info.applied, cfg.batch_size);
        self.laps.lap("log window");
        self.laps.end_step();
        self.last_it = it + 1;
        Ok(())
    }

    /// Logging, validation, samples and checkpoints after iteration `done`.
    fn after_step(&mut self, done: u64) -> Result<()> {
        let cfg = self.cfg;
        let validate = cfg.val_every > 0 && done.is_multiple_of(cfg.val_every);
        let logged = done.is_multiple_of(cfg.log_every) || done == cfg.iterations || validate;
        if logged {
            self.close_row(done, validate)?;
        }
        self.progress
            .step(done, if logged { self.rows.last() } else { None });
        if cfg.sample_every > 0 && done.is_multiple_of(cfg.sample_every) {
            let path = cfg.out.join(format!("samples_iter_{done:07}.png"));
            super::plot::sample_grid(&self.model, &self.samples, &path)?;
        }
        if cfg.save_every > 0 && done.is_multiple_of(cfg.save_every) && done != cfg.iterations {
            let at = self.progress_at(done);
            checkpoint::save(&self.model, &cfg.out, at, None, None, &["latest.json"])?;
        }
        Ok(())
    }

    /// Closes the log window into a row (with validation scores when asked), appends it and
    /// redraws the plot.
    fn close_row(&mut self, done: u64, validate: bool) -> Result<()> {
        let cfg = self.cfg;
        let lr = scheduled_lr(cfg, done - 1, self.start.adam_start);
        let mut row = self.window.close(
            done,
            done as f64 / self.per_epoch,
            lr,
            self.elapsed(),
            cfg.weighting(),
        );
        if row.skipped > 0 {
            self.progress.println(&format!(
                "warning: {} of the steps up to iteration {done} skipped: loss or gradient not finite",
                row.skipped
            ));
        }
        self.whole_windows_skipped = match row.content.is_nan() {
            true => self.whole_windows_skipped + 1,
            false => 0,
        };
        if self.whole_windows_skipped >= 3 {
            return Err(Error::Invalid(format!(
                "iteration {done}: every step of the last three log windows had a non-finite loss or gradient; lower --lr or set --clip-grad-norm"
            )));
        }
        if validate {
            self.validate(done, &mut row)?;
        }
        losslog::append(&mut self.log, &cfg.out.join("losses.csv"), &row)?;
        self.rows.push(row);
        super::plot::loss_curves(
            &self.rows,
            &self.round_starts(),
            &cfg.out.join("losses.png"),
        )
    }

    /// Scores the validation pairs into `row`; a new best is saved as a checkpoint.
    fn validate(&mut self, done: u64, row: &mut LossRow) -> Result<()> {
        if self.samples.is_empty() {
            return Ok(());
        }
        let cfg = self.cfg;
        let v = self.model.validate(&self.samples);
        set_val(row, &v);
        self.last_val_it = Some(done);
        let vt = cfg.val_loss(&v);
        if self
            .best
            .as_ref()
            .is_none_or(|b| b.val_total.is_none_or(|bt| vt < bt))
        {
            let at = self.progress_at(done);
            self.best = Some(checkpoint::save(
                &self.model,
                &cfg.out,
                at,
                Some(v),
                Some(vt),
                &["best.json"],
            )?);
        }
        Ok(())
    }

    /// Logs the last iterations, validates the end state when validation is on, checkpoints,
    /// and picks (`select`) and publishes the checkpoint to export.
    fn finish(mut self) -> Result<TrainOutcome> {
        let cfg = self.cfg;
        let last_it = self.last_it;
        let validate_end = cfg.val_every > 0
            && last_it > self.start.iteration
            && self.last_val_it != Some(last_it);
        // A run stopped between log points (time limit, Ctrl-C) still logs its last iterations.
        if self.window.steps > 0 {
            self.close_row(last_it, validate_end)?;
        } else if validate_end && let Some(mut row) = self.rows.pop() {
            self.validate(last_it, &mut row)?;
            self.rows.push(row);
            losslog::write(&cfg.out.join("losses.csv"), &self.rows)?;
            super::plot::loss_curves(
                &self.rows,
                &self.round_starts(),
                &cfg.out.join("losses.png"),
            )?;
        }
        // The last checkpoint keeps the end state's validation, when it was measured, so that
        // --select last publishes its scores too.
        let end_val = self
            .rows
            .last()
            .filter(|r| r.iteration == last_it)
            .and_then(row_val);
        let end_total = end_val.as_ref().map(|v| cfg.val_loss(v));
        let at = self.progress_at(last_it);
        let last = checkpoint::save(
            &self.model,
            &cfg.out,
            at,
            end_val,
            end_total,
            &["latest.json"],
        )?;
        if !self.samples.is_empty() {
            let path = cfg.out.join("samples_final.png");
            super::plot::sample_grid(&self.model, &self.samples, &path)?;
        }
        self.progress.finish();
        if self.train_s > 0.0 && last_it > self.start.iteration {
            self.progress.println(&format!(
                "data loader wait: {:.1}% of the training time ({:.1} s of {:.1} s); unreadable files skipped: {}",
                100.0 * self.wait_s / self.train_s,
                self.wait_s,
                self.train_s,
                self.feed.bad_files()
            ));
        }
        if let Some(table) = self.laps.table() {
            self.progress.println(&table);
        }
        // By default the best-validated checkpoint is what gets exported: never the middle of a
        // spike. When the best is the last (or there is none), the last checkpoint is it, with
        // the end state's validation.
        let chosen = match self.best.take() {
            Some(b) if b.progress.iteration != last_it => match cfg.select {
                Select::BestLoss => {
                    self.progress.println(&format!(
                        "exporting the best-validated checkpoint (iteration {}), not the last ({last_it})",
                        b.progress.iteration
                    ));
                    checkpoint::load(&mut self.model, &cfg.out, &b)?;
                    b
                }
                Select::Last => {
                    self.progress.println(&format!(
                        "exporting the last checkpoint ({last_it}, --select last); the best-validated one was {}",
                        b.progress.iteration
                    ));
                    last
                }
            },
            _ => last,
        };
        if let Some(dir) = &cfg.publish {
            self.publish(dir, &chosen)?;
        }
        Ok(TrainOutcome {
            last_iteration: last_it,
            images_per_s: self.rows.last().map(|r| r.images_per_s).unwrap_or(0.0),
            rows: self.rows,
            decoder: checkpoint::dir(&cfg.out).join(&chosen.decoder),
            decoder_iteration: chosen.progress.iteration,
            val: chosen.val,
        })
    }

    /// Writes `chosen` (loaded in the model) as the published decoder in `dir`, this process's
    /// round appended to the rounds it continued.
    fn publish(&self, dir: &Path, chosen: &CheckpointMeta) -> Result<()> {
        let cfg = self.cfg;
        let it = chosen.progress.iteration;
        let mut rounds = self
            .start
            .published
            .as_ref()
            .map(|p| p.rounds.clone())
            .unwrap_or_default();
        // The round began where the published state ended, which is not where this process
        // began when it resumed its own checkpoint.
        let (from_it, from_s) = self
            .start
            .published
            .as_ref()
            .map_or((0, 0.0), |p| (p.iteration, p.elapsed_s));
        let steps = self.last_it - self.start.iteration;
        rounds.push(Round {
            from_iteration: from_it,
            to_iteration: it,
            seconds: chosen.progress.elapsed_s - from_s,
            device: device_name(self.model.device),
            batch_size: cfg.batch_size,
            images_per_s: (steps as usize * cfg.batch_size) as f64 / self.train_s.max(1e-9),
            val: chosen.val,
            note: cfg.note.clone(),
        });
        let state = Published {
            iteration: it,
            adam_start: chosen.progress.adam_start,
            seed: cfg.seed,
            lr: cfg.lr,
            lr_decay: cfg.lr_decay,
            elapsed_s: chosen.progress.elapsed_s,
            has_optimizer_state: cfg.publish_moments,
            rounds,
        };
        checkpoint::publish(&self.model, dir, &state)?;
        let kept: Vec<LossRow> = self
            .rows
            .iter()
            .filter(|r| r.iteration <= it)
            .cloned()
            .collect();
        losslog::write(&dir.join("training/losses.csv"), &kept)?;
        draw_published(dir, &kept, &state)?;
        self.progress
            .println(&format!("published iteration {it} to {}", dir.display()));
        Ok(())
    }
}

/// Draws `DIR/training/losses.png` of a published decoder from its cumulative `losses.csv`, with
/// a mark where each later round began (`state.json`); returns the PNG's path. Publishing ends
/// with it, and `adain-train --replot DIR` redraws an existing folder after a plot change.
pub fn plot_published(dir: &Path) -> Result<PathBuf> {
    let st = checkpoint::read_published(dir)?;
    let rows = read_losses(&dir.join("training/losses.csv"))?;
    draw_published(dir, &rows, &st)
}

/// [`plot_published`] from the log rows and state in hand (publishing has just written them).
fn draw_published(dir: &Path, rows: &[LossRow], st: &Published) -> Result<PathBuf> {
    let png = dir.join("training/losses.png");
    super::plot::loss_curves(rows, &st.later_round_starts(), &png)?;
    Ok(png)
}

/// "cpu", or the CUDA device's name as libtorch reports the device index.
fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

/// The validation scores logged in `row`, if it has them.
fn row_val(row: &LossRow) -> Option<ValScores> {
    Some(ValScores {
        content: row.val_content?,
        style: row.val_style?,
        style_error: row.val_style_error?,
        ssim: row.val_ssim?,
        ssim_alpha0: row.val_ssim_alpha0?,
    })
}

fn set_val(row: &mut LossRow, v: &ValScores) {
    row.val_content = Some(v.content);
    row.val_style = Some(v.style);
    row.val_style_error = Some(v.style_error);
    row.val_ssim = Some(v.ssim);
    row.val_ssim_alpha0 = Some(v.ssim_alpha0);
}

/// Fixed validation pairs: each listed content with each listed style.
pub struct Samples {
    pub content: Vec<(String, Tensor)>,
    pub style: Vec<(String, Tensor)>,
}

impl Samples {
    pub fn is_empty(&self) -> bool {
        self.content.is_empty() || self.style.is_empty()
    }
}

fn load_samples(cfg: &TrainConfig, device: Device) -> Result<Samples> {
    let sizing = crate::imaging::Sizing {
        short_side: cfg.val_size,
        crop: true,
        max_pixels: crate::imaging::DEFAULT_MAX_PIXELS,
    };
    let load = |paths: &[PathBuf]| -> Result<Vec<(String, Tensor)>> {
        paths
            .iter()
            .map(|p| {
                let img = crate::imaging::load(p, &sizing)?;
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok((name, image_tensor(&img, device)))
            })
            .collect()
    };
    Ok(Samples {
        content: load(&cfg.sample_content)?,
        style: load(&cfg.sample_style)?,
    })
}
