//! The one owner of the training objective: every term of a step (content, style, identity
//! pixel, identity feature), the weights they are summed with ([`Weighting`], from the config),
//! and the validation loss that picks the best checkpoint.

use std::ops::{Add, Mul};

use tch::{Device, Kind, Tensor};

use super::bank::Frozen;
use super::config::{Objective, TrainConfig};
use super::model::{adain, mean_std};
use super::net::Model;
use super::profile::Laps;
use super::validate::ValScores;

/// Loss weights a row's `total` is computed with (the step's tensors: `Losses::total`).
#[derive(Debug, Clone, Copy)]
pub struct Weighting {
    pub content: f64,
    pub style: f64,
    pub identity_pixel: f64,
    pub identity_feature: f64,
}

impl Weighting {
    /// The weighted sum of `terms` (content, style, identity pixel, identity feature): the one
    /// formula, for a step's tensors ([`Losses::total`]) and a log row's means alike.
    pub fn total<T>(&self, terms: [T; 4]) -> T::Output
    where
        T: Mul<f64>,
        T::Output: Add<Output = T::Output>,
    {
        let [c, s, p, f] = terms;
        c * self.content + s * self.style + p * self.identity_pixel + f * self.identity_feature
    }
}

impl TrainConfig {
    /// The weights of the step's terms; reconstruction has no content or style term.
    pub fn weighting(&self) -> Weighting {
        let adain = self.objective == Objective::Adain;
        Weighting {
            content: if adain { self.content_weight } else { 0.0 },
            style: if adain { self.style_weight } else { 0.0 },
            identity_pixel: self.identity_pixel_weight,
            identity_feature: self.identity_feature_weight,
        }
    }

    /// The validation loss that picks the best checkpoint: the AdaIN objective's content and
    /// style weighting; for reconstruction, 1 - SSIM of the reconstruction to the content.
    pub fn val_loss(&self, v: &ValScores) -> f64 {
        match self.objective {
            // Validation has no identity terms: they weigh nothing here.
            Objective::Adain => self.weighting().total([v.content, v.style, 0.0, 0.0]),
            Objective::Reconstruction => 1.0 - v.ssim_alpha0,
        }
    }
}

/// The losses of one step, unweighted, as 0-dim tensors on the device. A term the objective
/// does not compute is zero.
pub struct Losses {
    pub content: Tensor,
    pub style: Tensor,
    /// MSE of D(E(c)) against c.
    pub identity_pixel: Tensor,
    /// Summed MSE of relu1_1..relu4_1 of D(E(c)) against those of c.
    pub identity_feature: Tensor,
}

impl Losses {
    /// The four terms, in [`Weighting::total`]'s order.
    pub fn terms(&self) -> [&Tensor; 4] {
        [
            &self.content,
            &self.style,
            &self.identity_pixel,
            &self.identity_feature,
        ]
    }

    /// The weighted sum a step minimises.
    pub fn total(&self, w: &Weighting) -> Tensor {
        w.total(self.terms())
    }
}

pub(super) fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    a.mse_loss(b, tch::Reduction::Mean)
}

/// The style loss of taps `a` against the per-layer (mean, std) `b` of the style.
pub(super) fn style_loss(a: &[Tensor], b: &[(Tensor, Tensor)], device: Device) -> Tensor {
    let mut style = Tensor::zeros([], (Kind::Float, device));
    for (x, (ym, ys)) in a.iter().zip(b) {
        let (xm, xs) = mean_std(x);
        style = style + mse(&xm, ym) + mse(&xs, ys);
    }
    style
}

impl Model {
    /// The losses of `objective` for content `c` and style `s` (`[B,3,H,W]`; `s` unused by
    /// reconstruction), alpha 1, with the identity terms when `identity` is set (always for
    /// reconstruction).
    pub fn losses(&self, c: &Tensor, s: &Tensor, objective: Objective, identity: bool) -> Losses {
        self.losses_timed(c, s, objective, identity, &mut Laps::off())
    }

    /// [`Model::losses`], charging each stage to `laps`.
    pub fn losses_timed(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Losses {
        let frozen = self.frozen(c, s, objective, identity, laps);
        self.losses_from(&frozen, objective, identity, laps)
    }

    /// The frozen encoder's share of a step (no gradients): what [`Model::losses_from`] needs,
    /// and what a [`Bank`] holds precomputed.
    pub fn frozen(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Frozen {
        tch::no_grad(|| {
            let style_stats = match objective {
                Objective::Reconstruction => Vec::new(),
                Objective::Adain => {
                    let st = self.enc_taps(s).iter().map(mean_std).collect();
                    laps.lap("style encoder (no grad)");
                    st
                }
            };
            let mut content_taps = self.enc_taps(c);
            if !(identity || objective == Objective::Reconstruction) {
                content_taps = content_taps.split_off(3);
            }
            laps.lap("content encoder (no grad)");
            Frozen {
                content: c.shallow_clone(),
                content_taps,
                style_stats,
            }
        })
    }

    /// The losses of a step from its frozen inputs: decoder, encoder of the output, terms.
    pub fn losses_from(
        &self,
        f: &Frozen,
        objective: Objective,
        identity: bool,
        laps: &mut Laps,
    ) -> Losses {
        let zero = || Tensor::zeros([], (Kind::Float, self.device));
        let c4 = f.content_taps.last().expect("relu4_1");
        if objective == Objective::Reconstruction {
            let (identity_pixel, identity_feature) =
                self.identity_terms(&f.content, &f.content_taps);
            laps.lap("identity passes");
            return Losses {
                content: zero(),
                style: zero(),
                identity_pixel,
                identity_feature,
            };
        }
        let t = tch::no_grad(|| {
            let (sm, ss) = &f.style_stats[3];
            let alpha = Tensor::ones([c4.size()[0]], (Kind::Float, self.device));
            adain(c4, sm, ss, &alpha)
        });
        laps.lap("AdaIN");
        let g = self.decode(&t);
        laps.lap("decoder forward");
        let g_taps = self.enc_taps(&g);
        laps.lap("encoder of the output");
        let content = mse(&g_taps[3], &t);
        let style = style_loss(&g_taps, &f.style_stats, self.device);
        laps.lap("content + style loss");
        let (identity_pixel, identity_feature) = match identity {
            true => {
                let terms = self.identity_terms(&f.content, &f.content_taps);
                laps.lap("identity passes");
                terms
            }
            false => (zero(), zero()),
        };
        Losses {
            content,
            style,
            identity_pixel,
            identity_feature,
        }
    }

    /// The identity terms of content `c` with encoder taps `c_taps`: pixel MSE and summed
    /// feature MSE of D(E(c)), cropped to `c`, against `c`.
    fn identity_terms(&self, c: &Tensor, c_taps: &[Tensor]) -> (Tensor, Tensor) {
        // AdaIN(c, c) is c's own relu4_1 (exactly, up to eps), so the identity pair decodes the
        // content's features directly.
        let icc = self.decode(&c_taps[3]);
        let (h, w) = (c.size()[2], c.size()[3]);
        let icc = icc.narrow(2, 0, h).narrow(3, 0, w);
        let feat = self.enc_taps(&icc).iter().zip(c_taps).fold(
            Tensor::zeros([], (Kind::Float, self.device)),
            |acc, (a, b)| acc + mse(a, b),
        );
        (mse(&icc, c), feat)
    }
}
