//! The quality measures, in plain Rust so that `adain quality` (ONNX Runtime judge), the
//! trainer's validation (tch) and the tests share one definition:
//! - **style error**: mean over layers of `(|mu(o) - mu(s)| / |mu(s)| + |sigma(o) - sigma(s)| /
//!   |sigma(s)|) / 2`, vector L2 norms over channels (lower = closer to the style's statistics);
//! - **content error**: `|f(o) - f(c)| / |f(c)|` on one feature map (L2 over all elements);
//! - **SSIM** of the luma (BT.601) of two images, uniform 8x8 windows at every position,
//!   population statistics, `C1 = 0.01^2`, `C2 = 0.03^2` for values in [0, 1].

use ndarray::{Array2, ArrayView3};

/// Window side of [`ssim_luma`].
pub const SSIM_WINDOW: usize = 8;
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

fn norm(v: impl Iterator<Item = f64>) -> f64 {
    v.map(|x| x * x).sum::<f64>().sqrt()
}

fn rel(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "channel counts differ");
    let d = norm(a.iter().zip(b).map(|(x, y)| (*x - *y) as f64));
    d / norm(b.iter().map(|&y| y as f64)).max(1e-12)
}

/// Per-layer (mean, std) of an output and of the style, same layers in the same order.
pub fn style_error(output: &[(Vec<f32>, Vec<f32>)], style: &[(Vec<f32>, Vec<f32>)]) -> f64 {
    assert_eq!(output.len(), style.len(), "layer counts differ");
    let per_layer = output
        .iter()
        .zip(style)
        .map(|((om, os), (sm, ss))| (rel(om, sm) + rel(os, ss)) / 2.0);
    per_layer.sum::<f64>() / output.len().max(1) as f64
}

/// `|o - c| / |c|` over two feature maps of the same shape.
pub fn content_error(output: &[f32], content: &[f32]) -> f64 {
    rel(output, content)
}

/// BT.601 luma of a `[3, H, W]` RGB image.
pub fn luma(img: ArrayView3<f32>) -> Array2<f64> {
    let (h, w) = (img.shape()[1], img.shape()[2]);
    Array2::from_shape_fn((h, w), |(y, x)| {
        0.299 * img[[0, y, x]] as f64
            + 0.587 * img[[1, y, x]] as f64
            + 0.114 * img[[2, y, x]] as f64
    })
}

/// Summed-area table with a zero first row and column.
fn integral(a: &Array2<f64>) -> Array2<f64> {
    let (h, w) = a.dim();
    let mut s = Array2::<f64>::zeros((h + 1, w + 1));
    for y in 0..h {
        let mut row = 0.0;
        for x in 0..w {
            row += a[[y, x]];
            s[[y + 1, x + 1]] = s[[y, x + 1]] + row;
        }
    }
    s
}

fn window_sum(s: &Array2<f64>, y: usize, x: usize, k: usize) -> f64 {
    s[[y + k, x + k]] - s[[y, x + k]] - s[[y + k, x]] + s[[y, x]]
}

/// Mean SSIM of two luma planes of the same size over every 8x8 window.
pub fn ssim(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim(), "SSIM needs planes of one size");
    let (h, w) = a.dim();
    let k = SSIM_WINDOW.min(h).min(w);
    let (sa, sb) = (integral(a), integral(b));
    let (saa, sbb, sab) = (integral(&(a * a)), integral(&(b * b)), integral(&(a * b)));
    let n = (k * k) as f64;
    let mut total = 0.0;
    let mut count = 0usize;
    for y in 0..=h - k {
        for x in 0..=w - k {
            let (ma, mb) = (window_sum(&sa, y, x, k) / n, window_sum(&sb, y, x, k) / n);
            let va = (window_sum(&saa, y, x, k) / n - ma * ma).max(0.0);
            let vb = (window_sum(&sbb, y, x, k) / n - mb * mb).max(0.0);
            let cov = window_sum(&sab, y, x, k) / n - ma * mb;
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

/// SSIM of the lumas of two `[3, H, W]` images of one size.
pub fn ssim_luma(a: ArrayView3<f32>, b: ArrayView3<f32>) -> f64 {
    ssim(&luma(a), &luma(b))
}

/// Mean and max |a - b| over two same-shaped `[3, H, W]` images in `[0, 1]`, in 1/255 steps (the
/// pixel cost of a cheaper precision against fp32).
pub fn abs_difference_255(a: ArrayView3<'_, f32>, b: ArrayView3<'_, f32>) -> (f64, f64) {
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b.iter()) {
        let d = (*x as f64 - *y as f64).abs() * 255.0;
        sum += d;
        max = max.max(d);
    }
    (sum / a.len().max(1) as f64, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn ssim_of_an_image_with_itself_is_one_and_drops_with_noise() {
        let a = Array3::from_shape_fn((3, 20, 24), |(c, y, x)| {
            ((x * 7 + y * 3 + c) % 11) as f32 / 10.0
        });
        assert!((ssim_luma(a.view(), a.view()) - 1.0).abs() < 1e-12);
        let b = a.mapv(|v| 1.0 - v);
        assert!(
            ssim_luma(a.view(), b.view()) < 0.0,
            "an inverted image anti-correlates"
        );
    }

    #[test]
    fn ssim_matches_a_direct_computation_on_one_window() {
        // An 8x8 image has exactly one window: SSIM is the formula on whole-image statistics.
        let a = Array2::from_shape_fn((8, 8), |(y, x)| ((x + 2 * y) % 5) as f64 / 4.0);
        let b = Array2::from_shape_fn((8, 8), |(y, x)| ((3 * x + y) % 7) as f64 / 6.0);
        let n = 64.0;
        let (ma, mb) = (a.sum() / n, b.sum() / n);
        let va = a.iter().map(|v| (v - ma).powi(2)).sum::<f64>() / n;
        let vb = b.iter().map(|v| (v - mb).powi(2)).sum::<f64>() / n;
        let cov = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>()
            / n;
        let want =
            ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        assert!((ssim(&a, &b) - want).abs() < 1e-12);
    }

    #[test]
    fn style_and_content_errors_by_hand() {
        let out = vec![(vec![3.0, 4.0], vec![1.0, 1.0])];
        let sty = vec![(vec![0.0, 5.0], vec![2.0, 2.0])];
        // |(3,-1)| / 5 = sqrt(10)/5; |(-1,-1)| / |(2,2)| = 1/2.
        let want = ((10f64).sqrt() / 5.0 + 0.5) / 2.0;
        assert!((style_error(&out, &sty) - want).abs() < 1e-12);
        assert!((content_error(&[1.0, 2.0], &[1.0, 0.0]) - 2.0).abs() < 1e-12);
        assert_eq!(style_error(&sty, &sty), 0.0);
    }
}
