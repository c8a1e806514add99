//! The feature bank (`adain-train --feature-cache N`): a fixed set of N content and N style crops
//! whose frozen-encoder outputs are computed once, before training, and reused by every step.
//!
//! Why: the encoder is frozen, so the content's relu4_1 (and, for the identity terms, its four
//! taps) and the style's relu1_1..relu4_1 mean/std are the same every time a crop comes back;
//! on a CPU those two passes are a quarter of a step. A step then draws its batch from the bank
//! and runs only the decoder, the encoder of its output and the backward pass. The price is
//! diversity: the run sees N content and N style crops instead of fresh crops of every image,
//! so N should be a fair multiple of the training set (and the validation curve watched).
//!
//! Determinism: the bank's crops are batches of the ordinary loader under a salted seed, and
//! batch `i` picks bank entries from an RNG seeded by (seed, i), so a resumed run rebuilds the
//! same bank and draws the same batches. Crops are kept as uint8 pixels (exactly the loader's
//! `value / 255` once converted back), style crops as their statistics only.

use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};

use tch::{Device, Kind, Tensor};

use super::batches::Batches;
use super::data::{DataConfig, LoaderKind};
use super::layers::mean_std;
use crate::error::{Error, Result};

/// Seeds the bank's crops apart from the run's own batch stream.
const CROP_SALT: u64 = 0xB4A1_C0DE_0000_0001;
/// Seeds the per-iteration picks.
const PICK_SALT: u64 = 0xB4A1_C0DE_0000_0002;

/// What the frozen encoder gives of one content batch, or of a style batch's statistics: the
/// inputs of the decoder-side of a step, whether computed now or taken from the bank.
pub struct Frozen {
    /// Content pixels `[B,3,H,W]` in `[0, 1]`.
    pub content: Tensor,
    /// relu1_1..relu4_1 of the content when the identity terms or the mixed style target are on,
    /// else relu4_1 alone (the last element is always relu4_1).
    pub content_taps: Vec<Tensor>,
    /// Per-channel (mean, std) of the style's relu1_1..relu4_1, `[B,C,1,1]` each (empty for
    /// reconstruction, which has no style).
    pub style_stats: TapStats,
}

/// Per style tap, the (mean, std) of each channel, `[B,C,1,1]` each.
pub type TapStats = Vec<(Tensor, Tensor)>;

/// The bank: crops and their frozen features, on the training device.
pub struct Bank {
    content_u8: Tensor,
    style_u8: Tensor,
    content_taps: Vec<Tensor>,
    style_stats: TapStats,
    batch_size: usize,
    seed: u64,
    /// From the loader that drew the crops.
    pub content_files: usize,
    pub bad_files: usize,
    pub warnings: Vec<String>,
    /// Seconds the pre-pass took (drawing crops and encoding them).
    pub build_s: f64,
}

/// `[N,3,H,W]` float in [0,1] to uint8, exactly (the loader's values are `k / 255`).
fn to_u8(x: &Tensor) -> Tensor {
    (x * 255.0).round().to_kind(Kind::Uint8)
}

/// An uninitialised float tensor of `n` samples shaped like the samples of `like`.
fn alloc(like: &Tensor, n: usize) -> Tensor {
    let mut shape = like.size();
    shape[0] = n as i64;
    Tensor::empty(shape, (Kind::Float, like.device()))
}

/// On the CPU, refuses a bank that would not fit in the memory available now (Linux's
/// MemAvailable, less a quarter for the step itself) rather than let the kernel kill the run.
fn check_memory(n: usize, bytes: u64, device: Device) -> Result<()> {
    if device != Device::Cpu {
        return Ok(());
    }
    let Some(avail) = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    }) else {
        return Ok(());
    };
    if bytes > avail / 4 * 3 {
        return Err(Error::Invalid(format!(
            "--feature-cache {n}: the bank needs {:.1} GB, and {:.1} GB of memory is available \
             (at most three quarters of it may go to the bank): lower N or --crop",
            bytes as f64 / 1e9,
            avail as f64 / 1e9
        )));
    }
    Ok(())
}

fn to_unit(x: &Tensor) -> Tensor {
    x.to_kind(Kind::Float) / 255.0
}

/// What a bank keeps of each crop besides its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// All four content taps (identity terms, reconstruction, the mixed style target), else
    /// relu4_1 alone.
    pub full_taps: bool,
    /// The style crops' statistics (the paper's loss; reconstruction has no style term).
    pub style: bool,
}

/// Bytes one crop takes in the bank: its kept taps (from one blank crop through the encoder, so
/// that a bank too large for this machine is refused before any work) and its two 8-bit crops.
fn per_crop_bytes(
    crop: u32,
    device: Device,
    full_taps: bool,
    encode: &dyn Fn(&Tensor) -> Vec<Tensor>,
) -> u64 {
    let side = crop as i64;
    let probe = tch::no_grad(|| encode(&Tensor::zeros([1, 3, side, side], (Kind::Float, device))));
    let layers = if full_taps { &probe[..] } else { &probe[3..] };
    let taps: i64 = layers.iter().map(|x| x.numel() as i64 * 4).sum();
    (taps + 2 * 3 * side * side) as u64
}

/// `n` content and `n` style crops from `loader`, as 8-bit tensors `[n, 3, H, W]`.
fn draw_crops(
    loader: &mut Batches,
    n: usize,
    batch_size: usize,
    device: Device,
    stop: &AtomicBool,
) -> Result<(Tensor, Tensor)> {
    let (mut cs, mut ss) = (Vec::new(), Vec::new());
    let mut got = 0;
    while got < n {
        if stop.load(Ordering::SeqCst) {
            return Err(stopped(format!("{got} of {n} crops drawn")));
        }
        let (c, s) = loader.next(device)?;
        let take = (n - got).min(batch_size) as i64;
        cs.push(to_u8(&c.narrow(0, 0, take)));
        ss.push(to_u8(&s.narrow(0, 0, take)));
        got += take as usize;
    }
    Ok((Tensor::cat(&cs, 0), Tensor::cat(&ss, 0)))
}

/// The frozen encoder's outputs for every crop, `batch_size` at a time: the content taps (all
/// four with `full_taps`, else relu4_1) and, with `style`, each style tap's mean and std. They
/// are written into tensors allocated once at their final size: gathering chunks and
/// concatenating would hold the bank twice at its peak.
fn encode_crops(
    content_u8: &Tensor,
    style_u8: &Tensor,
    batch_size: usize,
    keep: Keep,
    encode: &dyn Fn(&Tensor) -> Vec<Tensor>,
    stop: &AtomicBool,
) -> Result<(Vec<Tensor>, TapStats)> {
    let Keep { full_taps, style } = keep;
    let n = content_u8.size()[0] as usize;
    let mut taps: Vec<Tensor> = Vec::new();
    let mut stats: TapStats = Vec::new();
    for k in (0..n).step_by(batch_size) {
        if stop.load(Ordering::SeqCst) {
            return Err(stopped(format!("{k} of {n} crops encoded")));
        }
        let len = (n - k).min(batch_size) as i64;
        let mut t = encode(&to_unit(&content_u8.narrow(0, k as i64, len)));
        if !full_taps {
            t = t.split_off(3);
        }
        if taps.is_empty() {
            taps = t.iter().map(|x| alloc(x, n)).collect();
        }
        for (dst, src) in taps.iter_mut().zip(&t) {
            dst.narrow(0, k as i64, len).copy_(src);
        }
        if style {
            let s = to_unit(&style_u8.narrow(0, k as i64, len));
            let st: TapStats = encode(&s).iter().map(mean_std).collect();
            if stats.is_empty() {
                stats = st.iter().map(|(m, d)| (alloc(m, n), alloc(d, n))).collect();
            }
            for ((dm, ds), (m, d)) in stats.iter_mut().zip(&st) {
                dm.narrow(0, k as i64, len).copy_(m);
                ds.narrow(0, k as i64, len).copy_(d);
            }
        }
    }
    Ok((taps, stats))
}

/// A stop honoured mid-build: the bank is dropped, and the run ends before its first step.
fn stopped(progress: String) -> Error {
    Error::Interrupted(format!(
        "stopped while building the feature bank ({progress}); no step was taken and nothing was published"
    ))
}

impl Bank {
    /// Draws `n` content and `n` style crops with the loader of `data` (seed salted) and encodes
    /// them with `encode` (the model's frozen encoder: four taps of a `[B,3,H,W]` batch).
    /// `keep` says which taps and statistics are kept. A `stop` is looked at between batches:
    /// the build then ends with [`Error::Interrupted`].
    pub fn build(
        data: &DataConfig,
        n: usize,
        kind: LoaderKind,
        device: Device,
        keep: Keep,
        encode: &dyn Fn(&Tensor) -> Vec<Tensor>,
        stop: &AtomicBool,
    ) -> Result<Self> {
        let full_taps = keep.full_taps;
        if n < data.batch_size {
            return Err(Error::Invalid(format!(
                "--feature-cache {n}: expected at least --batch-size ({}) crops",
                data.batch_size
            )));
        }
        let t0 = std::time::Instant::now();
        let per_crop = per_crop_bytes(data.crop, device, full_taps, encode);
        check_memory(n, per_crop.saturating_mul(n as u64), device)?;
        let draw = DataConfig {
            seed: data.seed ^ CROP_SALT,
            ..data.clone()
        };
        let mut loader = Batches::start(&draw, 0, kind, device)?;
        let (content_u8, style_u8) = draw_crops(&mut loader, n, data.batch_size, device, stop)?;
        let (content_taps, style_stats) = tch::no_grad(|| {
            encode_crops(&content_u8, &style_u8, data.batch_size, keep, encode, stop)
        })?;
        Ok(Bank {
            content_u8,
            style_u8,
            content_taps,
            style_stats,
            batch_size: data.batch_size,
            seed: data.seed,
            content_files: loader.content_files(),
            bad_files: loader.bad_files(),
            warnings: loader.take_warnings(),
            build_s: t0.elapsed().as_secs_f64(),
        })
    }

    /// Crops in the bank.
    pub fn len(&self) -> usize {
        self.content_u8.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the bank holds (pixels, features, statistics).
    pub fn bytes(&self) -> u64 {
        let b = |t: &Tensor| (t.numel() * t.kind().elt_size_in_bytes()) as u64;
        b(&self.content_u8)
            + b(&self.style_u8)
            + self.content_taps.iter().map(b).sum::<u64>()
            + self
                .style_stats
                .iter()
                .map(|(m, s)| b(m) + b(s))
                .sum::<u64>()
    }

    /// Bank entries of iteration `it`: content and style indices, each `[B]`.
    pub fn picks(&self, it: u64) -> (Vec<i64>, Vec<i64>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            self.seed ^ PICK_SALT ^ it.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let n = self.len() as i64;
        let c = (0..self.batch_size)
            .map(|_| rng.random_range(0..n))
            .collect();
        let s = (0..self.batch_size)
            .map(|_| rng.random_range(0..n))
            .collect();
        (c, s)
    }

    /// Iteration `it`'s batch: its frozen features, and the style pixels (for checks that
    /// recompute the features; the step does not use them).
    pub fn batch(&self, it: u64) -> (Frozen, Tensor) {
        let (c, s) = self.picks(it);
        let device = self.content_u8.device();
        let ci = Tensor::from_slice(&c).to_device(device);
        let si = Tensor::from_slice(&s).to_device(device);
        let frozen = Frozen {
            content: to_unit(&self.content_u8.index_select(0, &ci)),
            content_taps: self
                .content_taps
                .iter()
                .map(|t| t.index_select(0, &ci))
                .collect(),
            style_stats: self
                .style_stats
                .iter()
                .map(|(m, d)| (m.index_select(0, &si), d.index_select(0, &si)))
                .collect(),
        };
        (frozen, to_unit(&self.style_u8.index_select(0, &si)))
    }
}
