//! adain-batch's reports after the run: `adain sheet` (side-by-side contact sheets) and `adain
//! merge-reports` (shard reports into one CSV).

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SheetArgs {
    /// Content names substituted into {content}, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    rows: Vec<String>,
    /// Style names substituted into {style}, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    styles: Vec<String>,
    /// A column: LABEL=PATH_PATTERN with {content} and {style}; repeat for each column.
    #[arg(long = "column", required = true, value_name = "LABEL=PATTERN")]
    columns: Vec<String>,
    /// Cell height in pixels (16-2048: a sheet is for looking at, and a larger cell once asked
    /// for a 45 GB image).
    #[arg(long, default_value_t = 192, value_parser = clap::value_parser!(u32).range(16..=2048))]
    cell: u32,
    #[arg(long, value_name = "PNG")]
    out: PathBuf,
    /// Replace --out even when it holds something other than a PNG.
    #[arg(long)]
    force: bool,
}

pub fn sheet(a: SheetArgs) -> anyhow::Result<()> {
    let guard = |inputs: &[PathBuf]| {
        adain::fsutil::check_target(
            &a.out,
            &adain::fsutil::Target {
                option: "sheet --out",
                writes: "the contact sheet (PNG)",
                same_kind: &|p| adain::fsutil::starts_with(p, b"\x89PNG"),
                inputs,
                force: a.force,
            },
        )
    };
    guard(&[])?;
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
    let (mut cells, mut labels, mut inputs) = (Vec::new(), Vec::new(), Vec::new());
    for c in &a.rows {
        for s in &a.styles {
            let row = cols
                .iter()
                .map(|(_, pat)| {
                    let p = PathBuf::from(pat.replace("{content}", c).replace("{style}", s));
                    inputs.push(p.clone());
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
            labels.push(format!("{c} x {s}"));
        }
    }
    // Now that the cells' files are known: none of them is the sheet's own path.
    guard(&inputs)?;
    let col_labels: Vec<String> = cols.into_iter().map(|(l, _)| l).collect();
    let sheet = adain::imaging::contact_sheet(&cells, &col_labels, &labels, a.cell);
    adain::imaging::Encoding::Png.save(&a.out, &sheet)?;
    say!("wrote {}", a.out.display());
    Ok(())
}

/// Merges shard reports into `out` and says what they hold.
pub fn merge(reports: &[PathBuf], out: &std::path::Path, force: bool) -> anyhow::Result<()> {
    adain::fsutil::check_target(
        out,
        &adain::fsutil::Target {
            option: "merge-reports -o",
            writes: "the merged CSV report",
            same_kind: &adain::batch::report::looks_like_report,
            inputs: reports,
            force,
        },
    )?;
    let merged = adain::batch::report::merge(reports)?;
    for (again, first) in &merged.repeated {
        say!(
            "note: {} is the same report as {}; merged once",
            again.display(),
            first.display()
        );
    }
    let rows = merged.rows;
    adain::batch::report::write_all(out, &rows)?;
    let count = |s| rows.iter().filter(|r| r.status == Some(s)).count();
    use adain::batch::report::Status;
    say!(
        "{}: {} outputs ({} ok, {} skipped, {} failed) from {} reports",
        out.display(),
        rows.len(),
        count(Status::Ok),
        count(Status::Skipped),
        count(Status::Error),
        merged.reports
    );
    Ok(())
}
