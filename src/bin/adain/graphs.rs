//! The ONNX graphs: `adain export` (each precision's graphs from safetensors weights) and `adain
//! info` (the metadata they carry).

use std::path::PathBuf;

use adain::model::{self, Weights};
use adain::onnx::Precision;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Encoder weights (keys 0..29 of vgg_normalised.pth). Default: models/
    /// vgg_normalised.safetensors in the checkout, else in the data folder (docs/setup.md).
    #[arg(long, value_name = "FILE")]
    encoder: Option<PathBuf>,
    /// Decoder weights (decoder.pth keys). Without it, --random-decoder is required.
    #[arg(long, value_name = "FILE", conflicts_with = "random_decoder")]
    decoder: Option<PathBuf>,
    /// Use a seeded random (untrained) decoder: the stand-in until a trained one exists.
    #[arg(long, value_name = "SEED")]
    random_decoder: Option<u64>,
    /// Output folder. Default: the checkout's onnx/, else the data folder's.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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
    /// Content images for int8 calibration (folders or files). Default: the demo photos.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    calibration_content: Vec<PathBuf>,
    /// Style images for int8 calibration (folders or files). Default: the demo paintings.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    calibration_style: Vec<PathBuf>,
    /// Do nothing when the folder already holds every graph exported from these weights by
    /// this version (set-up runs this on every call).
    #[arg(long)]
    if_stale: bool,
    /// Replace files in --out named like a graph that hold something other than an ONNX model.
    #[arg(long)]
    force: bool,
}

/// Writes the graphs of `precision` into `out`, unless `if_stale` and they are current. int8
/// graphs are calibrated on `cal`'s images; the fp32 graphs must be there first. Every target
/// passes the write guard first (`fsutil::check_target`): no device, FIFO or folder is
/// replaced, nor the weights read, nor (without `force`) a file that is not an ONNX model.
pub fn export(
    enc: &Weights,
    dec: &Weights,
    out: &std::path::Path,
    precision: Precision,
    if_stale: bool,
    force: bool,
    cal: &adain::quantize::Calibration,
) -> anyhow::Result<()> {
    if if_stale && adain::onnx::is_current(out, enc, dec, precision) {
        say!("{}: {precision} graphs up to date", out.display());
        return Ok(());
    }
    let inputs = [enc.path.clone(), dec.path.clone()];
    for graph in precision.own_graphs() {
        adain::fsutil::check_target(
            &out.join(precision.file(graph)),
            &adain::fsutil::Target {
                option: "--out",
                writes: "an ONNX graph",
                same_kind: &adain::fsutil::is_onnx,
                inputs: &inputs,
                force,
            },
        )?;
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
    let encoder = match a.encoder {
        Some(e) => e,
        None => {
            adain::paths::resource_or_default(adain::paths::WEIGHTS, adain::vgg::ENCODER_WEIGHTS)?
        }
    };
    let out = match a.out {
        Some(o) => o,
        None => adain::paths::home(adain::paths::MODELS)?,
    };
    let enc = Weights::load(&encoder, model::ENCODER)?;
    let dec = match (&a.decoder, a.random_decoder) {
        (Some(p), _) => Weights::load(p, model::DECODER)?,
        (None, Some(seed)) => Weights::random(model::DECODER, seed),
        (None, None) => {
            anyhow::bail!("give --decoder FILE, or --random-decoder SEED for an untrained stand-in")
        }
    };
    let mut cal = adain::quantize::Calibration::default();
    if !a.calibration_content.is_empty() {
        cal.content = a.calibration_content;
    }
    if !a.calibration_style.is_empty() {
        cal.style = a.calibration_style;
    }
    // Other precisions live beside the fp32 graphs and share some of them.
    let wanted = [
        (true, Precision::Fp32),
        (a.half, Precision::Fp16),
        (a.int8, Precision::Int8),
    ];
    for (_, p) in wanted.into_iter().filter(|(on, _)| *on) {
        export(&enc, &dec, &out, p, a.if_stale, a.force, &cal)?;
    }
    Ok(())
}

/// `adain info`: where each piece of the installation was found and why, then every fp32
/// graph's metadata in `dir` (default: the models folder adain-batch would use; a missing
/// graph is an error), then the other precisions' present. `--cost`: the networks'
/// multiply-adds per pixel instead.
pub fn info(dir: Option<PathBuf>, cost: bool) -> anyhow::Result<()> {
    let mut out = String::new();
    let r = info_text(&mut out, dir, cost);
    adain::console::answer(&out)?;
    r
}

/// `writeln!` into a String, which cannot fail.
macro_rules! outln {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

fn info_text(out: &mut String, dir: Option<PathBuf>, cost: bool) -> anyhow::Result<()> {
    if cost {
        outln!(
            out,
            "encoder {}",
            adain::model::macs_per_pixel(adain::model::ENCODER)
        );
        outln!(
            out,
            "decoder {}",
            adain::model::macs_per_pixel(adain::model::DECODER)
        );
        return Ok(());
    }
    use adain::paths;
    let pieces = [
        ("onnx runtime", paths::onnxruntime_dylib()),
        ("models", paths::models_dir()),
        (
            "encoder weights",
            paths::resource(paths::WEIGHTS, adain::vgg::ENCODER_WEIGHTS),
        ),
        (
            "quality judge",
            paths::resource(paths::WEIGHTS, adain::vgg::JUDGE_WEIGHTS),
        ),
        ("python", paths::python()),
    ];
    outln!(
        out,
        "where each piece was found (docs/setup.md; never the current folder):"
    );
    let mut models = None;
    for (name, found) in pieces {
        match found {
            Ok(f) => {
                outln!(out, "  {name}: {} ({})", f.path.display(), f.why);
                if name == "models" {
                    models = Some(f.path);
                }
            }
            Err(e) => {
                let text = e.to_string().replace('\n', "\n    ");
                outln!(out, "  {name}: not found: {text}");
            }
        }
    }
    match paths::data_dir() {
        Some(d) => outln!(
            out,
            "  data folder: {}{}",
            d.display(),
            if d.is_dir() {
                ""
            } else {
                " (not made yet: `adain setup`)"
            }
        ),
        None => outln!(out, "  data folder: none (set HOME or XDG_DATA_HOME)"),
    }
    // Only video contents need FFmpeg; photos never do.
    match adain::video::Tools::find(None) {
        Ok(t) => outln!(
            out,
            "  ffmpeg (videos only): {}, {}",
            t.ffmpeg.display(),
            t.ffprobe.display()
        ),
        Err(e) => outln!(out, "  ffmpeg (videos only): not found: {e}"),
    }
    let Some(dir) = dir.or(models) else {
        return Ok(());
    };
    let dir = dir.as_path();
    outln!(out);
    // The graphs adain-batch needs (missing ones are an error), then every other one present;
    // the optional fp32 graphs that are absent (an installed wheel ships only what adain-batch
    // runs) are named on one line.
    use adain::onnx::{ADAIN_FILE, DECODER_FILE, ENCODER_FILE};
    let required = [ENCODER_FILE, ADAIN_FILE, DECODER_FILE];
    let graphs = [Precision::Fp32, Precision::Fp16, Precision::Int8]
        .into_iter()
        .flat_map(|p| {
            p.own_graphs()
                .iter()
                .map(move |g| (p, *g, dir.join(p.file(g))))
        });
    let mut absent = Vec::new();
    for (precision, graph, path) in graphs {
        let needed = precision == Precision::Fp32 && required.contains(&graph);
        if needed && !path.is_file() {
            anyhow::bail!(
                "{}: missing (adain-batch needs it; `adain export` or `adain setup` writes it)",
                path.display()
            );
        }
        if !needed && !path.is_file() {
            if precision == Precision::Fp32 {
                absent.push(graph);
            }
            continue;
        }
        outln!(out, "{}", path.display());
        for (k, v) in adain::onnx::read_metadata(&path)? {
            let v = if v.len() > 200 {
                format!("{}... ({} chars)", &v[..200], v.len())
            } else {
                v
            };
            outln!(out, "  {k}: {v}");
        }
    }
    if !absent.is_empty() {
        outln!(
            out,
            "not in {} (optional; `adain export` writes them): {}",
            dir.display(),
            absent.join(", ")
        );
    }
    Ok(())
}
