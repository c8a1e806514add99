//! The ONNX graphs: `adain export` (each precision's graphs from safetensors weights) and `adain
//! info` (the metadata they carry).

use std::path::{Path, PathBuf};

use adain::model::{self, Weights};
use adain::onnx::Precision;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Encoder weights (keys 0..29 of vgg_normalised.pth).
    #[arg(
        long,
        default_value = "models/vgg_normalised.safetensors",
        value_name = "FILE"
    )]
    encoder: PathBuf,
    /// Decoder weights (decoder.pth keys). Without it, --random-decoder is required.
    #[arg(long, value_name = "FILE", conflicts_with = "random_decoder")]
    decoder: Option<PathBuf>,
    /// Use a seeded random (untrained) decoder: the stand-in until a trained one exists.
    #[arg(long, value_name = "SEED")]
    random_decoder: Option<u64>,
    /// Output folder.
    #[arg(long, default_value = "onnx", value_name = "DIR")]
    out: PathBuf,
    /// Also write half-precision graphs beside the fp32 ones (`*.fp16.onnx`): encoder and
    /// decoder convolutions in float16; statistics, AdaIN, inputs and outputs stay float32.
    /// Outputs stay within 2/255 of fp32 (tests/interop.rs).
    #[arg(long)]
    half: bool,
    /// Also write `decoder.int8.onnx` and `encoder.int8.onnx` (style statistics only; contents
    /// stay float32): statically quantised by ONNX Runtime's quantiser (python/quantize.py, in
    /// the project venv), calibrated on the --calibration-* images and their AdaIN targets.
    /// adain-batch runs them with --precision int8.
    #[arg(long)]
    int8: bool,
    /// Content images for int8 calibration (folders or files).
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = adain::paths::DEMO_CONTENT)]
    calibration_content: Vec<PathBuf>,
    /// Style images for int8 calibration (folders or files).
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = adain::paths::DEMO_STYLE)]
    calibration_style: Vec<PathBuf>,
    /// Do nothing when the folder already holds every graph exported from these weights by
    /// this version (set-up runs this on every call).
    #[arg(long)]
    if_stale: bool,
}

/// Writes the graphs of `precision` into `out`, unless `if_stale` and they are current. int8
/// graphs are calibrated on `cal`'s images; the fp32 graphs must be there first.
pub fn export(
    enc: &Weights,
    dec: &Weights,
    out: &std::path::Path,
    precision: Precision,
    if_stale: bool,
    cal: &adain::quantize::Calibration,
) -> anyhow::Result<()> {
    if if_stale && adain::onnx::is_current(out, enc, dec, precision) {
        say!("{}: {precision} graphs up to date", out.display());
        return Ok(());
    }
    let files = match precision {
        Precision::Int8 => adain::quantize::export_int8(out, cal)?,
        p => adain::onnx::export_with(enc, dec, out, p)?
            .files
            .into_iter()
            .map(|(path, _)| path)
            .collect(),
    };
    for path in files {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        say!("wrote {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    }
    Ok(())
}

/// `adain export`: the fp32 graphs, and those of `--half` / `--int8` beside them.
pub fn export_cmd(a: ExportArgs) -> anyhow::Result<()> {
    let enc = Weights::load(&a.encoder, model::ENCODER)?;
    let dec = match (&a.decoder, a.random_decoder) {
        (Some(p), _) => Weights::load(p, model::DECODER)?,
        (None, Some(seed)) => Weights::random(model::DECODER, seed),
        (None, None) => {
            anyhow::bail!("give --decoder FILE, or --random-decoder SEED for an untrained stand-in")
        }
    };
    let cal = adain::quantize::Calibration {
        content: a.calibration_content,
        style: a.calibration_style,
        ..Default::default()
    };
    // Other precisions live beside the fp32 graphs and share some of them.
    let wanted = [
        (true, Precision::Fp32),
        (a.half, Precision::Fp16),
        (a.int8, Precision::Int8),
    ];
    for (_, p) in wanted.into_iter().filter(|(on, _)| *on) {
        export(&enc, &dec, &a.out, p, a.if_stale, &cal)?;
    }
    Ok(())
}

/// `adain info`: every fp32 graph's metadata (a missing one is an error), then the other
/// precisions' present.
pub fn info(dir: &Path, cost: bool) -> anyhow::Result<()> {
    if cost {
        println!(
            "encoder {}",
            adain::model::macs_per_pixel(adain::model::ENCODER)
        );
        println!(
            "decoder {}",
            adain::model::macs_per_pixel(adain::model::DECODER)
        );
        return Ok(());
    }
    // Every fp32 graph (missing ones are an error), then the other precisions' present.
    let graphs = [Precision::Fp32, Precision::Fp16, Precision::Int8]
        .into_iter()
        .flat_map(|p| p.own_graphs().iter().map(move |g| (p, dir.join(p.file(g)))));
    for (precision, path) in graphs {
        if precision != Precision::Fp32 && !path.is_file() {
            continue;
        }
        println!("{}", path.display());
        for (k, v) in adain::onnx::read_metadata(&path)? {
            let v = if v.len() > 200 {
                format!("{}... ({} chars)", &v[..200], v.len())
            } else {
                v
            };
            println!("  {k}: {v}");
        }
    }
    Ok(())
}
