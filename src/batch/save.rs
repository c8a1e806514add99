//! The save stage: clamp, encode and write one output atomically, on rayon's pool, with a
//! bound on the images waiting to be saved (back-pressure on the decoder). The naive mode calls
//! [`save_output`] inline; the planned pipeline goes through [`Saver`].

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use image::RgbImage;
use ndarray::Array3;

use super::record::Recorder;
use super::report::{Row, Status, ms};
use crate::error::Result;
use crate::imaging::{self, Format};

/// A finished output: its row, and its thumbnail when contact sheets are drawn.
pub(super) struct Saved {
    pub row: Row,
    pub thumb: Option<RgbImage>,
}

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

/// Writes `img` (`[3, H, W]`, clamped here) to `out`; completes `row` with the save time, the
/// output size and the status.
pub(super) fn save_output(
    img: ndarray::ArrayView3<'_, f32>,
    out: &std::path::Path,
    mut row: Row,
    s: SaveSettings,
) -> Saved {
    let t = Instant::now();
    let rgb = imaging::to_rgb8(img);
    let r = imaging::save(out, &rgb, s.format, s.quality);
    row.save_ms = ms(t.elapsed().as_secs_f64());
    row.output_width = rgb.width();
    row.output_height = rgb.height();
    match r {
        Ok(()) => row.status = Some(Status::Ok),
        Err(e) => {
            row.status = Some(Status::Error);
            row.error = format!("cannot write output: {e}");
        }
    }
    let thumb = s.thumbnails.then(|| super::sheets::thumbnail(&rgb));
    Saved { row, thumb }
}

/// Saves running on rayon's pool, reported as they finish.
pub(super) struct Saver {
    settings: SaveSettings,
    tx: mpsc::Sender<Saved>,
    rx: mpsc::Receiver<Saved>,
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

    /// Starts saving one output.
    pub fn spawn(&mut self, img: Array3<f32>, out: PathBuf, row: Row) {
        let (tx, settings) = (self.tx.clone(), self.settings);
        self.in_flight += 1;
        rayon::spawn(move || {
            let _ = tx.send(save_output(img.view(), &out, row, settings));
        });
    }

    /// Records what finished so far, then waits while more than the bound are in flight.
    pub fn drain(&mut self, rec: &mut Recorder<'_>) -> Result<()> {
        while let Ok(s) = self.rx.try_recv() {
            self.in_flight -= 1;
            rec.saved(s)?;
        }
        while self.in_flight > self.bound {
            self.wait_one(rec)?;
        }
        Ok(())
    }

    /// Waits for every save still running.
    pub fn finish(mut self, rec: &mut Recorder<'_>) -> Result<()> {
        while self.in_flight > 0 {
            self.wait_one(rec)?;
        }
        Ok(())
    }

    fn wait_one(&mut self, rec: &mut Recorder<'_>) -> Result<()> {
        let s = self.rx.recv().expect("the saver holds a sender");
        self.in_flight -= 1;
        rec.saved(s)
    }
}
