//! `adain quality`: scores a folder of stylized outputs against their content and style images,
//! so decoders, alphas, precisions and other tools can be compared on the same pairs.
//!
//! The judge is the raw ImageNet VGG-19 (not the Gatys-normalised encoder the decoder was trained
//! against), run through ONNX Runtime; the measures are defined in [`crate::metrics`]. Each output
//! is judged at its own size, with the content resized to it; style images are judged at a fixed
//! shorter side. A missing output is counted, an unreadable file is an error row naming it, and
//! neither stops the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch::plan;
use crate::error::{Error, Result};
use crate::imaging::{self, Image, Sizing};
use crate::inputs::Input;
use crate::metrics;
use crate::runtime::{Judge, Judged, RuntimeConfig};

/// What to score.
#[derive(Debug, Clone)]
pub struct QualityConfig {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub outputs: PathBuf,
    /// Output file name with `{content}`, `{style}` and `{alpha}` placeholders; content and style
    /// names are adain-batch's (path below the folder, no extension, `/` as `__`).
    pub pattern: String,
    /// Alphas substituted into `{alpha}` (written as adain-batch writes them).
    pub alphas: Vec<f32>,
    /// Name of the method in the tables (e.g. the decoder or tool).
    pub label: String,
    /// The judge graph (see [`crate::onnx::export_judge`]).
    pub judge: PathBuf,
    /// Shorter side style images are judged at (adain-batch's default --style-size).
    pub style_size: u32,
    /// Use at most this many content and style images (sorted order).
    pub limit: Option<usize>,
    /// A folder of reference outputs with the same names (e.g. the fp32 run beside an int8
    /// one): each output's pixel difference to its reference is reported too.
    pub reference: Option<PathBuf>,
    pub runtime: RuntimeConfig,
}

/// Whether an output was scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityStatus {
    Ok,
    Missing,
    Error,
}

/// One output's scores (a row of the per-output CSV, which reads back into it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QualityRow {
    // Labels, names and notes come from users: written so that no spreadsheet runs them.
    #[serde(with = "crate::csv_text")]
    pub method: String,
    #[serde(with = "crate::csv_text")]
    pub content: String,
    #[serde(with = "crate::csv_text")]
    pub style: String,
    pub alpha: String,
    #[serde(with = "crate::csv_text")]
    pub output: String,
    pub status: QualityStatus,
    #[serde(with = "crate::csv_text")]
    pub note: String,
    pub style_error: Option<f64>,
    pub content_error: Option<f64>,
    pub ssim: Option<f64>,
    /// Mean and max |difference| to the reference output, in 1/255 steps (with `reference`).
    pub ref_mean_abs: Option<f64>,
    pub ref_max_abs: Option<f64>,
}

/// Means over the scored outputs of one method at one alpha.
#[derive(Debug, Clone, Serialize)]
pub struct QualitySummary {
    #[serde(serialize_with = "crate::csv_text::serialize")]
    pub method: String,
    pub alpha: String,
    pub pairs: usize,
    pub scored: usize,
    pub missing: usize,
    pub errors: usize,
    pub style_error: f64,
    pub content_error: f64,
    pub ssim: f64,
    /// Mean of the outputs' mean |difference| to the reference, and the largest single pixel
    /// difference, in 1/255 steps (None without a reference).
    pub ref_mean_abs: Option<f64>,
    pub ref_max_abs: Option<f64>,
}

fn inputs(what: &str, roots: &[PathBuf], limit: Option<usize>) -> Result<Vec<Input>> {
    let mut found = crate::inputs::discover_some(what, roots, false)?;
    if let Some(n) = limit {
        found.truncate(n);
    }
    Ok(found)
}

/// The output file of one (content, style, alpha).
pub fn output_name(pattern: &str, content: &str, style: &str, alpha: f32) -> String {
    pattern
        .replace("{content}", content)
        .replace("{style}", style)
        .replace("{alpha}", &plan::alpha_label(alpha))
}

/// Scores every content x style x alpha output; `progress` is told each finished output.
pub fn run(cfg: &QualityConfig, progress: &dyn Fn(&QualityRow)) -> Result<Vec<QualityRow>> {
    if !cfg.outputs.is_dir() {
        return Err(Error::Invalid(format!(
            "--outputs '{}': not a folder",
            cfg.outputs.display()
        )));
    }
    if !cfg.pattern.contains("{content}") || !cfg.pattern.contains("{style}") {
        return Err(Error::Invalid(format!(
            "--pattern '{}': needs {{content}} and {{style}}",
            cfg.pattern
        )));
    }
    let alphas: Vec<f32> = if cfg.pattern.contains("{alpha}") {
        if cfg.alphas.is_empty() {
            return Err(Error::Invalid(
                "--pattern has {alpha}: give --alphas".into(),
            ));
        }
        cfg.alphas.clone()
    } else {
        vec![f32::NAN]
    };
    let contents = inputs("content", &cfg.content, cfg.limit)?;
    let styles = inputs("style", &cfg.style, cfg.limit)?;
    let mut judge = Judge::open(&cfg.judge, &cfg.runtime)?;

    let style_sizing = Sizing {
        short_side: cfg.style_size,
        crop: false,
        max_pixels: imaging::DEFAULT_MAX_PIXELS,
    };
    let mut style_stats: HashMap<String, std::result::Result<Judged, String>> = HashMap::new();
    for s in &styles {
        let r = imaging::load(&s.path, &style_sizing)
            .and_then(|img| judge.judge(img.data.view()))
            .map_err(|e| e.to_string());
        style_stats.insert(s.name.clone(), r);
    }
    let full = Sizing {
        short_side: 0,
        crop: false,
        max_pixels: imaging::DEFAULT_MAX_PIXELS,
    };
    let mut rows = Vec::new();
    for c in &contents {
        let content_img = imaging::load(&c.path, &full).map_err(|e| e.to_string());
        // Content judged once per output size (outputs of one content usually share it).
        let mut content_at: HashMap<(u32, u32), (Image, Judged)> = HashMap::new();
        for s in &styles {
            for &alpha in &alphas {
                let name = output_name(&cfg.pattern, &c.name, &s.name, alpha);
                let path = cfg.outputs.join(&name);
                let mut row = QualityRow {
                    method: cfg.label.clone(),
                    content: c.path.display().to_string(),
                    style: s.path.display().to_string(),
                    alpha: if alpha.is_nan() {
                        String::new()
                    } else {
                        plan::alpha_label(alpha)
                    },
                    output: path.display().to_string(),
                    status: QualityStatus::Ok,
                    note: String::new(),
                    style_error: None,
                    content_error: None,
                    ssim: None,
                    ref_mean_abs: None,
                    ref_max_abs: None,
                };
                let reference = cfg.reference.as_ref().map(|d| d.join(&name));
                match score(
                    &mut judge,
                    &path,
                    &content_img,
                    &style_stats[&s.name],
                    &mut content_at,
                    &full,
                    reference.as_deref(),
                ) {
                    Ok(None) => row.status = QualityStatus::Missing,
                    Ok(Some(sc)) => {
                        row.style_error = Some(sc.style_error);
                        row.content_error = Some(sc.content_error);
                        row.ssim = Some(sc.ssim);
                        row.ref_mean_abs = sc.reference.map(|r| r.0);
                        row.ref_max_abs = sc.reference.map(|r| r.1);
                        row.note = sc.note;
                    }
                    Err(e) => {
                        row.status = QualityStatus::Error;
                        row.note = e;
                    }
                }
                progress(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// One output's measures.
struct Scores {
    style_error: f64,
    content_error: f64,
    ssim: f64,
    /// (mean, max) |difference| to the reference output in 1/255 steps.
    reference: Option<(f64, f64)>,
    note: String,
}

fn score(
    judge: &mut Judge,
    output: &Path,
    content: &std::result::Result<Image, String>,
    style: &std::result::Result<Judged, String>,
    content_at: &mut HashMap<(u32, u32), (Image, Judged)>,
    full: &Sizing,
    reference: Option<&Path>,
) -> std::result::Result<Option<Scores>, String> {
    // An unreadable input is the row's story even when (as usual) its output is missing too.
    let content = content.as_ref().map_err(|e| format!("content: {e}"))?;
    let style = style.as_ref().map_err(|e| format!("style: {e}"))?;
    if !output.exists() {
        return Ok(None);
    }
    let out = imaging::load(output, full).map_err(|e| e.to_string())?;
    let (w, h) = (out.width(), out.height());
    let mut note = String::new();
    let (cw, ch) = (content.width(), content.height());
    let (ra, rc) = (w as f64 / h as f64, cw as f64 / ch as f64);
    if (ra / rc - 1.0).abs() > 0.01 {
        note = format!(
            "aspect ratio {w}x{h} differs from the content's {cw}x{ch}; content resized to it"
        );
    }
    let (c_img, c_judged) = match content_at.entry((w, h)) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let resized = imaging::resize_exact(content, w, h);
            let judged = judge
                .judge(resized.data.view())
                .map_err(|e| e.to_string())?;
            e.insert((resized, judged))
        }
    };
    let o = judge.judge(out.data.view()).map_err(|e| e.to_string())?;
    let reference = match reference {
        None => None,
        Some(r) => {
            let r = imaging::load(r, full).map_err(|e| format!("reference: {e}"))?;
            if r.data.dim() != out.data.dim() {
                return Err(format!(
                    "reference is {}x{}, the output {w}x{h}",
                    r.width(),
                    r.height()
                ));
            }
            Some(metrics::abs_difference_255(out.data.view(), r.data.view()))
        }
    };
    Ok(Some(Scores {
        style_error: metrics::style_error(&o.stats, &style.stats),
        content_error: metrics::content_error(&o.features, &c_judged.features),
        ssim: metrics::ssim_luma(out.data.view(), c_img.data.view()),
        reference,
        note,
    }))
}

/// Means per (method, alpha), in first-seen order.
pub fn summarise(rows: &[QualityRow]) -> Vec<QualitySummary> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.method.clone(), r.alpha.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(method, alpha)| {
            let group: Vec<&QualityRow> = rows
                .iter()
                .filter(|r| r.method == method && r.alpha == alpha)
                .collect();
            let ok: Vec<&&QualityRow> = group
                .iter()
                .filter(|r| r.status == QualityStatus::Ok)
                .collect();
            // No scored output has no mean: NaN, never a 0 that would rank first.
            let mean = |f: fn(&QualityRow) -> Option<f64>| {
                ok.iter().filter_map(|r| f(r)).sum::<f64>() / ok.len() as f64
            };
            QualitySummary {
                pairs: group.len(),
                scored: ok.len(),
                missing: group
                    .iter()
                    .filter(|r| r.status == QualityStatus::Missing)
                    .count(),
                errors: group
                    .iter()
                    .filter(|r| r.status == QualityStatus::Error)
                    .count(),
                style_error: mean(|r| r.style_error),
                content_error: mean(|r| r.content_error),
                ssim: mean(|r| r.ssim),
                ref_mean_abs: ok
                    .iter()
                    .all(|r| r.ref_mean_abs.is_some())
                    .then(|| mean(|r| r.ref_mean_abs))
                    .filter(|_| !ok.is_empty()),
                ref_max_abs: ok.iter().filter_map(|r| r.ref_max_abs).reduce(f64::max),
                method,
                alpha,
            }
        })
        .collect()
}

/// Writes `rows` to `path` and the summary beside it (`<stem>.summary.csv`), atomically.
pub fn write_reports(
    path: &Path,
    rows: &[QualityRow],
    summary: &[QualitySummary],
) -> Result<PathBuf> {
    fn csv_bytes<T: Serialize>(items: &[T]) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in items {
            w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
        }
        w.into_inner().map_err(|e| Error::Invalid(e.to_string()))
    }
    crate::fsutil::write_atomic(path, &csv_bytes(rows)?)?;
    let spath = path.with_extension("summary.csv");
    crate::fsutil::write_atomic(&spath, &csv_bytes(summary)?)?;
    Ok(spath)
}

/// The summary as an aligned text table.
pub fn table(summary: &[QualitySummary]) -> String {
    let w = summary
        .iter()
        .map(|r| r.method.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let with_ref = summary.iter().any(|r| r.ref_mean_abs.is_some());
    let mut s = format!(
        "{:<w$} {:>6} {:>6} {:>7} {:>6} {:>12} {:>14} {:>8}",
        "method", "alpha", "scored", "missing", "errors", "style error", "content error", "SSIM"
    );
    if with_ref {
        s.push_str(" |diff| to reference (mean, max, /255)");
    }
    s.push('\n');
    for r in summary {
        s.push_str(&format!(
            "{:<w$} {:>6} {:>6} {:>7} {:>6} {:>12.4} {:>14.4} {:>8.4}",
            r.method,
            r.alpha,
            r.scored,
            r.missing,
            r.errors,
            r.style_error,
            r.content_error,
            r.ssim
        ));
        if let (Some(m), Some(x)) = (r.ref_mean_abs, r.ref_max_abs) {
            s.push_str(&format!(" {m:.2}, {x:.0}"));
        }
        s.push('\n');
    }
    s
}
