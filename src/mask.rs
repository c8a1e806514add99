//! Spatial control: a mask image -> one weight map per style on the relu4_1 grid, and the masked
//! AdaIN target (each region normalised with its own content statistics, as the original Lua
//! AdaIN's `-mask` does, and given its style's statistics; one decoder pass for all regions).
//!
//! Two forms, decided by the number of styles K:
//! - K = 2: a greyscale (or RGB, read as luma) mask, soft or binary: white takes the first style
//!   (sorted order), black the second, grey blends the two targets per pixel.
//! - K >= 3: an index mask with exactly K colours (a lossless PNG): the colours sorted by their
//!   (R, G, B) value map to the styles in sorted order.
//!
//! The mask is resized to the feature grid by area averaging (each cell the mean of the mask
//! pixels it covers), so a soft edge of at most one cell stands where regions meet.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::EPS;

/// Per-style weights on a feature grid, `[K][h*w]` row-major, summing to 1 at every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskWeights {
    pub path: PathBuf,
    pub styles: usize,
    pub h: usize,
    pub w: usize,
    pub weights: Vec<Vec<f32>>,
}

/// A decoded mask at its own size: per style, per pixel, a weight in [0, 1].
struct FullMask {
    h: usize,
    w: usize,
    weights: Vec<Vec<f32>>,
}

fn bad(path: &Path, reason: String) -> Error {
    Error::Invalid(format!("mask '{}': {reason}", path.display()))
}

/// Reads `path` as a mask for `styles` styles.
fn decode(path: &Path, styles: usize) -> Result<FullMask> {
    if styles < 2 {
        return Err(bad(
            path,
            format!("a mask needs at least two styles, got {styles}"),
        ));
    }
    // Never a plain open: a FIFO named like a mask would block the run.
    let file = crate::fsutil::open_regular(path).map_err(|e| bad(path, e.to_string()))?;
    let img = image::ImageReader::new(std::io::BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| bad(path, e.to_string()))?
        .decode()
        .map_err(|e| bad(path, format!("cannot decode image: {e}")))?;
    // Transparency composited on white, as for images: a transparent pixel is white, the first
    // style of a two-style mask (it was read as opaque, whatever colour it hid).
    let img = crate::imaging::flatten_alpha(img);
    let img = image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        image::Rgb(
            img.get_pixel(x, y)
                .0
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
        )
    });
    let (w, h) = (img.width() as usize, img.height() as usize);
    let weights = if styles == 2 {
        // Rec. 601 luma: white (1) is the first style.
        let luma: Vec<f32> = img
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(f32::from);
                (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
            })
            .collect();
        let other = luma.iter().map(|v| 1.0 - v).collect();
        vec![luma, other]
    } else {
        let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        colours.sort();
        colours.dedup();
        if colours.len() != styles {
            return Err(bad(
                path,
                format!(
                    "{} colours, expected {styles} (one per style, in a lossless PNG; a JPEG's \
                     compression adds colours; transparent pixels count as composited on white)",
                    colours.len()
                ),
            ));
        }
        let mut weights = vec![vec![0f32; w * h]; styles];
        for (i, p) in img.pixels().enumerate() {
            let k = colours
                .binary_search(&p.0)
                .expect("every pixel's colour is listed");
            weights[k][i] = 1.0;
        }
        weights
    };
    Ok(FullMask { h, w, weights })
}

/// Box average of a `[h, w]` map down (or up) to `[gh, gw]`: cell (i, j) is the mean of the
/// pixels in rows `[i*h/gh, (i+1)*h/gh)` and columns likewise (at least one pixel).
fn area_average(src: &[f32], h: usize, w: usize, gh: usize, gw: usize) -> Vec<f32> {
    let span = |i: usize, n: usize, g: usize| {
        let a = i * n / g;
        (a, ((i + 1) * n / g).max(a + 1).min(n))
    };
    let mut out = Vec::with_capacity(gh * gw);
    for i in 0..gh {
        let (r0, r1) = span(i, h, gh);
        for j in 0..gw {
            let (c0, c1) = span(j, w, gw);
            let mut sum = 0f64;
            for r in r0..r1 {
                sum += src[r * w + c0..r * w + c1]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>();
            }
            out.push((sum / ((r1 - r0) * (c1 - c0)) as f64) as f32);
        }
    }
    out
}

/// The mask at `path` for `styles` styles, on a `[gh, gw]` feature grid.
pub fn load(path: &Path, styles: usize, gh: usize, gw: usize) -> Result<MaskWeights> {
    let full = decode(path, styles)?;
    let weights = full
        .weights
        .iter()
        .map(|m| area_average(m, full.h, full.w, gh, gw))
        .collect();
    Ok(MaskWeights {
        path: path.into(),
        styles,
        h: gh,
        w: gw,
        weights,
    })
}

impl MaskWeights {
    /// The style that covers every cell, when one does (an all-white mask): its output is the
    /// plain single-style output.
    pub fn uniform(&self) -> Option<usize> {
        self.weights
            .iter()
            .position(|m| m.iter().all(|&v| v >= 1.0 - 1e-6))
    }
}

/// The masked AdaIN target for one content's features `[C, h*w]` (row-major `[C, h, w]`):
/// per style k, the content's mean and `sqrt(var + EPS)` over the region weighted by the mask
/// (`var = sum w (f - mu)^2 / max(sum w - 1, 1)`, the unbiased variance over the region's cells
/// for a binary mask), the content normalised with them and given style k's statistics; the
/// targets blended per cell by the mask's weights; then `alpha * t + (1 - alpha) * f`.
/// `onnx/adain_masked.onnx` computes the same.
pub fn masked_adain(
    features: &[f32],
    channels: usize,
    mask: &MaskWeights,
    style_stats: &[(&[f32], &[f32])],
    alpha: f32,
) -> Vec<f32> {
    let hw = mask.h * mask.w;
    assert_eq!(
        features.len(),
        channels * hw,
        "features match the mask grid"
    );
    assert_eq!(
        style_stats.len(),
        mask.styles,
        "one statistics pair per style"
    );
    let mut t = vec![0f32; features.len()];
    for (k, (s_mean, s_std)) in style_stats.iter().enumerate() {
        let w = &mask.weights[k];
        let total: f64 = w.iter().map(|&v| v as f64).sum();
        if total <= 0.0 {
            continue; // the region is empty: it adds nothing anywhere
        }
        for c in 0..channels {
            let f = &features[c * hw..(c + 1) * hw];
            let mean = f
                .iter()
                .zip(w)
                .map(|(&x, &v)| x as f64 * v as f64)
                .sum::<f64>()
                / total;
            let ss: f64 = f
                .iter()
                .zip(w)
                .map(|(&x, &v)| v as f64 * (x as f64 - mean).powi(2))
                .sum();
            // Unbiased over a binary region's cells; never a division by less than 1.
            let var = ss / (total - 1.0).max(1.0);
            let std = (var + EPS as f64).sqrt();
            let (sm, sd) = (s_mean[c] as f64, s_std[c] as f64);
            for ((out, &x), &v) in t[c * hw..(c + 1) * hw].iter_mut().zip(f).zip(w) {
                *out += (v as f64 * ((x as f64 - mean) / std * sd + sm)) as f32;
            }
        }
    }
    for (out, &x) in t.iter_mut().zip(features) {
        *out = alpha * *out + (1.0 - alpha) * x;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 48 item 5: a black mask whose right half is fully transparent is white there (the
    /// first style), half-transparent black is mid-grey, as for images; a three-style mask whose
    /// transparency makes a fourth colour is refused with a message that says why.
    #[test]
    fn mask_transparency_is_composited_on_white() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.png");
        let img = image::RgbaImage::from_fn(4, 2, |x, _| match x {
            0 | 1 => image::Rgba([0, 0, 0, 255]),
            2 => image::Rgba([0, 0, 0, 0]),
            _ => image::Rgba([0, 0, 0, 128]),
        });
        img.save(&p).unwrap();
        let m = decode(&p, 2).unwrap();
        let first: Vec<f32> = m.weights[0][..4].to_vec();
        assert_eq!(&first[..3], &[0.0, 0.0, 1.0], "{first:?}");
        assert!((first[3] - 127.0 / 255.0).abs() < 0.01, "{first:?}");
        let three = image::RgbaImage::from_fn(4, 1, |x, _| match x {
            0 => image::Rgba([255, 0, 0, 255]),
            1 => image::Rgba([0, 255, 0, 255]),
            2 => image::Rgba([0, 0, 255, 255]),
            _ => image::Rgba([0, 0, 255, 100]),
        });
        three.save(&p).unwrap();
        let err = decode(&p, 3).err().unwrap().to_string();
        assert!(
            err.contains("4 colours") && err.contains("composited on white"),
            "{err}"
        );
    }

    #[test]
    fn area_average_keeps_the_mean_and_splits_halves_exactly() {
        // 4x8 map, left half 1, right half 0 -> a 2x2 grid of 1 0 / 1 0.
        let src: Vec<f32> = (0..32).map(|i| if i % 8 < 4 { 1.0 } else { 0.0 }).collect();
        assert_eq!(area_average(&src, 4, 8, 2, 2), vec![1.0, 0.0, 1.0, 0.0]);
        // 3 columns into 2 cells: [0,1) and [1,3).
        assert_eq!(area_average(&[0.0, 1.0, 1.0], 1, 3, 1, 2), vec![0.0, 1.0]);
    }

    /// A binary mask's target is, in each region, plain AdaIN over that region's cells alone.
    #[test]
    fn a_binary_mask_is_adain_per_region() {
        let (c, h, w) = (2, 2, 4);
        let f: Vec<f32> = (0..c * h * w)
            .map(|i| ((i * 7) % 11) as f32 * 0.3)
            .collect();
        let left: Vec<f32> = (0..h * w)
            .map(|i| if i % w < 2 { 1.0 } else { 0.0 })
            .collect();
        let right = left.iter().map(|v| 1.0 - v).collect();
        let mask = MaskWeights {
            path: "m.png".into(),
            styles: 2,
            h,
            w,
            weights: vec![left.clone(), right],
        };
        let (a_mean, a_std, b_mean, b_std) = ([1.0, 2.0], [0.5, 3.0], [-1.0, 0.0], [2.0, 0.1]);
        let t = masked_adain(&f, c, &mask, &[(&a_mean, &a_std), (&b_mean, &b_std)], 1.0);
        for ch in 0..c {
            for (cells, (m, s)) in [
                (
                    (0..h * w).filter(|i| i % w < 2).collect::<Vec<_>>(),
                    (&a_mean, &a_std),
                ),
                (
                    (0..h * w).filter(|i| i % w >= 2).collect(),
                    (&b_mean, &b_std),
                ),
            ] {
                let region: Vec<f32> = cells.iter().map(|&i| f[ch * h * w + i]).collect();
                let (rm, rs) = crate::model::mean_std(&region, 1);
                for (&i, &x) in cells.iter().zip(&region) {
                    let want = (x - rm[0]) / rs[0] * s[ch] + m[ch];
                    assert!((t[ch * h * w + i] - want).abs() < 1e-4, "{ch} {i}");
                }
            }
        }
    }
}
