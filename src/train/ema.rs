//! The exponential moving average of the decoder's weights (`--ema DECAY`): updated after every
//! step, and, when on, what a run's checkpoints export, its validation scores and it publishes
//! (an average over the end of a run usually beats its last iterate; blending checkpoints after
//! the run did this by hand).
//!
//! The decay of the n-th update is `min(DECAY, (1 + n) / (10 + n))` (TensorFlow's
//! `ExponentialMovingAverage` with `num_updates`): early on the average follows the weights
//! closely instead of being dominated by where the round started.

use tch::{Tensor, nn};

use crate::model::Weights;

pub struct Ema {
    decay: f64,
    /// The averages, in sorted variable-name order (the names are the decoder.pth keys).
    names: Vec<String>,
    avg: Vec<Tensor>,
    /// Updates so far this round.
    pub updates: u64,
}

impl Ema {
    /// An average that starts at the weights in `vs`.
    pub fn new(vs: &nn::VarStore, decay: f64) -> Self {
        let vars = vs.variables();
        let mut names: Vec<String> = vars.keys().cloned().collect();
        names.sort();
        let avg = names.iter().map(|n| vars[n].detach().copy()).collect();
        Ema {
            decay,
            names,
            avg,
            updates: 0,
        }
    }

    /// The decay asked for (`--ema`).
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// The averages as decoder weights (decoder.pth keys).
    pub fn weights(&self) -> Weights {
        let named = self
            .names
            .iter()
            .cloned()
            .zip(self.avg.iter().map(|a| a.detach()));
        super::layers::named_weights(named)
    }

    /// The decay the next update uses.
    pub fn next_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// avg <- d x avg + (1 - d) x weights.
    pub fn update(&mut self, vs: &nn::VarStore) {
        let d = self.next_decay();
        let vars = vs.variables();
        tch::no_grad(|| {
            for (a, n) in self.avg.iter_mut().zip(&self.names) {
                let _ = a.lerp_(&vars[n].detach(), 1.0 - d);
            }
        });
        self.updates += 1;
    }

    /// Exchanges the averages with the weights in `vs` (twice restores both).
    pub fn swap(&mut self, vs: &mut nn::VarStore) {
        let vars = vs.variables();
        tch::no_grad(|| {
            for (a, n) in self.avg.iter_mut().zip(&self.names) {
                let mut v = vars[n].shallow_clone();
                let w = v.detach().copy();
                v.copy_(a);
                *a = w;
            }
        });
    }

    /// Sets the averages to `w` (decoder.pth keys), e.g. from a checkpoint.
    pub fn load(&mut self, w: &Weights) -> crate::error::Result<()> {
        let device = self.avg[0].device();
        for (a, n) in self.avg.iter_mut().zip(&self.names) {
            let t = w
                .tensors
                .get(n)
                .ok_or_else(|| crate::error::Error::MissingWeight {
                    path: w.path.clone(),
                    key: n.clone(),
                })?;
            *a = super::layers::to_tensor(t, device);
        }
        Ok(())
    }
}
