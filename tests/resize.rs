//! `adain resize`: benchmark and fixture inputs made by the pipeline's own loader.

mod common;

use common::*;

fn resize(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin("adain"))
        .arg("resize")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn resize_writes_sized_jpegs_and_refuses_bad_sizes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let demo = root().join("datasets/demo/content");
    let size = |name: &str| image::image_dimensions(out.join(name)).unwrap();
    let o = out.to_str().unwrap();

    let r = resize(&[
        "--to",
        "64x48",
        "--out",
        o,
        "--limit",
        "2",
        demo.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["astronaut.jpg", "beach.jpg"]);
    assert_eq!(size("astronaut.jpg"), (64, 48));

    // Shorter or longer side (downscale only), or an area (aspect kept, up or down), of the
    // 64x48 image just written.
    let small = out.join("astronaut.jpg");
    let o2 = d.path().join("fitted");
    let fitted = |to: &str| {
        let r = resize(&[
            "--to",
            to,
            "--out",
            o2.to_str().unwrap(),
            small.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "--to {to}");
        image::image_dimensions(o2.join("astronaut.jpg")).unwrap()
    };
    assert_eq!(fitted("short:32"), (43, 32));
    assert_eq!(fitted("short:100"), (64, 48));
    assert_eq!(fitted("long:32"), (32, 24));
    assert_eq!(fitted("mp:0.0192"), (160, 120));

    for bad in ["8x8", "short:4", "long:x", "mp:-1", "mp:999", "512", "axb"] {
        let r = resize(&["--to", bad, "--out", o, demo.to_str().unwrap()]);
        assert_eq!(
            r.status.code(),
            Some(1),
            "--to {bad}: a usage error (exit 1)"
        );
        assert!(
            String::from_utf8_lossy(&r.stderr).contains(bad),
            "--to {bad}"
        );
    }
}

/// Issue 48 item 8: sizes that would need tens of gigabytes are refused at the command line
/// (a usage error, exit 1), not an abort on allocation.
#[test]
fn huge_sizes_are_refused_before_any_allocation() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        vec!["resize", "--to", "100000x100000", "--out", "x", "y.jpg"],
        vec![
            "sheet",
            "--rows",
            "a",
            "--styles",
            "b",
            "--column",
            "c={content}",
            "--cell",
            "100000",
            "--out",
            "s.png",
        ],
    ] {
        let out = std::process::Command::new(bin("adain"))
            .current_dir(d.path())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("--to") || err.contains("--cell"), "{err}");
    }
}
