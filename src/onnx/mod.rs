//! ONNX export in pure Rust (no libtorch): safetensors weights -> `encoder.onnx`, `adain.onnx`,
//! `decoder.onnx` and the fused `stylize.onnx`, each with `metadata_props` recording the weights'
//! provenance and sha256, the variance convention and the exporter version.
//!
//! Flow: [`export`] loads nothing itself; callers pass checked [`Weights`]; `graphs` turns the
//! layer tables into nodes through `builder`; files are written atomically.

pub mod builder;
pub mod graphs;

use std::path::{Path, PathBuf};

use onnx_protobuf::Message;

use crate::error::{Error, Result};
use crate::model::{self, Weights};

pub use graphs::Provenance;

/// The file names `export` writes and the runtime opens.
pub const ENCODER_FILE: &str = "encoder.onnx";
pub const ADAIN_FILE: &str = "adain.onnx";
pub const DECODER_FILE: &str = "decoder.onnx";
/// The decoder's weights in a models folder (what the graphs are exported from).
pub const DECODER_WEIGHTS: &str = "decoder.safetensors";
pub const STYLIZE_FILE: &str = "stylize.onnx";
pub const ADAIN_DECODER_FILE: &str = "adain_decoder.onnx";
pub const ADAIN_MASKED_FILE: &str = "adain_masked.onnx";
/// Every graph [`export`] writes, in the order it writes them.
pub const GRAPH_FILES: [&str; 6] = [
    ENCODER_FILE,
    ADAIN_FILE,
    DECODER_FILE,
    ADAIN_DECODER_FILE,
    STYLIZE_FILE,
    ADAIN_MASKED_FILE,
];

/// Metadata key naming a graph's precision (absent in fp32 graphs); its value starts with
/// [`Precision::as_str`].
pub const PRECISION_KEY: &str = "adain.precision";

/// Metadata key of an int8 graph's quantisation recipe (python/quantize.py writes it); current
/// graphs hold [`INT8_RECIPE`].
pub const INT8_RECIPE_KEY: &str = "adain.int8.recipe";

/// How int8 graphs are made ([`crate::quantize`] and python/quantize.py; recorded in each as
/// [`INT8_RECIPE_KEY`]): a graph made another way is stale, so set-up remakes it and
/// adain-batch refuses it. Kept here, with the other graph metadata, so that checking a
/// graph needs nothing from the module that makes it.
pub const INT8_RECIPE: &str = "7: decoder, and encoder for contents and styles; per-channel \
     symmetric 7-bit weights (exact on x86 without VNNI), uint8 activations; decoder ranges \
     min-max averaged over the samples, encoder ranges the 99.99th percentile over 256 px \
     crops; statistics float, reflection pads on uint8; the decoder's last upsampling and \
     convolution as one sub-pixel convolution, its image convolution an integer matrix product \
     with int32 sums";

/// Whether `dir` already holds every graph of `precision` as [`export_with`] would write it from `enc` and `dec`
/// at `precision`: each file present, made by this exporter version at this precision, from
/// weights with these sha256s. Lets set-up skip an export that would rewrite the same bytes.
pub fn is_current(dir: &Path, enc: &Weights, dec: &Weights, precision: Precision) -> bool {
    let want = provenance_with(Some(enc), Some(dec), precision).entries;
    precision.own_graphs().iter().all(|name| {
        let Ok(meta) = read_metadata(&dir.join(precision.file(name))) else {
            return false;
        };
        let marked = metadata_value(&meta, PRECISION_KEY)
            .map(|v| v.split_whitespace().next().unwrap_or_default());
        let recipe = metadata_value(&meta, INT8_RECIPE_KEY);
        marked.unwrap_or("fp32") == precision.as_str()
            && (precision != Precision::Int8 || recipe == Some(INT8_RECIPE))
            && meta.iter().all(|(k, v)| {
                let checked = k == "adain.exporter" || k.ends_with(".sha256");
                !checked || metadata_value(&want, k) == Some(v.as_str())
            })
    })
}

/// Sidecar JSON describing where a weights file came from (`x.safetensors` -> `x.provenance.json`).
pub fn provenance_path(weights: &Path) -> PathBuf {
    weights.with_extension("provenance.json")
}

fn weights_entries(role: &str, w: &Weights) -> Vec<(String, String)> {
    let mut e = vec![
        (format!("adain.{role}.file"), file_name(&w.path)),
        (format!("adain.{role}.sha256"), w.sha256.clone()),
    ];
    // Only a regular file: a FIFO or device named like a sidecar must not hang an export.
    let text = crate::fsutil::read_regular(&provenance_path(&w.path))
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    if let Some(text) = text {
        e.push((format!("adain.{role}.provenance"), text));
    }
    e
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Numeric precision of a set of graphs. fp32 is the full set ([`GRAPH_FILES`]); the others
/// add their own versions of some graphs beside it, named by [`Precision::file`]
/// (`decoder.int8.onnx`), and share the rest (AdaIN statistics always run in float32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    /// Encoder and decoder convolutions in float16; statistics, AdaIN, inputs and outputs in
    /// float32 (half the file size; for GPUs with fast fp16). Written by `adain export --half`.
    Fp16,
    /// The encoder's and the decoder's convolutions in int8 (QDQ: per-channel symmetric
    /// weights, uint8 activations calibrated on images and AdaIN targets; the decoder's last
    /// convolution, which writes the image, stays float32); the statistics and AdaIN run in
    /// float32. Written by `adain export --int8` ([`crate::quantize`]).
    Int8,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Int8 => "int8",
        }
    }

    /// The graphs this precision has its own file for; the others are the fp32 ones.
    pub fn own_graphs(self) -> &'static [&'static str] {
        match self {
            Precision::Fp32 => &GRAPH_FILES,
            Precision::Fp16 => &[ENCODER_FILE, DECODER_FILE, ADAIN_DECODER_FILE, STYLIZE_FILE],
            Precision::Int8 => &[ENCODER_FILE, DECODER_FILE],
        }
    }

    /// The file that holds `graph` (one of [`GRAPH_FILES`]) at this precision:
    /// `decoder.onnx` -> `decoder.int8.onnx`; graphs without their own version keep the fp32 name.
    pub fn file(self, graph: &str) -> String {
        match graph.strip_suffix(".onnx") {
            Some(stem) if self != Precision::Fp32 && self.own_graphs().contains(&graph) => {
                format!("{stem}.{}.onnx", self.as_str())
            }
            _ => graph.to_string(),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Metadata for graphs built from `enc` and/or `dec`.
pub fn provenance(enc: Option<&Weights>, dec: Option<&Weights>) -> Provenance {
    provenance_with(enc, dec, Precision::Fp32)
}

/// Raised whenever the exported graphs change form for the same weights (2: sub-pixel
/// upsampling in the fused graphs), so `--if-stale` remakes graphs written before.
const GRAPHS_REVISION: u32 = 2;

fn provenance_with(
    enc: Option<&Weights>,
    dec: Option<&Weights>,
    precision: Precision,
) -> Provenance {
    let mut entries = vec![
        (
            "adain.exporter".to_string(),
            format!(
                "adain {} (graphs r{GRAPHS_REVISION})",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        (
            "adain.variance".to_string(),
            model::VARIANCE_CONVENTION.to_string(),
        ),
        ("adain.eps".to_string(), format!("{:e}", model::EPS)),
        ("adain.min_side".to_string(), model::MIN_SIDE.to_string()),
        (
            "adain.input".to_string(),
            "RGB float32 in [0,1], NCHW".to_string(),
        ),
    ];
    if let Some(w) = enc {
        entries.extend(weights_entries("encoder", w));
    }
    if let Some(w) = dec {
        entries.extend(weights_entries("decoder", w));
    }
    let half = precision == Precision::Fp16;
    if half {
        entries.push((
            PRECISION_KEY.to_string(),
            "fp16 convolutions; fp32 statistics, AdaIN, inputs and outputs".to_string(),
        ));
    }
    Provenance { entries, half }
}

/// What [`export`] wrote.
#[derive(Debug)]
pub struct Exported {
    pub files: Vec<(PathBuf, u64)>,
}

/// Writes the graphs into `dir`: the four of the contract plus `adain_decoder.onnx` (AdaIN and
/// decoder fused, what adain-batch runs).
pub fn export(enc: &Weights, dec: &Weights, dir: &Path) -> Result<Exported> {
    export_with(enc, dec, dir, Precision::Fp32)
}

/// [`export`] at fp32, or fp16's own graphs (encoder, decoder, fused decoder, stylize) beside
/// them as `*.fp16.onnx`. int8 graphs are calibrated, not converted: [`crate::quantize`].
pub fn export_with(
    enc: &Weights,
    dec: &Weights,
    dir: &Path,
    precision: Precision,
) -> Result<Exported> {
    if precision == Precision::Int8 {
        return Err(Error::Invalid(
            "int8 graphs are made by calibration (adain export --int8), not by conversion".into(),
        ));
    }
    // Weights made in memory (a trainer's, a blend) pass the checks a loaded file gets.
    enc.check_values()?;
    dec.check_values()?;
    let provenance = |e, d| provenance_with(e, d, precision);
    let graphs = precision.own_graphs().iter().map(|&name| {
        let model = match name {
            ENCODER_FILE => graphs::encoder(enc, &provenance(Some(enc), None)),
            ADAIN_FILE => graphs::adain_graph(&provenance(None, None)),
            DECODER_FILE => graphs::decoder(dec, &provenance(None, Some(dec))),
            ADAIN_DECODER_FILE => graphs::adain_decoder(dec, &provenance(None, Some(dec))),
            ADAIN_MASKED_FILE => graphs::adain_masked_graph(&provenance(None, None)),
            _ => graphs::stylize(enc, dec, &provenance(Some(enc), Some(dec))),
        };
        (name, model)
    });
    let mut files = Vec::new();
    for (name, m) in graphs {
        let path = dir.join(precision.file(name));
        let bytes = m
            .write_to_bytes()
            .map_err(|e| Error::Invalid(format!("{}: cannot encode ONNX: {e}", path.display())))?;
        crate::fsutil::write_atomic(&path, &bytes)?;
        files.push((path, bytes.len() as u64));
    }
    Ok(Exported { files })
}

/// File name of the quality judge graph ([`export_judge`]).
pub const JUDGE_FILE: &str = "judge.onnx";

/// Writes the quality judge (`graphs::judge`: the raw ImageNet VGG-19 `w` to relu4_1 with
/// per-layer statistics) as `dir/judge.onnx`.
pub fn export_judge(w: &Weights, dir: &Path) -> Result<PathBuf> {
    let mut meta = provenance(None, None);
    meta.entries.extend(weights_entries("judge", w));
    let m = graphs::judge(w, &meta);
    let path = dir.join(JUDGE_FILE);
    let bytes = m
        .write_to_bytes()
        .map_err(|e| Error::Invalid(format!("{}: cannot encode ONNX: {e}", path.display())))?;
    crate::fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Reads one graph's `metadata_props` (used by the runtime to report which decoder it runs).
pub fn read_metadata(path: &Path) -> Result<Vec<(String, String)>> {
    let bytes = crate::fsutil::read_regular(path)?;
    let m = onnx_protobuf::ModelProto::parse_from_bytes(&bytes)
        .map_err(|e| Error::Invalid(format!("{}: not an ONNX model: {e}", path.display())))?;
    Ok(m.metadata_props
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect())
}

/// The value of `key` in metadata pairs (as [`read_metadata`] returns them, or a
/// [`Provenance`]'s entries); the first one if a key repeats.
pub fn metadata_value<'a>(meta: &'a [(String, String)], key: &str) -> Option<&'a str> {
    meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Weights stored as initializers `<prefix>.<key>.weight|bias` in an exported graph (e.g. the
/// decoder inside `decoder.onnx`), checked against the layer table like a safetensors file.
pub fn read_weights(path: &Path, prefix: &str, ops: &[model::Op]) -> Result<Weights> {
    let bytes = crate::fsutil::read_regular(path)?;
    let m = onnx_protobuf::ModelProto::parse_from_bytes(&bytes)
        .map_err(|e| Error::Invalid(format!("{}: not an ONNX model: {e}", path.display())))?;
    let graph = m
        .graph
        .as_ref()
        .ok_or_else(|| Error::Invalid(format!("{}: no graph", path.display())))?;
    let mut tensors = std::collections::BTreeMap::new();
    for (key, shape) in model::expected_shapes(ops) {
        let name = format!("{prefix}.{key}");
        let init = graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::MissingWeight {
                path: path.into(),
                key: name.clone(),
            })?;
        let got: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
        if got != shape {
            return Err(Error::WeightShape {
                path: path.into(),
                key: name,
                expected: shape,
                got,
            });
        }
        let data: Vec<f32> = if !init.raw_data.is_empty() {
            init.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        } else {
            init.float_data.clone()
        };
        if data.len() != shape.iter().product::<usize>() {
            return Err(Error::Weights {
                path: path.into(),
                reason: format!("initializer '{name}' holds {} values", data.len()),
            });
        }
        tensors.insert(key, model::Tensor { shape, data });
    }
    let provenance = m
        .metadata_props
        .iter()
        .find(|p| p.key == format!("adain.{prefix}.sha256"))
        .map(|p| p.value.clone());
    let w = Weights {
        tensors,
        path: path.into(),
        sha256: provenance.unwrap_or_default(),
    };
    w.check_values()?;
    Ok(w)
}
