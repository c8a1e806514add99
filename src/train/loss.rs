//! The training objective: how each term of a step is computed (content, style per layer,
//! identity pixel and feature, alpha pixel, Laplacian; their set is [`Terms`]), the weights they
//! are summed with ([`Weighting`], from the config), and the validation loss that picks the best
//! checkpoint.

use tch::{Kind, Tensor};

use super::bank::{Frozen, TapStats};
use super::config::{Objective, StyleTarget, TrainConfig};
use super::layers::{adain, mean_std};
use super::net::Network;
use super::profile::Laps;
pub use super::terms::{Terms, Weighting};

impl TrainConfig {
    /// The weights of the step's terms; reconstruction has no content, style or alpha term, and
    /// the alpha pixel term (the identity pixel weight's) exists only when alphas are sampled.
    pub fn weighting(&self) -> Weighting {
        let adain = self.objective == Objective::Adain;
        let on = |w: f64| if adain { w } else { 0.0 };
        Terms {
            content: on(self.content_weight),
            style: self.style_weights().map(on),
            identity_pixel: self.identity_pixel_weight,
            identity_feature: self.identity_feature_weight,
            alpha_pixel: match self.train_alpha.always_one() {
                true => 0.0,
                false => on(self.identity_pixel_weight),
            },
            laplacian: on(self.laplacian_weight),
        }
    }
}

/// The losses of one step, unweighted, as 0-dim tensors on the device. A term the step does
/// not compute is zero.
pub type Losses = Terms<Tensor>;

impl Losses {
    /// The weighted sum a step minimises.
    pub fn total(&self, w: &Weighting) -> Tensor {
        w.total(self.as_ref())
    }

    /// The style terms summed over layers (unweighted).
    pub fn style_sum(&self) -> Tensor {
        let [a, b, c, d] = &self.style;
        a + b + c + d
    }
}

pub(super) fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    a.mse_loss(b, tch::Reduction::Mean)
}

/// Per-sample MSE of `a` against `b` (`[B, ...]` -> `[B]`).
fn mse_per_sample(a: &Tensor, b: &Tensor) -> Tensor {
    let d = a - b;
    let dims: Vec<i64> = (1..d.dim() as i64).collect();
    (&d * &d).mean_dim(dims.as_slice(), false, Kind::Float)
}

/// Side of the average pool before the Laplacian term's filter (Li et al.'s p = 4): it keeps
/// structure at the scale of eyes, mouths and edges and leaves finer texture to the style.
pub const LAPLACIAN_POOL: i64 = 4;

/// The Laplacian of the BT.601 luma (the quality judge's SSIM plane) of `x` (`[B,3,H,W]`) after
/// a [`LAPLACIAN_POOL`] average pool, `[B,1,H/p-2,W/p-2]`: the 4-neighbour filter without
/// padding, so no border is invented. Luma alone, so the style is free to recolour.
fn luma_laplacian(x: &Tensor) -> Tensor {
    let x = x.to_kind(Kind::Float);
    let luma = x.narrow(1, 0, 1) * 0.299 + x.narrow(1, 1, 1) * 0.587 + x.narrow(1, 2, 1) * 0.114;
    let p = LAPLACIAN_POOL;
    let pooled = luma.avg_pool2d([p, p], [p, p], [0, 0], false, true, None);
    let filter = Tensor::from_slice(&[0f32, 1., 0., 1., -4., 1., 0., 1., 0.])
        .view([1, 1, 3, 3])
        .to_device(x.device());
    pooled.conv2d(&filter, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)
}

/// The Laplacian term: MSE of the output's [`luma_laplacian`] (cropped to the content) against
/// the content's.
fn laplacian_loss(g: &Tensor, c: &Tensor) -> Tensor {
    let (h, w) = (c.size()[2], c.size()[3]);
    let g = g.narrow(2, 0, h).narrow(3, 0, w);
    let target = tch::no_grad(|| luma_laplacian(c));
    mse(&luma_laplacian(&g), &target)
}

/// The style loss of taps `a` against the per-layer (mean, std) `b` of the style, per layer.
/// With `weight` (`[B]`), each sample's share is weighted by it (batch mean of weight x the
/// sample's loss); without, the plain MSE over the batch.
pub(super) fn style_losses(
    a: &[Tensor],
    b: &[(Tensor, Tensor)],
    weight: Option<&Tensor>,
) -> [Tensor; 4] {
    let per_layer: Vec<Tensor> = a
        .iter()
        .zip(b)
        .map(|(x, (ym, ys))| {
            let (xm, xs) = mean_std(x);
            match weight {
                None => mse(&xm, ym) + mse(&xs, ys),
                Some(w) => {
                    ((mse_per_sample(&xm, ym) + mse_per_sample(&xs, ys)) * w).mean(Kind::Float)
                }
            }
        })
        .collect();
    per_layer.try_into().expect("four style layers")
}

/// A step's per-sample alphas (`[B]`) and what its style terms aim at below alpha 1.
#[derive(Clone, Copy)]
pub struct Alphas<'a> {
    pub alpha: &'a Tensor,
    pub target: StyleTarget,
}

/// Per layer, `a x` the style's (mean, std) + `(1 - a) x` the content's, `a` per sample: the
/// statistics of [`StyleTarget::Mix`]. At a = 1 exactly the style's.
fn mixed_stats(content_taps: &[Tensor], style: &[(Tensor, Tensor)], a: &Tensor) -> TapStats {
    assert_eq!(
        content_taps.len(),
        style.len(),
        "the mixed style target needs the content's four taps (TrainConfig::full_content_taps)"
    );
    let a = a.view([-1, 1, 1, 1]);
    let b = a.neg() + 1.0;
    content_taps
        .iter()
        .zip(style)
        .map(|(c, (sm, ss))| {
            let (cm, cs) = mean_std(c);
            (&a * sm + &b * cm, &a * ss + &b * cs)
        })
        .collect()
}

impl Network {
    /// The losses of `objective` for content `c` and style `s` (`[B,3,H,W]`; `s` unused by
    /// reconstruction), alpha 1, with the identity terms when `identity` is set (always for
    /// reconstruction).
    pub fn losses(&self, c: &Tensor, s: &Tensor, objective: Objective, identity: bool) -> Losses {
        self.losses_timed(c, s, objective, identity, None, &mut Laps::off())
    }

    /// [`Network::losses`] at each sample's `alpha` (`[B]`; `None`: the paper's step at 1),
    /// charging each stage to `laps`.
    pub fn losses_timed(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        identity: bool,
        alpha: Option<Alphas>,
        laps: &mut Laps,
    ) -> Losses {
        let full_taps = identity || alpha.is_some_and(|a| a.target == StyleTarget::Mix);
        let frozen = self.frozen(c, s, objective, full_taps, laps);
        self.losses_from(&frozen, objective, identity, alpha, laps)
    }

    /// The frozen encoder's share of a step (no gradients): what [`Network::losses_from`] needs,
    /// and what a [`Bank`](crate::train::bank::Bank) holds precomputed. The content's four taps
    /// are kept when `full_taps` (identity terms, [`StyleTarget::Mix`]), else relu4_1 alone.
    pub fn frozen(
        &self,
        c: &Tensor,
        s: &Tensor,
        objective: Objective,
        full_taps: bool,
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
            if !(full_taps || objective == Objective::Reconstruction) {
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
    /// `alpha` trains each sample at its own alpha: the decoder's input is
    /// alpha x AdaIN(c, s) + (1 - alpha) x E(c), the content target that input, the style terms
    /// aimed as [`StyleTarget`] says and the alpha pixel term weighted by 1 - alpha. `None` is the
    /// paper's step at alpha 1 (plain batch means, no alpha pixel term).
    pub fn losses_from(
        &self,
        f: &Frozen,
        objective: Objective,
        identity: bool,
        alpha: Option<Alphas>,
        laps: &mut Laps,
    ) -> Losses {
        let zero = || Tensor::zeros([], (Kind::Float, self.device));
        let c4 = f.content_taps.last().expect("relu4_1");
        if objective == Objective::Reconstruction {
            let (identity_pixel, identity_feature) =
                self.identity_terms(&f.content, &f.content_taps);
            laps.lap("identity passes");
            return Terms {
                content: zero(),
                style: std::array::from_fn(|_| zero()),
                identity_pixel,
                identity_feature,
                alpha_pixel: zero(),
                laplacian: zero(),
            };
        }
        let t = tch::no_grad(|| {
            let (sm, ss) = &f.style_stats[3];
            match alpha {
                Some(a) => adain(c4, sm, ss, a.alpha),
                None => adain(
                    c4,
                    sm,
                    ss,
                    &Tensor::ones([c4.size()[0]], (Kind::Float, self.device)),
                ),
            }
        });
        laps.lap("AdaIN");
        let g = self.decode(&t);
        laps.lap("decoder forward");
        let g_taps = self.enc_taps(&g);
        laps.lap("encoder of the output");
        let content = mse(&g_taps[3], &t);
        let style = match alpha {
            None => style_losses(&g_taps, &f.style_stats, None),
            Some(Alphas {
                alpha: a,
                target: StyleTarget::Style,
            }) => style_losses(&g_taps, &f.style_stats, Some(a)),
            // Weight 1 per sample: the target already carries the alpha.
            Some(Alphas {
                alpha: a,
                target: StyleTarget::Mix,
            }) => {
                let mixed = tch::no_grad(|| mixed_stats(&f.content_taps, &f.style_stats, a));
                style_losses(&g_taps, &mixed, None)
            }
        };
        let alpha_pixel = match alpha.map(|a| a.alpha) {
            // The output against its own content, each sample's share weighted by 1 - alpha:
            // at alpha 0 it is the identity pixel term of the stylized pass itself.
            Some(a) => {
                let (h, w) = (f.content.size()[2], f.content.size()[3]);
                let g = g.narrow(2, 0, h).narrow(3, 0, w);
                (mse_per_sample(&g, &f.content) * (a.neg() + 1.0)).mean(Kind::Float)
            }
            None => zero(),
        };
        // At every alpha, unweighted: the photo's structure is what each output keeps.
        let laplacian = laplacian_loss(&g, &f.content);
        laps.lap("content + style loss");
        let (identity_pixel, identity_feature) = match identity {
            true => {
                let terms = self.identity_terms(&f.content, &f.content_taps);
                laps.lap("identity passes");
                terms
            }
            false => (zero(), zero()),
        };
        Terms {
            content,
            style,
            identity_pixel,
            identity_feature,
            alpha_pixel,
            laplacian,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(h: i64, w: i64, f: impl Fn(i64, i64) -> [f32; 3]) -> Tensor {
        let mut v = vec![0f32; (3 * h * w) as usize];
        for y in 0..h {
            for x in 0..w {
                for (ch, val) in f(y, x).into_iter().enumerate() {
                    v[((ch as i64 * h + y) * w + x) as usize] = val;
                }
            }
        }
        Tensor::from_slice(&v).view([1, 3, h, w])
    }

    #[test]
    fn the_laplacian_term_sees_luma_structure_not_colour() {
        // By hand: one bright 4x4 block in the middle of a 12x12 black image pools to a 3x3 map
        // with 1 in the centre; the filter without padding leaves one value, -4, against 0.
        let black = image(12, 12, |_, _| [0.0; 3]);
        let block = image(12, 12, |y, x| {
            let v = ((4..8).contains(&y) && (4..8).contains(&x)) as i32 as f32;
            [v; 3]
        });
        let l = laplacian_loss(&block, &black).double_value(&[]);
        assert!((l - 16.0).abs() < 1e-5, "{l}");
        // A recoloured photo with the same luma keeps its structure: no loss...
        let photo = |y: i64, x: i64| 0.2 + 0.5 * ((x / 5 + y / 3) % 2) as f32;
        let grey = image(32, 32, |y, x| [photo(y, x); 3]);
        let tinted = image(32, 32, |y, x| {
            // Shift red against green so BT.601 luma is unchanged.
            let k = 0.2 * ((x + y) % 3) as f32;
            let p = photo(y, x);
            [p + 0.587 * k, p - 0.299 * k, p]
        });
        let l = laplacian_loss(&tinted, &grey).double_value(&[]);
        assert!(l < 1e-10, "recolouring alone costs {l}");
        // ...while moving its edges does; and a larger output is cropped to the content first.
        let moved = image(32, 32, |y, x| [photo(y, x + 4); 3]);
        assert!(laplacian_loss(&moved, &grey).double_value(&[]) > 1e-3);
        let padded = image(40, 40, |y, x| [photo(y, x); 3]);
        assert!(laplacian_loss(&padded, &grey).double_value(&[]) < 1e-10);
    }
}
