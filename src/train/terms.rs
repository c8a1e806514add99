//! [`Terms`]: the loss terms of a training step by name, the one owner of their set and order.
//! A step's tensors, a log window's device sums, a log row's means and the weights they are
//! summed with are all `Terms`, so a new term is one field here and one computation in `loss`;
//! nothing else lists the terms by position. No tch here: the log and plot read it too.

use std::ops::{Add, Mul};

use serde::{Deserialize, Serialize};

/// Each term's name, in [`Terms::into_vec`]'s order: its column in `losses.csv` and, with the
/// style layers summed into one `style` curve ([`is_style_layer`]), its series in the plot.
pub const NAMES: [&str; 9] = [
    "content",
    "style_relu1_1",
    "style_relu2_1",
    "style_relu3_1",
    "style_relu4_1",
    "identity_pixel",
    "identity_feature",
    "alpha_pixel",
    "laplacian",
];

/// Whether `name` (one of [`NAMES`]) is one layer's share of the style term.
pub fn is_style_layer(name: &str) -> bool {
    name.starts_with("style_")
}

/// One value per loss term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Terms<T> {
    /// relu4_1 MSE of the output's features against the AdaIN target.
    pub content: T,
    /// Per style layer ([`crate::model::STYLE_LAYERS`], the encoder's taps), the MSE of the output's channel means plus that of
    /// its channel standard deviations against the style's; with alpha-sampled training each
    /// sample's share is weighted by its alpha.
    pub style: [T; 4],
    /// Pixel MSE of D(E(c)) against c (the identity pass).
    pub identity_pixel: T,
    /// Summed relu1_1..relu4_1 MSE of D(E(c))'s features against c's.
    pub identity_feature: T,
    /// Alpha-sampled training: the pixel MSE of the stylized output against its content, each
    /// sample's share weighted by (1 - alpha); 0 at alpha 1.
    pub alpha_pixel: T,
    /// The stylized output's structure against its content's: MSE of the Laplacian of the luma
    /// after a 4x4 average pool (Li et al. 2017, "Laplacian-steered neural style transfer").
    pub laplacian: T,
}

impl<T> Terms<T> {
    /// The number of values, in [`Terms::into_vec`]'s order.
    pub const LEN: usize = 9;

    /// Every value in a fixed order: content, style by layer, identity pixel, identity
    /// feature, alpha pixel, Laplacian ([`Terms::from_vec`] reads the same order).
    pub fn into_vec(self) -> Vec<T> {
        let [s1, s2, s3, s4] = self.style;
        vec![
            self.content,
            s1,
            s2,
            s3,
            s4,
            self.identity_pixel,
            self.identity_feature,
            self.alpha_pixel,
            self.laplacian,
        ]
    }

    /// The inverse of [`Terms::into_vec`]; `None` unless `v` holds [`Terms::LEN`] values.
    pub fn from_vec(v: Vec<T>) -> Option<Self> {
        let [c, s1, s2, s3, s4, p, f, a, l]: [T; 9] = v.try_into().ok()?;
        Some(Terms {
            content: c,
            style: [s1, s2, s3, s4],
            identity_pixel: p,
            identity_feature: f,
            alpha_pixel: a,
            laplacian: l,
        })
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Terms<U> {
        Terms::from_vec(self.into_vec().into_iter().map(&mut f).collect()).expect("same length")
    }

    /// Every value with its name ([`NAMES`]), in [`Terms::into_vec`]'s order.
    pub fn named(self) -> impl Iterator<Item = (&'static str, T)> {
        NAMES.into_iter().zip(self.into_vec())
    }

    pub fn as_ref(&self) -> Terms<&T> {
        Terms {
            content: &self.content,
            style: [
                &self.style[0],
                &self.style[1],
                &self.style[2],
                &self.style[3],
            ],
            identity_pixel: &self.identity_pixel,
            identity_feature: &self.identity_feature,
            alpha_pixel: &self.alpha_pixel,
            laplacian: &self.laplacian,
        }
    }
}

/// The weights a step's terms are summed with.
pub type Weighting = Terms<f64>;

impl Weighting {
    /// The weighted sum of `values`: the one formula, for a step's tensors and a log row's
    /// means alike. A term of weight 0 is left out (so a term that was not computed, or is NaN
    /// in a row of skipped steps' means, never enters).
    pub fn total<T, O>(&self, values: Terms<T>) -> O
    where
        T: Mul<f64, Output = O>,
        O: Add<Output = O>,
    {
        let weights = self.into_vec();
        let mut acc: Option<O> = None;
        for (v, w) in values.into_vec().into_iter().zip(weights) {
            if w == 0.0 {
                continue;
            }
            let x = v * w;
            acc = Some(match acc {
                Some(a) => a + x,
                None => x,
            });
        }
        acc.expect("a run has at least one weighted term (checked when it is configured)")
    }
}

impl Terms<f64> {
    /// The style terms summed over layers, unweighted (the log's `style` column).
    pub fn style_sum(&self) -> f64 {
        self.style.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_round_trips_and_the_total_weighs_each_term_once() {
        let t = Terms {
            content: 1.0,
            style: [2.0, 3.0, 4.0, 5.0],
            identity_pixel: 6.0,
            identity_feature: 7.0,
            alpha_pixel: 8.0,
            laplacian: 9.0,
        };
        assert_eq!(Terms::from_vec(t.into_vec()), Some(t));
        assert_eq!(Terms::<f64>::from_vec(vec![1.0; 8]), None);
        let w = Terms {
            content: 1.0,
            style: [10.0, 100.0, 1000.0, 10000.0],
            identity_pixel: 0.0,
            identity_feature: 0.5,
            alpha_pixel: 0.25,
            laplacian: 2.0,
        };
        // 1 + 20 + 300 + 4000 + 50000 + (pixel weighs 0) + 3.5 + 2 + 18
        assert_eq!(w.total(t), 54344.5);
        // A weight-0 term never enters, even when its value is NaN.
        let nan_pixel = Terms {
            identity_pixel: f64::NAN,
            ..t
        };
        assert_eq!(w.total(nan_pixel), 54344.5);
        assert_eq!(t.style_sum(), 14.0);
        assert_eq!(t.map(|x| x * 2.0).style, [4.0, 6.0, 8.0, 10.0]);
    }

    #[test]
    fn names_follow_the_order_and_name_each_style_layer() {
        assert_eq!(NAMES.len(), Terms::<f64>::LEN);
        let t = Terms {
            content: 0,
            style: [1, 2, 3, 4],
            identity_pixel: 5,
            identity_feature: 6,
            alpha_pixel: 7,
            laplacian: 8,
        };
        let named: Vec<_> = t.named().collect();
        assert_eq!(named[0], ("content", 0));
        assert_eq!(named[6], ("identity_feature", 6));
        assert_eq!(named[8], ("laplacian", 8));
        for (i, layer) in crate::model::STYLE_LAYERS.iter().enumerate() {
            assert_eq!(
                named[1 + i],
                (format!("style_{layer}").as_str(), i as i32 + 1)
            );
        }
        let style: Vec<_> = NAMES.into_iter().filter(|n| is_style_layer(n)).collect();
        assert_eq!(style.len(), crate::model::STYLE_LAYERS.len());
    }
}
