//! Where a step's inputs come from: the loader's fresh crops, or the feature bank's crops with
//! their frozen-encoder outputs computed once before training.

use super::bank::{Bank, Keep};
use super::batches::Batches;
use super::config::{Objective, TrainConfig};
use super::net::Network;
use super::progress::TrainProgress;
use crate::error::Result;

/// Where a step's inputs come from.
pub(super) enum Feed {
    /// Fresh crops every step; the frozen encoder runs in the step.
    Loader(Batches),
    /// A fixed bank of crops whose frozen features were computed before training.
    Bank(Box<Bank>),
}

impl Feed {
    /// The loader, or the feature bank built with `model`'s frozen encoder (a `stop` during its
    /// build ends the run there, with [`crate::error::Error::Interrupted`]).
    pub(super) fn open(
        cfg: &TrainConfig,
        model: &Network,
        start_it: u64,
        device: tch::Device,
        progress: &dyn TrainProgress,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Self> {
        Ok(match cfg.feature_cache {
            0 => Feed::Loader(Batches::start(&cfg.data(), start_it, cfg.loader, device)?),
            n => {
                let m = model;
                let mut bank = Bank::build(
                    &cfg.data(),
                    n,
                    cfg.loader,
                    device,
                    Keep {
                        full_taps: cfg.full_content_taps(),
                        style: cfg.objective == Objective::Adain,
                    },
                    &|x| m.enc_taps(x),
                    stop,
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
        })
    }

    pub(super) fn content_files(&self) -> usize {
        match self {
            Feed::Loader(b) => b.content_files(),
            Feed::Bank(b) => b.content_files,
        }
    }

    pub(super) fn bad_files(&self) -> usize {
        match self {
            Feed::Loader(b) => b.bad_files(),
            Feed::Bank(b) => b.bad_files,
        }
    }
}
