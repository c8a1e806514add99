//! Helpers shared by the integration tests: the project's encoder weights, demo images at exact
//! sizes, and graph export into temporary folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use adain::model::{self, Weights};
use ndarray::{Array4, Axis};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The normalised encoder made by `scripts/setup.sh` (`adain unpack`).
pub fn encoder_weights() -> Weights {
    let p = root().join("models/vgg_normalised.safetensors");
    assert!(
        p.is_file(),
        "{} missing: run scripts/setup.sh (it unpacks the encoder)",
        p.display()
    );
    Weights::load(&p, model::ENCODER).expect("encoder weights load")
}

/// The published (trained) decoder, onnx/decoder.safetensors, so the comparisons run on images
/// with a real range of values.
pub fn decoder_weights() -> Weights {
    let p = root().join("onnx/decoder.safetensors");
    Weights::load(&p, model::DECODER).expect("decoder weights from onnx/decoder.safetensors")
}

/// ONNX Runtime on the CPU provider with `threads` intra-op threads (0: one per core), running
/// the graphs of `precision`.
pub fn cpu(threads: usize, precision: adain::onnx::Precision) -> adain::runtime::RuntimeConfig {
    adain::runtime::RuntimeConfig {
        provider: adain::runtime::Provider::Cpu,
        threads,
        precision,
    }
}

/// Exports the four graphs into a new temporary folder.
pub fn export_tmp(enc: &Weights, dec: &Weights) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    adain::onnx::export(enc, dec, dir.path()).unwrap();
    dir
}

/// `n` demo images (cycling through `kind`) resized exactly to `h` x `w`, `[n,3,h,w]` in [0,1].
pub fn demo_batch(kind: &str, n: usize, h: u32, w: u32) -> Array4<f32> {
    let dir = root().join("datasets/demo").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Array4::<f32>::zeros((n, 3, h as usize, w as usize));
    for i in 0..n {
        let img = image::open(&files[i % files.len()])
            .unwrap()
            .resize_exact(w, h, image::imageops::FilterType::Triangle)
            .to_rgb8();
        let mut s = out.index_axis_mut(Axis(0), i);
        for (x, y, p) in img.enumerate_pixels() {
            for c in 0..3 {
                s[[c, y as usize, x as usize]] = p.0[c] as f32 / 255.0;
            }
        }
    }
    out
}

/// Writes the demo image `src` (path below datasets/demo) resized exactly to `w` x `h` as `dst`
/// (the format from `dst`'s extension).
pub fn save_demo(src: &str, dst: &Path, w: u32, h: u32) {
    image::open(root().join("datasets/demo").join(src))
        .unwrap()
        .resize_exact(w, h, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(dst)
        .unwrap();
}

/// max |a - b| and max |b|.
pub fn max_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let m = b.iter().map(|v| v.abs()).fold(0.0, f32::max);
    (d, m)
}

pub fn bin(name: &str) -> PathBuf {
    // Cargo builds the binaries of the package for integration tests and tells us where.
    match name {
        "adain-batch" => PathBuf::from(env!("CARGO_BIN_EXE_adain-batch")),
        "adain" => PathBuf::from(env!("CARGO_BIN_EXE_adain")),
        _ => panic!("unknown binary {name}"),
    }
}

/// Runs `python/<script>` with `args` in the project venv; its success and its stdout + stderr
/// (also echoed, for the test log).
pub fn venv_script(script: &str, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let py = root().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let out = std::process::Command::new(&py)
        .arg(root().join("python").join(script))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    (out.status.success(), text)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// int8 style statistics against fp32's (`name`: mean or std): relative mean |difference|
/// under 8%, and not 0, which would mean the int8 graph did not run.
pub fn assert_int8_statistics_near(name: &str, ours: &Array4<f32>, theirs: &Array4<f32>) {
    let rel = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / theirs.iter().map(|b| b.abs()).sum::<f32>();
    eprintln!("int8 style {name}: relative mean |difference| {rel:.4}");
    assert!(rel > 0.0 && rel < 0.08, "int8 style {name} off by {rel}");
}

/// int8 relu4_1 features of a content against the fp32 ones: relative norm of the difference
/// under 0.15, and not 0 (python/quantize.py's recipe gave 0.065 at longer side 512; these
/// small test images sit closer to the reflection pads).
pub fn assert_int8_features_near(ours: &Array4<f32>, theirs: &Array4<f32>) {
    let norm = |it: &mut dyn Iterator<Item = f32>| it.map(|v| v * v).sum::<f32>().sqrt();
    let rel =
        norm(&mut ours.iter().zip(theirs).map(|(a, b)| a - b)) / norm(&mut theirs.iter().copied());
    eprintln!("int8 content features: relative norm of the difference {rel:.4}");
    assert!(
        rel > 0.0 && rel < 0.15,
        "int8 content features off by {rel}"
    );
}

/// An int8-decoded image against the fp32 one, both clamped to [0,1]: mean |difference| under
/// 8/255, and not 0.
pub fn assert_int8_image_near(ours: &Array4<f32>, theirs: &Array4<f32>) {
    let clamp = |a: &Array4<f32>| a.mapv(|v| v.clamp(0.0, 1.0));
    let (a, b) = (clamp(theirs), clamp(ours));
    let mean = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    eprintln!(
        "int8 vs fp32 decoder: mean |difference| {:.2}/255",
        mean * 255.0
    );
    assert!(
        mean > 0.0 && mean * 255.0 < 8.0,
        "int8 mean difference {}/255",
        mean * 255.0
    );
}

/// The names in `dir` ending in `ext` (every name with ""), sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

/// Whether `dir` holds no temporary file of ours (`.adain-tmp-*`).
pub fn no_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".adain-tmp"))
}
