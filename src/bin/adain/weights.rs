//! The encoder's weights: `adain unpack` (the committed pack into safetensors, pure Rust) and
//! `adain import pth` (your own PyTorch state dicts).

use std::path::{Path, PathBuf};

use adain::onnx::Precision;

use crate::graphs::export;

/// `adain unpack`: the encoder and the quality judge from the committed pack.
pub fn unpack(pack: &Path, out_dir: &Path, if_stale: bool) -> anyhow::Result<()> {
    let pack = adain::vgg::Pack::load(pack)?;
    for done in adain::vgg::unpack(&pack, out_dir, if_stale)? {
        use adain::vgg::Unpacked;
        match done {
            Unpacked::Written(p) => say!("wrote {}", p.display()),
            Unpacked::Current(p) => say!("{}: up to date", p.display()),
            Unpacked::Kept(p) => say!(
                "{}: kept (imported from your own .pth; delete it to use the shipped encoder)",
                p.display()
            ),
        }
    }
    Ok(())
}

/// `adain import pth`: safetensors from pytorch-AdaIN's .pth files, and the graphs with `--export`.
pub fn import_pth(
    vgg: &Path,
    decoder: Option<&Path>,
    out_dir: &Path,
    to: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<()> {
    if to.is_some() && decoder.is_none() {
        anyhow::bail!("--export needs --decoder: the graphs include the decoder");
    }
    // The write guard (fsutil::check_target) for both weights files and their sidecars.
    let inputs: Vec<PathBuf> = std::iter::once(vgg)
        .chain(decoder)
        .map(Path::to_path_buf)
        .collect();
    for name in [adain::vgg::ENCODER_WEIGHTS, adain::onnx::DECODER_WEIGHTS] {
        let file = out_dir.join(name);
        let sidecar = adain::onnx::provenance_path(&file);
        for (path, writes, same_kind) in [
            (
                &file,
                "safetensors weights",
                &adain::fsutil::is_safetensors as &dyn Fn(&Path) -> bool,
            ),
            (&sidecar, "a provenance sidecar (JSON)", &|p: &Path| {
                adain::fsutil::starts_with(p, b"{")
            }),
        ] {
            adain::fsutil::check_target(
                path,
                &adain::fsutil::Target {
                    option: "--out-dir",
                    writes,
                    same_kind,
                    inputs: &inputs,
                    force,
                },
            )?;
        }
    }
    let (enc, dec) = adain::weights_import::import_pth(vgg, decoder, out_dir)?;
    if let (Some(to), Some(dec)) = (to, dec) {
        export(
            &enc,
            &dec,
            &to,
            Precision::Fp32,
            false,
            force,
            &Default::default(),
        )?;
    }
    Ok(())
}
