//! int8 graphs: calibration samples computed here (images through `imaging`, AdaIN targets
//! from the fp32 graphs through `runtime`), quantisation by ONNX Runtime's own static quantiser
//! (`python/quantize.py`), which writes `decoder.int8.onnx` in QDQ form.
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
use crate::onnx::{DECODER_FILE, Precision};
use crate::runtime::{Models, Provider, RuntimeConfig};

/// How int8 graphs are made (recorded in each as `adain.int8.recipe`): a graph made another way
/// is stale, so set-up remakes it.
pub const RECIPE: &str = "2: per-channel symmetric int8 weights, uint8 activations, \
     min-max ranges averaged over the samples, last convolution float";

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
            content: vec!["datasets/demo/content".into()],
            style: vec!["datasets/demo/style".into()],
            // Low alphas too: their targets sit close to the content features, whose range
            // differs from a full style transfer's.
            alphas: vec![0.1, 0.4, 0.7, 1.0],
            short_side: 384,
        }
    }
}

/// The decoder's calibration inputs: AdaIN targets `t/<n>` for every content x style pair,
/// pair `n` at alpha `alphas[n % len]`.
pub fn calibration_samples(
    models: &mut Models,
    cal: &Calibration,
) -> Result<BTreeMap<String, Tensor>> {
    if cal.alphas.is_empty() {
        return Err(Error::Invalid(
            "calibration needs at least one alpha".into(),
        ));
    }
    let sizing = Sizing {
        short_side: cal.short_side,
        ..Sizing::default()
    };
    let encode = |models: &mut Models, what: &str, roots: &[PathBuf]| -> Result<Vec<_>> {
        let mut out = Vec::new();
        for input in crate::inputs::discover_some(what, roots, false)? {
            let img = imaging::load(&input.path, &sizing)?;
            let x = img.data.insert_axis(ndarray::Axis(0));
            out.push(models.encode(x.view())?);
        }
        Ok(out)
    };
    let contents = encode(models, "calibration content", &cal.content)?;
    let styles = encode(models, "calibration style", &cal.style)?;
    let mut samples = BTreeMap::new();
    for c in &contents {
        for s in &styles {
            let n = samples.len();
            let alpha = ndarray::arr1(&[cal.alphas[n % cal.alphas.len()]]);
            let t = models.adain(c.features.view(), s.mean.view(), s.std.view(), alpha.view())?;
            let shape = t.shape().to_vec();
            let data = t.into_iter().collect();
            samples.insert(format!("t/{n}"), Tensor { shape, data });
        }
    }
    Ok(samples)
}

/// Writes `dir/decoder.int8.onnx` from `dir/decoder.onnx` (which must be current), calibrated
/// as `cal` says. Returns its path.
pub fn export_int8(dir: &Path, cal: &Calibration) -> Result<PathBuf> {
    let cfg = RuntimeConfig {
        provider: Provider::Cpu,
        threads: 0,
        precision: Precision::Fp32,
    };
    let mut models = Models::open(dir, &cfg)?;
    let samples = calibration_samples(&mut models, cal)?;
    drop(models);
    let count = samples.len();
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let calib = work.path().join("calibration.safetensors");
    let bytes = crate::model::safetensors_bytes(&samples).map_err(|reason| Error::Weights {
        path: calib.clone(),
        reason,
    })?;
    std::fs::write(&calib, bytes).map_err(|e| Error::io(&calib, e))?;
    let out = dir.join(Precision::Int8.file(DECODER_FILE));
    let note = format!(
        "int8 QDQ convolutions (per-channel symmetric int8 weights, uint8 activations, \
         min-max (averaged over samples) calibrated on {count} AdaIN targets at alphas {:?}, shorter side {}); \
         the last convolution, AdaIN, inputs and outputs float32",
        cal.alphas, cal.short_side
    );
    crate::paths::run_python_script(
        "quantize.py",
        &[
            "--model".as_ref(),
            dir.join(DECODER_FILE).as_os_str(),
            "--calibration".as_ref(),
            calib.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--note".as_ref(),
            note.as_ref(),
            "--recipe".as_ref(),
            RECIPE.as_ref(),
        ],
    )?;
    Ok(out)
}
