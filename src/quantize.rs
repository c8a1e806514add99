//! int8 graphs: calibration samples computed here (images through `imaging`, AdaIN targets
//! from the fp32 graphs through `runtime`), quantisation by ONNX Runtime's own static quantiser
//! (`python/quantize.py`), which writes `decoder.int8.onnx` and `encoder.int8.onnx` (used for
//! style images only, see [`Precision::content_encoder`]) in QDQ form.
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

/// How int8 graphs are made (recorded in each as `adain.int8.recipe`): a graph made another way
/// is stale, so set-up remakes it.
pub const RECIPE: &str = "5: decoder, and encoder for styles; per-channel symmetric 7-bit \
     weights (exact on x86 without VNNI), uint8 activations, min-max ranges averaged over the \
     samples, statistics and the decoder's last convolution float, reflection pads on uint8";

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
            content: vec![crate::paths::DEMO_CONTENT.into()],
            style: vec![crate::paths::DEMO_STYLE.into()],
            // Low alphas too: their targets sit close to the content features, whose range
            // differs from a full style transfer's.
            alphas: vec![0.1, 0.4, 0.7, 1.0],
            short_side: 384,
        }
    }
}

/// Calibration inputs, keyed `<graph input>/<n>` as python/quantize.py reads them.
pub struct Samples {
    /// For the encoder: the images `image/<n>`, contents then styles.
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
            images.insert(format!("image/{}", images.len()), Tensor::from_array(x));
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

/// Writes `dir/encoder.int8.onnx` and `dir/decoder.int8.onnx` from the fp32 graphs in `dir`
/// (which must be current), calibrated as `cal` says. Returns their paths.
pub fn export_int8(dir: &Path, cal: &Calibration) -> Result<Vec<PathBuf>> {
    let cfg = RuntimeConfig {
        provider: Provider::Cpu,
        threads: 0,
        precision: Precision::Fp32,
    };
    let mut models = Models::open(dir, &cfg)?;
    let samples = calibration_samples(&mut models, cal)?;
    drop(models);
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let method = format!(
        "per-channel symmetric 7-bit weights, uint8 activations, min-max (averaged over \
         samples), images at shorter side {}",
        cal.short_side
    );
    let mut written = Vec::new();
    for (graph, set, note) in [
        (
            ENCODER_FILE,
            &samples.encoder,
            format!(
                "int8 QDQ convolutions for style statistics ({method}; calibrated on {} \
                 images); the statistics, inputs and outputs float32",
                samples.encoder.len()
            ),
        ),
        (
            DECODER_FILE,
            &samples.decoder,
            format!(
                "int8 QDQ convolutions ({method}; calibrated on {} AdaIN targets at alphas \
                 {:?}); the last convolution, inputs and outputs float32",
                samples.decoder.len(),
                cal.alphas
            ),
        ),
    ] {
        let calib = work.path().join(format!("{graph}.calibration.safetensors"));
        crate::model::save_tensors(&calib, set)?;
        let out = dir.join(Precision::Int8.file(graph));
        crate::paths::run_python_script(
            "quantize.py",
            &[
                "--model".as_ref(),
                dir.join(graph).as_os_str(),
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
        written.push(out);
    }
    Ok(written)
}
