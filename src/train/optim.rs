//! Adam over the decoder's variables (PyTorch's algorithm, bias-corrected), with gradient-norm
//! clipping (as `torch.nn.utils.clip_grad_norm_`) and a guard that skips a step whose loss or
//! gradient is not finite, and the optimizer state's save/load.
//!
//! Written out (a few tensor ops per parameter) instead of tch's `nn::Adam` because tch's
//! optimizer can neither save nor restore its moment estimates, and an exact resume needs them.
//! Nothing here reads a value back to the host: the clip coefficient and the skip decision stay
//! on the device (`where`), so a CUDA step never waits for the GPU.

use super::profile::Laps;
use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor, nn};

use crate::error::{Error, Result};

/// Adam hyper-parameters (PyTorch defaults).
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;
/// `clip_grad_norm_`'s guard against a zero norm.
const CLIP_EPS: f64 = 1e-6;

/// Adam moments, one pair per variable, in sorted variable-name order.
pub struct Adam {
    names: Vec<String>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

/// What one step did, as 0-dim device tensors (read them only when logging).
pub struct StepInfo {
    /// Global L2 norm of the gradient before clipping.
    pub grad_norm: Tensor,
    /// 1.0 when the step was applied, 0.0 when it was skipped (non-finite loss or gradient).
    pub applied: Tensor,
}

impl Adam {
    pub fn new(vs: &nn::VarStore) -> Self {
        let vars = vs.variables();
        let mut names: Vec<String> = vars.keys().cloned().collect();
        names.sort();
        let zeros = |n: &String| vars[n].zeros_like();
        Adam {
            m: names.iter().map(zeros).collect(),
            v: names.iter().map(zeros).collect(),
            names,
        }
    }

    /// Back-propagates `loss`, clips the gradient to `max_norm` (0 = no clipping) and applies one
    /// Adam step at `lr`; `step` counts from 1 (bias correction). A step whose loss or gradient
    /// norm is not finite leaves weights and moments untouched.
    pub fn step(
        &mut self,
        vs: &nn::VarStore,
        loss: &Tensor,
        lr: f64,
        step: u64,
        max_norm: f64,
    ) -> StepInfo {
        self.step_timed(vs, loss, lr, step, max_norm, &mut Laps::off())
    }

    /// [`Adam::step`], charging the backward pass and the update to `laps`.
    pub fn step_timed(
        &mut self,
        vs: &nn::VarStore,
        loss: &Tensor,
        lr: f64,
        step: u64,
        max_norm: f64,
        laps: &mut Laps,
    ) -> StepInfo {
        let vars = vs.variables();
        for v in vars.values() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        loss.backward();
        laps.lap("backward");
        let (bc1, bc2) = (1.0 - BETA1.powi(step as i32), 1.0 - BETA2.powi(step as i32));
        tch::no_grad(|| {
            let grads: Vec<Tensor> = self.names.iter().map(|n| vars[n].grad()).collect();
            let device = vars[&self.names[0]].device();
            let (grad_norm, coef) = clip(&grads, max_norm, device);
            let ok = loss.isfinite().logical_and(&grad_norm.isfinite());
            // A skipped step multiplies the gradient by 0 and keeps the old moments below.
            let coef = coef.where_scalarother(&ok, 0.0);
            let bc2_sqrt = bc2.sqrt();
            for (i, name) in self.names.iter().enumerate() {
                let g = &grads[i];
                if !g.defined() {
                    continue;
                }
                // The same operations, in the same order, as torch.optim.Adam's single-tensor
                // path, so the two agree to the last bit where they can.
                let g = g.nan_to_num(0.0, 0.0, 0.0) * &coef;
                let m = self.m[i].lerp(&g, 1.0 - BETA1);
                let v = &self.v[i] * BETA2 + (&g * (1.0 - BETA2)) * &g;
                let denom = v.sqrt() / bc2_sqrt + ADAM_EPS;
                let update = (&m / &denom) * (lr / bc1);
                self.m[i] = m.where_self(&ok, &self.m[i]);
                self.v[i] = v.where_self(&ok, &self.v[i]);
                let mut p = vars[name].shallow_clone();
                let _ = p.g_sub_(&update.where_scalarother(&ok, 0.0));
            }
            let info = StepInfo {
                grad_norm,
                applied: ok.to_kind(Kind::Float),
            };
            laps.lap("optimizer (clip, Adam)");
            info
        })
    }

    /// The moments as named tensors on the CPU (`adam.m.<var>`, `adam.v.<var>`), in `kind`.
    pub fn state_tensors(&self, kind: Kind) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, n) in self.names.iter().enumerate() {
            out.push((
                format!("adam.m.{n}"),
                self.m[i].to_device(Device::Cpu).to_kind(kind),
            ));
            out.push((
                format!("adam.v.{n}"),
                self.v[i].to_device(Device::Cpu).to_kind(kind),
            ));
        }
        out
    }

    /// Writes the moments as safetensors (atomically) in `kind` (Float for run checkpoints,
    /// BFloat16 for the compact committed state).
    pub fn save(&self, path: &Path, kind: Kind) -> Result<()> {
        let state = self.state_tensors(kind);
        let named: Vec<(&str, &Tensor)> = state.iter().map(|(k, t)| (k.as_str(), t)).collect();
        crate::fsutil::write_atomic_via_path(path, |tmp| {
            Tensor::write_safetensors(&named, tmp).map_err(|e| Error::Weights {
                path: path.into(),
                reason: e.to_string(),
            })
        })
    }

    /// Loads moments written by [`Adam::save`] (any float kind) onto `device` as float32.
    pub fn load(&mut self, path: &Path, device: Device) -> Result<()> {
        let named = Tensor::read_safetensors(path).map_err(|e| Error::Weights {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let map: HashMap<String, Tensor> = named.into_iter().collect();
        for (i, n) in self.names.iter().enumerate() {
            for (prefix, store) in [("adam.m.", &mut self.m), ("adam.v.", &mut self.v)] {
                let key = format!("{prefix}{n}");
                let t = map.get(&key).ok_or_else(|| Error::MissingWeight {
                    path: path.into(),
                    key: key.clone(),
                })?;
                if t.size() != store[i].size() {
                    return Err(Error::WeightShape {
                        path: path.into(),
                        key,
                        expected: store[i].size().iter().map(|&d| d as usize).collect(),
                        got: t.size().iter().map(|&d| d as usize).collect(),
                    });
                }
                store[i] = t.to_kind(Kind::Float).to_device(device);
            }
        }
        Ok(())
    }
}

/// The gradients' global norm, as clip_grad_norm_ takes it (the norm of the per-tensor norms),
/// and the factor that clips it to `max_norm` (1 when `max_norm` is 0).
fn clip(grads: &[Tensor], max_norm: f64, device: tch::Device) -> (Tensor, Tensor) {
    let norms: Vec<Tensor> = grads
        .iter()
        .filter(|g| g.defined())
        .map(|g| g.to_kind(Kind::Float).norm())
        .collect();
    let grad_norm = Tensor::stack(&norms, 0).norm();
    let coef = if max_norm > 0.0 {
        (Tensor::full([], max_norm, (Kind::Float, device)) / (&grad_norm + CLIP_EPS)).clamp_max(1.0)
    } else {
        Tensor::ones([], (Kind::Float, device))
    };
    (grad_norm, coef)
}
