//! Bounded memory for any image size: the encoder and the decoder run on overlapping tiles, so
//! ONNX Runtime's working memory is set by the tile, not by the image. AdaIN's content
//! statistics are still those of the whole image (computed over the assembled relu4_1 map), so a
//! tiled output matches the untiled one up to float rounding (tested within 1/255).
//!
//! Geometry: tiles start on multiples of 8 px (the three 2x2 poolings then see the same grid as
//! the whole image) and are read with a margin wider than the receptive field, whose influence
//! (reflection padding at the tile's edge instead of the real neighbours) never reaches the part
//! that is kept: relu4_1 sees 37 px around a position (encoder margin 48 px); an output pixel
//! depends on about 3 relu4_1 cells around it (decoder margin 6 cells = 48 px).

use ndarray::{Array4, ArrayView3, ArrayView4, Axis, s};

use crate::error::Result;
use crate::model::{self, FEATURE_CHANNELS};
use crate::runtime::Models;

/// Encoder margin in pixels (a multiple of 8, over relu4_1's receptive-field radius of 37).
pub const ENCODER_MARGIN: usize = 48;
/// Decoder margin in relu4_1 cells (8 px each).
pub const DECODER_MARGIN: usize = 6;
/// Default tile side in pixels.
pub const DEFAULT_TILE: usize = 512;

/// Whether an `h` x `w` image is processed in tiles of side `tile` (0 = never): when it has
/// more than four tiles' worth of pixels, so everyday sizes keep the single-pass path.
pub fn should_tile(h: usize, w: usize, tile: usize) -> bool {
    tile > 0 && h * w > 4 * tile * tile
}

/// `[start, end)` spans covering `0..len` in steps of `step`.
fn spans(len: usize, step: usize) -> Vec<(usize, usize)> {
    (0..len.div_ceil(step))
        .map(|i| (i * step, ((i + 1) * step).min(len)))
        .collect()
}

/// relu4_1 of a `[3, H, W]` image as `[1, 512, h, w]`, encoded in `tile` x `tile` tiles
/// (`tile` a multiple of 8).
pub fn encode(models: &mut Models, image: ArrayView3<'_, f32>, tile: usize) -> Result<Array4<f32>> {
    debug_assert!(tile.is_multiple_of(8));
    let (_, h, w) = image.dim();
    let (fh, fw) = (
        model::feature_side(h as u32) as usize,
        model::feature_side(w as u32) as usize,
    );
    let mut feats = Array4::<f32>::zeros((1, FEATURE_CHANNELS, fh, fw));
    for &(y0, y1) in &spans(h, tile) {
        for &(x0, x1) in &spans(w, tile) {
            let (ys, ye) = widen((y0, y1), ENCODER_MARGIN, h);
            let (xs, xe) = widen((x0, x1), ENCODER_MARGIN, w);
            let part = image.slice(s![.., ys..ye, xs..xe]).insert_axis(Axis(0));
            let f = models.encode(part)?.features;
            // Kept cells: those of the tile proper; y0 - ys is a multiple of 8.
            let (fy0, fy1) = (y0 / 8, y1.div_ceil(8));
            let (fx0, fx1) = (x0 / 8, x1.div_ceil(8));
            let (oy, ox) = ((y0 - ys) / 8, (x0 - xs) / 8);
            feats
                .slice_mut(s![0, .., fy0..fy1, fx0..fx1])
                .assign(&f.slice(s![0, .., oy..oy + fy1 - fy0, ox..ox + fx1 - fx0]));
        }
    }
    Ok(feats)
}

/// The span `(a, b)` grown by `margin` on each side, within `0..len`: a tile with the context
/// its network needs.
fn widen((a, b): (usize, usize), margin: usize, len: usize) -> (usize, usize) {
    (a.saturating_sub(margin), (b + margin).min(len))
}

/// AdaIN (with the whole image's content statistics) and the decoder, tile by tile: `feats`
/// `[1, 512, h, w]` of an `height` x `width` image, style statistics `[N, 512, 1, 1]`, one alpha
/// per output; returns `[N, 3, height, width]`.
pub fn stylize(
    models: &mut Models,
    feats: ArrayView4<'_, f32>,
    style_mean: ArrayView4<'_, f32>,
    style_std: ArrayView4<'_, f32>,
    alpha: &[f32],
    (height, width): (usize, usize),
    tile: usize,
) -> Result<Array4<f32>> {
    let (_, c, fh, fw) = feats.dim();
    let n = alpha.len();
    let flat = feats.index_axis(Axis(0), 0);
    let flat = flat.as_standard_layout();
    let (cm, cs) = model::mean_std(flat.as_slice().expect("standard layout"), c);
    let mut out = Array4::<f32>::zeros((n, 3, height, width));
    let ft = (tile / 8).max(1);
    for &(fy0, fy1) in &spans(fh, ft) {
        for &(fx0, fx1) in &spans(fw, ft) {
            let (ys, ye) = widen((fy0, fy1), DECODER_MARGIN, fh);
            let (xs, xe) = widen((fx0, fx1), DECODER_MARGIN, fw);
            let part = feats.slice(s![0, .., ys..ye, xs..xe]);
            // t = c + alpha * (AdaIN(c, s) - c), as the adain graph computes it.
            let mut t = Array4::<f32>::zeros((n, c, ye - ys, xe - xs));
            for k in 0..n {
                for ch in 0..c {
                    let (m, sd) = (cm[ch], cs[ch]);
                    let (sm, ss) = (style_mean[[k, ch, 0, 0]], style_std[[k, ch, 0, 0]]);
                    let a = alpha[k];
                    t.slice_mut(s![k, ch, .., ..]).zip_mut_with(
                        &part.slice(s![ch, .., ..]),
                        |dst, &v| {
                            let styled = (v - m) / sd * ss + sm;
                            *dst = v + a * (styled - v);
                        },
                    );
                }
            }
            let y = models.decode(t.view())?;
            let (py0, py1) = (fy0 * 8, (fy1 * 8).min(height));
            let (px0, px1) = (fx0 * 8, (fx1 * 8).min(width));
            let (oy, ox) = ((fy0 - ys) * 8, (fx0 - xs) * 8);
            out.slice_mut(s![.., .., py0..py1, px0..px1])
                .assign(&y.slice(s![.., .., oy..oy + py1 - py0, ox..ox + px1 - px0]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_exactly() {
        assert_eq!(spans(20, 8), vec![(0, 8), (8, 16), (16, 20)]);
        assert_eq!(spans(16, 8), vec![(0, 8), (8, 16)]);
        assert!(!should_tile(512, 683, 512) && should_tile(2048, 1024, 512));
        assert!(!should_tile(9000, 9000, 0));
    }
}
