//! What defines a training run: [`TrainConfig`] (saved as `config.json`), its defaults (the one
//! place each is written: `adain-train`'s options and the tests start from them), the choices
//! it is made of, and the device it names.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::Device;

use super::data::{DataConfig, LoaderKind};
use crate::error::{Error, Result};

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
pub enum Arithmetic {
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

/// The learning-rate schedule after the warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// The reference port's `lr / (1 + lr_decay * i)`, set for 160k iterations: it barely
    /// anneals in the few thousand a CPU session trains.
    #[default]
    Inverse,
    /// `--lr` is the peak, reached at the end of the warm-up, then a linear decay to 0 at the
    /// round's planned end: `--iterations`, or `--time-limit` when that comes first (budgeted
    /// training: Li, Yumer & Ramanan, ICLR 2020).
    OneCycle,
}

/// The alphas a step trains at: each sample draws its own, 1 with probability `at_one`, else
/// uniform in `[lo, hi]`, and its style terms aim at `target`. The default, always 1, is the
/// paper's step. Written `A` (always A), `LO-HI`, `LO-HI,one=P`, each optionally followed by
/// `,target=mix`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlphaDist {
    pub lo: f64,
    pub hi: f64,
    pub at_one: f64,
    /// Absent from the configs of runs before session 38: those aimed at the style.
    #[serde(default)]
    pub target: StyleTarget,
}

/// What a sample's style terms aim at when it trains at alpha a < 1. The two agree at alpha 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StyleTarget {
    /// The style's statistics at every layer, the sample's share weighted by a (issue 47's
    /// definition). Session 38 measured where it leads: the decoder stylizes more at each alpha
    /// and loses SSIM at equal style error (at alpha 0.5, style error 0.377 at SSIM 0.417).
    #[default]
    Style,
    /// `a x` the style's + `(1 - a) x` the content's statistics at every layer, weight 1: at
    /// alpha a the output's statistics sit where the decoder's input sits between the two, so a
    /// middle alpha trains the decoder to render its input, not to push it to the style.
    Mix,
}

impl Default for AlphaDist {
    fn default() -> Self {
        AlphaDist {
            lo: 1.0,
            hi: 1.0,
            at_one: 0.0,
            target: StyleTarget::Style,
        }
    }
}

impl AlphaDist {
    /// The alphas of iteration `it`'s `n` samples: a function of (seed, iteration) alone, so a
    /// resumed run draws what an uninterrupted one does.
    pub fn draw(&self, seed: u64, it: u64, n: usize) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        const SALT: u64 = 0xA1FA_5A3F_0000_0001;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            seed ^ SALT ^ it.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                let one: f64 = rng.random();
                match one < self.at_one {
                    true => 1.0,
                    false => (self.lo + (self.hi - self.lo) * u) as f32,
                }
            })
            .collect()
    }

    /// Whether every sample trains at alpha 1 (the paper's step, with no alpha terms).
    pub fn always_one(&self) -> bool {
        self.at_one >= 1.0 || (self.lo == 1.0 && self.hi == 1.0)
    }
}

impl std::str::FromStr for AlphaDist {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "'{s}': {why} (expected A, LO-HI or LO-HI,one=P with alphas in [0, 1], then optionally ,target=style|mix; e.g. 0.1-1,one=0.5,target=mix)"
            )
        };
        let num = |t: &str| -> std::result::Result<f64, String> {
            t.trim()
                .parse::<f64>()
                .map_err(|_| bad(&format!("'{t}' is not a number")))
        };
        let mut parts = s.split(',');
        let range = parts.next().unwrap_or_default();
        let (mut one, mut target) = (None, None);
        for part in parts {
            match part.trim().split_once('=') {
                Some(("one", p)) if one.is_none() => one = Some(num(p)?),
                Some(("target", t)) if target.is_none() => {
                    target = Some(match t.trim() {
                        "style" => StyleTarget::Style,
                        "mix" => StyleTarget::Mix,
                        other => return Err(bad(&format!("target '{other}' is not style or mix"))),
                    })
                }
                _ => {
                    return Err(bad(&format!(
                        "'{part}' is not one=P or target=style|mix, once each"
                    )));
                }
            }
        }
        let one = one.unwrap_or(0.0);
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let a = num(range)?;
                (a, a)
            }
        };
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(lo) && unit(hi) && unit(one)) {
            return Err(bad("alphas and P must lie in [0, 1]"));
        }
        if lo > hi {
            return Err(bad("LO is above HI"));
        }
        Ok(AlphaDist {
            lo,
            hi,
            at_one: one,
            target: target.unwrap_or_default(),
        })
    }
}

impl std::fmt::Display for AlphaDist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lo == self.hi {
            true => write!(f, "{}", self.lo)?,
            false => write!(f, "{}-{}", self.lo, self.hi)?,
        }
        if self.at_one > 0.0 {
            write!(f, ",one={}", self.at_one)?;
        }
        if self.target == StyleTarget::Mix {
            write!(f, ",target=mix")?;
        }
        Ok(())
    }
}

/// Per-layer style weights of the published decoder's training, in our convention: the Torch
/// code (`train.lua -styleWeight 1e-1`) sums its style loss over channels where the PyTorch
/// port (and we) average, so each layer saw 0.1 x its channel count (64, 128, 256, 512).
pub const PUBLISHED_STYLE_LAYER_WEIGHTS: [f64; 4] = [6.4, 12.8, 25.6, 51.2];

/// Parses `--style-layer-weights`: `published` ([`PUBLISHED_STYLE_LAYER_WEIGHTS`]), `uniform`
/// (`None`: `--style-weight` on every layer) or four numbers.
pub fn parse_style_layer_weights(s: &str) -> std::result::Result<Option<[f64; 4]>, String> {
    match s {
        "published" => return Ok(Some(PUBLISHED_STYLE_LAYER_WEIGHTS)),
        "uniform" => return Ok(None),
        _ => {}
    }
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("'{s}': expected `published`, `uniform` or four numbers (relu1_1,relu2_1,relu3_1,relu4_1)"))?;
    let w: [f64; 4] = v.try_into().map_err(|v: Vec<f64>| {
        format!(
            "'{s}': {} weights; expected four (relu1_1..relu4_1)",
            v.len()
        )
    })?;
    if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(format!("'{s}': weights must be finite and >= 0"));
    }
    Ok(Some(w))
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
    /// The learning-rate schedule after the warm-up.
    #[serde(default)]
    pub schedule: Schedule,
    pub content_weight: f64,
    /// Style weight of every layer, unless `style_layer_weights` names each.
    pub style_weight: f64,
    /// Per-layer style weights (relu1_1..relu4_1), replacing `style_weight`.
    #[serde(default)]
    pub style_layer_weights: Option<[f64; 4]>,
    /// The alphas the decoder trains at (see [`AlphaDist`]).
    #[serde(default)]
    pub train_alpha: AlphaDist,
    /// Decay of the weights' exponential moving average (0 = none). When set, the average is
    /// what checkpoints export, validation scores and a run publishes.
    #[serde(default)]
    pub ema: f64,
    /// Weight of the identity pixel term, MSE of D(E(c)) against c (SANet: 50 beside a feature
    /// weight of 1).
    #[serde(default)]
    pub identity_pixel_weight: f64,
    /// Weight of the identity feature term, the summed MSE of relu1_1..relu4_1 of D(E(c))
    /// against c's. Both 0: no identity passes.
    #[serde(default)]
    pub identity_feature_weight: f64,
    /// Weight of the Laplacian term: the stylized output's luma structure against its
    /// content's, after a 4x4 average pool (0 = none).
    #[serde(default)]
    pub laplacian_weight: f64,
    /// Clip the global gradient norm to this (0 = no clipping).
    #[serde(default)]
    pub clip_grad_norm: f64,
    pub crop: u32,
    pub resize: u32,
    pub seed: u64,
    pub device: DeviceChoice,
    pub channels_last: bool,
    pub precision: Arithmetic,
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
            schedule: Schedule::Inverse,
            style_layer_weights: None,
            train_alpha: AlphaDist::default(),
            ema: 0.0,
            objective: Objective::Adain,
            content_weight: 1.0,
            style_weight: 10.0,
            identity_pixel_weight: 0.0,
            identity_feature_weight: 0.0,
            laplacian_weight: 0.0,
            clip_grad_norm: 0.0,
            crop: 256,
            resize: 512,
            seed: 0,
            device: DeviceChoice::Auto,
            channels_last: false,
            precision: Arithmetic::Fp32,
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
    /// The style weight of each layer, relu1_1..relu4_1.
    pub fn style_weights(&self) -> [f64; 4] {
        self.style_layer_weights.unwrap_or([self.style_weight; 4])
    }

    /// What makes a run impossible or meaningless, found before anything is loaded.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if !(0.0..1.0).contains(&self.ema) {
            return bad(format!(
                "--ema {}: expected a decay in [0, 1) (e.g. 0.999; 0 = off)",
                self.ema
            ));
        }
        if self.objective == Objective::Reconstruction && !self.train_alpha.always_one() {
            return bad(
                "--train-alpha: reconstruction has no style and no alpha; leave it at 1".into(),
            );
        }
        let w = self.weighting();
        if w.into_vec().iter().all(|x| *x == 0.0) {
            return bad("every loss weight is 0: nothing to train".into());
        }
        if let Some((name, x)) = w.named().find(|(_, x)| !x.is_finite() || *x < 0.0) {
            return bad(format!(
                "the {name} term's weight is {x}: loss weights must be finite and >= 0"
            ));
        }
        Ok(())
    }

    /// Whether a step computes the identity terms.
    pub fn identity(&self) -> bool {
        self.objective == Objective::Reconstruction
            || self.identity_pixel_weight > 0.0
            || self.identity_feature_weight > 0.0
    }

    /// Whether a step needs the content's four encoder taps, not relu4_1 alone: the identity
    /// terms, and the style terms' mixed target ([`StyleTarget::Mix`]).
    pub fn full_content_taps(&self) -> bool {
        self.identity()
            || (!self.train_alpha.always_one() && self.train_alpha.target == StyleTarget::Mix)
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
}

/// What a command line may leave open, for [`TrainConfig::resolve`] to settle from the data
/// and the published state.
#[derive(Debug, Clone, Default)]
pub struct Open {
    /// `--iterations`; when absent, `epochs` over the content images.
    pub iterations: Option<u64>,
    pub epochs: Option<f64>,
    /// `--warmup`; when absent, 500 if Adam starts without moments on a trained decoder.
    pub warmup: Option<u64>,
    /// The validation and sample pairs; when absent, the first demo photos and paintings.
    pub sample_content: Option<Vec<PathBuf>>,
    pub sample_style: Option<Vec<PathBuf>>,
}

/// The identity weights (pixel, feature) a run uses: as given, except the reconstruction
/// objective with none given, which takes 50 and 1 (what round 5's A/B chose: the pixel term
/// carries it, the feature term keeps it sharp).
pub(super) fn identity_weights(objective: Objective, pixel: f64, feature: f64) -> (f64, f64) {
    match (objective, pixel, feature) {
        (Objective::Reconstruction, 0.0, 0.0) => (50.0, 1.0),
        _ => (pixel, feature),
    }
}

/// The default validation pairs: the first 3 demo photos and 4 demo paintings (sorted).
pub(super) fn demo_validation_pairs() -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let first = |dir: &str, n: usize| {
        let mut v: Vec<std::path::PathBuf> = crate::paths::demo(dir)
            .ok()
            .and_then(|d| std::fs::read_dir(d).ok())
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v.truncate(n);
        v
    };
    (
        first(crate::paths::DEMO_CONTENT, 3),
        first(crate::paths::DEMO_STYLE, 4),
    )
}

/// The libtorch device of `choice`; `cuda` without a GPU is an error, never the CPU.
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

/// Whether this CPU has bfloat16 arithmetic (AVX-512 BF16); `None` where it is not known.
pub fn cpu_has_bf16() -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(std::arch::is_x86_feature_detected!("avx512bf16"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The warning for `--precision bf16` on a CPU without bfloat16 arithmetic, where oneDNN
/// emulates it: on a 2-core AMD EPYC Zen 3 (AVX2) the step ran at 0.066 images/s against fp32's
/// 0.96 (128 px crops, batch 8, bank and identity terms), 14 times slower.
pub fn bf16_warning(
    device: Device,
    precision: Arithmetic,
    has_bf16: Option<bool>,
) -> Option<&'static str> {
    (device == Device::Cpu && precision == Arithmetic::Bf16 && has_bf16 == Some(false)).then_some(
        "warning: --precision bf16 on a CPU without bfloat16 instructions (avx512_bf16): oneDNN \
         emulates them, about 14x slower than --precision fp32 here (measured on an AVX2-only \
         AMD EPYC); use fp32 on this machine",
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn reconstruction_without_identity_weights_takes_50_and_1() {
        use super::{Objective, identity_weights};
        assert_eq!(
            identity_weights(Objective::Reconstruction, 0.0, 0.0),
            (50.0, 1.0)
        );
        assert_eq!(
            identity_weights(Objective::Reconstruction, 5.0, 0.0),
            (5.0, 0.0)
        );
        assert_eq!(identity_weights(Objective::Adain, 0.0, 0.0), (0.0, 0.0));
    }

    use super::*;

    #[test]
    fn alpha_distributions_parse_print_and_draw_within_their_range() {
        let d: AlphaDist = "0.1-0.9,one=0.5".parse().unwrap();
        assert_eq!(
            d,
            AlphaDist {
                lo: 0.1,
                hi: 0.9,
                at_one: 0.5,
                target: StyleTarget::Style,
            }
        );
        assert_eq!(d.to_string(), "0.1-0.9,one=0.5");
        let m: AlphaDist = "0.1-0.9,one=0.5,target=mix".parse().unwrap();
        assert_eq!((m.at_one, m.target), (0.5, StyleTarget::Mix));
        assert_eq!(m.to_string(), "0.1-0.9,one=0.5,target=mix");
        assert_eq!(m, m.to_string().parse().unwrap());
        let m: AlphaDist = "0-1,target=mix".parse().unwrap();
        assert_eq!((m.at_one, m.target), (0.0, StyleTarget::Mix));
        // A config written before the target existed reads as aiming at the style.
        let old: AlphaDist = serde_json::from_str(r#"{"lo":0.1,"hi":1.0,"at_one":0.5}"#).unwrap();
        assert_eq!(old.target, StyleTarget::Style);
        assert_eq!("1".parse::<AlphaDist>().unwrap(), AlphaDist::default());
        assert!(AlphaDist::default().always_one());
        assert!(!d.always_one());
        for bad in [
            "",
            "x",
            "0.9-0.1",
            "0-1.5",
            "0.1-1,one=2",
            "0.1-1,two=0.5",
            "0.1-1,target=content",
            "0.1-1,one=0.5,one=0.2",
        ] {
            assert!(bad.parse::<AlphaDist>().is_err(), "{bad} was accepted");
        }
        let a = d.draw(3, 17, 4000);
        assert_eq!(
            a,
            d.draw(3, 17, 4000),
            "the same iteration draws the same alphas"
        );
        assert_ne!(a, d.draw(3, 18, 4000));
        let ones = a.iter().filter(|&&x| x == 1.0).count() as f64 / a.len() as f64;
        assert!((ones - 0.5).abs() < 0.05, "share at 1: {ones}");
        assert!(a.iter().all(|&x| x == 1.0 || (0.1..=0.9).contains(&x)));
        let rest: Vec<f32> = a.iter().copied().filter(|&x| x != 1.0).collect();
        let mean = rest.iter().sum::<f32>() / rest.len() as f32;
        assert!((mean - 0.5).abs() < 0.03, "uniform mean {mean}");
    }

    #[test]
    fn style_layer_weights_take_a_preset_or_four_numbers() {
        assert_eq!(
            parse_style_layer_weights("published"),
            Ok(Some([6.4, 12.8, 25.6, 51.2]))
        );
        assert_eq!(parse_style_layer_weights("uniform"), Ok(None));
        assert_eq!(
            parse_style_layer_weights("1,2,3,4"),
            Ok(Some([1.0, 2.0, 3.0, 4.0]))
        );
        for bad in ["1,2,3", "1,2,3,x", "1,2,3,-4", "1,2,3,inf"] {
            assert!(
                parse_style_layer_weights(bad).is_err(),
                "{bad} was accepted"
            );
        }
        let cfg = TrainConfig {
            style_weight: 13.0,
            ..Default::default()
        };
        assert_eq!(cfg.style_weights(), [13.0; 4]);
        let cfg = TrainConfig {
            style_layer_weights: Some(PUBLISHED_STYLE_LAYER_WEIGHTS),
            ..cfg
        };
        assert_eq!(cfg.style_weights(), PUBLISHED_STYLE_LAYER_WEIGHTS);
        assert_eq!(cfg.weighting().style, PUBLISHED_STYLE_LAYER_WEIGHTS);
        assert_eq!(cfg.weighting().alpha_pixel, 0.0, "no alpha term at alpha 1");
    }

    #[test]
    fn a_bad_loss_weight_is_refused_by_its_term_name() {
        let ok = TrainConfig::default();
        assert!(ok.check().is_ok());
        for (cfg, name) in [
            (
                TrainConfig {
                    laplacian_weight: -1.0,
                    ..ok.clone()
                },
                "laplacian",
            ),
            (
                TrainConfig {
                    identity_pixel_weight: f64::NAN,
                    ..ok.clone()
                },
                "identity_pixel",
            ),
        ] {
            let e = cfg.check().unwrap_err().to_string();
            assert!(e.contains(&format!("the {name} term's weight")), "{e}");
        }
        let nothing = TrainConfig {
            content_weight: 0.0,
            style_weight: 0.0,
            ..ok
        };
        assert!(
            nothing
                .check()
                .unwrap_err()
                .to_string()
                .contains("nothing to train")
        );
    }

    #[test]
    fn bf16_is_warned_of_only_on_a_cpu_known_to_lack_it() {
        assert!(bf16_warning(Device::Cpu, Arithmetic::Bf16, Some(false)).is_some());
        assert!(bf16_warning(Device::Cpu, Arithmetic::Bf16, Some(true)).is_none());
        assert!(bf16_warning(Device::Cpu, Arithmetic::Bf16, None).is_none());
        assert!(bf16_warning(Device::Cpu, Arithmetic::Fp32, Some(false)).is_none());
        assert!(bf16_warning(Device::Cuda(0), Arithmetic::Bf16, Some(false)).is_none());
    }
}
