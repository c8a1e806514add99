//! The work plan: which outputs, in which order, for which shard. Pure functions
//! over paths, so naming, resume and sharding are tested without running a network.
//!
//! Naming: `<content>_stylized_<style>_alpha<alpha>.<ext>` where `<content>`/`<style>` are the
//! path relative to the folder given, without extension, with `/` written as `__`; when two inputs
//! of one kind would get the same name (`a.jpg` and `a.png`), both keep their extension
//! (`a_jpg`, `a_png`). Style mixes are named `mix-<style1>-<style2>...`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::inputs;
pub use crate::inputs::{Found, Input};

/// Whether a file name follows adain-batch's output naming scheme.
pub fn looks_like_output(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    n.contains("_stylized_") && n.contains("_alpha")
}

/// [`inputs::discover`] for a batch writing into `out` (`None`: nothing excluded): the output
/// folder and files named like outputs are never inputs.
pub fn discover_inputs(
    what: &str,
    roots: &[PathBuf],
    recursive: bool,
    out: Option<&Path>,
    videos: bool,
) -> Result<Found> {
    inputs::discover_excluding(what, roots, recursive, out, looks_like_output, videos)
}

/// What a job blends: one style, a weighted mix of all styles, or all styles placed by the
/// content's mask (one region per style, see [`crate::mask`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StyleRef {
    One(usize),
    Mix,
    Masked,
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

/// What a run's outputs are made of and where they go; [`Plan::jobs`] names them.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    pub contents: &'a [Input],
    pub styles: &'a [Input],
    pub alphas: &'a [f32],
    /// `--mix`: one blended style per content instead of one output per style.
    pub mix: bool,
    /// Per content: styles placed by region (`--mask`); missing entries are unmasked.
    pub masked: &'a [bool],
    /// Per content: a video, whose outputs are `.mp4`; missing entries are photos.
    pub video: &'a [bool],
    /// The output folder.
    pub out: &'a Path,
    /// The photos' output extension (`--format`).
    pub ext: &'a str,
}

impl Plan<'_> {
    /// Every (content, style, alpha) output in content-major order, so each content's jobs are
    /// contiguous and its features are computed once. A masked content gets one masked output
    /// per alpha (`<content>_stylized_mask-<style1>-<style2>..._alpha<a>`) instead.
    pub fn jobs(&self) -> Vec<Job> {
        let flag = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
        let all_names = || {
            self.styles
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join("-")
        };
        let mut v = Vec::new();
        for (ci, c) in self.contents.iter().enumerate() {
            let targets: Vec<(StyleRef, String)> = if flag(self.masked, ci) {
                vec![(StyleRef::Masked, format!("mask-{}", all_names()))]
            } else if self.mix {
                vec![(StyleRef::Mix, format!("mix-{}", all_names()))]
            } else {
                self.styles
                    .iter()
                    .enumerate()
                    .map(|(si, s)| (StyleRef::One(si), s.name.clone()))
                    .collect()
            };
            let ext = if flag(self.video, ci) {
                "mp4"
            } else {
                self.ext
            };
            for (style, sname) in targets {
                for &alpha in self.alphas {
                    let file = format!(
                        "{}_stylized_{}_alpha{}.{ext}",
                        c.name,
                        sname,
                        alpha_label(alpha)
                    );
                    v.push(Job {
                        content: ci,
                        style,
                        alpha,
                        output: self.out.join(file),
                    });
                }
            }
        }
        v
    }
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

/// Parses `0.1,0.5,0.9`; each in `[0, 1]`.
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
        // -0 is 0: one output name, one resume match (`--alphas=-0` once wrote `_alpha-0`).
        let a = if a == 0.0 { 0.0 } else { a };
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
    use crate::inputs::discover;

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
        let all = Plan {
            contents: &c,
            styles: &s,
            alphas: &[0.1, 0.5],
            mix: false,
            masked: &[],
            video: &[],
            out: Path::new("out"),
            ext: "jpg",
        }
        .jobs();
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
    fn outputs_are_named_per_content_kind() {
        let input = |n: &str| Input {
            path: format!("{n}.x").into(),
            name: n.into(),
        };
        let (c, s) = (
            [input("photo"), input("clip"), input("fig")],
            [input("a"), input("b")],
        );
        let names = |mix: bool| -> Vec<String> {
            Plan {
                contents: &c,
                styles: &s,
                alphas: &[1.0],
                mix,
                masked: &[false, false, true],
                video: &[false, true],
                out: Path::new("o"),
                ext: "png",
            }
            .jobs()
            .into_iter()
            .map(|j| j.output.to_string_lossy().into_owned())
            .collect()
        };
        assert_eq!(
            names(false),
            [
                "o/photo_stylized_a_alpha1.png",
                "o/photo_stylized_b_alpha1.png",
                "o/clip_stylized_a_alpha1.mp4",
                "o/clip_stylized_b_alpha1.mp4",
                "o/fig_stylized_mask-a-b_alpha1.png",
            ]
        );
        assert_eq!(
            names(true)[..2],
            [
                "o/photo_stylized_mix-a-b_alpha1.png",
                "o/clip_stylized_mix-a-b_alpha1.mp4"
            ]
        );
    }

    #[test]
    fn alphas_are_checked() {
        assert_eq!(parse_alphas("0.1, 0.5,0.9").unwrap(), vec![0.1, 0.5, 0.9]);
        assert!(parse_alphas("0.5,1.5").unwrap_err().contains("outside"));
        assert!(parse_alphas("x").is_err());
        assert_eq!(alpha_label(0.1), "0.1");
        let zero = parse_alphas("-0,0").unwrap();
        assert_eq!(zero.len(), 1, "-0 and 0 are one alpha");
        assert!(zero[0].is_sign_positive() && alpha_label(zero[0]) == "0");
    }
}
