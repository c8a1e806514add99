//! The work plan: which images, which outputs, in which order, for which shard. Pure functions
//! over paths, so naming, resume and sharding are tested without running a network.
//!
//! Naming: `<content>_stylized_<style>_alpha<alpha>.<ext>` where `<content>`/`<style>` are the
//! path relative to the folder given, without extension, with `/` written as `__`; when two inputs
//! of one kind would get the same name (`a.jpg` and `a.png`), both keep their extension
//! (`a_jpg`, `a_png`). Style mixes are named `mix-<style1>-<style2>...`.

use std::collections::{BTreeMap, HashMap};
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
}

/// Whether a file name follows adain-batch's output naming scheme.
pub fn looks_like_output(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    n.contains("_stylized_") && n.contains("_alpha")
}

fn has_image_ext(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Collects images from folders and files (sorted, so every process sees the same order) and
/// gives each a collision-free output name.
pub fn discover(what: &str, roots: &[PathBuf], recursive: bool) -> Result<Found> {
    discover_inputs(what, roots, recursive, None)
}

/// [`discover`] for a batch writing into `out`: files inside `out` and files named like
/// outputs are never inputs (else every rerun would stylize the last run's outputs again).
pub fn discover_inputs(
    what: &str,
    roots: &[PathBuf],
    recursive: bool,
    out: Option<&Path>,
) -> Result<Found> {
    let batch = out.is_some();
    // A folder that does not exist yet holds no inputs.
    let out = out.and_then(|o| o.canonicalize().ok());
    let is_output = |p: &Path| {
        looks_like_output(p)
            || out
                .as_ref()
                .is_some_and(|o| p.canonicalize().is_ok_and(|c| c.starts_with(o)))
    };
    let mut found = Found::default();
    let mut rels: Vec<(PathBuf, PathBuf)> = Vec::new(); // (path, relative name source)
    for root in roots {
        let meta = std::fs::metadata(root)
            .map_err(|e| Error::Invalid(format!("{what} '{}': {e}", root.display())))?;
        if meta.is_file() {
            let rel = PathBuf::from(root.file_name().unwrap_or(root.as_os_str()));
            rels.push((root.clone(), rel));
            continue;
        }
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
                        stack.push(p);
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
    Ok(found)
}

/// [`discover`], where finding no image at all is an error (training, scoring).
pub fn discover_some(what: &str, roots: &[PathBuf], recursive: bool) -> Result<Vec<Input>> {
    let found = discover(what, roots, recursive)?.inputs;
    if found.is_empty() {
        return Err(Error::Invalid(format!(
            "no {what} images found in {roots:?}"
        )));
    }
    Ok(found)
}

/// What a job blends: one style, or a weighted mix of all styles.
#[derive(Debug, Clone, PartialEq)]
pub enum StyleRef {
    One(usize),
    Mix,
}

/// One output image.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub content: usize,
    pub style: StyleRef,
    pub alpha: f32,
    pub output: PathBuf,
}

/// Formats alpha for file names and reports: the shortest decimal that reads back the same.
pub fn alpha_label(a: f32) -> String {
    format!("{a}")
}

/// Every (content, style, alpha) output in content-major order, so each content's jobs are
/// contiguous and its features are computed once.
pub fn jobs(
    contents: &[Input],
    styles: &[Input],
    alphas: &[f32],
    mix: bool,
    out: &Path,
    ext: &str,
) -> Vec<Job> {
    let mut v = Vec::new();
    let mix_name = || {
        format!(
            "mix-{}",
            styles
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join("-")
        )
    };
    for (ci, c) in contents.iter().enumerate() {
        let targets: Vec<(StyleRef, String)> = if mix {
            vec![(StyleRef::Mix, mix_name())]
        } else {
            styles
                .iter()
                .enumerate()
                .map(|(si, s)| (StyleRef::One(si), s.name.clone()))
                .collect()
        };
        for (style, sname) in targets {
            for &alpha in alphas {
                let file = format!(
                    "{}_stylized_{}_alpha{}.{ext}",
                    c.name,
                    sname,
                    alpha_label(alpha)
                );
                v.push(Job {
                    content: ci,
                    style: style.clone(),
                    alpha,
                    output: out.join(file),
                });
            }
        }
    }
    v
}

/// `I/N` with 0 <= I < N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4), got '{s}'"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("shard index '{i}' is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count '{n}' is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: expected 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

/// The contiguous slice of `jobs` that shard `I/N` owns: `[I*J/N, (I+1)*J/N)`. Contiguous
/// blocks of the content-major list keep each content's work (and its encoding) in few shards.
pub fn shard(jobs: Vec<Job>, s: Shard) -> Vec<Job> {
    let n = jobs.len();
    let (start, end) = (s.index * n / s.count, (s.index + 1) * n / s.count);
    jobs.into_iter().skip(start).take(end - start).collect()
}

/// Groups jobs by content, preserving order.
pub fn by_content(jobs: &[Job]) -> BTreeMap<usize, Vec<&Job>> {
    let mut m: BTreeMap<usize, Vec<&Job>> = BTreeMap::new();
    for j in jobs {
        m.entry(j.content).or_default().push(j);
    }
    m
}

/// Parses `0.1,0.5,0.9`; each in [0,1].
pub fn parse_alphas(s: &str) -> std::result::Result<Vec<f32>, String> {
    let mut v = Vec::new();
    for part in s.split(',') {
        let a: f32 = part
            .trim()
            .parse()
            .map_err(|_| format!("alpha '{part}' is not a number"))?;
        if !(0.0..=1.0).contains(&a) {
            return Err(format!("alpha {a} is outside [0, 1]"));
        }
        if !v.contains(&a) {
            v.push(a);
        }
    }
    if v.is_empty() {
        return Err("no alphas given".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, rel: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn names_are_collision_free() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "a.jpg",
            "a.png",
            "b.jpg",
            "sub/a.jpg",
            "notes.txt",
            ".hidden.jpg",
        ] {
            touch(d.path(), f);
        }
        let flat = discover("content", &[d.path().to_path_buf()], false).unwrap();
        let names: Vec<_> = flat.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a_jpg", "a_png", "b"]);
        assert_eq!(flat.ignored.len(), 1, "notes.txt is ignored");
        let deep = discover("content", &[d.path().to_path_buf()], true).unwrap();
        let names: Vec<_> = deep.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a_jpg", "a_png", "b", "sub__a"]);
        assert!(
            discover("content", &[d.path().join("missing")], false)
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }

    #[test]
    fn shards_cover_every_job_exactly_once() {
        let c: Vec<Input> = (0..7)
            .map(|i| Input {
                path: format!("c{i}.jpg").into(),
                name: format!("c{i}"),
            })
            .collect();
        let s: Vec<Input> = (0..3)
            .map(|i| Input {
                path: format!("s{i}.jpg").into(),
                name: format!("s{i}"),
            })
            .collect();
        let all = jobs(&c, &s, &[0.1, 0.5], false, Path::new("out"), "jpg");
        assert_eq!(all.len(), 42);
        for n in [1, 2, 5, 42, 50] {
            let mut got: Vec<PathBuf> = (0..n)
                .flat_map(|i| shard(all.clone(), Shard { index: i, count: n }))
                .map(|j| j.output)
                .collect();
            let mut want: Vec<PathBuf> = all.iter().map(|j| j.output.clone()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{n} shards");
        }
        assert!(
            "3/3".parse::<Shard>().is_err()
                && "1/0".parse::<Shard>().is_err()
                && "1/2".parse::<Shard>().is_ok()
        );
    }

    #[test]
    fn alphas_are_checked() {
        assert_eq!(parse_alphas("0.1, 0.5,0.9").unwrap(), vec![0.1, 0.5, 0.9]);
        assert!(parse_alphas("0.5,1.5").unwrap_err().contains("outside"));
        assert!(parse_alphas("x").is_err());
        assert_eq!(alpha_label(0.1), "0.1");
    }
}
