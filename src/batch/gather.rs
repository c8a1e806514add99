//! What a run works on, found before anything runs: the content and style images (never the
//! output folder), each content's mask under `--mask`, and which contents are videos (probed).

use std::path::{Path, PathBuf};

use super::plan::{self, Input};
use super::{BatchConfig, Progress};
use crate::error::{Error, Result};

/// Which contents are videos: files with a video extension (probed: one that is no video is
/// an error row, not a photo), and GIFs that probe as more than one frame. Without FFmpeg,
/// video files get an error row saying how to install it, and GIFs stay pictures.
#[allow(clippy::type_complexity)]
pub(super) fn classify_videos(
    cfg: &BatchConfig,
    contents: &[Input],
) -> (
    Vec<Option<std::result::Result<crate::video::Probe, String>>>,
    Option<crate::video::Tools>,
) {
    use crate::video;
    let any = contents
        .iter()
        .any(|c| video::has_video_ext(&c.path) || video::is_gif(&c.path));
    if !any {
        return (vec![None; contents.len()], None);
    }
    let tools = video::Tools::find(cfg.ffmpeg.as_deref());
    let kinds = contents
        .iter()
        .map(|c| {
            let named_video = video::has_video_ext(&c.path);
            match (&tools, named_video, video::is_gif(&c.path)) {
                (Err(e), true, _) => Some(Err(super::outcome::about("video", &c.path, e))),
                (Ok(t), true, _) => Some(match video::probe(t, &c.path) {
                    Ok(Some(p)) => Ok(p),
                    Ok(None) => Err(format!(
                        "video '{}': a still picture, not a video (give it an image extension)",
                        c.path.display()
                    )),
                    Err(e) => Err(e.to_string()),
                }),
                // An animated GIF is a video; a still one (or one ffprobe cannot read) a picture.
                (Ok(t), false, true) => video::probe(t, &c.path).ok().flatten().map(Ok),
                _ => None,
            }
        })
        .collect();
    (kinds, tools.ok())
}

/// The files a mask for content `name` may be in `dir`: `name` with each image extension
/// ([`crate::inputs::IMAGE_EXTENSIONS`], lower then upper case), PNG first (a lossless mask
/// wins over a JPEG of the same name).
fn mask_candidates<'a>(dir: &'a Path, name: &'a str) -> impl Iterator<Item = PathBuf> + 'a {
    let png = std::iter::once("png");
    let others = crate::inputs::IMAGE_EXTENSIONS
        .iter()
        .copied()
        .filter(|e| *e != "png");
    png.chain(others)
        .flat_map(|e| [e.to_string(), e.to_ascii_uppercase()])
        .map(move |e| dir.join(format!("{name}.{e}")))
}

/// Each content's mask under `--mask`: `DIR/<content name>.png` (the name as outputs spell it),
/// or the one file given for a single content. Contents without one get unmasked outputs and
/// one note, or, with `--mask-required`, are planned masked so that each output is an error
/// row naming the mask looked for.
pub(super) fn find_masks(
    cfg: &BatchConfig,
    contents: &[Input],
    styles: &[Input],
    progress: &dyn Progress,
) -> Result<Vec<Option<PathBuf>>> {
    let Some(m) = &cfg.mask else {
        return Ok(vec![None; contents.len()]);
    };
    if styles.len() < 2 {
        return Err(Error::Invalid(format!(
            "--mask places two or more styles by region; found {} style image(s)",
            styles.len()
        )));
    }
    if cfg.mix.is_some() {
        return Err(Error::Invalid(
            "--mask and --mix both decide how styles combine; give one".into(),
        ));
    }
    if m.is_file() {
        if contents.len() != 1 {
            return Err(Error::Invalid(format!(
                "--mask {} is one file, for one content; found {} contents (give a folder of <content name>.png masks)",
                m.display(),
                contents.len()
            )));
        }
        return Ok(vec![Some(m.clone())]);
    }
    if !m.is_dir() {
        return Err(Error::Invalid(format!(
            "--mask {}: no such file or folder",
            m.display()
        )));
    }
    let mut missing = Vec::new();
    let found: Vec<Option<PathBuf>> = contents
        .iter()
        .map(|c| {
            let hit = mask_candidates(m, &c.name).find(|p| p.is_file());
            match hit {
                Some(p) => Some(p),
                None => {
                    let want = m.join(format!("{}.png", c.name));
                    missing.push(want.clone());
                    cfg.mask_required.then_some(want)
                }
            }
        })
        .collect();
    if !missing.is_empty() && !cfg.mask_required {
        progress.println(&format!(
            "note: {} content(s) have no mask (e.g. {}): their outputs are unmasked, one per style; --mask-required makes that an error",
            missing.len(),
            missing[0].display()
        ));
    }
    Ok(found)
}

/// Finds the content and style images (never the output folder or files named like outputs),
/// printing what was passed over; none of either, or a `--mix` of the wrong length, is an error.
pub(super) fn discover(
    cfg: &BatchConfig,
    progress: &dyn Progress,
) -> Result<(Vec<Input>, Vec<Input>)> {
    let out = Some(cfg.out.as_path());
    let contents = plan::discover_inputs("content", &cfg.content, cfg.recursive, out, true)?;
    let styles = plan::discover_inputs("style", &cfg.style, cfg.recursive, out, false)?;
    for (what, f, roots) in [
        ("content", &contents, &cfg.content),
        ("style", &styles, &cfg.style),
    ] {
        if !f.ignored.is_empty() {
            progress.println(&format!(
                "note: ignored {} {what} file(s) without an image extension, e.g. {}",
                f.ignored.len(),
                f.ignored[0].display()
            ));
        }
        if !f.outputs_skipped.is_empty() {
            progress.println(&format!(
                "note: skipped {} {what} path(s): the output folder, or images named like outputs, e.g. {}",
                f.outputs_skipped.len(),
                f.outputs_skipped[0].display()
            ));
        }
        if !f.loops.is_empty() {
            progress.println(&format!(
                "note: did not follow {} {what} folder link(s) to a folder already searched (file system loop or repeat), e.g. {}",
                f.loops.len(),
                f.loops[0].display()
            ));
        }
        if f.inputs.is_empty() {
            return Err(f.none_found(what, roots, Some("--recursive")));
        }
    }
    if let Some(w) = &cfg.mix
        && w.len() != styles.inputs.len()
    {
        return Err(Error::Invalid(format!(
            "--mix gives {} weights but {} style images were found",
            w.len(),
            styles.inputs.len()
        )));
    }
    Ok((contents.inputs, styles.inputs))
}
