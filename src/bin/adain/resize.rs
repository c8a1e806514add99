//! `adain resize`: images resized by the pipeline's own loader, saved as JPEG.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ResizeArgs {
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
    /// Replace files in --out that are not JPEGs.
    #[arg(long)]
    force: bool,
}

pub fn parse_fit(s: &str) -> Result<adain::imaging::Fit, String> {
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

pub fn resize(a: ResizeArgs) -> anyhow::Result<()> {
    let mut found = adain::inputs::discover_some("image", &a.inputs, false)?;
    if let Some(n) = a.limit {
        found.truncate(n);
    }
    // Resized copies written into the folder they come from would replace the originals
    // (a.jpg -> a.jpg) or mix with them.
    if let Ok(out) = a.out.canonicalize()
        && let Some(i) = found.iter().find(|i| {
            i.path
                .parent()
                .and_then(|p| p.canonicalize().ok())
                .is_some_and(|p| p == out)
        })
    {
        anyhow::bail!(
            "resize --out {}: it is the folder of the input {}; write the resized copies elsewhere",
            a.out.display(),
            i.path.display()
        );
    }
    let inputs: Vec<PathBuf> = found.iter().map(|i| i.path.clone()).collect();
    for input in &found {
        let out = a.out.join(format!("{}.jpg", input.name));
        adain::fsutil::check_target(
            &out,
            &adain::fsutil::Target {
                option: "resize --out",
                writes: "a resized JPEG",
                same_kind: &|p| adain::fsutil::starts_with(p, &[0xFF, 0xD8, 0xFF]),
                inputs: &inputs,
                force: a.force,
            },
        )?;
        let img = adain::imaging::load_fitted(&input.path, a.to)?;
        let rgb = adain::imaging::to_rgb8(img.data.view());
        adain::imaging::Encoding::Jpeg { quality: a.quality }.save(&out, &rgb)?;
    }
    say!("{}: {} image(s)", a.out.display(), found.len());
    Ok(())
}
