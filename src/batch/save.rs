//! The save stage: clamp, encode and write one output atomically, on rayon's pool, with a
//! bound on the images waiting to be saved (back-pressure on the decoder). The naive and masked
//! stages call [`save_job`] inline; the planned pipeline goes through [`Saver`]. Either way the
//! result is the job's [`JobOutcome`].

use std::sync::mpsc;
use std::time::Instant;

use ndarray::Array3;

use super::outcome::{End, JobOutcome, Saved, Sink, Sizes};
use super::plan::Job;
use super::report::Shares;
use crate::imaging::{self, Encoding};

/// How outputs are written (from the run's settings).
#[derive(Debug, Clone, Copy)]
pub(super) struct SaveSettings {
    pub encoding: Encoding,
    pub thumbnails: bool,
}

impl SaveSettings {
    /// The run's output format and quality; thumbnails when a contact sheet is drawn.
    pub fn of(cfg: &super::BatchConfig) -> Self {
        SaveSettings {
            encoding: cfg.encoding,
            thumbnails: cfg.grid != super::Grid::None,
        }
    }
}

/// Writes `img` (`[3, H, W]`, clamped here) to `out` atomically.
pub(super) fn save_output(
    img: ndarray::ArrayView3<'_, f32>,
    out: &std::path::Path,
    s: SaveSettings,
) -> Saved {
    let t = Instant::now();
    let rgb = imaging::to_rgb8(img);
    let written = s.encoding.save(out, &rgb).map_err(|e| e.to_string());
    let save_s = t.elapsed().as_secs_f64();
    Saved {
        save_s,
        size: (rgb.width(), rgb.height()),
        written,
        thumb: s.thumbnails.then(|| super::sheets::thumbnail(&rgb)),
        video: None,
    }
}

/// Saves `img` as `job`'s output: the job's outcome, with what it cost before the save. An
/// image no working network makes is an error, not an output: broken weights or a broken graph
/// give NaN (black once clamped) or one flat colour, which would otherwise be written and
/// counted as success.
pub(super) fn save_job(
    img: ndarray::ArrayView3<'_, f32>,
    job: &Job,
    shares: Shares,
    sizes: Sizes,
    s: SaveSettings,
) -> JobOutcome {
    let end = match implausible(img) {
        // One message for every such output, so it prints once, not once per output.
        Some(why) => End::Failed(why),
        None => End::Saved(save_output(img, &job.output, s)),
    };
    JobOutcome {
        job: job.clone(),
        shares,
        sizes: Some(sizes),
        end,
    }
}

/// Why `img` (`[3, H, W]`) cannot be a stylized image, if it cannot: a non-finite value, or
/// every pixel the same colour.
pub(super) fn implausible(img: ndarray::ArrayView3<'_, f32>) -> Option<String> {
    if let Some(v) = img.iter().find(|v| !v.is_finite()) {
        return Some(format!(
            "the decoder produced non-finite values ({v}): broken weights or graph (check with `adain export`, which refuses non-finite weights)"
        ));
    }
    let (_, h, w) = img.dim();
    if h * w > 1 {
        let first: Vec<f32> = (0..3).map(|c| img[[c, 0, 0]]).collect();
        // Compared after the clamp and rounding to 8 bits, as the file would hold them.
        let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        let constant = img
            .outer_iter()
            .zip(&first)
            .all(|(plane, f)| plane.iter().all(|v| q(*v) == q(*f)));
        if constant {
            let [r, g, b] = [0, 1, 2].map(|c| q(first[c]));
            return Some(format!(
                "the decoder produced a constant image (every pixel {r},{g},{b}): broken weights or graph"
            ));
        }
    }
    None
}

/// Saves running on rayon's pool, reported as they finish.
pub(super) struct Saver {
    settings: SaveSettings,
    tx: mpsc::Sender<JobOutcome>,
    rx: mpsc::Receiver<JobOutcome>,
    in_flight: usize,
    /// Most images allowed to wait for their save before the decoder waits.
    bound: usize,
}

impl Saver {
    pub fn new(settings: SaveSettings, bound: usize) -> Self {
        let (tx, rx) = mpsc::channel();
        Saver {
            settings,
            tx,
            rx,
            in_flight: 0,
            bound,
        }
    }

    /// Starts saving `job`'s image.
    pub fn spawn(&mut self, img: Array3<f32>, job: &Job, shares: Shares, sizes: Sizes) {
        let (tx, settings, job) = (self.tx.clone(), self.settings, job.clone());
        self.in_flight += 1;
        rayon::spawn(move || {
            let _ = tx.send(save_job(img.view(), &job, shares, sizes, settings));
        });
    }

    /// Hands on what finished so far, then waits while more than the bound are in flight.
    pub fn drain(&mut self, sink: &mut Sink<'_>) {
        while let Ok(o) = self.rx.try_recv() {
            self.in_flight -= 1;
            sink(o);
        }
        while self.in_flight > self.bound {
            self.wait_one(sink);
        }
    }

    /// Waits for every save still running.
    pub fn finish(mut self, sink: &mut Sink<'_>) {
        while self.in_flight > 0 {
            self.wait_one(sink);
        }
    }

    fn wait_one(&mut self, sink: &mut Sink<'_>) {
        let o = self.rx.recv().expect("the saver holds a sender");
        self.in_flight -= 1;
        sink(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_flat_images_are_implausible_textured_ones_are_not() {
        let mut img = ndarray::Array3::<f32>::from_elem((3, 4, 5), 0.5);
        assert!(
            implausible(img.view())
                .unwrap()
                .contains("constant image (every pixel 128,128,128)")
        );
        // Differences below an 8-bit step are still one flat colour in the file.
        img[[1, 2, 3]] = 0.5 + 1e-4;
        assert!(implausible(img.view()).is_some());
        img[[1, 2, 3]] = 0.6;
        assert_eq!(implausible(img.view()), None);
        img[[0, 0, 0]] = f32::NAN;
        assert!(implausible(img.view()).unwrap().contains("non-finite"));
        // Everything clamps to black: the NaN-decoder case once clamped, or an all-negative one.
        let black = ndarray::Array3::<f32>::from_elem((3, 8, 8), -3.0);
        assert!(implausible(black.view()).unwrap().contains("0,0,0"));
    }
}
