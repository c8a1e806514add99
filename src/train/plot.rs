//! What people look at during training: the loss-curve PNG (the total and each term of the
//! log's summary, as in the course report's figures) and sample grids of fixed validation pairs.

use std::path::Path;

use plotters::prelude::*;
use tch::Tensor;

use super::log::LossRow;
use super::net::Network;
use super::validate::Samples;
use crate::error::{Error, Result};

fn font() {
    // plotters draws text with a registered TTF; DejaVu Sans is embedded, so no system fonts
    // are needed (CI machines and containers often have none).
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn perr(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: cannot draw plot: {e}", path.display()))
}

/// Left: content, style, identity (when used) and total training loss against iteration (log
/// scale), as in the course report's figures. Right, once validation has run: the validation
/// style error and luma SSIM at alpha 1 and 0 (linear, 0..1) over the validated iterations.
/// `round_starts`: iterations where a later training round (GPU window, machine, recipe) began,
/// drawn as vertical lines on both panels, since loss levels across rounds need not compare.
pub fn loss_curves(rows: &[LossRow], round_starts: &[u64], path: &Path) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    font();
    crate::fsutil::write_atomic_via_path(path, |tmp| {
        draw_loss_curves(rows, round_starts, tmp, path)
    })
}

/// [`loss_curves`] into `tmp`; errors name `path`.
fn draw_loss_curves(rows: &[LossRow], round_starts: &[u64], tmp: &Path, path: &Path) -> Result<()> {
    let root = BitMapBackend::new(tmp, (1400, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| perr(path, e))?;
    let (left, right) = root.split_horizontally(860);
    let span = |its: &mut dyn Iterator<Item = u64>| {
        let (lo, hi) = its.fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i)));
        let (lo, hi) = (lo as f64, hi as f64);
        let pad = ((hi - lo) * 0.03).max(1.0);
        (lo - pad).max(0.0)..hi + pad
    };
    let xr = span(&mut rows.iter().map(|r| r.iteration));
    draw_losses(&left, rows, xr.clone(), round_starts, path)?;
    let mut validated = rows
        .iter()
        .filter(|r| r.val_ssim.is_some())
        .map(|r| r.iteration)
        .peekable();
    let vr = match validated.peek() {
        Some(_) => span(&mut validated),
        None => xr.clone(),
    };
    draw_validation(&right, rows, vr, round_starts, path)?;
    root.present().map_err(|e| perr(path, e))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type Chart<'a, 'b, Y> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

/// Vertical lines at the round starts inside the x range, each labelled "round N" at `label_y`.
fn draw_round_marks<Y>(
    chart: &mut Chart<'_, '_, Y>,
    round_starts: &[u64],
    (y0, y1, label_y): (Y::ValueType, Y::ValueType, Y::ValueType),
    path: &Path,
) -> Result<()>
where
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let xr = chart.x_range();
    let grey = RGBColor(110, 110, 110);
    for (i, &it) in round_starts.iter().enumerate() {
        let x = it as f64;
        if !xr.contains(&x) {
            continue;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, y0.clone()), (x, y1.clone())],
                grey.stroke_width(1),
            )))
            .map_err(|e| perr(path, e))?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" round {}", i + 2),
                (x, label_y.clone()),
                ("sans-serif", 15).into_font().color(&grey),
            )))
            .map_err(|e| perr(path, e))?;
    }
    Ok(())
}

/// Both panels' legend: top right, where the curves leave room, on a translucent white box.
fn draw_legend<'a, 'b: 'a, Y: Ranged>(
    chart: &mut Chart<'a, 'b, Y>,
    font_size: u32,
    path: &Path,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", font_size))
        .draw()
        .map_err(|e| perr(path, e))
}

/// One loss curve: its legend name, colour, and each row's value (aligned with the rows).
struct Series {
    name: String,
    color: RGBColor,
    values: Vec<f64>,
}

/// Colours of the term curves, in [`LossRow::summary`]'s order; `total` is black.
const PALETTE: [RGBColor; 7] = [
    BLUE,
    RED,
    GREEN,
    MAGENTA,
    CYAN,
    RGBColor(230, 140, 0),
    RGBColor(120, 80, 40),
];

/// The total, then each term of [`LossRow::summary`] the run computed (reconstruction has no
/// content or style term): one curve per term, whatever terms there are.
fn loss_series(rows: &[LossRow]) -> Vec<Series> {
    let table: Vec<Vec<(&'static str, f64)>> = rows.iter().map(LossRow::summary).collect();
    let mut all = vec![Series {
        name: "total".into(),
        color: BLACK,
        values: rows.iter().map(|r| r.total).collect(),
    }];
    let names = table.first().map(|t| t.len()).unwrap_or(0);
    for i in 0..names {
        let name = table[0][i].0;
        let label = match name {
            "content" => "content".to_string(),
            _ => format!("{} (unweighted)", name.replace('_', " ")),
        };
        all.push(Series {
            name: label,
            color: PALETTE[i % PALETTE.len()],
            values: table.iter().map(|t| t[i].1).collect(),
        });
    }
    all.into_iter()
        .filter(|s| s.values.iter().any(|v| *v > 0.0))
        .collect()
}

/// The log-scale y range over `series`' positive finite values, with room below the lowest
/// curve for the round labels.
fn loss_range(series: &[Series]) -> (f64, f64) {
    let vals = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| *v > 0.0 && v.is_finite());
    let (lo, hi) = vals.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo <= hi {
        (lo * 0.5, hi * 1.25)
    } else {
        (1e-3, 1.0)
    }
}

fn draw_losses(
    area: &Area<'_>,
    rows: &[LossRow],
    xr: std::ops::Range<f64>,
    round_starts: &[u64],
    path: &Path,
) -> Result<()> {
    let series = loss_series(rows);
    let (lo, hi) = loss_range(&series);
    let mut chart = ChartBuilder::on(area)
        .caption("AdaIN decoder training loss", ("sans-serif", 28))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(xr, (lo..hi).log_scale())
        .map_err(|e| perr(path, e))?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("loss (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| perr(path, e))?;
    // Labels at the bottom (text hangs below its point): the legend holds the top right.
    draw_round_marks(&mut chart, round_starts, (lo, hi, lo * 1.6), path)?;
    for Series {
        name,
        color,
        values,
    } in series
    {
        // A term is 0 (or NaN) where the run did not compute it (a reconstruction phase, a
        // round before the term existed): a gap in its curve, not a drop to the axis.
        let points: Vec<Option<(f64, f64)>> = rows
            .iter()
            .zip(values)
            .map(|(r, v)| (v > 0.0 && v.is_finite()).then_some((r.iteration as f64, v)))
            .collect();
        let runs: Vec<Vec<(f64, f64)>> = points
            .split(Option::is_none)
            .filter(|run| !run.is_empty())
            .map(|run| run.iter().flatten().copied().collect())
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            let drawn = chart
                .draw_series(LineSeries::new(run, color.stroke_width(2)))
                .map_err(|e| perr(path, e))?;
            if i == 0 {
                drawn.label(name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            }
        }
    }
    draw_legend(&mut chart, 18, path)
}

/// The validation measures against iteration (empty until validation has run).
fn draw_validation(
    area: &Area<'_>,
    rows: &[LossRow],
    xr: std::ops::Range<f64>,
    round_starts: &[u64],
    path: &Path,
) -> Result<()> {
    let val: Vec<&LossRow> = rows.iter().filter(|r| r.val_ssim.is_some()).collect();
    let mut vchart = ChartBuilder::on(area)
        .caption("validation", ("sans-serif", 28))
        .margin(15)
        // Room for the last iteration label, which is centred on the panel's right edge.
        .margin_right(35)
        .x_label_area_size(45)
        .y_label_area_size(50)
        .build_cartesian_2d(xr, 0.0..1.0)
        .map_err(|e| perr(path, e))?;
    vchart
        .configure_mesh()
        .x_desc("iteration")
        .x_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| perr(path, e))?;
    // The measures sit between 0.1 and 0.7: marks are labelled low, the legend goes high.
    draw_round_marks(&mut vchart, round_starts, (0.0, 1.0, 0.08), path)?;
    type VSeries = (&'static str, RGBColor, fn(&LossRow) -> Option<f64>);
    let vseries: [VSeries; 3] = [
        ("style error (lower is better)", RED, |r| r.val_style_error),
        ("SSIM to content, alpha 1", BLUE, |r| r.val_ssim),
        ("SSIM to content, alpha 0", CYAN, |r| r.val_ssim_alpha0),
    ];
    for (name, color, f) in vseries {
        vchart
            .draw_series(LineSeries::new(
                val.iter()
                    .filter_map(|r| f(r).map(|v| (r.iteration as f64, v.clamp(0.0, 1.0)))),
                color.stroke_width(2),
            ))
            .map_err(|e| perr(path, e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    if !val.is_empty() {
        draw_legend(&mut vchart, 16, path)?;
    }
    Ok(())
}

fn to_rgb(t: &Tensor) -> image::RgbImage {
    let t = t
        .squeeze_dim(0)
        .to_device(tch::Device::Cpu)
        .to_kind(tch::Kind::Float)
        .contiguous();
    let (h, w) = (t.size()[1] as usize, t.size()[2] as usize);
    let data = Vec::<f32>::try_from(t.flatten(0, -1)).expect("float tensor");
    let a = ndarray::Array3::from_shape_vec((3, h, w), data).expect("3 x h x w");
    crate::imaging::to_rgb8(a.view())
}

/// Rows: sample contents; columns: the content, then each sample style's result.
pub fn sample_grid(model: &Network, samples: &Samples, path: &Path) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let mut cells = Vec::new();
    for (_, c) in &samples.content {
        let mut row = vec![to_rgb(c)];
        for (_, s) in &samples.style {
            row.push(to_rgb(&model.stylize(c, s)));
        }
        cells.push(row);
    }
    let mut cols = vec!["content".to_string()];
    cols.extend(samples.style.iter().map(|(n, _)| n.clone()));
    let rows: Vec<String> = samples.content.iter().map(|(n, _)| n.clone()).collect();
    let sheet = crate::imaging::contact_sheet(&cells, &cols, &rows, 192);
    crate::imaging::Encoding::Png.save(path, &sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published decoder's log (rows of every round since 0, in the columns of the last
    /// publish) reads and draws: one curve per term it has, the validation panel beside them.
    #[test]
    fn the_published_log_draws_a_curve_per_term_it_has() {
        let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx/training/losses.csv");
        let rows = super::super::log::read(&log).unwrap();
        assert!(rows.len() > 100);
        let names: Vec<String> = loss_series(&rows).into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "total",
                "content",
                "style (unweighted)",
                "identity pixel (unweighted)",
                "identity feature (unweighted)",
                "alpha pixel (unweighted)",
                "laplacian (unweighted)"
            ]
        );
        let d = tempfile::tempdir().unwrap();
        let png = d.path().join("losses.png");
        loss_curves(&rows, &[10_000], &png).unwrap();
        let img = image::open(&png).unwrap();
        assert!(img.width() > 800 && img.height() > 300);
    }
}
