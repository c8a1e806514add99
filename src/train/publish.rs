//! Publishing a run's chosen checkpoint into a models folder: the decoder, the moments when
//! kept, the rounds so far (`state.json`), the cumulative loss log and its plot.

use std::path::{Path, PathBuf};

use tch::Device;

use super::checkpoint::{self, CheckpointMeta, Published, Round};
use super::log::{self as losslog, LossRow, read as read_losses};
use super::run::Run;
use crate::error::Result;

impl Run<'_> {
    /// Writes `chosen` (loaded in the model) as the published decoder in `dir`, this process's
    /// round appended to the rounds it continued.
    pub(super) fn publish(&self, dir: &Path, chosen: &CheckpointMeta) -> Result<()> {
        let cfg = self.cfg;
        let it = chosen.progress.iteration;
        // A run that took no step (asked for no more iterations than the published state
        // holds) has nothing new: publishing would add an empty round to the state.
        if let Some(p) = &self.start.published
            && it <= p.iteration
        {
            self.progress.println(&format!(
                "nothing to publish to {}: iteration {it} adds nothing to its iteration {}",
                dir.display(),
                p.iteration
            ));
            return Ok(());
        }
        let rounds = self.rounds_with(chosen);
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
        checkpoint::publish(&self.model.vs, &self.model.adam, dir, &state)?;
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

impl Run<'_> {
    /// The rounds the published state had, with this process's round (ending at `chosen`)
    /// appended.
    fn rounds_with(&self, chosen: &CheckpointMeta) -> Vec<Round> {
        let published = self.start.published.as_ref();
        let mut rounds = published.map(|p| p.rounds.clone()).unwrap_or_default();
        // The round began where the published state ended, which is not where this process
        // began when it resumed its own checkpoint.
        let (from_it, from_s) = published.map_or((0, 0.0), |p| (p.iteration, p.elapsed_s));
        let steps = self.last_it - self.start.iteration;
        let cfg = self.cfg;
        rounds.push(Round {
            from_iteration: from_it,
            to_iteration: chosen.progress.iteration,
            seconds: chosen.progress.elapsed_s - from_s,
            device: device_name(self.model.device),
            batch_size: cfg.batch_size,
            images_per_s: (steps as usize * cfg.batch_size) as f64 / self.train_s.max(1e-9),
            val: chosen.val,
            note: cfg.note.clone(),
        });
        rounds
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
