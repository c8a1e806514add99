//! Where training state lives between processes:
//! - **run checkpoints** (`RUN/checkpoints/`): decoder weights and float32 Adam moments per saved
//!   iteration, `latest.json` written last; `--resume` continues a run exactly from them. The
//!   checkpoint with the best validation score is kept as `best.json` beside them.
//! - **the published decoder** (`onnx/` in the repo): `decoder.safetensors` (float32 weights, what
//!   set-up exports the graphs from), `training/adam.safetensors` (the moments in bfloat16: half
//!   the size, a rounding of the optimizer's running averages, not of the model) and
//!   `training/state.json` (iteration, seed, schedule and one entry per training round). A new
//!   run `--continue-from onnx` picks up there, so short GPU windows add up. The moments are
//!   optional (`--publish-without-moments`): without them the next round restarts Adam.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Kind;

use tch::nn::VarStore;

use super::net::Network;
use super::optim::Adam;
use super::validate::ValScores;
use crate::error::{Error, Result};
use crate::model::{self, Weights};

/// Where a run stands: what a checkpoint records besides tensors.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RunState {
    pub iteration: u64,
    pub epoch: f64,
    pub elapsed_s: f64,
    /// The data order is a function of (seed, iteration), so the seed is the loader's RNG state.
    pub seed: u64,
    /// Iteration at which the Adam moments began (their bias correction and the warm-up count
    /// from there).
    #[serde(default)]
    pub adam_start: u64,
    /// Iteration and elapsed seconds at which this round began (the one-cycle schedule spans
    /// the round); 0 in checkpoints from before they were kept.
    #[serde(default)]
    pub round_start: u64,
    #[serde(default)]
    pub round_start_s: f64,
}

/// A saved checkpoint: its progress and file names (relative to the checkpoint folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    #[serde(flatten)]
    pub progress: RunState,
    /// The decoder it exports: the weights' moving average when the run keeps one (`--ema`),
    /// else the weights themselves.
    pub decoder: String,
    /// With `--ema`: the optimizer's own weights, what a resume continues from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_decoder: Option<String>,
    /// With `--ema`: the updates the average has had (its decay ramps up with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_updates: Option<u64>,
    pub state: String,
    /// Validation scores and total (content + style_weight * style) when the checkpoint was
    /// saved after a validation pass.
    #[serde(default)]
    pub val: Option<ValScores>,
    #[serde(default)]
    pub val_total: Option<f64>,
}

pub fn dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(p: &Path) -> Result<T> {
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))
}

fn write_json<T: Serialize>(p: &Path, v: &T) -> Result<()> {
    let json = serde_json::to_string_pretty(v).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(p, json.as_bytes())
}

/// `read_json` of a file that may not exist (yet, or in runs from before it was written).
fn read_json_if_any<T: for<'de> Deserialize<'de>>(p: &Path) -> Result<Option<T>> {
    if !p.is_file() {
        return Ok(None);
    }
    read_json(p).map(Some)
}

/// The checkpoint a pointer file (`latest.json`, `best.json`) names, if it exists.
pub fn read_pointer(run: &Path, name: &str) -> Result<Option<CheckpointMeta>> {
    read_json_if_any(&dir(run).join(name))
}

/// The latest complete checkpoint of a run folder, if any.
pub fn latest(run: &Path) -> Result<Option<CheckpointMeta>> {
    read_pointer(run, "latest.json")
}

/// Saves the model (decoder, its moving average when kept, moments) for `progress`, then points
/// `pointers` (e.g. `latest.json`) at them; the pointers are written last, so a checkpoint exists
/// only once all of its files do.
pub fn save(
    m: &Network,
    run: &Path,
    progress: RunState,
    val: Option<ValScores>,
    val_total: Option<f64>,
    pointers: &[&str],
) -> Result<CheckpointMeta> {
    let d = dir(run);
    crate::fsutil::create_folder(&d)?;
    let it = progress.iteration;
    let meta = CheckpointMeta {
        progress,
        decoder: format!("decoder_iter_{it:07}.safetensors"),
        train_decoder: m
            .ema
            .as_ref()
            .map(|_| format!("train_decoder_iter_{it:07}.safetensors")),
        ema_updates: m.ema.as_ref().map(|e| e.updates),
        state: format!("adam_iter_{it:07}.safetensors"),
        val,
        val_total,
    };
    m.published_weights().save(&d.join(&meta.decoder))?;
    if let Some(t) = &meta.train_decoder {
        m.decoder_weights().save(&d.join(t))?;
    }
    m.adam.save(&d.join(&meta.state), Kind::Float)?;
    write_json(&d.join(format!("iter_{it:07}.json")), &meta)?;
    for p in pointers {
        write_json(&d.join(p), &meta)?;
    }
    Ok(meta)
}

/// Loads a run checkpoint into `m`: the optimizer's weights and moments, and the moving average
/// when the model keeps one (restarted at the weights when the checkpoint has none).
pub fn load(m: &mut Network, run: &Path, meta: &CheckpointMeta) -> Result<()> {
    let d = dir(run);
    let dec = Weights::load(&d.join(&meta.decoder), model::DECODER)?;
    match &meta.train_decoder {
        Some(t) => {
            let train = Weights::load(&d.join(t), model::DECODER)?;
            super::layers::load_decoder(&mut m.vs, &train)?;
        }
        None => super::layers::load_decoder(&mut m.vs, &dec)?,
    }
    if let Some(ema) = &mut m.ema {
        match meta.train_decoder {
            Some(_) => {
                ema.load(&dec)?;
                ema.updates = meta.ema_updates.unwrap_or(0);
            }
            None => *ema = super::ema::Ema::new(&m.vs, ema.decay()),
        }
    }
    m.adam.load(&d.join(&meta.state), m.vs.device())
}

/// One training round of the published decoder (one GPU window, typically).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Round {
    pub from_iteration: u64,
    pub to_iteration: u64,
    /// Training seconds in this round.
    pub seconds: f64,
    pub device: String,
    pub batch_size: usize,
    pub images_per_s: f64,
    /// Validation scores of the published checkpoint, when the round measured them.
    #[serde(default)]
    pub val: Option<ValScores>,
    #[serde(default)]
    pub note: String,
}

/// `training/state.json` of a published decoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    /// Iterations (optimizer steps) the published decoder has had, all rounds together.
    pub iteration: u64,
    /// Iteration at which the kept Adam moments began.
    #[serde(default)]
    pub adam_start: u64,
    pub seed: u64,
    pub lr: f64,
    pub lr_decay: f64,
    /// Training seconds, all rounds together.
    pub elapsed_s: f64,
    /// Whether `training/adam.safetensors` holds the moments for this iteration; without them a
    /// continuation starts Adam afresh behind a learning-rate warm-up.
    pub has_optimizer_state: bool,
    pub rounds: Vec<Round>,
}

impl Published {
    /// Iterations where each round after the first began (the loss plot's marks).
    pub fn later_round_starts(&self) -> Vec<u64> {
        self.rounds
            .iter()
            .skip(1)
            .map(|r| r.from_iteration)
            .collect()
    }
}

pub const PUBLISHED_DECODER: &str = "decoder.safetensors";

pub fn published_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join(PUBLISHED_DECODER),
        dir.join("training/adam.safetensors"),
        dir.join("training/state.json"),
    )
}

/// Reads a published decoder's state (`DIR/training/state.json`).
pub fn read_published(dir: &Path) -> Result<Published> {
    let (dec, _, state) = published_paths(dir);
    if !dec.is_file() {
        return Err(Error::Invalid(format!(
            "{}: no {} there (expected a published decoder: a folder written by --publish, e.g. onnx/)",
            dir.display(),
            dec.display()
        )));
    }
    read_json(&state)
}

/// Loads the published decoder (and its moments, when kept) into `vs` and `adam`; returns its
/// state and what it is (the run's `continued.json`, from the bytes just loaded).
pub fn load_published(
    vs: &mut VarStore,
    adam: &mut Adam,
    dir: &Path,
) -> Result<(Published, Continued)> {
    let st = read_published(dir)?;
    let (dec, moments, _) = published_paths(dir);
    let w = Weights::load(&dec, model::DECODER)?;
    super::layers::load_decoder(vs, &w)?;
    if st.has_optimizer_state {
        adam.load(&moments, vs.device())?;
    }
    let what = Continued {
        from: dir.into(),
        iteration: st.iteration,
        decoder_sha256: w.sha256,
    };
    Ok((st, what))
}

/// Writes the model's published weights (the moving average when kept), and its moments when
/// `state.has_optimizer_state`, as the published state in `dir`. Moments left out also remove
/// an earlier round's file, so no stale moments sit beside a state that disowns them.
pub fn publish(m: &Network, dir: &Path, state: &Published) -> Result<()> {
    let (dec, moments, st) = published_paths(dir);
    let adam = &m.adam;
    crate::fsutil::create_folder(&dir.join("training"))?;
    m.published_weights().save(&dec)?;
    if state.has_optimizer_state {
        adam.save(&moments, Kind::BFloat16)?;
    } else {
        remove_moments(&moments)?;
    }
    write_json(&st, state)
}

/// Writes `weights` as the published decoder in `dir` with `state`, without moments (weights
/// chosen or blended after a run have no Adam state of their own; the next round warms up).
pub fn publish_weights(weights: &Weights, dir: &Path, state: &Published) -> Result<()> {
    let (dec, moments, st) = published_paths(dir);
    crate::fsutil::create_folder(&dir.join("training"))?;
    weights.save(&dec)?;
    remove_moments(&moments)?;
    write_json(&st, state)
}

/// Removes an earlier round's moments, so none sit beside a state that disowns them.
fn remove_moments(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// The checkpoint a run saved at iteration `it` (`RUN/checkpoints/iter_N.json`).
pub fn at_iteration(run: &Path, it: u64) -> Result<CheckpointMeta> {
    let p = dir(run).join(format!("iter_{it:07}.json"));
    if !p.is_file() {
        return Err(Error::Invalid(format!(
            "{}: no checkpoint at iteration {it} in this run (expected {})",
            run.display(),
            p.display()
        )));
    }
    read_json(&p)
}

/// `RUN/continued.json`: the published decoder a run began from, written when it starts with
/// `--continue-from`, so that publishing one of its checkpoints later can check the models
/// folder still holds that decoder (a blend published in between is another decoder).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Continued {
    pub from: PathBuf,
    pub iteration: u64,
    pub decoder_sha256: String,
}

fn continued_path(run: &Path) -> PathBuf {
    run.join("continued.json")
}

pub fn write_continued(run: &Path, c: &Continued) -> Result<()> {
    write_json(&continued_path(run), c)
}

/// The run's start record; `None` for runs from before it was written.
pub fn read_continued(run: &Path) -> Result<Option<Continued>> {
    read_json_if_any(&continued_path(run))
}
