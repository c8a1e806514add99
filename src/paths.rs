//! Where adain's pieces are found: ONNX Runtime's library, the models folder (graphs and
//! weights), the demo images, the Python that runs the helper scripts. One fixed, documented
//! order (docs/setup.md), which never includes the current folder, so running a binary inside a
//! downloaded dataset can never load code from it:
//!
//! 1. explicit options and variables (`--models`, `ORT_DYLIB_PATH`, `ADAIN_HOME`,
//!    `ADAIN_PYTHON`);
//! 2. places tied to the executable: the checkout it was built in (an ancestor holding
//!    `python/requirements.txt`), its Python environment when pip installed it
//!    (`<prefix>/bin/adain-batch` beside `<prefix>/lib/python3.X/site-packages`);
//! 3. the per-user data folder (`$XDG_DATA_HOME/adain`, else `~/.local/share/adain`) that
//!    `adain setup` fills.
//!
//! Every lookup says where it found a piece and by which rule ([`Found`]), and when nothing
//! has it, every place it looked and the one command that fixes it ([`Error::NotFound`]).
//! The helper scripts in `python/` are compiled into the binaries and run in isolated mode
//! (`python -I`: no current folder or user site on `sys.path`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The committed demo photos and paintings, relative to a checkout or the data folder: the
/// default inputs of every command that needs a few images (normalisation, int8 calibration,
/// validation).
pub const DEMO_CONTENT: &str = "datasets/demo/content";
pub const DEMO_STYLE: &str = "datasets/demo/style";
/// The models folder (graphs, decoder weights) inside a checkout or the data folder.
pub const MODELS: &str = "onnx";
/// The unpacked VGG-19 weights (encoder, quality judge) inside a checkout or the data folder.
pub const WEIGHTS: &str = "models";

/// What one lookup settled on.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub path: PathBuf,
    /// The rule that chose it, as `adain info` prints it ("ORT_DYLIB_PATH", "the checkout
    /// holding the executable", ...).
    pub why: String,
}

impl Found {
    fn new(path: PathBuf, why: impl Into<String>) -> Self {
        Found {
            path,
            why: why.into(),
        }
    }
}

/// A place a piece may be, with the rule that names it; looked at in order.
type Candidate = (PathBuf, String);

/// `ADAIN_HOME`, else the checkout the executable sits in: its first ancestor holding
/// `python/requirements.txt`. Never the current folder.
pub fn checkout() -> Option<Found> {
    if let Some(h) = std::env::var_os("ADAIN_HOME").filter(|h| !h.is_empty()) {
        return Some(Found::new(PathBuf::from(h), "ADAIN_HOME"));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .find(|p| p.join("python").join("requirements.txt").is_file())
        .map(|p| Found::new(p.to_path_buf(), "the checkout holding the executable"))
}

/// Whether this binary runs installed (no checkout around it, no `ADAIN_HOME`): the fix for a
/// missing or stale piece is then `adain setup`, not a command of the checkout.
pub fn installed() -> bool {
    checkout().is_none()
}

/// The install prefix of the executable: `<prefix>/bin/adain-batch` -> `<prefix>` (a pip
/// venv, `~/.local`, a `cargo install --root`).
fn exe_prefix() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?;
    (bin.file_name() == Some(OsStr::new("bin")))
        .then(|| bin.parent().map(Path::to_path_buf))
        .flatten()
}

/// The per-user data folder: `$XDG_DATA_HOME/adain` (an absolute path, as the XDG spec asks),
/// else `$HOME/.local/share/adain`.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from)
        && x.is_absolute()
    {
        return Some(x.join("adain"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("adain"),
    )
}

/// The data folder, or an error saying how to name one.
pub fn data_dir_or_err() -> Result<PathBuf> {
    data_dir().ok_or_else(|| {
        Error::Invalid(
            "no per-user data folder: neither XDG_DATA_HOME (absolute) nor HOME is set".into(),
        )
    })
}

/// `sub` under the checkout, then beside the executable (`<prefix>/share/adain/sub`, where a
/// pip wheel puts its data), then under the data folder.
fn homes(sub: &str) -> Vec<Candidate> {
    let mut c = Vec::new();
    if let Some(f) = checkout() {
        c.push((f.path.join(sub), f.why));
    }
    if let Some(p) = exe_prefix() {
        c.push((
            p.join("share").join("adain").join(sub),
            "installed beside the executable".into(),
        ));
    }
    if let Some(d) = data_dir() {
        c.push((d.join(sub), "the per-user data folder".into()));
    }
    c
}

fn first(what: &str, candidates: Vec<Candidate>, ok: impl Fn(&Path) -> bool) -> Result<Found> {
    match candidates.iter().find(|(p, _)| ok(p)) {
        Some((p, why)) => Ok(Found::new(p.clone(), why.clone())),
        None => Err(not_found(what, candidates)),
    }
}

fn not_found(what: &str, looked: Vec<Candidate>) -> Error {
    Error::NotFound {
        what: what.into(),
        looked: looked
            .into_iter()
            .map(|(p, why)| format!("{} ({why})", p.display()))
            .collect(),
        fix: "adain setup".into(),
    }
}

/// The folder of graphs adain-batch runs when `--models` is not given: the first of
/// `homes("onnx")` that holds the fp32 encoder graph.
pub fn models_dir() -> Result<Found> {
    first(
        "the models folder (encoder.onnx and the other graphs)",
        homes(MODELS),
        |p| p.join(crate::onnx::ENCODER_FILE).is_file(),
    )
}

/// Where commands write `sub` ([`MODELS`], [`WEIGHTS`]) when no output is named: under the
/// checkout, else under the data folder.
pub fn home(sub: &str) -> Result<PathBuf> {
    match checkout() {
        Some(f) => Ok(f.path.join(sub)),
        None => Ok(data_dir_or_err()?.join(sub)),
    }
}

/// A file inside the models folder or the weights folder: the first of `homes(sub)`
/// holding `name` (the decoder weights, the VGG-19 pack, the unpacked encoder).
pub fn resource(sub: &str, name: &str) -> Result<Found> {
    let looked = homes(sub)
        .into_iter()
        .map(|(p, why)| (p.join(name), why))
        .collect();
    first(name, looked, Path::is_file)
}

/// The default path of a file that may not exist yet (an input whose absence the caller
/// reports with its path): where [`resource`] finds it, else where [`home`] would put it; an
/// error when there is neither a checkout nor a data folder (never a path relative to the
/// current folder).
pub fn resource_or_default(sub: &str, name: &str) -> Result<PathBuf> {
    match resource(sub, name) {
        Ok(f) => Ok(f.path),
        Err(_) => Ok(home(sub)?.join(name)),
    }
}

/// The demo images folder `rel` ([`DEMO_CONTENT`] or [`DEMO_STYLE`]): in the checkout, else in
/// the data folder (`adain setup` writes them there for int8 calibration); where neither has
/// it, the first of the two (so the error names it); an error when there is neither.
pub fn demo(rel: &str) -> Result<PathBuf> {
    let bases: Vec<PathBuf> = [checkout().map(|f| f.path), data_dir()]
        .into_iter()
        .flatten()
        .collect();
    let first = bases.first().ok_or_else(|| {
        Error::Invalid(format!(
            "no checkout and no data folder to find {rel} in (set ADAIN_HOME or HOME)"
        ))
    })?;
    Ok(bases
        .iter()
        .map(|d| d.join(rel))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| first.join(rel)))
}

/// The Python `site-packages` folders of an environment rooted at `root` (a venv, a user or
/// system prefix): `lib/python3.X/{site,dist}-packages`.
fn site_packages(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join("lib")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python3"))
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .flat_map(|d| [d.join("site-packages"), d.join("dist-packages")])
        .filter(|d| d.is_dir())
        .collect()
}

/// The newest `libonnxruntime.so*` in `dir`.
fn ort_library_in(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                && p.is_file()
        })
        .collect();
    libs.sort();
    libs.pop()
}

/// The places ONNX Runtime's library is looked for after `ORT_DYLIB_PATH`, in order: the
/// checkout (or `ADAIN_HOME`), the executable's own Python environment, the data folder. In a
/// checkout or a folder `adain setup` filled, the library is in one of three places: the
/// checkout's `.venv` (scripts/setup.sh), a copied library in `lib/`, a `venv/`.
fn ort_candidates() -> Vec<Candidate> {
    let capi = |site: PathBuf| site.join("onnxruntime").join("capi");
    let in_home = |root: &Path, why: &str| {
        let mut c = Vec::new();
        for venv in [".venv", "venv"] {
            let sites = site_packages(&root.join(venv));
            if sites.is_empty() && venv == "venv" {
                // Named even when missing: it is where `adain setup` would install.
                c.push((root.join(venv), format!("{why}, {venv}")));
            }
            c.extend(
                sites
                    .into_iter()
                    .map(|s| (capi(s), format!("{why}, {venv}"))),
            );
        }
        c.push((root.join("lib"), why.to_string()));
        c
    };
    let mut c = Vec::new();
    if let Some(f) = checkout() {
        c.extend(in_home(&f.path, &f.why));
    }
    if let Some(p) = exe_prefix() {
        c.extend(
            site_packages(&p)
                .into_iter()
                .map(|s| (capi(s), "the executable's Python environment".into())),
        );
    }
    if let Some(d) = data_dir() {
        c.extend(in_home(&d, "the per-user data folder"));
    }
    c
}

/// `libonnxruntime.so` to load: `ORT_DYLIB_PATH`, else the first of `ort_candidates()` that
/// holds one.
pub fn onnxruntime_dylib() -> Result<Found> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(Found::new(p, "ORT_DYLIB_PATH"))
        } else {
            Err(Error::Runtime(format!(
                "ORT_DYLIB_PATH={} does not exist",
                p.display()
            )))
        };
    }
    let looked = ort_candidates();
    for (dir, why) in &looked {
        if let Some(lib) = ort_library_in(dir) {
            return Ok(Found::new(lib, why.clone()));
        }
    }
    Err(not_found(
        "ONNX Runtime's library (libonnxruntime.so 1.31.x)",
        looked,
    ))
}

/// The Python that runs the helper scripts: `ADAIN_PYTHON`, else the checkout's venv, the
/// Python beside the executable when it lives in a venv (pip), the data folder's venv.
pub fn python() -> Result<Found> {
    if let Some(p) = std::env::var_os("ADAIN_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(Found::new(PathBuf::from(p), "ADAIN_PYTHON"));
    }
    let py = |venv: PathBuf| venv.join("bin").join("python");
    let mut looked = Vec::new();
    if let Some(f) = checkout() {
        for venv in [".venv", "venv"] {
            looked.push((py(f.path.join(venv)), format!("{}, {venv}", f.why)));
        }
    }
    if let Some(p) = exe_prefix().filter(|p| p.join("pyvenv.cfg").is_file()) {
        looked.push((py(p), "the executable's venv".into()));
    }
    if let Some(d) = data_dir() {
        looked.push((py(d.join("venv")), "the per-user data folder, venv".into()));
    }
    first(
        "the Python environment for the helper scripts",
        looked,
        Path::is_file,
    )
}

/// The helper scripts, compiled in: the binary runs the copy it was built with, wherever it is
/// installed, and nothing from disk can stand in for it.
const SCRIPTS: &[(&str, &str)] = &[
    ("quantize.py", include_str!("../python/quantize.py")),
    (
        "import_weights.py",
        include_str!("../python/import_weights.py"),
    ),
];

/// Runs the helper script `script` with `args` in `py` (usually [`python`]'s), isolated (`-I`:
/// neither the current folder nor the user's site-packages nor PYTHON* variables reach
/// `sys.path`); its output goes to our stderr/stdout.
pub fn run_python_script(py: &Path, script: &str, args: &[&OsStr]) -> Result<()> {
    let (_, code) = SCRIPTS
        .iter()
        .find(|(name, _)| *name == script)
        .ok_or_else(|| Error::Invalid(format!("no helper script named {script}")))?;
    let status = std::process::Command::new(py)
        .arg("-I")
        .arg("-c")
        .arg(code)
        .args(args)
        .status()
        .map_err(|e| Error::io(py, e))?;
    if !status.success() {
        return Err(Error::Invalid(format!(
            "python/{script} (run by {}) failed ({status})",
            py.display()
        )));
    }
    Ok(())
}
