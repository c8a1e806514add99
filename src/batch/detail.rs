//! `--detail`: the photo's fine detail kept at every alpha below 1.
//!
//! Why: the decoder cannot rebuild a photo from its relu4_1 features exactly; its reconstruction
//! D(E(c)) (alpha 0) scores SSIM ~0.65 against the photo, and what it loses (eyes, mouths,
//! lettering, edges) is lost at every alpha, so a face at alpha 0.1 comes out smeared although
//! the user asked for 90% photo. With `--detail` each output adds back the part of the photo the
//! decoder loses, in the share the user left to the photo:
//!
//! `output = D(AdaIN_alpha) + (1 - alpha) * (c - D(E(c)))`
//!
//! so alpha 0 is the photo itself, alpha 1 is untouched, and in between the residual fades out
//! linearly, as the features do. It costs one more decode per content (alpha 0), shared by all
//! its styles and alphas, and none when every alpha is 1. The planned pipeline and `--naive`
//! both build their outputs from these functions, so they stay byte-identical.

use ndarray::{Array1, Array3, Array4, ArrayView3, ArrayView4, ArrayViewMut3, Axis, Zip};

use super::plan::Job;
use crate::error::Result;
use crate::model::FEATURE_CHANNELS;
use crate::runtime::{self, Models};

/// Whether a content with these outputs needs its reconstruction: `--detail` is on and some
/// alpha is below 1 (at 1 the residual's share is 0).
pub(super) fn wanted(detail: bool, jobs: &[&Job]) -> bool {
    detail && jobs.iter().any(|j| j.alpha < 1.0)
}

/// Style statistics that make AdaIN at alpha 0 hand the content's features through unchanged
/// (`0 * AdaIN + 1 * f`): mean 0 and std 1, so nothing non-finite can enter.
pub(super) fn neutral_stats() -> (Array4<f32>, Array4<f32>) {
    (
        Array4::zeros((1, FEATURE_CHANNELS, 1, 1)),
        Array4::ones((1, FEATURE_CHANNELS, 1, 1)),
    )
}

/// The detail the decoder loses: the photo `content` (`[3, h, w]`, in [0, 1]) minus its
/// reconstruction (same shape, cropped to the photo).
pub(super) fn residual(
    content: ArrayView3<'_, f32>,
    reconstruction: ArrayView3<'_, f32>,
) -> Array3<f32> {
    assert_eq!(
        content.dim(),
        reconstruction.dim(),
        "reconstruction cropped to the photo"
    );
    &content - &reconstruction
}

/// [`residual`] of a photo (`[3, h, w]`) whose relu4_1 `features` (`[1, C, h/8, w/8]`) are on
/// the host: the reconstruction is decoded through the same AdaIN + decoder call as every output
/// (alpha 0, [`neutral_stats`]) and cropped to the photo. The pipeline's bound and tiled
/// contents decode it through their own paths instead.
pub(super) fn residual_of(
    models: &mut Models,
    features: ArrayView4<'_, f32>,
    photo: ArrayView3<'_, f32>,
) -> Result<Array3<f32>> {
    let (mean, std) = neutral_stats();
    let alpha0 = Array1::from(vec![0.0]);
    let rec = models.stylize_features_timed(features, mean.view(), std.view(), alpha0.view())?;
    let (_, h, w) = photo.dim();
    let rec = runtime::crop(rec.images, h, w);
    Ok(residual(photo, rec.index_axis(Axis(0), 0)))
}

/// Adds `(1 - alpha)` of `residual` to one output (`[3, h, w]`), in place. The sum may leave
/// [0, 1]; the save stage clamps, as it does for every decoder output.
pub(super) fn restore(
    mut image: ArrayViewMut3<'_, f32>,
    residual: ArrayView3<'_, f32>,
    alpha: f32,
) {
    let share = 1.0 - alpha;
    if share <= 0.0 {
        return;
    }
    Zip::from(&mut image)
        .and(&residual)
        .for_each(|y, &r| *y += share * r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn alpha_zero_gives_the_photo_and_alpha_one_the_decoder_output() {
        let photo = Array3::from_shape_fn((3, 2, 2), |(c, y, x)| 0.1 * (c + y + x) as f32);
        let rec = photo.mapv(|v| v * 0.5 + 0.2);
        let res = residual(photo.view(), rec.view());
        // alpha 0: the decoder's output is the reconstruction itself; adding all the residual
        // gives the photo back.
        let mut y = rec.clone();
        restore(y.view_mut(), res.view(), 0.0);
        for (a, b) in y.iter().zip(photo.iter()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // alpha 1: untouched.
        let stylized = Array3::from_elem((3, 2, 2), 0.7f32);
        let mut y = stylized.clone();
        restore(y.view_mut(), res.view(), 1.0);
        assert_eq!(y, stylized);
        // alpha 0.25: three quarters of the residual.
        let mut y = stylized.clone();
        restore(y.view_mut(), res.view(), 0.25);
        Zip::from(&y)
            .and(&stylized)
            .and(&res)
            .for_each(|&a, &s, &r| {
                assert!((a - (s + 0.75 * r)).abs() < 1e-6);
            });
    }
}
