//! What people look at during training: the loss-curve PNG (content, style and total, as in
//! the course report's figures) and sample grids of fixed validation pairs.

use std::path::Path;

use plotters::prelude::*;
use tch::Tensor;

use super::log::LossRow;
use super::trainer::{Model, Samples};
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
/// style error and luma SSIM at alpha 1 and 0 (linear, 0..1).
pub fn loss_curves(rows: &[LossRow], path: &Path) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    font();
    crate::fsutil::write_atomic_via_path(path, |tmp| draw_loss_curves(rows, tmp, path))
}

/// [`loss_curves`] into `tmp`; errors name `path`.
fn draw_loss_curves(rows: &[LossRow], tmp: &Path, path: &Path) -> Result<()> {
    let root = BitMapBackend::new(tmp, (1400, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| perr(path, e))?;
    let (left, right) = root.split_horizontally(860);
    let x_max = rows.last().map(|r| r.iteration).unwrap_or(1).max(1) as f64;
    let x_min = rows.first().map(|r| r.iteration).unwrap_or(0) as f64;
    let xr = x_min..x_max.max(x_min + 1.0);
    draw_losses(&left, rows, xr.clone(), path)?;
    draw_validation(&right, rows, xr, path)?;
    root.present().map_err(|e| perr(path, e))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// The training losses against iteration, log scale.
fn draw_losses(
    area: &Area<'_>,
    rows: &[LossRow],
    xr: std::ops::Range<f64>,
    path: &Path,
) -> Result<()> {
    let with_identity = rows.iter().any(|r| r.identity > 0.0);
    type Series = (&'static str, RGBColor, fn(&LossRow) -> f64);
    let mut series: Vec<Series> = vec![
        ("content", BLUE, |r| r.content),
        ("style (unweighted)", RED, |r| r.style),
        ("total", BLACK, |r| r.total),
    ];
    if with_identity {
        series.push(("identity (unweighted)", GREEN, |r| r.identity));
    }
    let vals = rows
        .iter()
        .flat_map(|r| series.iter().map(|s| (s.2)(r)).collect::<Vec<_>>())
        .filter(|v| *v > 0.0 && v.is_finite());
    let (lo, hi) = vals.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi {
        (lo * 0.8, hi * 1.25)
    } else {
        (1e-3, 1.0)
    };
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
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| perr(path, e))?;
    for (name, color, f) in series {
        chart
            .draw_series(LineSeries::new(
                rows.iter()
                    .filter(|r| f(r).is_finite())
                    .map(|r| (r.iteration as f64, f(r).max(lo))),
                color.stroke_width(2),
            ))
            .map_err(|e| perr(path, e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(|e| perr(path, e))?;
    Ok(())
}

/// The validation measures against iteration (empty until validation has run).
fn draw_validation(
    area: &Area<'_>,
    rows: &[LossRow],
    xr: std::ops::Range<f64>,
    path: &Path,
) -> Result<()> {
    let val: Vec<&LossRow> = rows.iter().filter(|r| r.val_ssim.is_some()).collect();
    let mut vchart = ChartBuilder::on(area)
        .caption("validation", ("sans-serif", 28))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(50)
        .build_cartesian_2d(xr, 0.0..1.0)
        .map_err(|e| perr(path, e))?;
    vchart
        .configure_mesh()
        .x_desc("iteration")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| perr(path, e))?;
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
        vchart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(|e| perr(path, e))?;
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
pub fn sample_grid(model: &Model, samples: &Samples, path: &Path) -> Result<()> {
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
    cols.extend(
        samples
            .style
            .iter()
            .map(|(n, _)| n.chars().take(14).collect()),
    );
    let rows: Vec<String> = samples.content.iter().map(|(n, _)| n.clone()).collect();
    let sheet = crate::imaging::contact_sheet(&cells, &cols, &rows, 192);
    crate::imaging::save(path, &sheet, crate::imaging::Format::Png, 100)
}
