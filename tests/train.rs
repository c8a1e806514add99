//! The trainer on tiny images and a few iterations (feature "train", CPU).
#![cfg(feature = "train")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use adain::model::{self, Weights};
use adain::train::model::{Decoder, Encoder, adain as tch_adain, load_decoder, mean_std};
use adain::train::trainer::{self, LossRow, Model, TrainConfig, TrainProgress};
use adain::train::{eval, trainer::learning_rate};
use common::*;
use tch::{Device, Kind, Tensor, nn};

#[derive(Default)]
struct Capture(Mutex<Vec<String>>);
impl TrainProgress for Capture {
    fn start(&self, _: u64, _: u64) {}
    fn step(&self, _: u64, _: Option<&LossRow>) {}
    fn println(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
    fn finish(&self) {}
}

fn demo(kind: &str) -> PathBuf {
    root().join("datasets/demo").join(kind)
}

fn config(out: &Path, iterations: u64) -> TrainConfig {
    TrainConfig {
        content: vec![demo("content")],
        style: vec![demo("style")],
        out: out.into(),
        encoder: root().join("models/vgg_normalised.safetensors"),
        iterations,
        batch_size: 2,
        lr: 1e-4,
        lr_decay: 5e-5,
        content_weight: 1.0,
        style_weight: 10.0,
        crop: 64,
        resize: 96,
        seed: 3,
        device: "cpu".into(),
        channels_last: false,
        precision: "fp32".into(),
        save_every: 2,
        log_every: 1,
        sample_every: 0,
        workers: 2,
        time_limit_s: 0.0,
        init_decoder: None,
        sample_content: vec![],
        sample_style: vec![],
    }
}

fn batch(kind: &str, n: usize, side: u32) -> Tensor {
    let a = demo_batch(kind, n, side, side);
    Tensor::from_slice(a.as_slice().unwrap()).reshape([n as i64, 3, side as i64, side as i64])
}

#[test]
fn loss_decreases_on_a_fixed_batch() {
    let mut m = Model::new(&encoder_weights(), Device::Cpu, 0, false, false);
    let (c, s) = (batch("content", 2, 64), batch("style", 2, 64));
    let total = |m: &Model| {
        let l = m.losses(&c, &s);
        l.content * 1.0 + l.style * 10.0
    };
    let first = total(&m).double_value(&[]);
    for step in 1..=40 {
        let l = total(&m);
        m.adam_step(&l, 1e-3, step);
    }
    let last = tch::no_grad(|| total(&m)).double_value(&[]);
    eprintln!("total loss {first:.2} -> {last:.2}");
    assert!(last < 0.5 * first, "loss went from {first} to {last}");
}

#[test]
fn resume_reproduces_an_uninterrupted_run_and_checkpoints_load() {
    let d = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let full = trainer::train(&config(&a, 4), false, &Capture::default(), &stop).unwrap();
    trainer::train(&config(&b, 2), false, &Capture::default(), &stop).unwrap();
    let p = Capture::default();
    let resumed = trainer::train(&config(&b, 4), true, &p, &stop).unwrap();
    assert!(
        p.0.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("resuming") && l.contains("iteration 2"))
    );
    let (ra, rb) = (
        trainer::read_losses(&a.join("losses.csv")).unwrap(),
        trainer::read_losses(&b.join("losses.csv")).unwrap(),
    );
    assert_eq!(ra.len(), 4);
    assert_eq!(rb.len(), 4, "the log continues where the checkpoint was");
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.iteration, y.iteration);
        assert_eq!(x.lr, y.lr);
        for (u, v) in [(x.content, y.content), (x.style, y.style)] {
            assert!(
                (u - v).abs() <= 1e-4 * u.abs().max(1.0),
                "iteration {}: {u} vs {v}",
                x.iteration
            );
        }
    }
    assert_eq!(rb[3].lr, learning_rate(1e-4, 5e-5, 3));
    // Checkpoints: decoder weights load in decoder.pth layout and match between the two runs.
    let wa = Weights::load(&full.decoder, model::DECODER).unwrap();
    let wb = Weights::load(&resumed.decoder, model::DECODER).unwrap();
    let (diff, _) = max_diff(&wa.get("1.weight").data, &wb.get("1.weight").data);
    assert!(diff < 1e-5, "resumed decoder differs by {diff}");
    assert!(a.join("config.json").is_file() && a.join("losses.png").is_file());
    let meta = trainer::latest_checkpoint(&a).unwrap().unwrap();
    assert_eq!(meta.iteration, 4);
}

#[test]
fn unreadable_training_images_are_skipped_with_one_warning() {
    let d = tempfile::tempdir().unwrap();
    let content = d.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    for f in ["astronaut.jpg", "chelsea.jpg"] {
        std::fs::copy(demo("content").join(f), content.join(f)).unwrap();
    }
    std::fs::write(content.join("broken.jpg"), b"not a jpeg").unwrap();
    std::fs::copy(
        root().join("tests/data/bad/truncated.jpg"),
        content.join("truncated.jpg"),
    )
    .unwrap();
    let mut cfg = config(&d.path().join("run"), 6);
    cfg.content = vec![content];
    let p = Capture::default();
    let out = trainer::train(&cfg, false, &p, &AtomicBool::new(false)).unwrap();
    assert_eq!(out.last_iteration, 6);
    let lines = p.0.lock().unwrap().clone();
    for bad in ["broken.jpg", "truncated.jpg"] {
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("skipping") && l.contains(bad))
                .count(),
            1,
            "one warning for {bad}: {lines:?}"
        );
    }
}

#[test]
fn a_folder_of_only_unreadable_images_is_an_error_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let content = d.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(content.join("a.jpg"), b"not a jpeg").unwrap();
    std::fs::write(content.join("b.png"), b"").unwrap();
    let mut cfg = config(&d.path().join("run"), 3);
    cfg.content = vec![content];
    let e = trainer::train(&cfg, false, &Capture::default(), &AtomicBool::new(false))
        .err()
        .expect("must fail");
    assert!(e.to_string().contains("unreadable"), "{e}");
}

fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64
}

fn vec_of(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().flatten(0, -1)).unwrap()
}

/// Per-channel (mean, std) of one sample's features, by `adain::model::mean_std` (plain Rust, f64).
fn stats(t: &Tensor) -> (Vec<f32>, Vec<f32>) {
    model::mean_std(&vec_of(t), t.size()[1] as usize)
}

#[test]
fn eval_matches_a_hand_computation() {
    let enc_w = encoder_weights();
    let dec_w = decoder_weights();
    let d = tempfile::tempdir().unwrap();
    let (cp, sp) = (d.path().join("c.png"), d.path().join("s.png"));
    let img = |p: &Path, src: &str| {
        image::open(src)
            .unwrap()
            .resize_exact(32, 32, image::imageops::FilterType::Triangle)
            .to_rgb8()
            .save(p)
            .unwrap()
    };
    img(&cp, demo("content").join("chelsea.jpg").to_str().unwrap());
    img(&sp, demo("style").join("great_wave.jpg").to_str().unwrap());
    let rows = eval::evaluate(
        &enc_w,
        &dec_w,
        std::slice::from_ref(&cp),
        std::slice::from_ref(&sp),
        32,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(rows.len(), 1);

    // By hand: features from the tch encoder, then the loss formulas in plain Rust.
    let load = |p: &Path| {
        let im = image::open(p).unwrap().to_rgb8();
        let mut v = vec![0f32; 3 * 32 * 32];
        for (x, y, px) in im.enumerate_pixels() {
            for c in 0..3 {
                v[c * 1024 + y as usize * 32 + x as usize] = px.0[c] as f32 / 255.0;
            }
        }
        Tensor::from_slice(&v).reshape([1, 3, 32, 32])
    };
    let enc = Encoder::new(&enc_w, Device::Cpu);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let dec = Decoder::new(&vs.root());
    load_decoder(&mut vs, &dec_w).unwrap();
    let _g = tch::no_grad_guard();
    let (c, s) = (load(&cp), load(&sp));
    let s_taps = enc.taps(&s);
    let fc = enc.forward(&c);
    let (sm, ss) = mean_std(&s_taps[3]);
    let t = tch_adain(&fc, &sm, &ss, &Tensor::from_slice(&[1.0f32]));
    let g = dec.forward(&t);
    let g_taps = enc.taps(&g);
    let content = mse(&vec_of(&g_taps[3]), &vec_of(&t));
    let mut style = 0.0;
    for (gl, sl) in g_taps.iter().zip(&s_taps) {
        let ((gm, gs), (sm, ss)) = (stats(gl), stats(sl));
        style += mse(&gm, &sm) + mse(&gs, &ss);
    }
    eprintln!(
        "eval: content {} style {}; by hand: content {content} style {style}",
        rows[0].content_loss, rows[0].style_loss
    );
    assert!(
        (rows[0].content_loss - content).abs() <= 1e-4 * content,
        "content {} vs {content}",
        rows[0].content_loss
    );
    assert!(
        (rows[0].style_loss - style).abs() <= 1e-4 * style,
        "style {} vs {style}",
        rows[0].style_loss
    );
}
