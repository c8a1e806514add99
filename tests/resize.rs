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

    // Shorter side, downscale only: a 64x48 image asked for 32 becomes 43x32, asked for 100 stays.
    let small = out.join("astronaut.jpg");
    let o2 = d.path().join("short");
    let r = resize(&[
        "--to",
        "short:32",
        "--out",
        o2.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert_eq!(
        image::image_dimensions(o2.join("astronaut.jpg")).unwrap(),
        (43, 32)
    );
    let r = resize(&[
        "--to",
        "short:100",
        "--out",
        o2.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert_eq!(
        image::image_dimensions(o2.join("astronaut.jpg")).unwrap(),
        (64, 48)
    );

    // Longer side, downscale only: 64x48 asked for 32 becomes 32x24.
    let r = resize(&[
        "--to",
        "long:32",
        "--out",
        o2.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert_eq!(
        image::image_dimensions(o2.join("astronaut.jpg")).unwrap(),
        (32, 24)
    );

    // An area, aspect kept, upscaling allowed.
    let r = resize(&[
        "--to",
        "mp:0.0192",
        "--out",
        o2.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert_eq!(
        image::image_dimensions(o2.join("astronaut.jpg")).unwrap(),
        (160, 120)
    );

    for bad in ["8x8", "short:4", "long:x", "mp:-1", "mp:999", "512", "axb"] {
        let r = resize(&["--to", bad, "--out", o, demo.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(2), "--to {bad}: clap rejects it");
        assert!(
            String::from_utf8_lossy(&r.stderr).contains(bad),
            "--to {bad}"
        );
    }
}
