//! `adain setup`: fills the per-user data folder ([`crate::paths::data_dir`]) so installed
//! binaries (`cargo install`, a copied binary) work in any folder: ONNX Runtime's library (a
//! venv with PyPI's `onnxruntime` wheel, or the library `ORT_DYLIB_PATH` names, copied), the
//! weights this binary carries (the published decoder, the VGG-19 pack, unpacked into the
//! encoder and the quality judge), the demo images int8 calibration runs on, and the graphs
//! exported from them. Every step is skipped when its result is already there, so running it
//! again is cheap and repairs what is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::paths;

/// Files compiled into the binary, with their paths relative to the checkout (and so to the
/// data folder, which mirrors its layout).
const ASSETS: &[(&str, &[u8])] = &[
    (
        "onnx/decoder.safetensors",
        include_bytes!("../onnx/decoder.safetensors"),
    ),
    (
        "onnx/decoder.provenance.json",
        include_bytes!("../onnx/decoder.provenance.json"),
    ),
    (
        "onnx/vgg19_q8.safetensors",
        include_bytes!("../onnx/vgg19_q8.safetensors"),
    ),
    (
        "onnx/vgg19_q8.provenance.json",
        include_bytes!("../onnx/vgg19_q8.provenance.json"),
    ),
];

/// The demo images (int8 calibration, default validation pairs), compiled in likewise;
/// `tests/install.rs` checks the list against the folder.
pub const DEMO: &[(&str, &[u8])] = &[
    (
        "datasets/demo/content/astronaut.jpg",
        include_bytes!("../datasets/demo/content/astronaut.jpg"),
    ),
    (
        "datasets/demo/content/beach.jpg",
        include_bytes!("../datasets/demo/content/beach.jpg"),
    ),
    (
        "datasets/demo/content/chelsea.jpg",
        include_bytes!("../datasets/demo/content/chelsea.jpg"),
    ),
    (
        "datasets/demo/content/city.jpg",
        include_bytes!("../datasets/demo/content/city.jpg"),
    ),
    (
        "datasets/demo/content/coffee.jpg",
        include_bytes!("../datasets/demo/content/coffee.jpg"),
    ),
    (
        "datasets/demo/content/grace_hopper.jpg",
        include_bytes!("../datasets/demo/content/grace_hopper.jpg"),
    ),
    (
        "datasets/demo/style/composition_viii.jpg",
        include_bytes!("../datasets/demo/style/composition_viii.jpg"),
    ),
    (
        "datasets/demo/style/great_wave.jpg",
        include_bytes!("../datasets/demo/style/great_wave.jpg"),
    ),
    (
        "datasets/demo/style/inokashira_snow.jpg",
        include_bytes!("../datasets/demo/style/inokashira_snow.jpg"),
    ),
    (
        "datasets/demo/style/moulin_de_la_galette.jpg",
        include_bytes!("../datasets/demo/style/moulin_de_la_galette.jpg"),
    ),
    (
        "datasets/demo/style/starry_night.jpg",
        include_bytes!("../datasets/demo/style/starry_night.jpg"),
    ),
    (
        "datasets/demo/style/village_street_auvers.jpg",
        include_bytes!("../datasets/demo/style/village_street_auvers.jpg"),
    ),
];

/// The pinned Python packages (the one place versions are written).
const REQUIREMENTS: &str = include_str!("../python/requirements.txt");

/// What `adain setup` does.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The folder to fill: the data folder unless named.
    pub dir: PathBuf,
    /// Also make the int8 graphs (the fast CPU path; needs ONNX Runtime's Python quantiser,
    /// ~65 MB of wheels, and ~3 minutes of calibration on 2 cores).
    pub int8: bool,
    /// `onnxruntime-gpu` (CUDA 13) instead of the CPU wheel.
    pub gpu: bool,
}

/// The pinned `name==version` line of python/requirements.txt.
fn pin(name: &str) -> Result<&'static str> {
    REQUIREMENTS
        .lines()
        .find(|l| l.split("==").next() == Some(name))
        .ok_or_else(|| Error::Invalid(format!("python/requirements.txt pins no {name}")))
}

/// Writes `bytes` to `path` unless it already holds them; never over anything but a regular
/// file (the write guard, `fsutil::check_target`).
fn put(path: &Path, bytes: &[u8]) -> Result<bool> {
    crate::fsutil::check_target(
        path,
        &crate::fsutil::Target {
            option: "adain setup",
            writes: "a file of the installation",
            same_kind: &|_| true,
            inputs: &[],
            force: false,
        },
    )?;
    if crate::fsutil::read_regular(path).is_ok_and(|b| b == bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        crate::fsutil::create_folder(parent)?;
    }
    crate::fsutil::write_atomic(path, bytes)?;
    Ok(true)
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .map_err(|e| Error::Invalid(format!("{what}: cannot start {cmd:?}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{what} failed ({status}): {cmd:?}")))
    }
}

/// The venv inside the data folder, made with `python3 -m venv` when missing.
fn venv(dir: &Path, say: &dyn Fn(&str)) -> Result<PathBuf> {
    let venv = dir.join("venv");
    let py = venv.join("bin").join("python");
    if !py.is_file() {
        say(&format!("making a Python venv in {}", venv.display()));
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (Debian: apt-get install python3-venv)",
        )?;
    }
    Ok(py)
}

fn pip(py: &Path, args: &[&str], what: &str) -> Result<()> {
    run(
        Command::new(py)
            .args(["-I", "-m", "pip", "install", "-q", "--retries", "10"])
            .args(args),
        what,
    )
}

/// Whether `py` can run python/quantize.py.
fn has_quantiser(py: &Path) -> bool {
    Command::new(py)
        .args([
            "-I",
            "-c",
            "import onnx, numpy, safetensors, onnxruntime.quantization",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the set-up; `say` reports each step (stderr in the CLI).
pub fn setup(s: &Setup, say: &dyn Fn(&str)) -> Result<()> {
    crate::fsutil::create_folder(&s.dir)?;
    let ort = if s.gpu {
        pin("onnxruntime")?.replacen("onnxruntime", "onnxruntime-gpu", 1)
    } else {
        pin("onnxruntime")?.to_string()
    };

    // 1. ONNX Runtime's library.
    if let Some(named) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let named = PathBuf::from(named);
        let bytes = crate::fsutil::read_regular(&named)?;
        let name = named.file_name().ok_or_else(|| {
            Error::Invalid(format!("ORT_DYLIB_PATH={}: not a file", named.display()))
        })?;
        let to = s.dir.join("lib").join(name);
        if put(&to, &bytes)? {
            say(&format!(
                "copied ORT_DYLIB_PATH's library to {}",
                to.display()
            ));
        }
    } else if let Ok(found) = paths::onnxruntime_dylib() {
        say(&format!(
            "onnx runtime: {} ({})",
            found.path.display(),
            found.why
        ));
    } else {
        let py = venv(&s.dir, say)?;
        say(&format!(
            "installing {ort} from PyPI (library only, ~17 MB for the CPU wheel)"
        ));
        pip(&py, &["--no-deps", &ort], &format!("pip install {ort}"))?;
    }

    // 2. The weights this binary carries, and the demo images.
    for (rel, bytes) in ASSETS.iter().chain(DEMO) {
        let to = s.dir.join(rel);
        if put(&to, bytes)? {
            say(&format!("wrote {}", to.display()));
        }
    }
    let models = s.dir.join(paths::MODELS);
    let pack = crate::vgg::Pack::load(&models.join(crate::vgg::PACK_FILE))?;
    for done in crate::vgg::unpack(&pack, &s.dir.join(paths::WEIGHTS), true)? {
        if let crate::vgg::Unpacked::Written(p) = done {
            say(&format!("wrote {}", p.display()));
        }
    }

    // 3. The graphs.
    let enc = crate::model::Weights::load(
        &s.dir.join(paths::WEIGHTS).join(crate::vgg::ENCODER_WEIGHTS),
        crate::model::ENCODER,
    )?;
    let dec = crate::model::Weights::load(
        &models.join(crate::onnx::DECODER_WEIGHTS),
        crate::model::DECODER,
    )?;
    use crate::onnx::Precision;
    for p in [Precision::Fp32, Precision::Fp16] {
        if crate::onnx::is_current(&models, &enc, &dec, p) {
            continue;
        }
        say(&format!(
            "exporting the {p} graphs into {}",
            models.display()
        ));
        crate::onnx::export_with(&enc, &dec, &models, p)?;
    }
    if s.int8 && !crate::onnx::is_current(&models, &enc, &dec, Precision::Int8) {
        let py = match paths::python() {
            Ok(f) if has_quantiser(&f.path) => f.path,
            _ => {
                let py = venv(&s.dir, say)?;
                if !has_quantiser(&py) {
                    let deps: Vec<&str> = ["onnx", "numpy", "safetensors"]
                        .into_iter()
                        .map(pin)
                        .collect::<Result<_>>()?;
                    say(&format!(
                        "installing ONNX Runtime's quantiser for the int8 graphs ({ort} with its \
                         dependencies, {}: ~65 MB)",
                        deps.join(", ")
                    ));
                    let mut args = vec![ort.as_str()];
                    args.extend(deps);
                    pip(&py, &args, "pip install the int8 quantiser")?;
                }
                py
            }
        };
        say(&format!(
            "making the int8 graphs (calibrated on the demo images: ~3 minutes on 2 cores) with {}",
            py.display()
        ));
        let cal = crate::quantize::Calibration {
            content: vec![s.dir.join(paths::DEMO_CONTENT)],
            style: vec![s.dir.join(paths::DEMO_STYLE)],
            ..Default::default()
        };
        crate::quantize::export_int8_with(&models, &cal, &py)?;
    }
    say(&format!(
        "ready: {} (`adain info` shows what each command will use)",
        s.dir.display()
    ));
    Ok(())
}
