//! Flicker reduction between video frames (`--temporal-smoothing S`, S in [0, 1), 0 = frame by
//! frame). Stylizing frame by frame flickers for two reasons, and each gets its own remedy:
//!
//! 1. **Colours pump**: AdaIN normalises each frame by its own relu4_1 mean and std, which
//!    noise and exposure move a little every frame. The content statistics are smoothed instead
//!    (an exponential moving average with weight S on the past), reset at scene cuts.
//! 2. **Texture swims**: the decoder turns small input changes (sensor noise, compression) into
//!    different brush strokes. Each output pixel keeps its previous stylized value in proportion
//!    to how little the input changed there: `out = w * prev + (1 - w) * new`, with
//!    `w = S * max(0, 1 - d / TAU)` and `d` the change of the input's blurred luma. Where the
//!    input moves (a pan, a person), `w` is 0 and the output is the new frame's: no ghosting
//!    trails; where it is still, textures settle to an average over ~1/(1-S) frames.
//!
//! Flow-based methods (Lai et al., "Learning blind video temporal consistency", ECCV 2018)
//! also stabilise moving regions, at the cost of an optical-flow network per frame; this one
//! costs a few operations per pixel and never warps, so it cannot smear motion.

use ndarray::{Array2, Array3, ArrayView3, Zip};

/// A change of the blurred input luma (in `[0, 1]` units) at or above this keeps nothing of the
/// previous output: about 13/255, several times the blurred difference of two frames' sensor
/// noise, well under what moving edges give.
pub const TAU: f32 = 0.05;

/// Mean absolute luma change between consecutive frames above which they are different shots:
/// the statistics restart, so one scene's colours never leak into the next.
pub const CUT: f32 = 0.12;

/// The smoothing state of one video: shared across its outputs (statistics, input change) and
/// per output stream (its previous frame).
pub struct Smoother {
    strength: f32,
    prev_luma: Option<Array2<f32>>,
    /// This frame's per-pixel weight on the previous output (None: keep nothing).
    keep: Option<Array2<f32>>,
    stats: Option<(Vec<f32>, Vec<f32>)>,
    prev_out: Vec<Option<Array3<f32>>>,
    /// Scene cuts seen.
    pub cuts: u64,
}

impl Smoother {
    /// For `streams` outputs made from one video at `strength` (0 = frame by frame).
    pub fn new(strength: f32, streams: usize) -> Self {
        Smoother {
            strength,
            prev_luma: None,
            keep: None,
            stats: None,
            prev_out: vec![None; streams],
            cuts: 0,
        }
    }

    /// Takes the next input frame (`[3, H, W]` in `[0, 1]`) before its outputs are made.
    pub fn next_frame(&mut self, frame: ArrayView3<'_, f32>) {
        if self.strength <= 0.0 {
            return;
        }
        let luma = blurred_luma(frame);
        self.keep = None;
        if let Some(prev) = &self.prev_luma {
            let mean_change = Zip::from(&luma)
                .and(prev)
                .fold(0.0f64, |a, &x, &y| a + (x - y).abs() as f64)
                / luma.len().max(1) as f64;
            if mean_change as f32 > CUT {
                self.cuts += 1;
                self.stats = None;
            } else {
                let s = self.strength;
                self.keep = Some(
                    Zip::from(&luma)
                        .and(prev)
                        .map_collect(|&x, &y| s * (1.0 - (x - y).abs() / TAU).max(0.0)),
                );
            }
        }
        self.prev_luma = Some(luma);
    }

    /// The content statistics to normalise this frame with: its own (`mean`, `std`) blended
    /// into the running average (restarted at the first frame and at cuts).
    pub fn content_stats(&mut self, mean: &[f32], std: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let s = self.strength;
        let next = match (&self.stats, s > 0.0) {
            (Some((m, d)), true) => (blend(m, mean, s), blend(d, std, s)),
            _ => (mean.to_vec(), std.to_vec()),
        };
        self.stats = Some(next.clone());
        next
    }

    /// Output stream `k`'s frame after stabilising `new` (`[3, H, W]`) against its previous.
    pub fn stabilise(&mut self, k: usize, mut new: Array3<f32>) -> Array3<f32> {
        if self.strength <= 0.0 {
            return new;
        }
        if let (Some(prev), Some(keep)) = (&self.prev_out[k], &self.keep) {
            for (mut plane, prev) in new.outer_iter_mut().zip(prev.outer_iter()) {
                Zip::from(&mut plane)
                    .and(&prev)
                    .and(keep)
                    .for_each(|n, &p, &w| *n = w * p + (1.0 - w) * *n);
            }
        }
        self.prev_out[k] = Some(new.clone());
        new
    }
}

fn blend(past: &[f32], now: &[f32], s: f32) -> Vec<f32> {
    past.iter()
        .zip(now)
        .map(|(p, n)| s * p + (1.0 - s) * n)
        .collect()
}

/// Rec. 601 luma of `[3, H, W]`, box-blurred 3x3 (edges clamped): the blur averages sensor
/// noise down by ~3x while keeping edges that move.
fn blurred_luma(frame: ArrayView3<'_, f32>) -> Array2<f32> {
    let (_, h, w) = frame.dim();
    let luma = Zip::from(frame.index_axis(ndarray::Axis(0), 0))
        .and(frame.index_axis(ndarray::Axis(0), 1))
        .and(frame.index_axis(ndarray::Axis(0), 2))
        .map_collect(|&r, &g, &b| 0.299 * r + 0.587 * g + 0.114 * b);
    let mut rows = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(1), (x + 1).min(w - 1));
            rows[[y, x]] = (luma[[y, a]] + luma[[y, x]] + luma[[y, b]]) / 3.0;
        }
    }
    let mut out = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        let (a, b) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            out[[y, x]] = (rows[[a, x]] + rows[[y, x]] + rows[[b, x]]) / 3.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: f32) -> Array3<f32> {
        Array3::from_elem((3, 6, 8), v)
    }

    #[test]
    fn zero_strength_is_frame_by_frame() {
        let mut s = Smoother::new(0.0, 1);
        for v in [0.2, 0.21, 0.9] {
            s.next_frame(frame(v).view());
            assert_eq!(s.content_stats(&[v], &[1.0]), (vec![v], vec![1.0]));
            assert_eq!(s.stabilise(0, frame(v)), frame(v));
        }
    }

    #[test]
    fn still_input_settles_moving_input_passes_and_cuts_reset() {
        let s0 = 0.8;
        let mut s = Smoother::new(s0, 2);
        s.next_frame(frame(0.5).view());
        assert_eq!(s.content_stats(&[1.0], &[2.0]), (vec![1.0], vec![2.0]));
        assert_eq!(s.stabilise(0, frame(0.0)), frame(0.0));
        // The input did not change: the output keeps S of the previous one, per stream.
        s.next_frame(frame(0.5).view());
        let (m, d) = s.content_stats(&[2.0], &[4.0]);
        assert!((m[0] - 1.2).abs() < 1e-6 && (d[0] - 2.4).abs() < 1e-6);
        let out = s.stabilise(0, frame(1.0));
        assert!(out.iter().all(|v| (v - (1.0 - s0)).abs() < 1e-6));
        assert_eq!(
            s.stabilise(1, frame(0.3)),
            frame(0.3),
            "stream 1 had no past"
        );
        // A change of TAU or more keeps nothing.
        s.next_frame(frame(0.5 + TAU).view());
        assert_eq!(s.stabilise(0, frame(0.7)), frame(0.7));
        // A cut restarts the statistics.
        s.next_frame(frame(0.5 + TAU + CUT + 0.01).view());
        assert_eq!(s.cuts, 1);
        assert_eq!(s.content_stats(&[7.0], &[3.0]), (vec![7.0], vec![3.0]));
        assert_eq!(s.stabilise(0, frame(0.1)), frame(0.1));
    }

    #[test]
    fn the_blur_keeps_flat_areas_and_averages_a_spike() {
        let mut f = frame(0.5);
        for c in 0..3 {
            f[[c, 2, 3]] = 0.5 + 0.9;
        }
        let l = blurred_luma(f.view());
        assert!((l[[0, 0]] - 0.5).abs() < 1e-6);
        assert!((l[[2, 3]] - (0.5 + 0.1)).abs() < 1e-5, "{}", l[[2, 3]]);
    }
}
