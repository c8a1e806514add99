//! `adain quality`: outputs scored against their content and style images by the independent
//! judge, and the exit code of a run where some outputs could not be scored.

use std::path::PathBuf;

use adain::model::{self, Weights};

#[derive(clap::Args)]
pub struct QualityArgs {
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
    /// Judge weights: the unnormalised ImageNet VGG-19 (made by scripts/setup.sh or `adain
    /// setup`). Default: models/vgg_imagenet.safetensors in the checkout, else the data folder.
    #[arg(long, value_name = "FILE")]
    judge: Option<PathBuf>,
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
    /// Replace --report (and its .summary.csv) even when they hold something other than
    /// `adain quality` tables.
    #[arg(long)]
    force: bool,
}

pub fn quality(a: QualityArgs) -> anyhow::Result<()> {
    // Checked before the (long) scoring: the report and its summary replace only tables of ours.
    // The images themselves (folders listed), so that even --force never writes over one.
    let mut inputs: Vec<PathBuf> = a.content.iter().chain(&a.style).cloned().collect();
    for (what, paths) in [("content", &a.content), ("style", &a.style)] {
        if let Ok(found) = adain::inputs::discover_some(what, paths, true) {
            inputs.extend(found.into_iter().map(|i| i.path));
        }
    }
    for (path, writes) in [
        (a.report.clone(), "the per-output scores (CSV)"),
        (a.report.with_extension("summary.csv"), "the summary (CSV)"),
    ] {
        adain::fsutil::check_target(
            &path,
            &adain::fsutil::Target {
                option: "quality --report",
                writes,
                same_kind: &|p| adain::fsutil::starts_with(p, b"method,"),
                inputs: &inputs,
                force: a.force,
            },
        )?;
    }
    let judge = match a.judge.clone() {
        Some(j) => j,
        None => {
            adain::paths::resource_or_default(adain::paths::WEIGHTS, adain::vgg::JUDGE_WEIGHTS)?
        }
    };
    let w = Weights::load(&judge, model::ENCODER)?;
    let tmp = tempfile::tempdir()?;
    let judge = adain::onnx::export_judge(&w, tmp.path())?;
    let cfg = adain::quality::QualityConfig {
        content: a.content,
        style: a.style,
        outputs: a.outputs,
        pattern: a.pattern.clone(),
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
        QualityStatus::Missing => say!(
            "missing: {}",
            adain::console::escape_controls(&r.output, false)
        ),
        QualityStatus::Error if said.lock().expect("lock").insert(r.note.clone()) => {
            say!("error: {}", adain::console::escape_controls(&r.note, false))
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
    // A method and alpha with nothing scored has no score at all; its summary row says NaN,
    // and the run has failed. Said apart: outputs not found (a typo in --alphas or --pattern)
    // and outputs found but unreadable (their error rows say why).
    let unscored: Vec<String> = summary
        .iter()
        .filter(|s| s.scored == 0)
        .map(|s| {
            let why = match (s.missing, s.errors) {
                (m, 0) => format!("{m} not found as {}", a.pattern),
                (0, e) => format!("{e} found but not readable"),
                (m, e) => format!("{m} not found as {}, {e} not readable", a.pattern),
            };
            format!("{} at alpha {} ({why})", s.method, s.alpha)
        })
        .collect();
    if !unscored.is_empty() {
        return Err(PartialFailure(format!(
            "no output was scored for {}; see {}",
            unscored.join(", "),
            a.report.display()
        ))
        .into());
    }
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
pub struct PartialFailure(String);

impl std::fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PartialFailure {}
