//! Labelled contact sheets (adain-batch's sheets, the README's pictures): a grid of images with
//! wrapped row and column labels drawn in a built-in bitmap font.

use image::{Rgb, RgbImage, imageops};

/// A labelled grid: `cells[row][col]`, column headers across the top, row labels on the left.
/// Cells are scaled to `cell` pixels high (aspect kept) and centred in equal-width columns.
/// Labels are wrapped, not cut: a row label in lines of at most 24 characters, as many lines as
/// the cell's height holds; a column header to its column's width, in at most 3 lines. Only a
/// label longer than that loses its end, marked `...` (`wrap_label`).
pub fn contact_sheet(
    cells: &[Vec<RgbImage>],
    col_labels: &[String],
    row_labels: &[String],
    cell: u32,
) -> RgbImage {
    const SCALE: u32 = 2; // 8x8 glyphs drawn at 16x16
    const GLYPH: u32 = 8 * SCALE;
    const LINE: u32 = GLYPH + 4;
    const ROW_CHARS: usize = 24;
    const HEADER_LINES: usize = 3;
    let pad = 8;
    let row_lines = ((cell + 4) / LINE).max(1) as usize;
    let rows: Vec<Vec<String>> = row_labels
        .iter()
        .map(|l| wrap_label(l, ROW_CHARS, row_lines))
        .collect();
    let label_w = rows
        .iter()
        .flatten()
        .map(|l| l.chars().count() as u32)
        .max()
        .unwrap_or(0)
        * GLYPH
        + 2 * pad;
    let resized: Vec<Vec<RgbImage>> = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|im| {
                    let w = (im.width() as f64 * cell as f64 / im.height() as f64)
                        .round()
                        .max(1.0) as u32;
                    imageops::resize(im, w, cell, imageops::FilterType::Triangle)
                })
                .collect()
        })
        .collect();
    let ncols = col_labels
        .len()
        .max(resized.iter().map(|r| r.len()).max().unwrap_or(0));
    let col_w = resized
        .iter()
        .flatten()
        .map(|i| i.width())
        .max()
        .unwrap_or(cell)
        .max(cell / 2);
    // A header may run into the gap before the next column, not into that column's text.
    let col_chars = ((col_w + pad - 4) / GLYPH).max(1) as usize;
    let cols: Vec<Vec<String>> = col_labels
        .iter()
        .map(|l| wrap_label(l, col_chars, HEADER_LINES))
        .collect();
    // wrap_label gives every header at least one line; no headers still get a line of space.
    let header_lines = cols.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let header = header_lines * LINE - 4 + 2 * pad;
    let width = label_w + ncols as u32 * (col_w + pad) + pad;
    let height = header + resized.len() as u32 * (cell + pad) + pad;
    let mut sheet = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let draw_lines = |sheet: &mut RgbImage, lines: &[String], x: u32, y: u32| {
        for (i, line) in lines.iter().enumerate() {
            draw_text(sheet, line, x, y + i as u32 * LINE, SCALE);
        }
    };
    for (c, lines) in cols.iter().enumerate() {
        let x = label_w + c as u32 * (col_w + pad);
        draw_lines(&mut sheet, lines, x + 2, pad);
    }
    for (r, row) in resized.iter().enumerate() {
        let y = header + r as u32 * (cell + pad);
        if let Some(lines) = rows.get(r) {
            let block = lines.len() as u32 * LINE - 4;
            draw_lines(&mut sheet, lines, pad, y + cell.saturating_sub(block) / 2);
        }
        for (c, im) in row.iter().enumerate() {
            let x = label_w + c as u32 * (col_w + pad) + (col_w - im.width()) / 2;
            imageops::overlay(&mut sheet, im, x as i64, y as i64);
        }
    }
    sheet
}

/// `label` in lines of at most `width` characters (broken at spaces, and inside a word only when
/// the word alone is longer than a line), at most `max_lines` of them; when it needs more, the
/// last line kept ends in `...`. An empty label is one empty line. Widths under 4 are taken as
/// 4, so the ellipsis always fits.
pub fn wrap_label(label: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(4);
    let opts = textwrap::Options::new(width)
        .break_words(true)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut lines: Vec<String> = textwrap::wrap(label, opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let max_lines = max_lines.max(1);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = &mut lines[max_lines - 1];
        *last = last.chars().take(width - 3).collect::<String>() + "...";
    }
    lines
}

/// Draws ASCII text with the public-domain font8x8 glyphs, in black.
pub fn draw_text(img: &mut RgbImage, text: &str, x0: u32, y0: u32, scale: u32) {
    use font8x8::UnicodeFonts;
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
        else {
            continue;
        };
        for (gy, row) in glyph.iter().enumerate() {
            for gx in 0..8 {
                if row & (1 << gx) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = x0 + (i as u32 * 8 + gx) * scale + dx;
                        let y = y0 + gy as u32 * scale + dy;
                        if x < img.width() && y < img.height() {
                            img.put_pixel(x, y, Rgb([0, 0, 0]));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_wrap_at_spaces_and_break_only_overlong_words() {
        assert_eq!(
            wrap_label("chelsea x great_wave", 24, 8),
            ["chelsea x great_wave"]
        );
        assert_eq!(
            wrap_label("grace_hopper x composition_viii", 24, 8),
            ["grace_hopper x", "composition_viii"]
        );
        assert_eq!(
            wrap_label("abcdefghijabcdefghijabcdefghij", 12, 8),
            ["abcdefghijab", "cdefghijabcd", "efghij"]
        );
        assert_eq!(wrap_label("", 24, 8), [""]);
        // Nothing but spaces at the breaks is lost while the lines suffice.
        let name = "mix-great_wave-starry_night x a_very_long_content_file_name_2024";
        let lines = wrap_label(name, 10, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), name.replace(' ', ""));
    }

    #[test]
    fn labels_beyond_the_lines_allowed_end_in_an_ellipsis() {
        let lines = wrap_label("alpha beta gamma delta epsilon", 6, 2);
        assert_eq!(lines, ["alpha", "bet..."]);
        // Widths under 4 are taken as 4, so the ellipsis always fits.
        assert_eq!(wrap_label("alpha 0.1", 1, 1), ["a..."]);
    }

    #[test]
    fn contact_sheet_draws_a_long_row_label_on_more_lines_not_wider() {
        let cell = RgbImage::from_pixel(64, 64, Rgb([255, 255, 255]));
        let sheet = |label: &str| {
            contact_sheet(
                &[vec![cell.clone()]],
                &["c".to_string()],
                &[label.to_string()],
                64,
            )
        };
        // Rows of the label column (x < the first column) that hold ink.
        let inked_rows = |im: &RgbImage, label_w: u32| {
            (0..im.height())
                .filter(|&y| (0..label_w).any(|x| im.get_pixel(x, y).0 == [0, 0, 0]))
                .count()
        };
        let short = sheet("aaaa_bbbb x cccc_dddd"); // 21 characters: one line
        let long = sheet("aaaa_bbbb x cccc_dddd x eeee_ffff"); // 33: 23 + 9
        // width = label column (longest line x 16 px + 2 x 8 pad) + one column (64 + 8) + 8.
        assert_eq!(short.width(), 21 * 16 + 16 + 72 + 8);
        assert_eq!(long.width(), 23 * 16 + 16 + 72 + 8, "wrapped, not widened");
        // One line of 16 px glyphs inks at most 16 pixel rows; two lines ink more.
        let (s, l) = (
            inked_rows(&short, 21 * 16 + 16),
            inked_rows(&long, 23 * 16 + 16),
        );
        assert!(s > 0 && s <= 16, "short label: {s} inked rows");
        assert!(
            l > 16,
            "the long label's second line is drawn: {l} inked rows"
        );
    }
}
