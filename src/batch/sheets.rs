//! Contact sheets, like the course report's tables: rows content x style, columns alphas, with
//! the content and style images in the first two columns; one sheet per run or per content.
//! Drawn from the thumbnails [`Thumbs`] collected as outputs finished, so no output is read back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::RgbImage;

use super::plan::{self, Job, StyleRef};
use super::{Grid, Progress, RunContext};
use crate::error::Result;
use crate::imaging;

/// Thumbnail height in pixels.
pub(super) const THUMB: u32 = 160;

/// Most rows on one per-run sheet: it stays viewable; larger runs use `--grid content`.
const MAX_ROWS: usize = 60;

/// The thumbnails' collector: one per finished output (made now, or found on disk by resume),
/// by output path, kept as outputs finish so the sheets never read an output back.
#[derive(Default)]
pub(super) struct Thumbs(HashMap<PathBuf, RgbImage>);

impl Thumbs {
    pub fn insert(&mut self, output: PathBuf, thumb: RgbImage) {
        self.0.insert(output, thumb);
    }

    fn get(&self, output: &Path) -> Option<RgbImage> {
        self.0.get(output).cloned()
    }
}

/// A cell's image: `img` scaled to the sheet's row height.
pub(super) fn thumbnail(img: &RgbImage) -> RgbImage {
    let w = (img.width() as f64 * THUMB as f64 / img.height() as f64)
        .round()
        .max(1.0) as u32;
    image::imageops::resize(img, w, THUMB, image::imageops::FilterType::Triangle)
}

/// The sheets for `planned` (every job of the run, done now or before), from `thumbs`.
pub(super) fn draw(
    inputs: RunContext<'_>,
    thumbs: &Thumbs,
    planned: &[Job],
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>> {
    let cfg = inputs.cfg;
    if cfg.grid == Grid::None || planned.is_empty() {
        return Ok(Vec::new());
    }
    // Masked rows show their mask where other rows show the style.
    let style_col = if inputs.masks.iter().any(Option::is_some) {
        "style/mask"
    } else {
        "style"
    };
    let mut col_labels = vec!["content".to_string(), style_col.to_string()];
    let alphas = shown_alphas(&cfg.alphas);
    if alphas.len() < cfg.alphas.len() {
        progress.println(&format!(
            "note: contact sheet shows {} of the {} alphas, evenly spaced (columns are capped like rows)",
            alphas.len(),
            cfg.alphas.len()
        ));
    }
    col_labels.extend(
        alphas
            .iter()
            .map(|a| format!("alpha {}", plan::alpha_label(*a))),
    );
    let rows = rows(planned);
    if cfg.grid == Grid::PerRun && rows.len() > MAX_ROWS {
        progress.println(&format!(
            "note: contact sheet shows the first {MAX_ROWS} of {} content x style rows (use --grid content for all)",
            rows.len()
        ));
    }
    let mut input_thumbs = InputThumbs::default();
    let mut sheets = Vec::new();
    for group in groups(cfg.grid, &rows) {
        let (cells, labels): (Vec<Vec<RgbImage>>, Vec<String>) = group
            .iter()
            .map(|&ri| sheet_row(inputs, &rows[ri].1, &alphas, thumbs, &mut input_thumbs))
            .unzip();
        let sheet = imaging::contact_sheet(&cells, &col_labels, &labels, THUMB);
        let path = cfg
            .out
            .join(sheet_name(inputs, rows[group[0]].1[0].content));
        imaging::Encoding::Png.save(&path, &sheet)?;
        sheets.push(path);
    }
    Ok(sheets)
}

/// Alpha columns a sheet shows at most: thousands of alphas made a sheet 1.2 million pixels wide.
const MAX_ALPHA_COLUMNS: usize = 16;

/// The alphas a sheet shows: all of them, or [`MAX_ALPHA_COLUMNS`] evenly spaced from the first
/// to the last.
fn shown_alphas(alphas: &[f32]) -> Vec<f32> {
    let n = alphas.len();
    if n <= MAX_ALPHA_COLUMNS {
        return alphas.to_vec();
    }
    let k = MAX_ALPHA_COLUMNS;
    (0..k)
        .map(|i| alphas[(i * (n - 1) + (k - 1) / 2) / (k - 1)])
        .collect()
}

/// A grey cell where an image is missing (failed, not made, unreadable).
fn blank() -> RgbImage {
    RgbImage::from_pixel(THUMB, THUMB, image::Rgb([235, 235, 235]))
}

/// Thumbnails of the inputs (contents, styles, masks), each read once for all its rows.
#[derive(Default)]
struct InputThumbs(HashMap<PathBuf, Option<RgbImage>>);

impl InputThumbs {
    fn get(&mut self, p: &Path) -> Option<RgbImage> {
        self.0
            .entry(p.to_path_buf())
            .or_insert_with(|| image::open(p).ok().map(|i| thumbnail(&i.to_rgb8())))
            .clone()
    }
}

/// One sheet row's cells (content, style or mask, one per alpha) and its label, for the jobs
/// of one (content, style target).
fn sheet_row(
    inputs: RunContext<'_>,
    jobs: &[&Job],
    alphas: &[f32],
    thumbs: &Thumbs,
    input_thumbs: &mut InputThumbs,
) -> (Vec<RgbImage>, String) {
    let j0 = jobs[0];
    let content = input_thumbs.get(&inputs.contents[j0.content].path);
    let style = match j0.style {
        StyleRef::One(i) => input_thumbs.get(&inputs.styles[i].path),
        StyleRef::Mix => None,
        // The mask stands in the style column, next to its content.
        StyleRef::Masked => inputs.masks[j0.content]
            .as_deref()
            .and_then(|m| input_thumbs.get(m)),
    };
    let mut cells = vec![content.unwrap_or_else(blank), style.unwrap_or_else(blank)];
    for a in alphas {
        let cell = jobs
            .iter()
            .find(|j| j.alpha == *a)
            .and_then(|j| thumbs.get(&j.output));
        cells.push(cell.unwrap_or_else(blank));
    }
    let sname = match j0.style {
        StyleRef::One(i) => inputs.styles[i].name.clone(),
        StyleRef::Mix => "mix".into(),
        StyleRef::Masked => "mask".into(),
    };
    let label = format!("{} x {}", inputs.contents[j0.content].name, sname);
    (cells, label)
}

/// The per-run sheet's name (one per shard), or the per-content sheet's for `content`.
fn sheet_name(inputs: RunContext<'_>, content: usize) -> String {
    let cfg = inputs.cfg;
    match cfg.grid {
        Grid::PerRun => match cfg.shard {
            Some(s) => format!("contact_sheet-shard-{}-of-{}.png", s.index, s.count),
            None => "contact_sheet.png".into(),
        },
        _ => format!("contact_sheet_{}.png", inputs.contents[content].name),
    }
}

/// Sheet rows: jobs grouped by (content, style target), in plan order.
type SheetRow<'j> = ((usize, StyleRef), Vec<&'j Job>);

fn rows(planned: &[Job]) -> Vec<SheetRow<'_>> {
    let mut rows: Vec<SheetRow<'_>> = Vec::new();
    for j in planned {
        let key = (j.content, j.style);
        match rows.last_mut() {
            Some((k, v)) if *k == key => v.push(j),
            _ => rows.push((key, vec![j])),
        }
    }
    rows
}

/// Which rows go on which sheet: the first [`MAX_ROWS`] on one, or one sheet per content.
fn groups(grid: Grid, rows: &[SheetRow<'_>]) -> Vec<Vec<usize>> {
    if grid == Grid::PerRun {
        return vec![(0..rows.len().min(MAX_ROWS)).collect()];
    }
    let mut g: Vec<Vec<usize>> = Vec::new();
    for (i, ((ci, _), _)) in rows.iter().enumerate() {
        if i > 0 && rows[i - 1].0.0 == *ci {
            g.last_mut().expect("non-empty").push(i);
        } else {
            g.push(vec![i]);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    #[test]
    fn sheets_show_at_most_sixteen_alphas_from_first_to_last() {
        let few: Vec<f32> = vec![0.1, 0.5, 1.0];
        assert_eq!(super::shown_alphas(&few), few);
        let many: Vec<f32> = (0..3000).map(|i| i as f32 / 2999.0).collect();
        let shown = super::shown_alphas(&many);
        assert_eq!(shown.len(), 16);
        assert_eq!((shown[0], shown[15]), (0.0, 1.0));
        assert!(shown.windows(2).all(|w| w[0] < w[1]));
    }
}
