//! The resident loader: the whole training set decoded once into device memory as uint8, one
//! tensor per readable image; each batch's crops and flips are then tensor slices on the device,
//! drawn with the same random numbers ([`Draw`]) as the threaded loader's, so both give the
//! same batches.

use super::data::{DataConfig, Draw, check_crop, iteration_rng, list_images, prepare};
use crate::error::{Error, Result};

/// The whole training set in device memory, one `[3,H,W]` uint8 tensor per readable image.
pub struct Resident {
    cfg: DataConfig,
    content: Vec<Option<tch::Tensor>>,
    style: Vec<Option<tch::Tensor>>,
    next_iter: u64,
    warnings: Vec<String>,
    bad: usize,
}

impl Resident {
    /// Decodes every image (in parallel, on the CPU) and moves it to `device`.
    pub fn load(cfg: &DataConfig, start: u64, device: tch::Device) -> Result<Self> {
        use rayon::prelude::*;
        check_crop(cfg)?;
        let mut warnings = Vec::new();
        let mut sets = Vec::new();
        for (what, roots) in [("content", &cfg.content), ("style", &cfg.style)] {
            let files = list_images(what, roots)?;
            let imgs: Vec<Result<image::RgbImage>> =
                files.par_iter().map(|p| prepare(cfg, p)).collect();
            let mut set = Vec::with_capacity(files.len());
            for r in imgs {
                match r {
                    Ok(rgb) => {
                        let (w, h) = rgb.dimensions();
                        let t = tch::Tensor::from_slice(rgb.as_raw())
                            .reshape([h as i64, w as i64, 3])
                            .permute([2, 0, 1])
                            .contiguous()
                            .to_device(device);
                        set.push(Some(t));
                    }
                    Err(e) => {
                        warnings.push(format!("warning: skipping unreadable training image: {e}"));
                        set.push(None);
                    }
                }
            }
            if set.iter().all(Option::is_none) {
                return Err(Error::Invalid(format!(
                    "every one of the {} {what} training images is unreadable (first: {})",
                    files.len(),
                    files[0].display()
                )));
            }
            sets.push(set);
        }
        let style = sets.pop().expect("two sets");
        let content = sets.pop().expect("two sets");
        let bad = warnings.len();
        Ok(Resident {
            cfg: cfg.clone(),
            content,
            style,
            next_iter: start,
            warnings,
            bad,
        })
    }

    fn sample(&self, set: &[Option<tch::Tensor>], d: &Draw) -> tch::Tensor {
        let n = set.len();
        let img = (0..n)
            .find_map(|k| set[(d.k0 + k) % n].as_ref())
            .expect("at least one readable image (checked at load)");
        let (h, w) = (img.size()[1] as u32, img.size()[2] as u32);
        let (x0, y0) = d.origin(w, h, self.cfg.crop);
        let c = self.cfg.crop as i64;
        let t = img.narrow(1, y0 as i64, c).narrow(2, x0 as i64, c);
        if d.flip { t.flip([2]) } else { t }
    }

    /// The next batch in iteration order, `[B,3,crop,crop]` float in `[0, 1]` on the device.
    pub fn next_batch(&mut self) -> (tch::Tensor, tch::Tensor) {
        let mut rng = iteration_rng(self.cfg.seed, self.next_iter);
        self.next_iter += 1;
        let (mut c, mut s) = (Vec::new(), Vec::new());
        for _ in 0..self.cfg.batch_size {
            c.push(self.sample(&self.content, &Draw::new(&mut rng, self.content.len())));
            s.push(self.sample(&self.style, &Draw::new(&mut rng, self.style.len())));
        }
        let f = |v: Vec<tch::Tensor>| tch::Tensor::stack(&v, 0).to_kind(tch::Kind::Float) / 255.0;
        (f(c), f(s))
    }

    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    pub fn bad_files(&self) -> usize {
        self.bad
    }

    pub fn content_files(&self) -> usize {
        self.content.len()
    }
}
