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
    precision: Precision,
    has_bf16: Option<bool>,
) -> Option<&'static str> {
    (device == Device::Cpu && precision == Precision::Bf16 && has_bf16 == Some(false)).then_some(
        "warning: --precision bf16 on a CPU without bfloat16 instructions (avx512_bf16): oneDNN \
         emulates them, about 14x slower than --precision fp32 here (measured on an AVX2-only \
         AMD EPYC); use fp32 on this machine",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_is_warned_of_only_on_a_cpu_known_to_lack_it() {
        assert!(bf16_warning(Device::Cpu, Precision::Bf16, Some(false)).is_some());
        assert!(bf16_warning(Device::Cpu, Precision::Bf16, Some(true)).is_none());
        assert!(bf16_warning(Device::Cpu, Precision::Bf16, None).is_none());
        assert!(bf16_warning(Device::Cpu, Precision::Fp32, Some(false)).is_none());
        assert!(bf16_warning(Device::Cuda(0), Precision::Bf16, Some(false)).is_none());
    }
}
