//! int8 graphs: calibration samples computed here (images through `imaging`, AdaIN targets
//! from the fp32 graphs through `runtime`), quantisation by ONNX Runtime's own static quantiser
//! (`python/quantize.py`), which writes `decoder.int8.onnx` and `encoder.int8.onnx` (contents
//! and styles) in QDQ form.
//!
//! Why ONNX Runtime's tool and not QDQ nodes from our exporter: which Q/DQ patterns its CPU
//! kernels fuse into QLinearConv (u8 x s8, VNNI) is a property of the runtime version, and its
//! quantiser is maintained with it; calibration inputs stay ours, so the preprocessing is the
//! one adain-batch uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::imaging::{self, Sizing};
use crate::model::Tensor;
use crate::onnx::{DECODER_FILE, ENCODER_FILE, Precision};
use crate::runtime::{Models, Provider, RuntimeConfig};

/// Side of the square crops the int8 encoder is calibrated on. The percentile calibration builds
/// one histogram per tensor over all samples, so they must share a shape; crops on a 3 x 3 grid
/// also give ~8 samples per image instead of one, from the 12 demo images that set-up has.
pub const ENCODER_CROP: usize = 256;

/// Percentile of each activation's absolute values that sets the int8 encoder's ranges.
/// Measured against fp32 on 8 val photos x 2 paintings (features through the fp32 decoder):
/// min-max averaged over whole images (recipe 5) left images 4.39/255 off at alpha 1, the
/// 99.999th percentile over crops 3.07, the 99.99th 2.60 (feature error 9.6% -> 6.5%);
/// docs/weights.md has the end-to-end table.
pub const ENCODER_PERCENTILE: f64 = 99.99;

/// What the int8 decoder is calibrated on: every content x style pair, the alphas taken in turn.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub alphas: Vec<f32>,
    /// Images are downscaled so the shorter side is at most this (as adain-batch's --content-size).
    pub short_side: u32,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            // Without a checkout or data folder: an empty path, which no read finds (never
            // the current folder); `adain export` then reports it.
            content: vec![crate::paths::demo(crate::paths::DEMO_CONTENT).unwrap_or_default()],
            style: vec![crate::paths::demo(crate::paths::DEMO_STYLE).unwrap_or_default()],
            // Low alphas too: their targets sit close to the content features, whose range
            // differs from a full style transfer's.
            alphas: vec![0.1, 0.4, 0.7, 1.0],
            short_side: 384,
        }
    }
}

/// Calibration inputs, keyed `<graph input>/<n>` as python/quantize.py reads them.
pub struct Samples {
    /// For the encoder: [`ENCODER_CROP`]-pixel square crops `image/<n>` of the images, contents
    /// then styles, on a 3 x 3 grid (fewer where a side is shorter).
    pub encoder: BTreeMap<String, Tensor>,
    /// For the decoder: AdaIN targets `t/<n>` for every content x style pair, pair `n` at
    /// alpha `alphas[n % len]`.
    pub decoder: BTreeMap<String, Tensor>,
}

/// The calibration inputs of both int8 graphs, through the fp32 `models`.
pub fn calibration_samples(models: &mut Models, cal: &Calibration) -> Result<Samples> {
    if cal.alphas.is_empty() {
        return Err(Error::Invalid(
            "calibration needs at least one alpha".into(),
        ));
    }
    let sizing = Sizing {
        short_side: cal.short_side,
        ..Sizing::default()
    };
    let mut images = BTreeMap::new();
    let mut encode = |models: &mut Models, what: &str, roots: &[PathBuf]| -> Result<Vec<_>> {
        let mut out = Vec::new();
        for input in crate::inputs::discover_some(what, roots, false)? {
            let img = imaging::load(&input.path, &sizing)?;
            let x = img.data.insert_axis(ndarray::Axis(0));
            out.push(models.encode(x.view())?);
            for crop in grid_crops(x.view(), crop_side(cal)) {
                images.insert(format!("image/{}", images.len()), Tensor::from_array(crop));
            }
        }
        Ok(out)
    };
    let contents = encode(models, "calibration content", &cal.content)?;
    let styles = encode(models, "calibration style", &cal.style)?;
    let mut targets = BTreeMap::new();
    for c in &contents {
        for s in &styles {
            let n = targets.len();
            let alpha = ndarray::arr1(&[cal.alphas[n % cal.alphas.len()]]);
            let t = models.adain(c.features.view(), s.mean.view(), s.std.view(), alpha.view())?;
            targets.insert(format!("t/{n}"), Tensor::from_array(t));
        }
    }
    Ok(Samples {
        encoder: images,
        decoder: targets,
    })
}

/// The side of the encoder's calibration crops: [`ENCODER_CROP`], or the calibration's shorter
/// side when that is smaller (quick test calibrations).
fn crop_side(cal: &Calibration) -> usize {
    ENCODER_CROP.min(cal.short_side as usize)
}

/// Square `side` x `side` crops of `x` (`[1, 3, H, W]`) at the start, middle and end of each
/// axis (positions that coincide are taken once); none when a side is shorter than `side`.
fn grid_crops(x: ndarray::ArrayView4<'_, f32>, side: usize) -> Vec<ndarray::Array4<f32>> {
    let (_, _, h, w) = x.dim();
    let starts = |len: usize| -> Vec<usize> {
        if len < side {
            return Vec::new();
        }
        let mut v = vec![0, (len - side) / 2, len - side];
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for y in starts(h) {
        for x0 in starts(w) {
            out.push(
                x.slice(ndarray::s![.., .., y..y + side, x0..x0 + side])
                    .to_owned(),
            );
        }
    }
    out
}

/// Writes `dir/encoder.int8.onnx` and `dir/decoder.int8.onnx` from the fp32 graphs in `dir`
/// (which must be current), calibrated as `cal` says, quantised by the Python that
/// [`crate::paths::python`] finds. Returns their paths.
pub fn export_int8(dir: &Path, cal: &Calibration) -> Result<Vec<PathBuf>> {
    export_int8_with(dir, cal, &crate::paths::python()?.path)
}

/// [`export_int8`] with the Python named (`adain setup` installs the quantiser into its own).
pub fn export_int8_with(dir: &Path, cal: &Calibration, python: &Path) -> Result<Vec<PathBuf>> {
    let cfg = RuntimeConfig {
        provider: Provider::Cpu,
        threads: 0,
        precision: Precision::Fp32,
    };
    let mut models = Models::open(dir, &cfg)?;
    let samples = calibration_samples(&mut models, cal)?;
    drop(models);
    if samples.encoder.is_empty() {
        return Err(Error::Invalid(format!(
            "int8 calibration: no calibration image has both sides >= {} pixels at shorter side \
             {} (the encoder is calibrated on square crops of that side)",
            crop_side(cal),
            cal.short_side
        )));
    }
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let weights = "per-channel symmetric 7-bit weights, uint8 activations";
    let percentile = ENCODER_PERCENTILE.to_string();
    let mut written = Vec::new();
    for (graph, set, method, note) in [
        (
            ENCODER_FILE,
            &samples.encoder,
            &["--method", "percentile", "--percentile", &percentile][..],
            format!(
                "int8 QDQ convolutions for contents and styles ({weights}, ranges the \
                 {ENCODER_PERCENTILE}th percentile; calibrated on {} crops of {} px \
                 from images at shorter side {}); the statistics, inputs and outputs float32",
                samples.encoder.len(),
                crop_side(cal),
                cal.short_side
            ),
        ),
        (
            DECODER_FILE,
            &samples.decoder,
            &["--method", "minmax"][..],
            format!(
                "int8 QDQ convolutions ({weights}, min-max ranges averaged over samples; \
                 calibrated on {} AdaIN targets at alphas {:?}, images at shorter side {}); the \
                 image convolution's sums int32, inputs and outputs float32",
                samples.decoder.len(),
                cal.alphas,
                cal.short_side
            ),
        ),
    ] {
        let calib = work.path().join(format!("{graph}.calibration.safetensors"));
        crate::model::save_tensors(&calib, set)?;
        let (model, out) = (dir.join(graph), dir.join(Precision::Int8.file(graph)));
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--model".as_ref(),
            model.as_os_str(),
            "--calibration".as_ref(),
            calib.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--note".as_ref(),
            note.as_ref(),
            "--recipe".as_ref(),
            crate::onnx::INT8_RECIPE.as_ref(),
        ];
        args.extend(method.iter().map(|m| std::ffi::OsStr::new(*m)));
        crate::paths::run_python_script(python, "quantize.py", &args)?;
        written.push(out);
    }
    Ok(written)
}
