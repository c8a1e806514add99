//! The committed demo set against its manifest, and the dataset tooling's split and
//! de-duplication logic (`datasets/assemble.py --selftest`). When a full set has been fetched
//! (`datasets/fetch.sh`), its splits are checked for overlap and every image for a licence.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::*;

fn read_csv(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn demo_set_matches_its_manifest() {
    let demo = root().join("datasets/demo");
    let rows = read_csv(&demo.join("MANIFEST.csv"));
    assert_eq!(rows.iter().filter(|r| r["kind"] == "content").count(), 6);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "style").count(), 6);
    let mut listed = HashSet::new();
    for r in &rows {
        let path = demo.join(&r["file"]);
        assert!(path.is_file(), "{} listed but missing", r["file"]);
        assert!(
            r["file"].starts_with(&format!("{}/", r["kind"])),
            "{}: kind {}",
            r["file"],
            r["kind"]
        );
        for col in [
            "package",
            "version",
            "source_path",
            "license",
            "attribution",
        ] {
            assert!(!r[col].trim().is_empty(), "{}: no {col}", r["file"]);
        }
        let lic = r["license"].to_lowercase();
        assert!(
            lic.contains("public") || lic.contains("cc0"),
            "{}: demo images must be public domain or CC0, got {}",
            r["file"],
            r["license"]
        );
        let (w, h) = image::image_dimensions(&path).unwrap();
        assert_eq!(
            (w.to_string(), h.to_string()),
            (r["width"].clone(), r["height"].clone()),
            "{}",
            r["file"]
        );
        assert!(w.min(h) <= 512, "{}: short side over 512", r["file"]);
        listed.insert(r["file"].clone());
    }
    for kind in ["content", "style"] {
        for e in std::fs::read_dir(demo.join(kind)).unwrap().flatten() {
            let rel = format!("{kind}/{}", e.file_name().to_string_lossy());
            assert!(listed.contains(&rel), "{rel} is not in MANIFEST.csv");
        }
    }
    let total: u64 = listed
        .iter()
        .map(|f| std::fs::metadata(demo.join(f)).unwrap().len())
        .sum();
    assert!(total < 5_000_000, "demo set is {total} bytes");
}

#[test]
fn split_and_dedup_logic_selftest() {
    let py = root().join(".venv/bin/python");
    let o = Command::new(&py)
        .arg(root().join("datasets/assemble.py"))
        .arg("--selftest")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn fetched_set_has_disjoint_splits_and_licences() {
    let manifest = root().join("datasets/full/manifest.csv");
    if !manifest.is_file() {
        eprintln!("datasets/full not fetched: run datasets/fetch.sh to check it too");
        return;
    }
    let rows = read_csv(&manifest);
    let mut by_split: std::collections::HashMap<String, HashSet<String>> = Default::default();
    for r in &rows {
        assert!(!r["license"].trim().is_empty(), "{}: no licence", r["file"]);
        assert!(
            root().join("datasets/full").join(&r["file"]).is_file(),
            "{} missing",
            r["file"]
        );
        by_split
            .entry(r["split"].clone())
            .or_default()
            .insert(r["source_path"].clone());
    }
    let (train, val) = (&by_split["train"], &by_split["val"]);
    assert!(train.is_disjoint(val), "a source image is in both splits");
    assert!(rows.iter().filter(|r| r["kind"] == "content").count() >= 400);
    assert!(rows.iter().filter(|r| r["kind"] == "style").count() >= 150);
}
