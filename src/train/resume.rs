//! Where a run starts: its own latest checkpoint (`--resume`), a published decoder
//! (`--continue-from`), given weights (`--init-decoder`) or scratch, with the log rows and
//! schedule position that go with it.

use std::path::Path;

use super::checkpoint::{self, Published, RunState};
use super::config::TrainConfig;
use super::log::{LossRow, read as read_losses};
use super::net::{Network, load_decoder_file};
use super::progress::TrainProgress;
use crate::error::{Error, Result};

/// Warm-up iterations when none are given: 500 when Adam starts without moments on a trained
/// decoder (`--init-decoder`, or `--continue-from` a folder published without them), so the
/// first steps do not shock it; none otherwise.
pub fn default_warmup(init_decoder: bool, continue_from: Option<&std::path::Path>) -> u64 {
    let fresh_adam = init_decoder
        || continue_from
            .is_some_and(|d| checkpoint::read_published(d).is_ok_and(|s| !s.has_optimizer_state));
    if fresh_adam { 500 } else { 0 }
}

/// Where this process starts: iteration, elapsed seconds before it, earlier log rows, and the
/// published state it continues (if any).
pub(super) struct Start {
    pub(super) iteration: u64,
    /// Iteration at which the current Adam moments began (bias correction and warm-up count
    /// from there).
    pub(super) adam_start: u64,
    pub(super) elapsed_s: f64,
    /// Iteration and elapsed seconds at which this round began (see [`RunState`]).
    pub(super) round_start: u64,
    pub(super) round_start_s: f64,
    pub(super) rows: Vec<LossRow>,
    pub(super) published: Option<Published>,
}

/// Where a run starts: its own latest checkpoint (with `resume`), else the published decoder
/// (`--continue-from`), else `--init-decoder` or scratch.
pub(super) fn restore(
    cfg: &TrainConfig,
    resume: bool,
    model: &mut Network,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    // The moving average exists before a checkpoint is loaded (which fills it), and restarts
    // at the weights any other start loads.
    model.start_ema(cfg.ema);
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
    let start = restore_fresh(cfg, model, progress)?;
    model.start_ema(cfg.ema);
    Ok(start)
}

/// A start that is not a resume: the published decoder, given weights or scratch.
fn restore_fresh(
    cfg: &TrainConfig,
    model: &mut Network,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    if let Some(dir) = &cfg.continue_from {
        return from_published(cfg, dir, model, progress);
    }
    if let Some(p) = &cfg.init_decoder {
        let w = load_decoder_file(p)?;
        super::layers::load_decoder(&mut model.vs, &w)?;
        progress.println(&format!("decoder initialised from {}", p.display()));
    }
    Ok(Start {
        iteration: 0,
        adam_start: 0,
        elapsed_s: 0.0,
        round_start: 0,
        round_start_s: 0.0,
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
    model: &mut Network,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    checkpoint::load(model, &cfg.out, meta)?;
    let it = meta.progress.iteration;
    let RunState {
        round_start,
        round_start_s,
        ..
    } = meta.progress;
    let published = match &cfg.continue_from {
        Some(d) => Some(checkpoint::read_published(d)?),
        None => None,
    };
    progress.println(&format!("resuming {} at iteration {it}", cfg.out.display()));
    Ok(Start {
        iteration: it,
        adam_start: meta.progress.adam_start,
        elapsed_s: meta.progress.elapsed_s,
        round_start,
        round_start_s,
        rows: log_until(&cfg.out.join("losses.csv"), it)?,
        published,
    })
}

fn from_published(
    cfg: &TrainConfig,
    dir: &Path,
    model: &mut Network,
    progress: &dyn TrainProgress,
) -> Result<Start> {
    let (st, began) = checkpoint::load_published(&mut model.vs, &mut model.adam, dir)?;
    if st.seed != cfg.seed {
        return Err(Error::Invalid(format!(
            "--continue-from {}: it was trained with --seed {} (the data order depends on it); got --seed {}",
            dir.display(),
            st.seed,
            cfg.seed
        )));
    }
    checkpoint::write_continued(&cfg.out, &began)?;
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
        round_start: st.iteration,
        round_start_s: st.elapsed_s,
        rows: log_until(&dir.join("training/losses.csv"), st.iteration)?,
        published: Some(st),
    })
}

#[cfg(test)]
mod tests {
    use super::default_warmup;

    #[test]
    fn fresh_adam_on_a_trained_decoder_warms_up() {
        assert_eq!(default_warmup(true, None), 500);
        assert_eq!(default_warmup(false, None), 0);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            default_warmup(false, Some(empty.path())),
            0,
            "no published state: no warm-up"
        );
        assert!(!super::super::holds_graphs(empty.path()));
    }
}
