//! Where a run starts: its own latest checkpoint (`--resume`), a published decoder
//! (`--continue-from`), given weights (`--init-decoder`) or scratch, with the log rows and
//! schedule position that go with it.

use std::path::Path;

use super::checkpoint::{self, Published, RunState};
use super::config::{Open, TrainConfig, demo_validation_pairs, identity_weights};
use super::log::{LossRow, read as read_losses};
use super::net::{Network, load_decoder_file};
use super::progress::TrainProgress;
use crate::error::{Error, Result};

// Here, not in `config`: the defaults read the published state (`checkpoint`), which `config`
// must not depend on (checkpoint -> net -> config would loop).
impl TrainConfig {
    /// The run's configuration with every default and cross-field rule applied, so that a
    /// binary only parses: iterations from `--epochs` (over the content images found), the
    /// warm-up (500 when Adam starts without moments on a trained decoder), the reconstruction
    /// objective's identity weights (50 and 1 when none are given), the demo validation pairs,
    /// and a log interval of at least 1. Then [`TrainConfig::check`].
    pub fn resolve(mut self, open: Open) -> Result<Self> {
        self.iterations = match (open.iterations, open.epochs) {
            (Some(i), _) => i,
            (None, Some(e)) if e.is_finite() && e > 0.0 => {
                let n = super::data::list_images("content", &self.content)?.len();
                (e * super::data::iterations_per_epoch(n, self.batch_size)).ceil() as u64
            }
            (None, Some(e)) => {
                return Err(Error::Invalid(format!(
                    "--epochs {e}: expected a positive number"
                )));
            }
            (None, None) => {
                return Err(Error::Invalid("give --iterations N or --epochs N".into()));
            }
        };
        (self.identity_pixel_weight, self.identity_feature_weight) = identity_weights(
            self.objective,
            self.identity_pixel_weight,
            self.identity_feature_weight,
        );
        self.warmup = open.warmup.unwrap_or_else(|| {
            default_warmup(self.init_decoder.is_some(), self.continue_from.as_deref())
        });
        let (demo_content, demo_style) = demo_validation_pairs();
        self.sample_content = open.sample_content.unwrap_or(demo_content);
        self.sample_style = open.sample_style.unwrap_or(demo_style);
        self.log_every = self.log_every.max(1);
        self.check()?;
        Ok(self)
    }
}

/// Warm-up iterations when none are given: 500 when Adam starts without moments on a trained
/// decoder (`--init-decoder`, or `--continue-from` a folder published without them), so the
/// first steps do not shock it; none otherwise.
pub(super) fn default_warmup(init_decoder: bool, continue_from: Option<&std::path::Path>) -> u64 {
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
    use crate::train::{Objective, Open, TrainConfig};
    use std::path::PathBuf;

    fn demo(kind: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("datasets/demo")
            .join(kind)
    }

    #[test]
    fn resolve_settles_what_the_command_line_left_open() {
        let given = TrainConfig {
            content: vec![demo("content")],
            batch_size: 4,
            objective: Objective::Reconstruction,
            identity_pixel_weight: 0.0,
            identity_feature_weight: 0.0,
            init_decoder: Some("decoder.safetensors".into()),
            log_every: 0,
            ..Default::default()
        };
        let photos = std::fs::read_dir(demo("content")).unwrap().count();
        let cfg = given
            .clone()
            .resolve(Open {
                epochs: Some(2.0),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(cfg.iterations, 2 * photos.div_ceil(4) as u64);
        assert_eq!(
            (cfg.identity_pixel_weight, cfg.identity_feature_weight),
            (50.0, 1.0)
        );
        assert_eq!(cfg.warmup, 500, "fresh Adam on given weights warms up");
        assert_eq!((cfg.sample_content.len(), cfg.sample_style.len()), (3, 4));
        assert!(cfg.sample_content[0].starts_with(demo("content")));
        assert_eq!(cfg.log_every, 1);

        // What is given is kept.
        let mine = vec![demo("content").join("astronaut.jpg")];
        let cfg = given
            .clone()
            .resolve(Open {
                iterations: Some(7),
                epochs: Some(2.0),
                warmup: Some(3),
                sample_content: Some(mine.clone()),
                sample_style: Some(mine.clone()),
            })
            .unwrap();
        assert_eq!((cfg.iterations, cfg.warmup), (7, 3));
        assert_eq!((cfg.sample_content, cfg.sample_style), (mine.clone(), mine));

        for (open, says) in [
            (Open::default(), "--iterations N or --epochs N"),
            (
                Open {
                    epochs: Some(-1.0),
                    ..Default::default()
                },
                "--epochs -1",
            ),
        ] {
            let e = given.clone().resolve(open).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

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
