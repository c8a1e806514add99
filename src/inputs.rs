//! Finding input images: folders (optionally recursive) and files, sorted so every process
//! sees the same order, each with the collision-free name its outputs carry. One owner for
//! adain-batch, the trainer's loader, `adain quality` and int8 calibration.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File extensions read as images; other files in a folder are counted and ignored.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"];

/// One input image and the name its outputs carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    pub name: String,
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub struct Found {
    pub inputs: Vec<Input>,
    /// Files skipped because their extension is not an image's.
    pub ignored: Vec<PathBuf>,
    /// Paths skipped because they are (or look like) adain-batch outputs: images named like
    /// outputs, and the output folder itself when it lies inside an input folder.
    pub outputs_skipped: Vec<PathBuf>,
    /// Folders not entered under `--recursive` because they are a folder already searched,
    /// reached again through a symbolic link: a file system loop (a link to `..`), or a second
    /// way to the same images (which would otherwise be stylized twice under two names).
    pub loops: Vec<PathBuf>,
    /// Folders inside a searched folder that were not entered (the search was not recursive).
    pub subfolders: usize,
    /// Whether videos were taken as inputs too (adain-batch's contents).
    pub videos: bool,
}

fn has_image_ext(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Collects images from folders and files (sorted, so every process sees the same order) and
/// gives each a collision-free output name.
pub fn discover(what: &str, roots: &[PathBuf], recursive: bool) -> Result<Found> {
    discover_excluding(what, roots, recursive, None, |_| false, false)
}

/// [`discover`] for a run writing into `out`: files inside `out`, and files `named_like_output`
/// says are outputs, are never inputs (else every rerun would stylize the last run's outputs
/// again); they are listed in [`Found::outputs_skipped`].
pub fn discover_excluding(
    what: &str,
    roots: &[PathBuf],
    recursive: bool,
    out: Option<&Path>,
    named_like_output: fn(&Path) -> bool,
    videos: bool,
) -> Result<Found> {
    // Video files count as inputs where videos are taken (adain-batch's contents).
    let has_image_ext = |p: &Path| has_image_ext(p) || (videos && crate::video::has_video_ext(p));
    let batch = out.is_some();
    // A folder that does not exist yet holds no inputs.
    let out = out.and_then(|o| o.canonicalize().ok());
    let is_output = |p: &Path| {
        named_like_output(p)
            || out
                .as_ref()
                .is_some_and(|o| p.canonicalize().is_ok_and(|c| c.starts_with(o)))
    };
    let mut found = Found {
        videos,
        ..Found::default()
    };
    let mut rels: Vec<(PathBuf, PathBuf)> = Vec::new(); // (path, relative name source)
    for root in roots {
        let meta = std::fs::metadata(root)
            .map_err(|e| Error::Invalid(format!("{what} '{}': {e}", root.display())))?;
        if meta.is_file() {
            let rel = PathBuf::from(root.file_name().unwrap_or(root.as_os_str()));
            rels.push((root.clone(), rel));
            continue;
        }
        // Folders are identified by their canonical path: a symbolic link back to one already
        // searched is reported and not followed, so a loop cannot recurse without end (as
        // `find -L` and ripgrep report "file system loop" and go on).
        let mut visited: HashSet<PathBuf> = root.canonicalize().into_iter().collect();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| Error::Invalid(format!("{what} folder '{}': {e}", dir.display())))?;
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue; // hidden files, and our own temporary files
                }
                if p.is_dir() {
                    let inside_out = out
                        .as_ref()
                        .is_some_and(|o| p.canonicalize().is_ok_and(|c| c.starts_with(o)));
                    if inside_out {
                        found.outputs_skipped.push(p);
                    } else if recursive {
                        let again = p.canonicalize().is_ok_and(|c| !visited.insert(c));
                        if again {
                            found.loops.push(p);
                        } else {
                            stack.push(p);
                        }
                    } else {
                        found.subfolders += 1;
                    }
                } else if has_image_ext(&p) && batch && is_output(&p) {
                    found.outputs_skipped.push(p);
                } else if has_image_ext(&p) {
                    let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
                    rels.push((p, rel));
                } else {
                    found.ignored.push(p);
                }
            }
        }
    }
    rels.sort();
    rels.dedup_by(|a, b| a.0 == b.0);
    let base = |rel: &Path, keep_ext: bool| -> String {
        let s = if keep_ext {
            rel.to_string_lossy().replace('.', "_")
        } else {
            rel.with_extension("").to_string_lossy().into_owned()
        };
        s.replace(['/', '\\'], "__")
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, rel) in &rels {
        *counts.entry(base(rel, false)).or_default() += 1;
    }
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for (path, rel) in rels {
        let plain = base(&rel, false);
        let name = if counts[&plain] > 1 {
            base(&rel, true)
        } else {
            plain
        };
        if let Some(other) = seen.insert(name.clone(), path.clone()) {
            return Err(Error::Invalid(format!(
                "{what} images '{}' and '{}' would write outputs of the same name '{name}'; rename one",
                other.display(),
                path.display()
            )));
        }
        found.inputs.push(Input { path, name });
    }
    found.ignored.sort();
    found.loops.sort();
    Ok(found)
}

/// [`discover`], where finding no image at all is an error (training, scoring).
pub fn discover_some(what: &str, roots: &[PathBuf], recursive: bool) -> Result<Vec<Input>> {
    let found = discover(what, roots, recursive)?;
    if found.inputs.is_empty() {
        return Err(found.none_found(what, roots, None));
    }
    Ok(found.inputs)
}

impl Found {
    /// The error when nothing was found: the folders by name, what was looked for, and what
    /// was there instead ("no content images found in 'photos' (looked for .jpg, .jpeg, ...; 3
    /// other file(s) ignored, e.g. 'photos/a.heic')"); "images or videos" where videos count.
    /// `recurse_flag` names the option that would search subfolders, where the command has one.
    pub fn none_found(&self, what: &str, roots: &[PathBuf], recurse_flag: Option<&str>) -> Error {
        let places: Vec<String> = roots.iter().map(|r| format!("'{}'", r.display())).collect();
        let videos = match self.videos {
            true => crate::video::VIDEO_EXTENSIONS,
            false => &[],
        };
        let looked = IMAGE_EXTENSIONS
            .iter()
            .chain(videos)
            .map(|e| format!(".{e}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut why = format!("looked for {looked}");
        if self.subfolders > 0 {
            why.push_str(&format!("; {} subfolder(s) not searched", self.subfolders));
            if let Some(flag) = recurse_flag {
                why.push_str(&format!(" ({flag} searches them)"));
            }
        }
        if let Some(first) = self.ignored.first() {
            why.push_str(&format!(
                "; {} other file(s) ignored, e.g. '{}'",
                self.ignored.len(),
                first.display()
            ));
        }
        let kinds = match self.videos {
            true => "images or videos",
            false => "images",
        };
        Error::Invalid(format!(
            "no {what} {kinds} found in {} ({why})",
            places.join(", ")
        ))
    }
}
