//! `adain eval` (feature "train"): the paper's mean content and style loss of decoders over
//! content x style pairs, on the tch encoder.

use std::path::PathBuf;

use adain::model::{self, Weights};

#[derive(clap::Args)]
pub struct EvalArgs {
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
    /// Default: models/vgg_normalised.safetensors in the checkout (or the data folder).
    #[arg(long, value_name = "FILE")]
    encoder: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = adain::train::DeviceChoice::Cpu)]
    device: adain::train::DeviceChoice,
    /// Folder for one CSV per decoder (per-pair losses and a MEAN row) and summary.csv.
    #[arg(long, default_value = "outputs/eval", value_name = "DIR")]
    out: PathBuf,
}

pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
    use adain::train::{self, data, eval};
    let take = |mut v: Vec<PathBuf>| {
        if let Some(n) = a.limit {
            v.truncate(n);
        }
        v
    };
    let contents = take(data::list_images("content", &a.content)?);
    let styles = take(data::list_images("style", &a.style)?);
    let device = train::resolve_device(a.device)?;
    let encoder = match a.encoder.clone() {
        Some(e) => e,
        None => {
            adain::paths::resource_or_default(adain::paths::WEIGHTS, adain::vgg::ENCODER_WEIGHTS)?
        }
    };
    let enc = Weights::load(&encoder, model::ENCODER)?;
    let mut summary = String::from("decoder,pairs,content_loss,style_loss,weighted_total\n");
    for d in &a.decoder {
        let dec = match d.strip_prefix("random:") {
            Some(seed) => Weights::random(model::DECODER, seed.parse()?),
            None => train::load_decoder_file(std::path::Path::new(d))?,
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
        // The paper's weighting (uniform over the style layers), as the trainer's defaults
        // hold it.
        let cfg = adain::train::TrainConfig::default();
        let (wc, ws) = (cfg.content_weight, cfg.style_weight);
        let total = wc * c + ws * s;
        println!(
            "{d}: {} pairs, content loss {c:.4}, style loss {s:.4}, total ({}, {}) {total:.4}",
            rows.len(),
            wc,
            ws
        );
        summary.push_str(&format!("{d},{},{c},{s},{total}\n", rows.len()));
    }
    adain::fsutil::write_atomic(&a.out.join("summary.csv"), summary.as_bytes())?;
    say!("wrote {}", a.out.join("summary.csv").display());
    Ok(())
}
