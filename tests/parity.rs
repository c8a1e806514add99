//! The exported ONNX graphs, run by ONNX Runtime, against the tch model with the same weights:
//! features within 1e-4 relative, images within 1/255, at 64x64, 96x128, 257x311 and 500x375,
//! batch 1 and 3, alpha 0, 0.5 and 1 (batch 3 carries the three alphas, one per sample).
#![cfg(feature = "train")]

mod common;

use adain::runtime::{self, Fused, Models};
use adain::train::layers::{Decoder, Encoder, adain as tch_adain, load_decoder, mean_std};
use common::*;
use ndarray::{Array1, Array4, s};
use tch::{Device, Tensor, nn};

fn to_tch(a: &Array4<f32>) -> Tensor {
    let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
    Tensor::from_slice(a.as_slice().unwrap()).reshape(&shape)
}

fn from_tch(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.contiguous().flatten(0, -1)).unwrap()
}

#[test]
fn onnx_graphs_match_tch() {
    tch::manual_seed(42);
    let enc_w = encoder_weights();
    let dec_w = decoder_weights();
    let dir = export_tmp(&enc_w, &dec_w);
    let cfg = cpu(0, adain::onnx::Precision::Fp32);
    let mut models = Models::open(dir.path(), &cfg).unwrap();
    assert!(models.has_fused(), "export writes adain_decoder.onnx");
    let mut fused = Fused::open(dir.path(), &cfg).unwrap();

    let encoder = Encoder::new(&enc_w, Device::Cpu);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let decoder = Decoder::new(&vs.root());
    load_decoder(&mut vs, &dec_w).unwrap();

    for (h, w) in [(64u32, 64u32), (96, 128), (257, 311), (500, 375)] {
        let content = demo_batch("content", 3, h, w);
        let style = demo_batch("style", 3, 80, 72);
        let alphas = Array1::from(vec![0.0f32, 0.5, 1.0]);
        let _g = tch::no_grad_guard();

        // Encoder: features and statistics.
        let fc_ref = encoder.forward(&to_tch(&content));
        let fs_ref = encoder.forward(&to_tch(&style));
        let enc_c = models.encode(content.view()).unwrap();
        let enc_s = models.encode(style.view()).unwrap();
        let (d, m) = max_diff(enc_c.features.as_slice().unwrap(), &from_tch(&fc_ref));
        eprintln!(
            "{h}x{w} encoder features: max diff {d:.3e} (relative {:.3e})",
            d / m
        );
        assert!(
            d / m <= 1e-4,
            "{h}x{w}: encoder features differ by {d} (max {m})"
        );
        let (sm, ss) = mean_std(&fs_ref);
        for (name, ours, theirs) in [("mean", &enc_s.mean, &sm), ("std", &enc_s.std, &ss)] {
            let (d, m) = max_diff(ours.as_slice().unwrap(), &from_tch(theirs));
            assert!(
                d / m <= 1e-4,
                "{h}x{w}: style {name} differs by {d} (max {m})"
            );
        }

        // Batch 3: alphas 0, 0.5, 1, through the split pipeline and the fused graph.
        let t_ref = tch_adain(
            &fc_ref,
            &sm,
            &ss,
            &Tensor::from_slice(alphas.as_slice().unwrap()),
        );
        let y_ref = decoder
            .forward(&t_ref)
            .narrow(2, 0, h as i64)
            .narrow(3, 0, w as i64);
        let t = models
            .adain(
                enc_c.features.view(),
                enc_s.mean.view(),
                enc_s.std.view(),
                alphas.view(),
            )
            .unwrap();
        let (d, m) = max_diff(t.as_slice().unwrap(), &from_tch(&t_ref));
        eprintln!("{h}x{w} adain t: max diff {d:.3e} (relative {:.3e})", d / m);
        assert!(
            d / m <= 1e-4,
            "{h}x{w}: AdaIN output differs by {d} (max {m})"
        );
        let y = runtime::crop(models.decode(t.view()).unwrap(), h as usize, w as usize);
        let y_fused = fused.run(content.view(), style.view(), &alphas).unwrap();
        let y_ad = runtime::crop(
            models
                .stylize_features(
                    enc_c.features.view(),
                    enc_s.mean.view(),
                    enc_s.std.view(),
                    alphas.view(),
                )
                .unwrap(),
            h as usize,
            w as usize,
        );
        // adain_decoder.onnx computes the decoder's upsamplings in sub-pixel form
        // (graphs::upsample_conv): the same function as decoder.onnx, to float rounding.
        let (d, m) = max_diff(
            y_ad.as_standard_layout().as_slice().unwrap(),
            y.as_standard_layout().as_slice().unwrap(),
        );
        eprintln!("{h}x{w} sub-pixel vs plain decoder: max diff {d:.3e} (max |y| {m:.3})");
        assert!(
            d / m <= 2e-5,
            "{h}x{w}: sub-pixel decoder differs from the plain one by {d}, relative {}",
            d / m
        );
        let y_ref = from_tch(&y_ref);
        for (name, ours) in [("split", &y), ("fused", &y_fused), ("adain_decoder", &y_ad)] {
            assert_eq!(
                ours.dim(),
                (3, 3, h as usize, w as usize),
                "{name} output shape"
            );
            let (d, m) = max_diff(ours.as_standard_layout().as_slice().unwrap(), &y_ref);
            eprintln!("{h}x{w} batch 3 {name} image: max diff {d:.3e} (max |y| {m:.3})");
            assert!(
                d <= 1.0 / 255.0,
                "{h}x{w} {name}: image differs by {d} > 1/255"
            );
            assert!(
                d / m <= 1e-3,
                "{h}x{w} {name}: image differs by {d}, relative {} > 1e-3",
                d / m
            );
        }

        // Batch 1: each alpha alone on the first content and style (fused graph).
        for (i, &a) in alphas.iter().enumerate() {
            let c1 = content.slice(s![0..1, .., .., ..]).to_owned();
            let s1 = style.slice(s![0..1, .., .., ..]).to_owned();
            let y1 = fused
                .run(c1.view(), s1.view(), &Array1::from(vec![a]))
                .unwrap();
            let sm1 = sm.narrow(0, 0, 1);
            let ss1 = ss.narrow(0, 0, 1);
            let t1 = tch_adain(
                &fc_ref.narrow(0, 0, 1),
                &sm1,
                &ss1,
                &Tensor::from_slice(&[a]),
            );
            let y1_ref = decoder
                .forward(&t1)
                .narrow(2, 0, h as i64)
                .narrow(3, 0, w as i64);
            let (d, _) = max_diff(y1.as_slice().unwrap(), &from_tch(&y1_ref));
            assert!(
                d <= 1.0 / 255.0,
                "{h}x{w} batch 1 alpha {a}: image differs by {d}"
            );
            if i == 0 {
                eprintln!("{h}x{w} batch 1: max diff {d:.3e}");
            }
        }
    }
}

#[test]
fn too_small_inputs_are_refused_before_onnx() {
    let dir = export_tmp(&encoder_weights(), &decoder_weights());
    let cfg = cpu(1, adain::onnx::Precision::Fp32);
    let mut models = Models::open(dir.path(), &cfg).unwrap();
    let tiny = Array4::<f32>::zeros((1, 3, 8, 40));
    let e = models
        .encode(tiny.view())
        .err()
        .expect("8 px high must be refused")
        .to_string();
    assert!(e.contains("40x8") && e.contains("minimum"), "{e}");
}
