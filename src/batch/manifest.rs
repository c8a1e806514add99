//! The run manifest, `OUT/.adain-manifest.json`: the settings that change an output's bytes
//! (the graphs, by hash; provider and precision; content and style sizing; format and JPEG
//! quality; preserve-color, mix, masks, tiling). Resume skips outputs that exist; without this,
//! re-running into the same folder with another `--precision` or decoder reported every old
//! output as skipped, and the folder silently held outputs of other settings than the command
//! says. A run whose settings differ from its folder's manifest is refused, naming each
//! difference, unless `--overwrite` (which remakes every output, then the manifest holds the
//! new settings). Shards of one run write the same manifest; a shard with other settings is
//! refused like any other run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::BatchConfig;
use crate::error::{Error, Result};
use crate::imaging::Encoding;

pub const FILE: &str = ".adain-manifest.json";

/// Setting name -> value, as written (a map, so that a manifest from a later version with more
/// settings still reads and every difference is named).
pub type Manifest = BTreeMap<String, serde_json::Value>;

/// This run's manifest.
pub fn of(
    cfg: &BatchConfig,
    graphs: &[PathBuf],
    provider: &str,
    precision: &str,
) -> Result<Manifest> {
    let mut m = Manifest::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(k.to_string(), v);
    };
    for g in graphs {
        let bytes = crate::fsutil::read_regular(g)?;
        let name = g
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        put(
            &format!("graph {name}"),
            crate::model::hex_sha256(&bytes).into(),
        );
    }
    put("provider", provider.into());
    put("precision", precision.into());
    put("content size", format!("{:?}", cfg.content_sizing).into());
    put("style size", format!("{:?}", cfg.style_sizing).into());
    // The keys of the manifests written before Encoding, so those folders still resume.
    put(
        "format",
        format!("{:?}", cfg.encoding.format()).to_lowercase().into(),
    );
    if let Encoding::Jpeg { quality } = cfg.encoding {
        put("quality", quality.into());
    }
    put("preserve color", cfg.preserve_color.into());
    // Recorded only when on, so folders made before `--detail` existed still resume.
    if cfg.detail {
        put("detail", true.into());
    }
    put("mix", serde_json::to_value(&cfg.mix).unwrap_or_default());
    put(
        "mask",
        cfg.mask.as_ref().map(|p| p.display().to_string()).into(),
    );
    put("tile", cfg.tile.into());
    Ok(m)
}

/// The differences of `now` from `before`, one line each ("precision: int8 in the folder, fp32
/// now").
pub fn differences(before: &Manifest, now: &Manifest) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
    let show = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(t)) => readable_sizing(t).unwrap_or_else(|| t.clone()),
        Some(v) => v.to_string(),
        None => "(not set)".into(),
    };
    keys.into_iter()
        .filter(|k| before.get(*k) != now.get(*k))
        .map(|k| {
            format!(
                "{k}: {} in the folder, {} now",
                show(before.get(k)),
                show(now.get(k))
            )
        })
        .collect()
}

/// A sizing as the manifest keeps it (`Sizing`'s debug text, the form folders were written with,
/// so it stays the key compared) in the options' words: "--content-size 512", "full size (at
/// most 50000000 pixels)", with ", square crop". `None` for any other text.
fn readable_sizing(t: &str) -> Option<String> {
    let body = t.strip_prefix("Sizing { ")?.strip_suffix(" }")?;
    let field = |name: &str| {
        body.split(", ")
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix(": "))
    };
    let side: u32 = field("short_side")?.parse().ok()?;
    let crop = field("crop")? == "true";
    let mut out = match side {
        0 => format!("full size (at most {} pixels)", field("max_pixels")?),
        n => format!("shorter side {n}"),
    };
    if crop {
        out.push_str(", square crop");
    }
    Some(out)
}

/// Checks `now` against the folder's manifest (refusing a run with other settings unless
/// `overwrite`), then writes it. A folder without one (new, or from before manifests) gets it.
pub fn check_and_write(out: &Path, now: &Manifest, overwrite: bool) -> Result<()> {
    let path = out.join(FILE);
    if path.exists() && !overwrite {
        let bytes = crate::fsutil::read_regular(&path)?;
        let before: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{}: not a run manifest: {e}", path.display())))?;
        let diff = differences(&before, now);
        if !diff.is_empty() {
            return Err(Error::Invalid(format!(
                "{} holds outputs made with other settings ({}); resuming would mix them. \
                 Use another --out, the folder's settings, or --overwrite to remake every output:\n  {}",
                out.display(),
                path.display(),
                diff.join("\n  ")
            )));
        }
        return Ok(());
    }
    let json = serde_json::to_string_pretty(now).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(&path, json.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_setting_both_ways() {
        let a: Manifest = [("precision", "int8"), ("format", "jpg")]
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
            .into();
        let mut b = a.clone();
        assert!(differences(&a, &b).is_empty());
        b.insert("precision".into(), "fp32".into());
        b.insert("tile".into(), 512.into());
        let d = differences(&a, &b);
        assert_eq!(
            d,
            [
                "precision: int8 in the folder, fp32 now",
                "tile: (not set) in the folder, 512 now"
            ]
        );
        // Sizes read as sizes, from the text folders hold.
        let size = |s: crate::imaging::Sizing| {
            [("content size", format!("{s:?}"))]
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                .into()
        };
        let d = differences(
            &size(crate::imaging::Sizing::default()),
            &size(crate::imaging::Sizing {
                short_side: 0,
                crop: true,
                max_pixels: 7,
            }),
        );
        assert_eq!(
            d,
            [
                "content size: shorter side 512 in the folder, full size (at most 7 pixels), square crop now"
            ]
        );
    }
}
