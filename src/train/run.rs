//! The training loop: one process's run from its start (see `resume`) to its end, each step
//! (data or feature bank, losses, Adam), and what happens after it (log rows, validation,
//! samples, checkpoints), then the choice of the checkpoint to export and publish.

use std::path::PathBuf;
use std::time::Instant;

use super::checkpoint::{self, CheckpointMeta, RunState};
use super::config::{Select, TrainConfig, resolve_device};
use super::feed::Feed;
use super::log::{self as losslog, LogWindow, LossRow};
use super::loss::Alphas;
use super::net::Network;
use super::profile::Laps;
use super::resume::{Start, restore};
use super::schedule::{Position, scheduled_lr};
use super::validate::{Samples, ValScores, load_samples, set_val};
use crate::error::{Error, Result};
use crate::model::{self, Weights};

pub use super::progress::TrainProgress;

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

/// Trains (or resumes, when `resume` and a checkpoint exists) until `cfg.iterations`.
pub fn train(
    cfg: &TrainConfig,
    resume: bool,
    progress: &dyn TrainProgress,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<TrainOutcome> {
    let mut run = Run::start(cfg, resume, progress, stop)?;
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

/// One training process: the model, its data, the log and the best checkpoint so far.
pub(super) struct Run<'a> {
    pub(super) cfg: &'a TrainConfig,
    pub(super) progress: &'a dyn TrainProgress,
    pub(super) model: Network,
    feed: Feed,
    samples: Samples,
    pub(super) start: Start,
    per_epoch: f64,
    pub(super) rows: Vec<LossRow>,
    log: std::fs::File,
    window: LogWindow,
    /// The best-validated checkpoint so far (only a resumed run inherits one).
    best: Option<CheckpointMeta>,
    pub(super) last_it: u64,
    /// The last validation: its iteration and scores (with the per-layer style split that a
    /// log row does not keep).
    last_val: Option<(u64, ValScores)>,
    whole_windows_skipped: usize,
    wait_s: f64,
    /// Stage times of every step when `--profile` is on.
    laps: Laps,
    /// Wall time of this process's training loop, and when it began.
    pub(super) train_s: f64,
    t0: Instant,
}

impl<'a> Run<'a> {
    fn start(
        cfg: &'a TrainConfig,
        resume: bool,
        progress: &'a dyn TrainProgress,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Self> {
        cfg.check()?;
        let device = resolve_device(cfg.device)?;
        if device.is_cuda() {
            tch::Cuda::cudnn_set_benchmark(true);
        }
        let cpu_bf16 = super::config::cpu_has_bf16();
        if let Some(w) = super::config::bf16_warning(device, cfg.precision, cpu_bf16) {
            progress.println(w);
        }
        crate::fsutil::create_named_folder(&cfg.out, "run folder (--out)")?;
        let enc_w = Weights::load(&cfg.encoder, model::ENCODER)?;
        let mut model = Network::new(&enc_w, device, cfg.seed, cfg.channels_last, cfg.precision)?;
        let mut start = restore(cfg, resume, &mut model, progress)?;
        let json = serde_json::to_string_pretty(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::fsutil::write_atomic(&cfg.out.join("config.json"), json.as_bytes())?;
        let losses_path = cfg.out.join("losses.csv");
        let rows = std::mem::take(&mut start.rows);
        losslog::write(&losses_path, &rows)?;
        let feed = Feed::open(cfg, &model, start.iteration, device, progress, stop)?;
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
            last_val: None,
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

    /// Checkpoints the model at iteration `it` (see [`checkpoint::save`]).
    fn save(
        &self,
        it: u64,
        val: Option<ValScores>,
        val_total: Option<f64>,
        pointers: &[&str],
    ) -> Result<CheckpointMeta> {
        let at = self.progress_at(it);
        checkpoint::save(&self.model, &self.cfg.out, at, val, val_total, pointers)
    }

    fn progress_at(&self, it: u64) -> RunState {
        RunState {
            iteration: it,
            epoch: it as f64 / self.per_epoch,
            elapsed_s: self.elapsed(),
            seed: self.cfg.seed,
            adam_start: self.start.adam_start,
            round_start: self.start.round_start,
            round_start_s: self.start.round_start_s,
        }
    }

    /// The learning rate of the step with index `it`.
    fn lr(&self, it: u64) -> f64 {
        let p = Position {
            it,
            adam_start: self.start.adam_start,
            round_start: self.start.round_start,
            round_s: self.elapsed() - self.start.round_start_s,
        };
        scheduled_lr(self.cfg, p)
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
        let alpha = match cfg.train_alpha.always_one() {
            true => None,
            false => Some(
                tch::Tensor::from_slice(&cfg.train_alpha.draw(cfg.seed, it, cfg.batch_size))
                    .to_device(self.model.device),
            ),
        };
        let alpha = alpha.as_ref().map(|a| Alphas {
            alpha: a,
            target: cfg.train_alpha.target,
        });
        let l = match &mut self.feed {
            Feed::Loader(b) => {
                let (c, s) = b.next(self.model.device)?;
                self.wait_s += tw.elapsed().as_secs_f64();
                self.laps.lap("data loader wait");
                for w in b.take_warnings() {
                    self.progress.println(&w);
                }
                self.model
                    .losses_timed(&c, &s, objective, identity, alpha, &mut self.laps)
            }
            Feed::Bank(bank) => {
                let (frozen, _) = bank.batch(it);
                self.laps.lap("feature bank batch");
                self.model
                    .losses_from(&frozen, objective, identity, alpha, &mut self.laps)
            }
        };
        let lr = self.lr(it);
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
        if let Some(ema) = &mut m.ema {
            ema.update(&m.vs);
        }
        self.window
            .add(l.as_ref(), &info.grad_norm, &info.applied, cfg.batch_size);
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
            let samples = &self.samples;
            self.model
                .with_published(|m| super::plot::sample_grid(m, samples, &path))?;
        }
        if cfg.save_every > 0 && done.is_multiple_of(cfg.save_every) && done != cfg.iterations {
            self.save(done, None, None, &["latest.json"])?;
        }
        Ok(())
    }

    /// Closes the log window into a row (with validation scores when asked), appends it and
    /// redraws the plot.
    fn close_row(&mut self, done: u64, validate: bool) -> Result<()> {
        let cfg = self.cfg;
        let lr = self.lr(done - 1);
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
        self.whole_windows_skipped = match row.total.is_nan() {
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
        let samples = &self.samples;
        let v = self.model.with_published(|m| m.validate(samples));
        set_val(row, &v);
        self.last_val = Some((done, v));
        let vt = cfg.val_loss(&v);
        if self
            .best
            .as_ref()
            .is_none_or(|b| b.val_total.is_none_or(|bt| vt < bt))
        {
            self.best = Some(self.save(done, Some(v), Some(vt), &["best.json"])?);
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
            && self.last_val.is_none_or(|(it, _)| it != last_it);
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
            .last_val
            .filter(|(it, _)| *it == last_it)
            .map(|(_, v)| v);
        let end_total = end_val.as_ref().map(|v| cfg.val_loss(v));
        let last = self.save(last_it, end_val, end_total, &["latest.json"])?;
        if !self.samples.is_empty() {
            let path = cfg.out.join("samples_final.png");
            let samples = &self.samples;
            self.model
                .with_published(|m| super::plot::sample_grid(m, samples, &path))?;
        }
        self.progress.finish();
        self.report_end();
        let chosen = self.choose(last)?;
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

    /// The checkpoint to export (`--select`): by default the best-validated one, never the
    /// middle of a spike; `last` when it is the best, when there is none, or with `--select
    /// last` (it carries the end state's validation).
    fn choose(&mut self, last: CheckpointMeta) -> Result<CheckpointMeta> {
        let cfg = self.cfg;
        let last_it = self.last_it;
        Ok(match self.best.take() {
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
        })
    }

    /// The end-of-run lines: the loader's share of the time, and the step profile.
    fn report_end(&self) {
        if self.train_s > 0.0 && self.last_it > self.start.iteration {
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
    }
}
