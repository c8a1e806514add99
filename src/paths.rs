//! Where the project's installed pieces live: the project-local Python venv made by
//! `scripts/setup.sh`, ONNX Runtime's shared library inside it, and the default model folder.
//! Binaries find them without the user exporting variables; each can be overridden:
//! `ADAIN_HOME` (the project root), `ORT_DYLIB_PATH` (libonnxruntime.so), `ADAIN_PYTHON`.
//! Also runs the helper scripts in `python/` (weight import, int8 quantisation) in that venv.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The committed demo photos and paintings (relative to the project root): the default inputs
/// of every command that needs a few images (normalisation, int8 calibration, validation).
pub const DEMO_CONTENT: &str = "datasets/demo/content";
pub const DEMO_STYLE: &str = "datasets/demo/style";

/// The project root: `ADAIN_HOME`, else the first ancestor of the executable or of the current
/// folder that holds `python/requirements.txt` (a checkout).
pub fn project_root() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("ADAIN_HOME") {
        return Some(PathBuf::from(h));
    }
    let is_root = |p: &Path| p.join("python").join("requirements.txt").is_file();
    let from_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.ancestors().find(|p| is_root(p)).map(Path::to_path_buf));
    from_exe.or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.ancestors().find(|p| is_root(p)).map(Path::to_path_buf))
    })
}

fn site_packages(root: &Path) -> Option<PathBuf> {
    let lib = root.join(".venv").join("lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| d.join("site-packages"))
        .find(|d| d.is_dir())
}

/// `libonnxruntime.so` to load: `ORT_DYLIB_PATH`, else the one in the project venv's
/// `onnxruntime` (or `onnxruntime-gpu`) package.
pub fn onnxruntime_dylib() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Runtime(format!(
                "ORT_DYLIB_PATH={} does not exist",
                p.display()
            )))
        };
    }
    let root = project_root();
    let capi = root
        .as_deref()
        .and_then(site_packages)
        .map(|s| s.join("onnxruntime").join("capi"));
    if let Some(capi) = &capi
        && let Ok(entries) = std::fs::read_dir(capi)
    {
        {
            let mut libs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                })
                .collect();
            libs.sort();
            if let Some(l) = libs.pop() {
                return Ok(l);
            }
        }
    }
    Err(Error::Runtime(format!(
        "cannot find libonnxruntime.so (looked in {}); run scripts/setup.sh, or set ORT_DYLIB_PATH to a libonnxruntime.so 1.31.x",
        capi.map(|c| c.display().to_string())
            .unwrap_or_else(|| "<no project root: set ADAIN_HOME>".into())
    )))
}

/// The project venv's Python (`ADAIN_PYTHON` overrides), used for weight import.
pub fn python() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ADAIN_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let root = project_root().ok_or_else(|| {
        Error::Invalid("cannot find the adain project root; set ADAIN_HOME".into())
    })?;
    let py = root.join(".venv").join("bin").join("python");
    if py.is_file() {
        Ok(py)
    } else {
        Err(Error::Invalid(format!(
            "{}: no project venv; run scripts/setup.sh first",
            py.display()
        )))
    }
}

/// The folder of helper Python scripts shipped with the project.
pub fn python_scripts() -> Result<PathBuf> {
    let root = project_root().ok_or_else(|| {
        Error::Invalid("cannot find the adain project root; set ADAIN_HOME".into())
    })?;
    Ok(root.join("python"))
}

/// Runs `python/<script>` with `args` in the project venv; its output goes to our stderr/stdout.
pub fn run_python_script(script: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let py = python()?;
    let script = python_scripts()?.join(script);
    let status = std::process::Command::new(&py)
        .arg(&script)
        .args(args)
        .status()
        .map_err(|e| Error::io(&py, e))?;
    if !status.success() {
        return Err(Error::Invalid(format!(
            "{} failed ({status})",
            script.display()
        )));
    }
    Ok(())
}
