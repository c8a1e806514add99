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
    let prov = meta
        .iter()
        .find(|(k, _)| k == "adain.encoder.provenance")
        .map(|(_, v)| v.clone())
        .unwrap();
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
