//! Which loader a run draws batches from ([`Batches`]): the threaded one that decodes and crops
//! every batch (`data`), or the whole set resident in device memory (`resident`). Its own
//! module so that neither loader imports the other.

use super::data::{DataConfig, Loader, LoaderKind};
use super::resident::Resident;
use crate::error::Result;

/// The loader a run uses.
pub enum Batches {
    Threads(Loader),
    Resident(Resident),
}

impl Batches {
    /// Starts `kind` at iteration `start`; `auto` is resident on CUDA, threads on the CPU.
    pub fn start(
        cfg: &DataConfig,
        start: u64,
        kind: LoaderKind,
        device: tch::Device,
    ) -> Result<Self> {
        let resident = match kind {
            LoaderKind::Auto => device.is_cuda(),
            LoaderKind::Threads => false,
            LoaderKind::Resident => true,
        };
        Ok(if resident {
            Batches::Resident(Resident::load(cfg, start, device)?)
        } else {
            Batches::Threads(Loader::start(cfg, start)?)
        })
    }

    /// The next `(content, style)` batch on `device`.
    pub fn next(&mut self, device: tch::Device) -> Result<(tch::Tensor, tch::Tensor)> {
        match self {
            Batches::Resident(r) => Ok(r.next_batch()),
            Batches::Threads(l) => {
                let b = l.next_batch()?;
                let n = l.batch_size as i64;
                let c = l.crop as i64;
                let t = |v: &[f32]| {
                    tch::Tensor::from_slice(v)
                        .reshape([n, 3, c, c])
                        .to_device(device)
                };
                Ok((t(&b.content), t(&b.style)))
            }
        }
    }

    pub fn take_warnings(&mut self) -> Vec<String> {
        match self {
            Batches::Resident(r) => r.take_warnings(),
            Batches::Threads(l) => l.take_warnings(),
        }
    }

    pub fn bad_files(&self) -> usize {
        match self {
            Batches::Resident(r) => r.bad_files(),
            Batches::Threads(l) => l.bad_files(),
        }
    }

    pub fn content_files(&self) -> usize {
        match self {
            Batches::Resident(r) => r.content_files(),
            Batches::Threads(l) => l.content_files,
        }
    }
}
