//! Publishing a run's chosen checkpoint into a models folder: the decoder, the moments when
//! kept, the rounds so far (`state.json`), the cumulative loss log and its plot; at the end of a
//! run, or afterwards for a checkpoint chosen by the quality bench (`publish_checkpoint`).

use std::path::{Path, PathBuf};

use tch::Device;

use super::checkpoint::{self, CheckpointMeta, PUBLISHED_DECODER, Published, Round};
use super::config::TrainConfig;
use super::log::{self as losslog, LossRow, read as read_losses};
use super::run::Run;
use super::validate::row_val;
use crate::error::{Error, Result};
use crate::model::{DECODER, Weights};

/// Whether a published folder gets its graphs re-exported when its decoder changes: one that
/// already holds graphs (a live models folder such as onnx/) must keep them matching its
/// weights; a fresh one (e.g. results to carry off a GPU machine) gets weights only.
pub fn holds_graphs(dir: &Path) -> bool {
    dir.join(crate::onnx::DECODER_FILE).is_file()
}

/// After a run: the chosen decoder copied into the run folder as `decoder.safetensors` and
/// exported (fp32 graphs) into the run's `onnx/`, into `export_to` when given, and into the
/// published folder when it holds graphs ([`holds_graphs`]). Returns the folders written.
pub fn export_outcome(
    cfg: &TrainConfig,
    decoder: &Path,
    export_to: Option<PathBuf>,
) -> Result<Vec<PathBuf>> {
    let enc = Weights::load(&cfg.encoder, crate::model::ENCODER)?;
    let dec_path = cfg.out.join(crate::onnx::DECODER_WEIGHTS);
    std::fs::copy(decoder, &dec_path).map_err(|e| Error::io(&dec_path, e))?;
    let dec = Weights::load(&dec_path, DECODER)?;
    let live = cfg.publish.clone().filter(|d| holds_graphs(d));
    let dirs: Vec<PathBuf> = std::iter::once(cfg.out.join(crate::paths::MODELS))
        .chain(export_to)
        .chain(live)
        .collect();
    for dir in &dirs {
        crate::onnx::export(&enc, &dec, dir)?;
    }
    Ok(dirs)
}

/// `--publish-from RUN --checkpoint N` after [`publish_checkpoint`]: re-exports the graphs in
/// `dir` when it holds some ([`holds_graphs`]), from `encoder` and the decoder just published.
/// Returns whether it did.
pub fn reexport_published(dir: &Path, encoder: &Path) -> Result<bool> {
    if !holds_graphs(dir) {
        return Ok(false);
    }
    let enc = Weights::load(encoder, crate::model::ENCODER)?;
    let dec = Weights::load(&dir.join(PUBLISHED_DECODER), DECODER)?;
    crate::onnx::export(&enc, &dec, dir)?;
    Ok(true)
}

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
            // The moments follow the optimizer's own weights; a moving average published in
            // their place has none of its own (the next round warms up).
            has_optimizer_state: cfg.publish_moments && cfg.ema == 0.0,
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

/// What `adain-train --publish-from RUN` publishes: a checkpoint of a finished run that
/// continued the published decoder, chosen after the run (by `bench/checkpoints.sh`, say),
/// alone or blended with the decoder the run began from (or with another decoder file).
pub struct Chosen<'a> {
    pub run: &'a Path,
    pub iteration: u64,
    /// The checkpoint's weight w in `w * checkpoint + (1 - w) * published`, in (0, 1]. Blending
    /// the end of a fine-tuning round with its start keeps what both do well (WiSE-FT, Wortsman
    /// et al. 2022): round 9's 15,500 blended 1:1 with 14,794 beat 14,794 on the quality bench
    /// along the whole frontier and reached further than 15,500 alone at alpha 1.
    pub blend: f64,
    /// The decoder the blend mixes in, when not the one the run began from: a round continued
    /// through scratch publishes (r14 -> r15 -> r16) is weighed against the shipped decoder, an
    /// ancestor the publish folder no longer holds. Its file and hash go into the round's note.
    pub blend_with: Option<&'a Path>,
    /// Stored with the round; the run's own `--note` when empty.
    pub note: &'a str,
}

/// Publishes `chosen` into `dir`, which must hold the decoder the run continued: the weights,
/// the state with the round appended (no moments), the run's loss log up to the checkpoint and
/// its plot. Returns the new state.
pub fn publish_checkpoint(chosen: &Chosen, dir: &Path) -> Result<Published> {
    if !(chosen.blend > 0.0 && chosen.blend <= 1.0) {
        return Err(Error::Invalid(format!(
            "--blend {}: expected a weight in (0, 1] for the checkpoint",
            chosen.blend
        )));
    }
    if let (Some(f), 1.0) = (chosen.blend_with, chosen.blend) {
        return Err(Error::Invalid(format!(
            "--blend-with {}: needs --blend W below 1 (W is the checkpoint's weight)",
            f.display()
        )));
    }
    let run = chosen.run;
    let cfg: TrainConfig = checkpoint::read_json(&run.join("config.json"))?;
    let meta = checkpoint::at_iteration(run, chosen.iteration)?;
    let st = checkpoint::read_published(dir)?;
    let rows = read_losses(&run.join("losses.csv"))?;
    // Read once: the start-record check hashes it, a blend mixes it in.
    let current = Weights::load(&dir.join(PUBLISHED_DECODER), DECODER)?;
    check_continues(
        run,
        &cfg,
        &rows,
        dir,
        &st,
        &current.sha256,
        chosen.iteration,
    )?;
    let ckpt = Weights::load(&checkpoint::dir(run).join(&meta.decoder), DECODER)?;
    let other = match chosen.blend_with {
        Some(f) => Weights::load(f, DECODER)?,
        None => current,
    };
    let weights = match chosen.blend {
        1.0 => ckpt,
        w => blend(&other, &ckpt, w),
    };
    let it = chosen.iteration;
    let kept: Vec<LossRow> = rows.into_iter().filter(|r| r.iteration <= it).collect();
    let mut rounds = st.rounds.clone();
    rounds.push(chosen_round(chosen, &cfg, &meta, &st, &kept, &other.sha256));
    let state = Published {
        iteration: it,
        adam_start: meta.progress.adam_start,
        seed: cfg.seed,
        lr: cfg.lr,
        lr_decay: cfg.lr_decay,
        elapsed_s: meta.progress.elapsed_s,
        has_optimizer_state: false,
        rounds,
    };
    checkpoint::publish_weights(&weights, dir, &state)?;
    losslog::write(&dir.join("training/losses.csv"), &kept)?;
    draw_published(dir, &kept, &state)?;
    Ok(state)
}

/// The round `chosen` adds: from the published iteration to the checkpoint, timed by the
/// checkpoint's clock; a blend says so in its note and records no validation (the run
/// validated the checkpoint, not the blend). `other_sha256` is the hash of the decoder mixed in.
fn chosen_round(
    chosen: &Chosen,
    cfg: &TrainConfig,
    meta: &CheckpointMeta,
    st: &Published,
    kept: &[LossRow],
    other_sha256: &str,
) -> Round {
    let (it, run) = (chosen.iteration, chosen.run.display());
    let seconds = meta.progress.elapsed_s - st.elapsed_s;
    let note = match chosen.note {
        "" => &cfg.note,
        n => n,
    };
    let blended = chosen.blend < 1.0;
    let other = match chosen.blend_with {
        Some(f) => format!(
            "the decoder in {} (sha256 {}, --blend-with)",
            f.display(),
            &other_sha256[..12]
        ),
        None => format!("the decoder at {}", st.iteration),
    };
    Round {
        from_iteration: st.iteration,
        to_iteration: it,
        seconds,
        device: serde_json::to_value(cfg.device)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        batch_size: cfg.batch_size,
        images_per_s: ((it - st.iteration) as usize * cfg.batch_size) as f64 / seconds.max(1e-9),
        val: match blended {
            false => kept.last().filter(|r| r.iteration == it).and_then(row_val),
            true => None,
        },
        note: match blended {
            false => format!("checkpoint {it} of {run}; {note}"),
            true => format!(
                "published as {w} x checkpoint {it} of {run} + {} x {other} (--blend {w}); its validation is the checkpoint's, not the blend's, so none is recorded; {note}",
                1.0 - chosen.blend,
                w = chosen.blend
            ),
        },
    }
}

/// Refuses a run that did not continue the decoder published in `dir` as it is now: its log up
/// to the published iteration must be the published log (a continued run starts from it), and
/// its start record must name the decoder there now (`sha256`, its file's hash).
fn check_continues(
    run: &Path,
    cfg: &TrainConfig,
    rows: &[LossRow],
    dir: &Path,
    st: &Published,
    sha256: &str,
    it: u64,
) -> Result<()> {
    let fail = |why: String| {
        Err(Error::Invalid(format!(
            "{}: cannot publish its checkpoint {it} into {}: {why}",
            run.display(),
            dir.display()
        )))
    };
    if cfg.continue_from.is_none() {
        return fail("the run did not --continue-from a published decoder".into());
    }
    if cfg.seed != st.seed {
        return fail(format!(
            "its seed {} is not the published {}",
            cfg.seed, st.seed
        ));
    }
    if it <= st.iteration {
        return fail(format!(
            "the published decoder is already at iteration {}",
            st.iteration
        ));
    }
    if let Some(why) = began_elsewhere(run, dir, st, sha256)? {
        return fail(why);
    }
    let published = read_losses(&dir.join("training/losses.csv"))?;
    let before: Vec<&LossRow> = rows
        .iter()
        .filter(|r| r.iteration <= st.iteration)
        .collect();
    let same = before.len() == published.len()
        && before
            .iter()
            .zip(&published)
            .all(|(a, b)| a.iteration == b.iteration && a.total == b.total);
    if !same {
        return fail(format!(
            "its loss log up to iteration {} is not {}/training/losses.csv, so it continued another decoder (was {} published again since?)",
            st.iteration,
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Why the run did not begin from the decoder `dir` holds now, by the run's start record
/// (`continued.json`); `None` when it did, or when the run predates the record (session 20), for
/// which the loss log is the only check.
fn began_elsewhere(run: &Path, dir: &Path, st: &Published, sha256: &str) -> Result<Option<String>> {
    let Some(c) = checkpoint::read_continued(run)? else {
        return Ok(None);
    };
    if (c.iteration, c.decoder_sha256.as_str()) == (st.iteration, sha256) {
        return Ok(None);
    }
    Ok(Some(format!(
        "the run began from the decoder at iteration {} (sha256 {}), and {} now holds iteration {} (sha256 {})",
        c.iteration,
        &c.decoder_sha256[..12],
        dir.display(),
        st.iteration,
        &sha256[..12]
    )))
}

/// `w * b + (1 - w) * a`, tensor by tensor (same keys and shapes: both passed the decoder's
/// table).
fn blend(a: &Weights, b: &Weights, w: f64) -> Weights {
    let tensors = a
        .tensors
        .iter()
        .map(|(k, ta)| {
            let tb = b.get(k);
            let data = ta
                .data
                .iter()
                .zip(&tb.data)
                .map(|(&x, &y)| ((1.0 - w) * x as f64 + w * y as f64) as f32)
                .collect();
            let t = crate::model::Tensor {
                shape: ta.shape.clone(),
                data,
            };
            (k.clone(), t)
        })
        .collect();
    Weights {
        tensors,
        path: b.path.clone(),
        sha256: String::new(),
    }
}
