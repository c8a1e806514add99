//! `adain quality` end to end (the real binary), against an independent computation of each
//! measure (python/quality_reference.py: PyTorch convolutions, numpy statistics and SSIM), and
//! its handling of missing outputs and unreadable inputs.

mod common;

use common::*;

/// `adain quality` on content, style and output folders, writing `report`, with the project's
/// judge and `extra` arguments.
fn quality(
    [content, style, outputs, report]: [&std::path::Path; 4],
    extra: &[&str],
) -> std::process::Output {
    std::process::Command::new(bin("adain"))
        .args(["quality", "--content"])
        .arg(content)
        .arg("--style")
        .arg(style)
        .arg("--outputs")
        .arg(outputs)
        .arg("--report")
        .arg(report)
        .arg("--judge")
        .arg(root().join("models/vgg_imagenet.safetensors"))
        .args(extra)
        .output()
        .unwrap()
}

/// Content, style and output folders `c`, `s` and `o` in `dir`: a cat photo, a wave painting,
/// and as their output at alpha 0.5 another picture of the same size, under the name the
/// pattern `{content}__{style}__{alpha}.png` gives it.
fn cat_and_wave(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (c, s, o) = (dir.join("c"), dir.join("s"), dir.join("o"));
    for p in [&c, &s, &o] {
        std::fs::create_dir_all(p).unwrap();
    }
    save_demo("content/chelsea.jpg", &c.join("cat.png"), 40, 40);
    save_demo("style/great_wave.jpg", &s.join("wave.png"), 40, 40);
    save_demo("content/coffee.jpg", &o.join("cat__wave__0.5.png"), 40, 40);
    (c, s, o)
}

#[test]
fn quality_matches_an_independent_computation_and_reports_gaps() {
    let d = tempfile::tempdir().unwrap();
    let (c, s, o) = cat_and_wave(d.path());
    save_demo("style/starry_night.jpg", &s.join("starry.png"), 40, 40);
    std::fs::write(s.join("broken.png"), b"not a png").unwrap();
    let report = d.path().join("q/quality.csv");
    let out = quality(
        [&c, &s, &o, &report],
        &[
            "--pattern",
            "{content}__{style}__{alpha}.png",
            "--alphas",
            "0.5",
            "--label",
            "test",
            "--style-size",
            "40",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "error rows exit 2: {err}");
    assert!(err.contains("1 of 3 outputs could not be scored"), "{err}");
    use adain::quality::{QualityRow, QualityStatus};
    let mut rows: Vec<QualityRow> = csv::Reader::from_path(&report)
        .unwrap()
        .deserialize()
        .map(|r| r.unwrap())
        .collect();
    rows.sort_by_key(|r| r.style.clone());
    assert_eq!(rows.len(), 3, "one row per style: {rows:?}");
    // broken.png: an error row naming it; starry: missing; wave: scored.
    assert_eq!(rows[0].status, QualityStatus::Error);
    assert!(rows[0].note.contains("broken.png"), "{:?}", rows[0]);
    assert_eq!(rows[1].status, QualityStatus::Missing);
    assert!(
        err.contains("missing: ") && err.contains("cat__starry__0.5.png"),
        "{err}"
    );
    assert_eq!(rows[2].status, QualityStatus::Ok);
    // A bad style is one line, however many outputs it fails (here one content x 3 alphas).
    let again = quality(
        [&c, &s, &o, &d.path().join("q/again.csv")],
        &[
            "--pattern",
            "{content}__{style}__{alpha}.png",
            "--alphas",
            "0.5,0.7,1",
            "--style-size",
            "40",
        ],
    );
    let err2 = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err2}");
    assert_eq!(err2.matches("broken.png").count(), 1, "{err2}");
    let ours: Vec<f64> = [rows[2].style_error, rows[2].content_error, rows[2].ssim]
        .map(|v| v.expect("scored"))
        .to_vec();

    let r = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/quality_reference.py"))
        .arg("--judge")
        .arg(root().join("models/vgg_imagenet.safetensors"))
        .arg("--content")
        .arg(c.join("cat.png"))
        .arg("--style")
        .arg(s.join("wave.png"))
        .arg("--output")
        .arg(o.join("cat__wave__0.5.png"))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    for (i, k) in ["style_error", "content_error", "ssim"].iter().enumerate() {
        let want = v[k].as_f64().unwrap();
        eprintln!("{k}: adain quality {} reference {want}", ours[i]);
        assert!(
            (ours[i] - want).abs() <= 1e-4 * want.abs().max(1e-3),
            "{k}: {} vs {want}",
            ours[i]
        );
    }
    let summary = std::fs::read_to_string(d.path().join("q/quality.summary.csv")).unwrap();
    assert!(
        summary
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("test,0.5,3,1,1,1,"),
        "{summary}"
    );
}

/// A method with no scored output (every output missing, as after a typo in --alphas, or
/// unreadable) is no perfect score: its summary row says NaN, not 0, and the run exits 2 naming
/// it and saying which of the two it was.
#[test]
fn nothing_scored_is_an_error_not_a_perfect_score() {
    let d = tempfile::tempdir().unwrap();
    let (c, s, o) = cat_and_wave(d.path());
    let report = d.path().join("quality.csv");
    let args = [
        "--pattern",
        "{content}__{style}__{alpha}.png",
        "--label",
        "typo",
    ];
    let out = quality(
        [&c, &s, &o, &report],
        &[&args[..], &["--alphas", "0.6"]].concat(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "no output was scored for typo at alpha 0.6 (1 not found as {content}__{style}__{alpha}.png)"
        ),
        "{err}"
    );
    let summary = std::fs::read_to_string(d.path().join("quality.summary.csv")).unwrap();
    let row = summary.lines().nth(1).unwrap();
    assert!(
        row.contains("NaN") && !row.contains(",0,0,0") && !row.contains("-0"),
        "{row}"
    );
    // The same folder at the alpha it has scores and exits 0.
    let out = quality(
        [&c, &s, &o, &report],
        &[&args[..], &["--alphas", "0.5"]].concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An output that is there but unreadable is said to be so, not "missing".
    std::fs::write(o.join("cat__wave__0.5.png"), b"not a png").unwrap();
    let out = quality(
        [&c, &s, &o, &report],
        &[&args[..], &["--alphas", "0.5"]].concat(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no output was scored for typo at alpha 0.5 (1 found but not readable)"),
        "{err}"
    );
}

/// `--reference`: each output's pixel difference to the same-named file in another folder (the
/// int8-vs-fp32 cost), here two flat images 10 levels apart in one channel.
#[test]
fn reference_difference_is_reported_per_output_and_in_the_summary() {
    let d = tempfile::tempdir().unwrap();
    let (c, s, o, r) = (
        d.path().join("c"),
        d.path().join("s"),
        d.path().join("o"),
        d.path().join("r"),
    );
    for p in [&c, &s, &o, &r] {
        std::fs::create_dir_all(p).unwrap();
    }
    save_demo("content/chelsea.jpg", &c.join("cat.png"), 32, 32);
    save_demo("style/great_wave.jpg", &s.join("wave.png"), 32, 32);
    let flat = |v: u8| image::RgbImage::from_pixel(32, 32, image::Rgb([v, 100, 100]));
    flat(100).save(o.join("cat__wave.png")).unwrap();
    flat(110).save(r.join("cat__wave.png")).unwrap();
    let report = d.path().join("q.csv");
    let out = quality(
        [&c, &s, &o, &report],
        &[
            "--reference",
            r.to_str().unwrap(),
            "--pattern",
            "{content}__{style}.png",
            "--style-size",
            "32",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rd = csv::Reader::from_path(&report).unwrap();
    let h = rd.headers().unwrap().clone();
    let row = rd.records().next().unwrap().unwrap();
    let col = |name: &str| {
        row[h.iter().position(|x| x == name).unwrap()]
            .parse::<f64>()
            .unwrap()
    };
    // One channel of three differs by 10: mean 10/3, max 10.
    assert!((col("ref_mean_abs") - 10.0 / 3.0).abs() < 1e-4, "{row:?}");
    assert!((col("ref_max_abs") - 10.0).abs() < 1e-4, "{row:?}");
    assert!(text.contains("3.33, 10"), "{text}");
}

/// `bench_frontier` (bench/pairs.sh), which decides whether a trained decoder replaces the
/// published one, reads each curve linearly between its *neighbouring* scored alphas. The
/// candidate here is above the reference everywhere; the chord from its first to its third point
/// passes below the reference near style error 0.4, which is what an earlier version of the
/// function read there (it took any pair of points around x) and so called it "not better".
#[test]
fn bench_frontier_interpolates_between_neighbouring_alphas() {
    let d = tempfile::tempdir().unwrap();
    let summary = |name: &str, pts: &[(f64, f64, f64)]| {
        let mut s = String::from("method,alpha,style_error,ssim\n");
        for (alpha, se, ssim) in pts {
            s += &format!("{name},{alpha},{se},{ssim}\n");
        }
        let p = d.path().join(format!("{name}.csv"));
        std::fs::write(&p, s).unwrap();
        p
    };
    // (alpha, style error, SSIM). By hand, both piecewise linear: the margin at the breakpoints
    // 0.2, 0.3, 0.4, 0.45, 0.6 is +0.01, +0.05, +0.0067, +0.035, +0.01, so its least is
    // +0.0067 at 0.4 and its largest +0.05 at 0.3.
    let cand = summary(
        "cand",
        &[
            (1.0, 0.2, 0.31),
            (0.5, 0.3, 0.50),
            (0.1, 0.45, 0.66),
            (0.0, 0.6, 0.71),
        ],
    );
    let refr = summary(
        "ref",
        &[(1.0, 0.2, 0.30), (0.5, 0.4, 0.60), (0.0, 0.6, 0.70)],
    );
    // One line on stdout from the function as bench/checkpoints.sh sources it.
    let frontier = |a: &std::path::Path, b: &std::path::Path| {
        let out = std::process::Command::new("bash")
            .current_dir(root())
            .args([
                "-c",
                r#"source bench/pairs.sh && bench_frontier "$1" "$2""#,
                "-",
            ])
            .arg(a)
            .arg(b)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    let line = frontier(&cand, &refr);
    assert!(
        line.contains("at equal style error 0.200-0.600, SSIM margin +0.0067 to +0.0500"),
        "{line}"
    );
    assert!(line.ends_with(": better"), "{line}");
    // The same curves swapped: the reference is now below everywhere.
    let line = frontier(&refr, &cand);
    assert!(line.contains("SSIM margin -0.0500 to -0.0067"), "{line}");
    assert!(line.ends_with("not better"), "{line}");
}
