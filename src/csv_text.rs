//! Text cells of the CSVs we write (reports, quality tables): names and error messages come
//! from users' files, and a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
//! return is run as a formula when the file is opened in a spreadsheet (CSV injection). Such a
//! cell is written with a leading `'`, the convention spreadsheets show as text; a cell that
//! itself begins with `'` gets one more, so reading (strip one leading `'`) gives back exactly
//! what was written. Use with `#[serde(with = "crate::csv_text")]` on `String` fields.

use serde::{Deserialize, Deserializer, Serializer};

/// Characters that make a spreadsheet read a cell as a formula, and our own escape.
fn needs_quote(s: &str) -> bool {
    matches!(
        s.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'')
    )
}

/// The cell for `s`.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    match needs_quote(s) {
        true => format!("'{s}").into(),
        false => s.into(),
    }
}

/// The text of a cell written by [`escape`].
pub fn unescape(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

pub fn serialize<S: Serializer>(s: &str, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&escape(s))
}

pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    let cell = String::deserialize(de)?;
    Ok(unescape(&cell).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted_and_every_text_reads_back_exactly() {
        assert_eq!(escape("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape("-2+3"), "'-2+3");
        assert_eq!(escape("photo.jpg"), "photo.jpg");
        for s in [
            "=1+1", "+a", "-b", "@c", "\tx", "\ry", "'quoted", "''", "plain", "", "a=b",
        ] {
            assert_eq!(unescape(&escape(s)), s);
        }
    }
}
