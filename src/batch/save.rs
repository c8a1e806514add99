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
use crate::imaging::{self, Format};

/// How outputs are written (from the run's settings).
#[derive(Debug, Clone, Copy)]
pub(super) struct SaveSettings {
    pub format: Format,
    pub quality: u8,
    pub thumbnails: bool,
}

impl SaveSettings {
    /// The run's output format and quality; thumbnails when a contact sheet is drawn.
    pub fn of(cfg: &super::BatchConfig) -> Self {
        SaveSettings {
            format: cfg.format,
            quality: cfg.quality,
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
    let written = imaging::save(out, &rgb, s.format, s.quality).map_err(|e| e.to_string());
    let save_s = t.elapsed().as_secs_f64();
    Saved {
        save_s,
        size: (rgb.width(), rgb.height()),
        written,
        thumb: s.thumbnails.then(|| super::sheets::thumbnail(&rgb)),
    }
}

/// Saves `img` as `job`'s output: the job's outcome, with what it cost before the save.
pub(super) fn save_job(
    img: ndarray::ArrayView3<'_, f32>,
    job: &Job,
    shares: Shares,
    sizes: Sizes,
    s: SaveSettings,
) -> JobOutcome {
    JobOutcome {
        job: job.clone(),
        shares,
        sizes: Some(sizes),
        end: End::Saved(save_output(img, &job.output, s)),
    }
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
