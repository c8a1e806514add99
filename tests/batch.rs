//! adain-batch end to end: the real binary on small images in temporary folders, with the
//! graphs shipped in onnx/.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adain::batch::report::{self, Status};
use adain::model::{self, Weights};
use common::*;

fn write_image(path: &Path, w: u32, h: u32, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            ((x * 7 + seed * 50) % 256) as u8,
            ((y * 5 + seed * 90) % 256) as u8,
            (((x + y) * 3) % 256) as u8,
        ])
    });
    img.save(path).unwrap();
}

/// content/{a.png 40x56, b.jpg 48x48}, style/{s1.png 32x32, s2.png 40x24}
fn inputs(dir: &Path) -> (PathBuf, PathBuf) {
    inputs_scaled(dir, 1)
}

/// As [`inputs`], contents `k` times larger (more work per output).
fn inputs_scaled(dir: &Path, k: u32) -> (PathBuf, PathBuf) {
    let (c, s) = (dir.join("content"), dir.join("style"));
    write_image(&c.join("a.png"), 40 * k, 56 * k, 1);
    write_image(&c.join("b.jpg"), 48 * k, 48 * k, 2);
    write_image(&s.join("s1.png"), 32, 32, 3);
    write_image(&s.join("s2.png"), 40, 24, 4);
    (c, s)
}

/// adain-batch on the graphs in `models`, one ONNX Runtime thread.
fn adain_batch(models: &Path) -> Command {
    let mut cmd = Command::new(bin("adain-batch"));
    cmd.args(["--models", s(models), "--threads", "1"]);
    cmd
}

fn batch(args: &[&str]) -> Output {
    let out = adain_batch(&root().join("onnx"))
        .args(args)
        .output()
        .unwrap();
    eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// [`batch`] on `content` x `style` into `out`, then `rest`: the arguments nearly every test
/// gives, written once.
fn stylize(content: &Path, style: &Path, out: &Path, rest: &[&str]) -> Output {
    let mut args = vec![
        "--content",
        s(content),
        "--style",
        s(style),
        "--out",
        s(out),
    ];
    args.extend_from_slice(rest);
    batch(&args)
}

/// Starts adain-batch (batch size 1, so outputs trickle out), sends `signal` (e.g. "-INT") once
/// the first output is in `out`, and returns the exit code and how many outputs were finished.
fn signal_after_first_output(signal: &str, args: &[String], out: &Path) -> (Option<i32>, usize) {
    signals_after_first_output(signal, 1, args, out)
}

/// [`signal_after_first_output`], sending the signal `times` times back to back.
fn signals_after_first_output(
    signal: &str,
    times: usize,
    args: &[String],
    out: &Path,
) -> (Option<i32>, usize) {
    let mut child = Command::new(bin("adain-batch"))
        .args(["--models", root().join("onnx").to_str().unwrap()])
        .args(["--threads", "1", "--batch-size", "1"])
        .args(args)
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !out.is_dir() || files(out, ".jpg").is_empty() {
        assert!(t0.elapsed().as_secs() < 60, "no output appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for _ in 0..times {
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
    }
    let code = child.wait().unwrap().code();
    (code, files(out, ".jpg").len())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Both folders hold the same `ext` files, byte for byte.
fn assert_identical_outputs(a: &Path, b: &Path, ext: &str) {
    assert_eq!(files(a, ext), files(b, ext));
    for n in files(a, ext) {
        assert_eq!(
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
            "{n} differs"
        );
    }
}

#[test]
fn every_pair_and_alpha_written_once_with_names_sizes_and_report() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let out = d.path().join("out");
    let o = stylize(
        &c,
        &st,
        &out,
        &["--alphas", "0,1", "--grid", "--format", "png", "-q"],
    );
    assert_eq!(o.status.code(), Some(0));
    let names = files(&out, ".png");
    let want = [
        "a_stylized_s1_alpha0.png",
        "a_stylized_s1_alpha1.png",
        "a_stylized_s2_alpha0.png",
        "a_stylized_s2_alpha1.png",
        "b_stylized_s1_alpha0.png",
        "b_stylized_s1_alpha1.png",
        "b_stylized_s2_alpha0.png",
        "b_stylized_s2_alpha1.png",
        "contact_sheet.png",
    ];
    assert_eq!(names, want);
    for n in &names[..8] {
        let (w, h) = image::image_dimensions(out.join(n)).unwrap();
        assert_eq!(
            (w, h),
            if n.starts_with('a') {
                (40, 56)
            } else {
                (48, 48)
            },
            "{n}: output has the content's size"
        );
    }
    let text = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert_eq!(text.lines().next().unwrap(), report::header().join(","));
    let rows = report::read(&out.join("report.csv")).unwrap();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        assert_eq!(r.status, Some(Status::Ok), "{r:?}");
        assert_eq!(r.provider, "cpu");
        assert!(
            r.decode_ms > 0.0
                && r.encode_content_ms > 0.0
                && r.encode_style_ms > 0.0
                && r.save_ms > 0.0,
            "{r:?}"
        );
        assert!(
            (r.total_ms
                - (r.load_ms
                    + r.encode_content_ms
                    + r.encode_style_ms
                    + r.adain_ms
                    + r.decode_ms
                    + r.save_ms))
                .abs()
                < 0.01
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["outputs_ok"], 8);
    assert_eq!(summary["provider"], "cpu");
    assert!(summary["outputs_per_s"].as_f64().unwrap() > 0.0);
    // alpha 0 reproduces the content through the decoder only; alpha 1 must differ from it.
    let a0 = image::open(out.join("a_stylized_s1_alpha0.png"))
        .unwrap()
        .to_rgb8();
    let a1 = image::open(out.join("a_stylized_s1_alpha1.png"))
        .unwrap()
        .to_rgb8();
    assert_ne!(a0, a1);
}

#[test]
fn rerun_after_interruption_writes_exactly_the_missing_outputs_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 5);
    let (full, resumed) = (d.path().join("full"), d.path().join("resumed"));
    let args = |o: &Path| {
        vec![
            "--content".to_string(),
            s(&c).into(),
            "--style".into(),
            s(&st).into(),
            "--alphas".into(),
            "0.25,0.75,1".into(),
            "--out".into(),
            s(o).into(),
            "-q".into(),
        ]
    };
    let run = |o: &Path| {
        let a = args(o);
        batch(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(run(&full).status.code(), Some(0));
    // Interrupt a real run with SIGINT once it has written something.
    let (code, done_before) = signal_after_first_output("-INT", &args(&resumed), &resumed);
    eprintln!("interrupted after {done_before} of 12 outputs");
    assert_eq!(code, Some(130), "exit status after SIGINT");
    assert!(done_before < 12, "the run was interrupted before the end");
    assert!(no_temp_files(&resumed), "temporary files left");
    let partial = report::read(&resumed.join("report.csv")).unwrap();
    assert_eq!(
        partial.len(),
        done_before,
        "the report holds every finished output"
    );
    // The rerun finishes exactly the missing outputs, skipping the rest.
    assert_eq!(run(&resumed).status.code(), Some(0));
    let rows = report::read(&resumed.join("report.csv")).unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == Some(Status::Skipped))
            .count(),
        done_before
    );
    assert_eq!(
        rows.iter().filter(|r| r.status == Some(Status::Ok)).count(),
        12 - done_before
    );
    assert_identical_outputs(&full, &resumed, ".jpg");
}

#[test]
fn shards_cover_every_output_exactly_once_and_merge() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let out = d.path().join("out");
    let mut reports = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let o = stylize(
            &c,
            &st,
            &out,
            &["--alphas", "0.5,1", "--shard", &shard, "-q"],
        );
        assert_eq!(o.status.code(), Some(0));
        reports.push(out.join(format!("report-shard-{i}-of-3.csv")));
    }
    let mut outputs: Vec<String> = reports
        .iter()
        .flat_map(|r| report::read(r).unwrap())
        .map(|r| r.output)
        .collect();
    let n = outputs.len();
    outputs.sort();
    outputs.dedup();
    assert_eq!(
        (n, outputs.len()),
        (8, 8),
        "every output in exactly one shard"
    );
    assert_eq!(files(&out, ".jpg").len(), 8);
    let merged = d.path().join("merged.csv");
    // `adain merge-reports INPUTS... -o merged.csv`.
    let merge = |inputs: &[&PathBuf]| {
        Command::new(bin("adain"))
            .arg("merge-reports")
            .args(inputs)
            .arg("-o")
            .arg(&merged)
            .output()
            .unwrap()
    };
    let all: Vec<&PathBuf> = reports.iter().collect();
    let o = merge(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(report::read(&merged).unwrap().len(), 8);
    // The same shard given twice is merged once, and said; the count is of shards.
    let o = merge(&[all.as_slice(), &[&reports[0]]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("is the same report as")
            && err.contains(&format!("from {} reports", reports.len())),
        "{err}"
    );
    assert_eq!(report::read(&merged).unwrap().len(), 8);
    // A shard report cut inside its last row is refused, naming it; the merged file stays.
    let cut = d.path().join("cut.csv");
    let bytes = std::fs::read(&reports[0]).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let o = merge(&[&[&cut], &all[1..]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cut.csv") && err.contains("cut short"),
        "{err}"
    );
    assert_eq!(report::read(&merged).unwrap().len(), 8);
}

#[test]
fn bad_inputs_are_reported_and_the_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let (_, st) = inputs(d.path());
    let bad = root().join("tests/data/bad");
    let out = d.path().join("out");
    let o = stylize(
        &bad,
        &st,
        &out,
        &[
            "--alphas",
            "1",
            "--content-size",
            "0",
            "--max-pixels",
            "50000",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "some outputs failed -> exit 2");
    let rows = report::read(&out.join("report.csv")).unwrap();
    let status = |name: &str| -> Vec<Option<Status>> {
        rows.iter()
            .filter(|r| r.content.ends_with(name))
            .map(|r| r.status)
            .collect()
    };
    for ok in [
        "rgba.png",
        "gray16.png",
        "gray.jpg",
        "cmyk.jpg",
        "exif_rot6.jpg",
    ] {
        assert_eq!(status(ok), vec![Some(Status::Ok); 2], "{ok} should stylize");
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    for (bad_file, why) in [
        ("not_an_image.jpg", "cannot decode"),
        ("empty.png", "empty file"),
        ("truncated.jpg", "cannot decode"),
        ("tiny.png", "minimum"),
        ("big.png", "over the limit"),
    ] {
        let r: Vec<_> = rows
            .iter()
            .filter(|r| r.content.ends_with(bad_file))
            .collect();
        assert_eq!(r.len(), 2, "{bad_file}: one error row per output");
        for row in r {
            assert_eq!(row.status, Some(Status::Error));
            assert!(
                row.error.contains(bad_file) && row.error.contains(why),
                "{bad_file}: {}",
                row.error
            );
        }
        assert!(stderr.contains(bad_file), "{bad_file} named on stderr");
    }
    let (w, h) = image::image_dimensions(out.join("exif_rot6_stylized_s1_alpha1.jpg")).unwrap();
    assert_eq!((w, h), (64, 48), "EXIF orientation applied");
    assert_eq!(rows.len(), 20);
}

/// Every stage hands its outcomes to one row builder: on good and bad inputs alike, the naive
/// path's report says what the planned pipeline's does, row for row (all but the timings and
/// the output folder).
#[test]
fn naive_and_planned_report_the_same_rows_on_bad_inputs() {
    let d = tempfile::tempdir().unwrap();
    let (_, st) = inputs(d.path());
    let bad = root().join("tests/data/bad");
    let run = |name: &str, extra: &[&str]| {
        let out = d.path().join(name);
        let mut args = vec!["--content", s(&bad), "--style", s(&st), "--alphas", "1"];
        args.extend_from_slice(&["--content-size", "0", "--max-pixels", "50000"]);
        args.extend_from_slice(&["--out", s(&out), "-q"]);
        args.extend_from_slice(extra);
        assert_eq!(
            batch(&args).status.code(),
            Some(2),
            "{name}: some outputs failed"
        );
        let mut rows = report::read(&out.join("report.csv")).unwrap();
        for r in &mut rows {
            r.output = Path::new(&r.output)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (r.load_ms, r.encode_content_ms, r.encode_style_ms) = (0.0, 0.0, 0.0);
            (r.adain_ms, r.decode_ms, r.save_ms, r.total_ms) = (0.0, 0.0, 0.0, 0.0);
        }
        rows.sort_by(|a, b| a.output.cmp(&b.output));
        rows
    };
    let (planned, naive) = (run("planned", &[]), run("naive", &["--naive"]));
    assert_eq!(planned.len(), 20);
    let failed = planned.iter().filter(|r| r.status == Some(Status::Error));
    assert_eq!(failed.count(), 10, "five bad contents x two styles");
    assert_eq!(planned, naive);
}

#[test]
fn nothing_can_start_exits_1_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--content".into(),
                s(&d.path().join("nope")).into(),
                "--style".into(),
                s(&st).into(),
            ],
            "nope",
        ),
        (
            vec![
                "--content".into(),
                s(&c).into(),
                "--style".into(),
                s(&st).into(),
                "--alphas".into(),
                "0.5,1.5".into(),
            ],
            "outside [0, 1]",
        ),
        (
            vec![
                "--content".into(),
                s(&c).into(),
                "--style".into(),
                s(&st).into(),
                "--out".into(),
                s(&c.join("a.png").join("sub")).into(),
            ],
            "output folder",
        ),
        (
            vec![
                "--content".into(),
                s(&c).into(),
                "--style".into(),
                s(&st).into(),
                "--provider".into(),
                "cuda".into(),
                "--out".into(),
                s(&d.path().join("o")).into(),
            ],
            "CUDA",
        ),
    ];
    for (args, want) in cases {
        let o = batch(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: expected '{want}' in: {err}");
    }
}

#[test]
fn style_mix_and_preserve_color_write_their_outputs() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let out = d.path().join("out");
    let o = stylize(
        &c,
        &st,
        &out,
        &["--alphas", "1", "--mix", "3,1", "--preserve-color", "-q"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        files(&out, ".jpg"),
        [
            "a_stylized_mix-s1-s2_alpha1.jpg",
            "b_stylized_mix-s1-s2_alpha1.jpg"
        ]
    );
    let o = stylize(&c, &st, &out, &["--mix", "1"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "weight count must match the styles"
    );
}

/// Runs adain-batch and fails the test (killing the process) if it has not finished in `secs`.
fn batch_within(secs: u64, args: &[&str]) -> Output {
    let mut child = adain_batch(&root().join("onnx"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed().as_secs() > secs {
            let _ = child.kill();
            panic!("adain-batch {args:?} did not finish in {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// FIFOs, devices behind symlinks and a JPEG cut in its image data each fail alone, with one
/// error line per file (not per output), and the batch goes on.
#[test]
fn special_and_truncated_files_fail_alone_with_one_line_each() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    assert!(
        Command::new("mkfifo")
            .arg(c.join("fifo.jpg"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", c.join("zero.png")).unwrap();
    // A real JPEG cut after its scan started: the decoder alone would fill the rest with grey.
    let full = std::fs::read(root().join("datasets/demo/content/coffee.jpg")).unwrap();
    let sos = full.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    std::fs::write(c.join("cut.jpg"), &full[..sos + (full.len() - sos) / 2]).unwrap();
    let o = d.path().join("out");
    let out = batch_within(
        60,
        &[
            "--content",
            s(&c),
            "--style",
            s(&st),
            "--alphas",
            "0.5,1",
            "--out",
            s(&o),
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for (f, why) in [
        ("fifo.jpg", "not a regular file"),
        ("zero.png", "not a regular file"),
        ("cut.jpg", "truncated JPEG"),
    ] {
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(f)).collect();
        assert_eq!(lines.len(), 1, "one line for {f}: {lines:?}");
        assert!(lines[0].contains(why), "{}", lines[0]);
    }
    let rows = report::read(&o.join("report.csv")).unwrap();
    // 5 contents x 2 styles x 2 alphas: the 2 good contents' 8 outputs written, 12 error rows.
    assert_eq!(rows.len(), 20);
    assert_eq!(
        rows.iter().filter(|r| r.status == Some(Status::Ok)).count(),
        8
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == Some(Status::Error))
            .count(),
        12
    );
}

/// An output folder inside the content folder: a rerun must not stylize the outputs again.
#[test]
fn outputs_are_never_inputs() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = c.join("out");
    let args = [
        "--content",
        s(&c),
        "--style",
        s(&st),
        "--out",
        s(&o),
        "--recursive",
        "-q",
    ];
    assert_eq!(batch(&args).status.code(), Some(0));
    let first = files(&o, ".jpg");
    assert_eq!(first.len(), 4);
    let again = batch(&args);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(files(&o, ".jpg"), first, "no output of an output");
    assert!(String::from_utf8_lossy(&again.stderr).contains("skipped 1 content path"));
    // Files named like outputs elsewhere are skipped too.
    std::fs::copy(o.join(&first[0]), d.path().join("content").join(&first[0])).unwrap();
    let o2 = d.path().join("out2");
    let third = stylize(&c, &st, &o2, &["-q"]);
    assert_eq!(third.status.code(), Some(0));
    assert_eq!(files(&o2, ".jpg").len(), 4);
}

/// Symbolic links under `--recursive` that lead back to a folder already searched (a link to
/// `..`, an absolute link to the root, a link to a sibling) are reported and not followed: the
/// two images give exactly their outputs, and the run ends (it once never started).
#[cfg(unix)]
#[test]
fn symlink_loops_under_recursive_are_reported_not_followed() {
    use std::os::unix::fs::symlink;
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    write_image(&t.join("top.png"), 40, 40, 1);
    write_image(&t.join("a/b/deep.png"), 48, 40, 2);
    std::fs::create_dir_all(t.join("x")).unwrap();
    symlink("..", t.join("a/b/loop")).unwrap();
    symlink(&t, t.join("x/abs_loop")).unwrap();
    symlink("../x", t.join("a/tox")).unwrap();
    let st = d.path().join("style");
    write_image(&st.join("s1.png"), 32, 32, 3);
    let o = d.path().join("out");
    let out = batch_within(
        120,
        &[
            "--content",
            s(&t),
            "--style",
            s(&st),
            "--out",
            s(&o),
            "--recursive",
            "--alphas",
            "1",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let mut got = files(&o, ".jpg");
    got.sort();
    assert_eq!(
        got,
        [
            "a__b__deep_stylized_s1_alpha1.jpg",
            "top_stylized_s1_alpha1.jpg"
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not follow") && err.contains("file system loop"),
        "{err}"
    );
}

/// The report is never written through a symbolic link, nor over an input or a model.
#[cfg(unix)]
#[test]
fn the_report_never_overwrites_a_link_target_an_input_or_a_model() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    std::fs::create_dir_all(&o).unwrap();
    let victim = d.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, o.join("report.csv")).unwrap();
    let args = ["--content", s(&c), "--style", s(&st), "--out", s(&o), "-q"];
    assert_eq!(batch(&args).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let meta = std::fs::symlink_metadata(o.join("report.csv")).unwrap();
    assert!(meta.is_file(), "the link was replaced by the report");
    // --report over a content image, and into the models folder: exit 1, both untouched.
    let photo = c.join("a.png");
    let before = std::fs::read(&photo).unwrap();
    let models = d.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    for f in [
        "encoder.onnx",
        "adain.onnx",
        "decoder.onnx",
        "adain_decoder.onnx",
    ] {
        let from = root().join("onnx").join(f);
        if from.is_file() {
            std::fs::copy(&from, models.join(f)).unwrap();
        }
    }
    let notes = models.join("notes.csv");
    std::fs::write(&notes, "mine").unwrap();
    let o2 = d.path().join("out2");
    let data = d.path().join("data.csv");
    std::fs::write(&data, "a,b\n1,2\n").unwrap();
    let photo_csv = c.join("a.csv");
    std::fs::hard_link(&photo, &photo_csv).unwrap();
    for (report, why) in [
        (s(&photo), "not a .csv path"),
        (s(&photo_csv), "it is the content image"),
        (s(&notes), "it is in the models folder"),
        ("elsewhere.onnx", "not a .csv path"),
        (s(&data), "something other than an adain report"),
    ] {
        let out = adain_batch(&models)
            .args(["--content", s(&c), "--style", s(&st), "--out", s(&o2)])
            .args(["--report", report, "-q"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{report}: {err}");
        assert!(
            err.contains(why) && err.contains("refusing"),
            "{report}: {err}"
        );
    }
    assert_eq!(
        std::fs::read(&photo).unwrap(),
        before,
        "the photo is untouched"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "a,b\n1,2\n");
    assert!(
        !o2.exists() || files(&o2, ".jpg").is_empty(),
        "nothing written"
    );
}

/// A models folder whose graph is not what its name says (a decoder copied over the encoder,
/// the AdaIN step over the decoder, an fp16 decoder over the fp32 one, a graph made for another
/// variance convention) is refused at start, exit 1, naming the file and what it should be;
/// nothing is written.
#[test]
fn a_graph_under_the_wrong_name_is_refused_at_start() {
    use onnx_protobuf::Message;
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    // The decoder with its variance convention rewritten, as another exporter might have made it.
    let other_variance = d.path().join("decoder-biased.onnx");
    let mut m = onnx_protobuf::ModelProto::parse_from_bytes(
        &std::fs::read(root().join("onnx/decoder.onnx")).unwrap(),
    )
    .unwrap();
    for p in m
        .metadata_props
        .iter_mut()
        .filter(|p| p.key == "adain.variance")
    {
        p.value = "biased (divide by H*W)".into();
    }
    std::fs::write(&other_variance, m.write_to_bytes().unwrap()).unwrap();
    for (victim, source, expected) in [
        (
            "encoder.onnx",
            root().join("onnx/decoder.onnx"),
            "not the graph this file name stands for: expected inputs image [?,3,?,?]",
        ),
        (
            "decoder.onnx",
            root().join("onnx/adain.onnx"),
            "not the graph this file name stands for: expected inputs t [?,512,?,?]",
        ),
        (
            "decoder.onnx",
            root().join("onnx/decoder.fp16.onnx"),
            "an fp16 graph (metadata adain.precision), but the file name stands for fp32",
        ),
        (
            "decoder.onnx",
            other_variance.clone(),
            "made for adain.variance 'biased (divide by H*W)'",
        ),
    ] {
        let case = source.file_stem().unwrap().to_string_lossy().into_owned();
        let models = d.path().join(format!("models-{victim}-{case}"));
        std::fs::create_dir_all(&models).unwrap();
        for f in ["encoder.onnx", "adain.onnx", "decoder.onnx"] {
            std::fs::copy(root().join("onnx").join(f), models.join(f)).unwrap();
        }
        std::fs::copy(&source, models.join(victim)).unwrap();
        let o = d.path().join(format!("out-{victim}-{case}"));
        let out = adain_batch(&models)
            .args(["--content", s(&c), "--style", s(&st), "--out", s(&o), "-q"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{victim}: {err}");
        assert!(
            err.contains(&format!("{victim}: ")) && err.contains(expected),
            "{victim}: {err}"
        );
        assert!(!o.join("report.csv").exists(), "nothing written");
    }
}

/// A closed or full stderr (`2>&1 | head -1`, `2>/dev/full`) never stops the work: every output
/// and every report row is written, the summary saved, exit 0.
#[cfg(unix)]
#[test]
fn a_closed_or_full_stderr_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    for how in ["closed", "full"] {
        let o = d.path().join(format!("out-{how}"));
        let mut cmd = adain_batch(&root().join("onnx"));
        cmd.args(["--content", s(&c), "--style", s(&st), "--out", s(&o)])
            .args(["--alphas", "0.5,1", "--batch-size", "1"]);
        let status = match how {
            "full" if Path::new("/dev/full").exists() => {
                let full = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap();
                cmd.stderr(full).status().unwrap()
            }
            "full" => continue,
            _ => {
                let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
                drop(child.stderr.take()); // the reader is gone before the first line
                child.wait().unwrap()
            }
        };
        assert_eq!(status.code(), Some(0), "stderr {how}");
        assert_eq!(files(&o, ".jpg").len(), 8, "stderr {how}: every output");
        let rows = report::read(&o.join("report.csv")).unwrap();
        assert_eq!(rows.len(), 8, "stderr {how}: every row");
        assert!(o.join("report.summary.json").is_file(), "stderr {how}");
    }
}

/// The same for the `adain` tool: an export whose stderr is closed or full still writes every
/// graph and exits 0 (its "wrote ..." lines once panicked, exit 101, after the first graph).
#[cfg(unix)]
#[test]
fn adain_with_a_closed_or_full_stderr_finishes_its_work() {
    let d = tempfile::tempdir().unwrap();
    for how in ["closed", "full"] {
        let o = d.path().join(format!("graphs-{how}"));
        let mut cmd = Command::new(bin("adain"));
        cmd.args(["export", "--random-decoder", "0", "--out"])
            .arg(&o);
        let status = match how {
            "full" if Path::new("/dev/full").exists() => {
                let full = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap();
                cmd.stderr(full).status().unwrap()
            }
            "full" => continue,
            _ => {
                let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
                drop(child.stderr.take());
                child.wait().unwrap()
            }
        };
        assert_eq!(status.code(), Some(0), "stderr {how}");
        for g in adain::onnx::GRAPH_FILES {
            assert!(o.join(g).is_file(), "stderr {how}: {g}");
        }
    }
}

/// Resume trusts only what looks finished: a 0-byte file and a link to a text file named like
/// outputs are made again (the link replaced, its target untouched); a JPEG cut short passes
/// the signature check and is made again under --verify. A dangling link at the lock's path is
/// replaced, not followed out of --out.
#[cfg(unix)]
#[test]
fn resume_remakes_outputs_that_only_look_finished() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    let args = [
        "--content",
        s(&c),
        "--style",
        s(&st),
        "--out",
        s(&o),
        "--alphas",
        "1",
        "-q",
    ];
    assert_eq!(batch(&args).status.code(), Some(0));
    let mut names = files(&o, ".jpg");
    names.sort();
    assert_eq!(names.len(), 4);
    let good = std::fs::read(o.join(&names[3])).unwrap();
    let text = d.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    std::fs::write(o.join(&names[0]), b"").unwrap();
    std::fs::remove_file(o.join(&names[1])).unwrap();
    std::os::unix::fs::symlink(&text, o.join(&names[1])).unwrap();
    std::fs::write(o.join(&names[2]), &good[..good.len() / 3]).unwrap();
    let outside = d.path().join("outside-lock");
    std::fs::remove_file(o.join(".adain-lock")).ok();
    std::os::unix::fs::symlink(&outside, o.join(".adain-lock")).unwrap();
    let again = batch(&args);
    assert_eq!(again.status.code(), Some(0));
    assert!(!outside.exists(), "the lock link was not followed");
    let rows = report::read(&o.join("report.csv")).unwrap();
    let ok = |rows: &[report::Row]| rows.iter().filter(|r| r.status == Some(Status::Ok)).count();
    assert_eq!(
        ok(&rows),
        2,
        "the empty file and the link are made again, the cut JPEG is not"
    );
    for n in &names[..2] {
        assert!(std::fs::symlink_metadata(o.join(n)).unwrap().is_file());
        assert!(image::open(o.join(n)).is_ok(), "{n} is an image now");
    }
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "not an image");
    let verified = batch(&[&args[..], &["--verify"]].concat());
    assert_eq!(verified.status.code(), Some(0));
    let rows = report::read(&o.join("report.csv")).unwrap();
    assert_eq!(ok(&rows), 1, "--verify remakes the cut JPEG");
    assert!(image::open(o.join(&names[2])).is_ok());
}

/// Two processes on one output folder: the second stops at once (exit 1) instead of redoing
/// the work and interleaving the report, when their shares of the work overlap (the same spec,
/// an unsharded run beside a shard, `0/2` beside `0/3`); shards of one N share the folder. The
/// running run is simulated by holding its lock file, as a live adain-batch does.
#[test]
fn a_second_run_on_the_same_output_folder_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    std::fs::create_dir_all(&o).unwrap();
    let run = |shard: Option<&str>| {
        let mut args = vec!["--content", s(&c), "--style", s(&st), "--out", s(&o), "-q"];
        if let Some(sh) = shard {
            args.extend(["--shard", sh]);
        }
        batch(&args)
    };
    let hold = |name: &str| {
        let f = std::fs::File::create(o.join(name)).unwrap();
        f.try_lock().unwrap();
        f
    };
    let refused = |out: &std::process::Output, want: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("in use by another adain-batch run") && err.contains(want),
            "{err}"
        );
    };

    let held = hold(".adain-run-all");
    refused(&run(None), "an unsharded run");
    refused(&run(Some("1/2")), "overlaps this run's (shard 1/2)");
    assert!(
        !o.join("report.csv").exists() && !o.join("report-shard-1-of-2.csv").exists(),
        "nothing written by the refused runs"
    );
    drop(held);

    let held = hold(".adain-run-shard-0-of-2");
    refused(&run(Some("0/2")), "shard 0/2");
    refused(&run(Some("1/3")), "overlaps this run's (shard 1/3)");
    refused(&run(None), "overlaps this run's (an unsharded run)");
    assert_eq!(
        run(Some("1/2")).status.code(),
        Some(0),
        "the other half shares the folder"
    );
    assert_eq!(
        run(Some("2/3")).status.code(),
        Some(0),
        "2/3 = [2/3, 1) is disjoint from 0/2"
    );
    drop(held);

    // A lock file left by a killed run holds no lock: cleared, and the run goes ahead; a run
    // that ends removes its own.
    std::fs::write(o.join(".adain-run-shard-0-of-2"), b"").unwrap();
    assert_eq!(run(None).status.code(), Some(0));
    let left: Vec<_> = files(&o, "")
        .into_iter()
        .filter(|n| n.starts_with(".adain-run-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A completely full output disk stops the run at start (exit 1, naming the folder and the
/// cause) and leaves nothing there: no empty report, no lock files. Needs root to mount a small
/// tmpfs; elsewhere it says so and checks nothing.
#[test]
fn a_full_output_disk_stops_the_run_at_start_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let mnt = d.path().join("full");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=128k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let o = mnt.join("out");
    std::fs::create_dir_all(&o).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
        while f.write_all(&[0u8; 4096]).is_ok() {}
    }
    let out = stylize(&c, &st, &o, &["-q"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(s(&o)) && err.contains("No space left"),
        "{err}"
    );
    let left = files(&o, "");
    assert!(left.is_empty(), "left in the full folder: {left:?}");
}

/// Temporary files of a killed run are removed by the next one; a live process's are kept.
#[test]
fn stale_temporary_files_are_removed_at_start() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    std::fs::create_dir_all(&o).unwrap();
    // Above Linux's largest possible pid (2^22): no such process.
    let dead = o.join(".adain-tmp-4194400-abc.jpg");
    let legacy = o.join(".adain-tmp-XyZ12");
    let live = o.join(format!(".adain-tmp-{}-def.jpg", std::process::id()));
    for f in [&dead, &legacy, &live] {
        std::fs::write(f, b"partial").unwrap();
    }
    let out = stylize(&c, &st, &o, &["-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!dead.exists() && !legacy.exists(), "stale files removed");
    assert!(live.exists(), "a live process's temporary file is kept");
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed 2 temporary file(s)"));
}

/// The SIGTERM tests' run in `dir`: 5 scaled contents x styles x 3 alphas (outputs trickle out
/// for a while); the output folder and the arguments.
fn sigterm_run(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let (c, st) = inputs_scaled(dir, 5);
    let o = dir.join("out");
    let args = ["--content", s(&c), "--style", s(&st)]
        .into_iter()
        .chain(["--alphas", "0.25,0.75,1", "--out", s(&o), "-q"])
        .map(String::from)
        .collect();
    (o, args)
}

/// A second SIGTERM (what a scheduler's impatience or a double Ctrl-C sends) exits at once with
/// 143 and removes the run's lock file on the way out (issue 48), so the folder does not look in
/// use; finished outputs stay.
#[test]
fn a_second_sigterm_exits_at_once_and_removes_the_run_lock() {
    let d = tempfile::tempdir().unwrap();
    let (o, args) = sigterm_run(d.path());
    let (code, done) = signals_after_first_output("-TERM", 2, &args, &o);
    assert_eq!(code, Some(143));
    assert!(done > 0);
    let locks: Vec<String> = std::fs::read_dir(&o)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".adain-run-"))
        .collect();
    assert!(locks.is_empty(), "run lock left: {locks:?}");
}

/// SIGTERM (Slurm, Kubernetes) stops like Ctrl-C: finished outputs kept and reported, no
/// temporary files, exit 143.
#[test]
fn sigterm_stops_cleanly_with_exit_143() {
    let d = tempfile::tempdir().unwrap();
    let (o, args) = sigterm_run(d.path());
    let (code, done) = signal_after_first_output("-TERM", &args, &o);
    assert_eq!(code, Some(143));
    assert!(done < 12);
    assert!(no_temp_files(&o), "temporary files left");
    assert_eq!(report::read(&o.join("report.csv")).unwrap().len(), done);
}

#[test]
fn bad_arguments_exit_1_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    let cases: &[(&[&str], &str)] = &[
        (&["--threads", "100000"], "cores"),
        (&["--mix", "0,0"], "positive sum"),
        // Each weight is finite; their sum overflows to infinity (flat grey outputs if let by).
        (&["--mix", "3e38,3e38"], "finite sum"),
        (&["--mix", "nan,1"], "finite"),
        (&["--mix", "-1,2"], "non-negative"),
        (&["--alphas", "-0.1"], "outside [0, 1]"),
        (&["--models", "/nonexistent/models"], "not found"),
        (
            &["--precision", "int16"],
            "possible values: fp32, fp16, int8",
        ),
    ];
    for (extra, want) in cases {
        let models = root().join("onnx");
        let mut args = vec!["--content", s(&c), "--style", s(&st), "--out", s(&o)];
        if extra[0] != "--models" {
            args.extend(["--models", s(&models)]);
        }
        args.extend_from_slice(extra);
        let out = Command::new(bin("adain-batch"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: expected '{want}' in {err}");
        assert!(!o.exists(), "{extra:?}: the output folder was created");
    }
}

/// A full disk mid-run (simulated with a 3 KiB file-size limit, RLIMIT_FSIZE, SIGXFSZ ignored):
/// outputs fail one by one, the report keeps only whole rows and says why it stopped, the
/// summary is still printed, and the exit status is 2 (work had started), not 1.
#[test]
fn a_full_disk_mid_run_leaves_a_whole_report_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let o = d.path().join("out");
    let cmd = format!(
        "ulimit -f 3; trap '' XFSZ; exec '{}' --models '{}' --threads 1 --content '{}' --style '{}' \
         --alphas 0.2,0.5,1 --format png --out '{}' -q",
        bin("adain-batch").display(),
        root().join("onnx").display(),
        c.display(),
        st.display(),
        o.display()
    );
    let out = Command::new("bash").args(["-c", &cmd]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot write the report") && err.contains("File too large"),
        "{err}"
    );
    assert!(
        err.contains("report incomplete"),
        "the summary is printed: {err}"
    );
    let text = std::fs::read_to_string(o.join("report.csv")).unwrap();
    assert!(text.ends_with('\n'), "the report ends with a whole row");
    let rows = report::read(&o.join("report.csv")).unwrap();
    assert!(!rows.is_empty() && rows.len() < 12, "{} rows", rows.len());
}

/// Tiled processing (bounded memory) gives the untiled result: same size, every pixel within
/// 1/255, on a size that is not a multiple of 8 and tiles much smaller than the image.
#[test]
fn tiled_output_equals_untiled_within_one_level() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    save_demo("content/astronaut.jpg", &c.join("photo.png"), 401, 297);
    let style = root().join("datasets/demo/style/great_wave.jpg");
    let run = |tile: &str| {
        let o = d.path().join(format!("out{tile}"));
        let out = batch(&[
            "--content",
            s(&c),
            "--style",
            s(&style),
            "--alphas",
            "0.7",
            "--content-size",
            "0",
            "--format",
            "png",
            "--tile",
            tile,
            // The float path: tiling is exact up to rounding there. int8 requantises each
            // tile's activations with the same ranges, but a border pixel's neighbourhood
            // differs, so single pixels move more (7/255 in this test).
            "--precision",
            "fp32",
            "--out",
            s(&o),
            "-q",
        ]);
        assert_eq!(out.status.code(), Some(0));
        image::open(o.join("photo_stylized_great_wave_alpha0.7.png"))
            .unwrap()
            .to_rgb8()
    };
    let (whole, tiled) = (run("0"), run("64"));
    assert_eq!(whole.dimensions(), (401, 297));
    assert_eq!(tiled.dimensions(), whole.dimensions());
    let diff = whole
        .as_raw()
        .iter()
        .zip(tiled.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    eprintln!("max difference tiled vs whole: {diff}/255");
    assert!(diff <= 1, "tiled differs by {diff}/255");
}

fn png(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// Style interpolation checked against single-style runs: weights (1, 0) and (0, 1) must give
/// exactly the outputs of each style alone (so weights map to the sorted styles and are
/// normalised), and (1, 1) something between them.
#[test]
fn mix_weights_reproduce_single_styles() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let run = |o: &str, extra: &[&str]| {
        let out = d.path().join(o);
        let mut args = vec!["--content", s(&c), "--style", s(&st), "--format", "png"];
        args.extend_from_slice(&["--out", s(&out), "-q"]);
        args.extend_from_slice(extra);
        assert_eq!(batch(&args).status.code(), Some(0));
        out
    };
    let single = run("single", &[]);
    let (m10, m01, m11) = (
        run("m10", &["--mix", "1,0"]),
        run("m01", &["--mix", "0,2"]),
        run("m11", &["--mix", "1,1"]),
    );
    let name = "a_stylized_mix-s1-s2_alpha1.png";
    assert_eq!(
        png(&m10.join(name)),
        png(&single.join("a_stylized_s1_alpha1.png"))
    );
    assert_eq!(
        png(&m01.join(name)),
        png(&single.join("a_stylized_s2_alpha1.png"))
    );
    let mid = png(&m11.join(name));
    assert_ne!(mid, png(&m10.join(name)));
    assert_ne!(mid, png(&m01.join(name)));
}

/// --preserve-color: the output's mean colour is clearly nearer the photo's than without it.
/// (Not all the way: the decoder adds a colour cast of its own; the recolouring itself is
/// unit-tested in imaging.) At 192x128 with a 256 px style the 10,391-iteration decoder gives a
/// distance of ~25 against ~62 without; a 96x64 photo, used before, is mostly border for the
/// decoder, whose own cast there swamped the effect (68 vs 75).
#[test]
fn preserve_color_keeps_the_photo_colours() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    save_demo("content/chelsea.jpg", &c.join("cat.png"), 192, 128);
    let style = root().join("datasets/demo/style/starry_night.jpg");
    let mean = |img: &image::RgbImage| -> [f64; 3] {
        let mut m = [0.0; 3];
        for p in img.pixels() {
            for (acc, v) in m.iter_mut().zip(p.0) {
                *acc += v as f64;
            }
        }
        m.map(|v| v / (img.width() * img.height()) as f64)
    };
    let run = |o: &str, extra: &[&str]| {
        let out = d.path().join(o);
        let mut args = vec!["--content", s(&c), "--style", s(&style), "--format", "png"];
        args.extend_from_slice(&["--style-size", "256", "--out", s(&out), "-q"]);
        args.extend_from_slice(extra);
        assert_eq!(batch(&args).status.code(), Some(0));
        png(&out.join("cat_stylized_starry_night_alpha1.png"))
    };
    let photo = mean(&png(&c.join("cat.png")));
    let dist = |m: [f64; 3]| {
        (0..3)
            .map(|k| (m[k] - photo[k]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (plain, kept) = (
        dist(mean(&run("plain", &[]))),
        dist(mean(&run("kept", &["--preserve-color"]))),
    );
    eprintln!("mean-colour distance to the photo: plain {plain:.1}, preserve-color {kept:.1}");
    assert!(kept < 0.8 * plain, "plain {plain}, preserve-color {kept}");
}

/// The naive baseline (re-encode per output, the PyTorch scripts' way) and the planned pipeline
/// write byte-identical files.
#[test]
fn naive_and_planned_outputs_are_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs(d.path());
    let run = |o: &str, extra: &[&str]| {
        let out = d.path().join(o);
        let mut args = vec!["--content", s(&c), "--style", s(&st), "--alphas", "0.5,1"];
        args.extend_from_slice(&["--out", s(&out), "-q"]);
        args.extend_from_slice(extra);
        assert_eq!(batch(&args).status.code(), Some(0));
        out
    };
    let (planned, naive) = (run("planned", &[]), run("naive", &["--naive"]));
    assert_eq!(files(&planned, ".jpg").len(), 8);
    assert_identical_outputs(&planned, &naive, ".jpg");
}

/// With `--threads` left at 0 on a machine with two or more cores, the pipeline runs two
/// contents at a time (each lane on its own sessions): the same bytes as one lane, a resume that
/// writes only what is missing, and a SIGTERM that ends the run with 143, no temporary file
/// left, and a rerun that completes it.
#[test]
fn two_contents_at_a_time_write_the_same_bytes_resume_and_stop() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 3);
    let run = |o: &Path, extra: &[&str]| {
        let out = Command::new(bin("adain-batch"))
            .args(["--models", s(&root().join("onnx"))])
            .args(["--content", s(&c), "--style", s(&st), "--out", s(o)])
            .args(["--alphas", "1,0.5,0.2", "--provider", "cpu", "-q"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(o.join("report.summary.json")).unwrap()
    };
    let (lanes, one) = (d.path().join("lanes"), d.path().join("one"));
    let summary = run(&lanes, &[]);
    run(&one, &["--threads", "1"]);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = if cores >= 2 { 2 } else { 1 };
    assert!(
        summary.contains(&format!("\"lanes\": {want}")),
        "{cores} cores: {summary}"
    );
    assert_eq!(files(&lanes, ".jpg").len(), 12);
    assert_identical_outputs(&lanes, &one, ".jpg");

    // Resume: two outputs gone, the rest kept and skipped.
    let gone = files(&lanes, ".jpg");
    for name in &gone[..2] {
        std::fs::remove_file(lanes.join(name)).unwrap();
    }
    let summary = run(&lanes, &[]);
    assert!(summary.contains("\"outputs_skipped\": 10"), "{summary}");
    assert_identical_outputs(&lanes, &one, ".jpg");

    // A stop: exit 143 once the outputs in flight are finished; a rerun completes the folder.
    let stopped = d.path().join("stopped");
    let mut child = Command::new(bin("adain-batch"))
        .args(["--models", s(&root().join("onnx"))])
        .args(["--content", s(&c), "--style", s(&st), "--out", s(&stopped)])
        .args([
            "--alphas",
            "1,0.5,0.2",
            "--provider",
            "cpu",
            "--batch-size",
            "1",
            "-q",
        ])
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !stopped.is_dir() || files(&stopped, ".jpg").is_empty() {
        assert!(t0.elapsed().as_secs() < 60, "no output appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let code = child.wait().unwrap().code();
    // A run that finished before the signal arrived exits 0; otherwise 143.
    assert!(matches!(code, Some(143) | Some(0)), "{code:?}");
    assert!(no_temp_files(&stopped));
    run(&stopped, &[]);
    assert_identical_outputs(&stopped, &one, ".jpg");
}

/// Without `--precision`, the CPU runs int8 when the models folder holds its graphs (the same
/// bytes as `--precision int8`), and fp32 with a note naming the missing graph and the command
/// that makes it when it does not.
#[test]
fn default_precision_is_int8_on_the_cpu_when_its_graphs_exist() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 1);
    let run = |models: &Path, name: &str, extra: &[&str]| {
        let o = d.path().join(name);
        let out = adain_batch(models)
            .args(["--content", s(&c), "--style", s(&st), "--out", s(&o)])
            .args(["--alphas", "1,0.5", "--format", "png", "--provider", "cpu"])
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{name}: {err}");
        let rows = report::read(&o.join("report.csv")).unwrap();
        let precisions: Vec<_> = rows.iter().map(|r| r.precision.clone()).collect();
        (o, precisions, err)
    };
    let shipped = root().join("onnx");
    let (default, precisions, err) = run(&shipped, "default", &[]);
    assert!(precisions.iter().all(|p| p == "int8"), "{precisions:?}");
    assert!(!err.contains("note: running fp32"), "{err}");
    let (int8, _, _) = run(&shipped, "int8", &["--precision", "int8"]);
    assert_identical_outputs(&default, &int8, ".png");

    let fp32_only = export_tmp(&encoder_weights(), &decoder_weights());
    let (_, precisions, err) = run(fp32_only.path(), "fallback", &[]);
    assert!(precisions.iter().all(|p| p == "fp32"), "{precisions:?}");
    assert!(
        err.contains("note: running fp32")
            && err.contains("encoder.int8.onnx")
            && err.contains("--int8"),
        "{err}"
    );
}

/// `--precision` picks the graphs and says so in every row and the summary; the int8 graphs
/// (made by set-up) stay near fp32's pixels; a folder without int8 graphs is refused before
/// anything is written, naming the missing file and the command that makes it.
#[test]
fn precision_picks_graphs_and_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 2);
    let run = |precision: &str| {
        let o = d.path().join(precision);
        let out = batch(&[
            "--content",
            s(&c),
            "--style",
            s(&st),
            "--out",
            s(&o),
            "--alphas",
            "1,0.5,0.2",
            "--format",
            "png",
            "--precision",
            precision,
            // 6 outputs per content in batches of 4: the last batch is shorter (IO binding).
            "--batch-size",
            "4",
        ]);
        assert!(out.status.success(), "{precision}");
        let rows = report::read(&o.join("report.csv")).unwrap();
        assert_eq!(rows.len(), 12);
        assert!(
            rows.iter()
                .all(|r| r.precision == precision && r.status == Some(Status::Ok))
        );
        let summary = std::fs::read_to_string(o.join("report.summary.json")).unwrap();
        assert!(
            summary.contains(&format!("\"precision\": \"{precision}\"")),
            "{summary}"
        );
        (o, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (fp32, _) = run("fp32");
    let (int8, _) = run("int8");
    let (fp16, note) = run("fp16");
    assert!(
        note.contains("slower than fp32"),
        "fp16 on CPU says it is slow: {note}"
    );
    // int8 encodes the contents too: on these synthetic patterns, far from the photos it is
    // calibrated on, it lands 12/255 from fp32 (demo photos at 128-512 px: 3.8-4.1/255, the
    // quality bench within 2% of fp32's SSIM, docs/weights.md); broken graphs land far above.
    for (o, mean_limit) in [(&int8, 16.0), (&fp16, 1.0)] {
        let mut sum = 0.0;
        let mut n = 0usize;
        let mut differs = false;
        for name in files(&fp32, ".png") {
            let a = image::open(fp32.join(&name)).unwrap().to_rgb8();
            let b = image::open(o.join(&name)).unwrap().to_rgb8();
            for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
                sum += (*x as f64 - *y as f64).abs();
                differs |= x != y;
                n += 1;
            }
        }
        let mean = sum / n as f64;
        eprintln!("{}: mean |difference| to fp32 {mean:.2}/255", o.display());
        assert!(differs, "{}: the other precision's graphs ran", o.display());
        assert!(
            mean < mean_limit,
            "{}: mean difference {mean}/255",
            o.display()
        );
    }

    // Only fp32 graphs: --precision int8 is refused up front.
    let models = export_tmp(&encoder_weights(), &decoder_weights());
    let o = d.path().join("refused");
    let out = Command::new(bin("adain-batch"))
        .args(["--models", s(models.path()), "--precision", "int8"])
        .args(["--content", s(&c), "--style", s(&st), "--out", s(&o)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("encoder.int8.onnx") && err.contains("adain export") && err.contains("--int8"),
        "{err}"
    );
    assert!(!o.exists());
}

/// Broken weights (issue 48 item 3): `adain export` refuses a decoder with a NaN or infinite
/// value or an all-zero kernel, naming the tensor and writing no graph; and a decoder that passes
/// those checks but makes one flat colour (a kernel scaled to ~0 behind a grey bias) gives error
/// rows ("constant image", exit 2) and no output files, never black or grey images with status ok.
#[test]
fn broken_weights_are_refused_and_constant_outputs_are_errors() {
    let d = tempfile::tempdir().unwrap();
    for (what, value) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("zero", 0.0)] {
        let mut dec = decoder_weights();
        let t = dec.tensors.get_mut("28.weight").unwrap();
        match value == 0.0 {
            true => t.data.fill(0.0),
            false => t.data[5] = value,
        }
        let file = d.path().join(format!("{what}.safetensors"));
        dec.save(&file).unwrap();
        let out_dir = d.path().join(format!("graphs-{what}"));
        let o = Command::new(bin("adain"))
            .args(["export", "--decoder", s(&file), "--out", s(&out_dir)])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains("28.weight") && err.contains(s(&file)),
            "{what}: {err}"
        );
        assert!(
            !out_dir.join(adain::onnx::DECODER_FILE).exists(),
            "{what}: a graph was written"
        );
    }
    let mut flat = decoder_weights();
    for v in &mut flat.tensors.get_mut("28.weight").unwrap().data {
        *v *= 1e-30;
    }
    flat.tensors.get_mut("28.bias").unwrap().data.fill(0.5);
    let models = export_tmp(&encoder_weights(), &flat);
    let (c, st) = inputs_scaled(d.path(), 1);
    let o = d.path().join("out");
    let out = adain_batch(models.path())
        .args([
            "--content",
            s(&c),
            "--style",
            s(&st),
            "--out",
            s(&o),
            "--precision",
            "fp32",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches("constant image").count(),
        1,
        "printed once: {err}"
    );
    let rows = report::read(&o.join("report.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter().all(|r| r.status == Some(report::Status::Error)
            && r.error.contains("constant image (every pixel 128,128,128)")),
        "{rows:?}"
    );
    assert!(files(&o, ".jpg").is_empty(), "no flat image was written");
}

/// CSV injection (issue 48 item 8): input names that begin with `=`, `+` or `@` (given as
/// relative paths, so they begin the cell) reach report.csv with a leading `'` (spreadsheets
/// show them as text, never run them), and read back exactly, through `report::read` and
/// through `adain merge-reports`.
#[test]
fn names_that_look_like_formulas_are_written_as_text_and_read_back_exactly() {
    let d = tempfile::tempdir().unwrap();
    write_image(&d.path().join("=HYPERLINK(1).png"), 32, 32, 1);
    write_image(&d.path().join("+2.png"), 32, 32, 2);
    write_image(&d.path().join("@s.png"), 32, 32, 3);
    let out = adain_batch(&root().join("onnx"))
        .current_dir(d.path())
        .args([
            "--content",
            "=HYPERLINK(1).png",
            "+2.png",
            "--style",
            "@s.png",
            "--out",
            "out",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = d.path().join("out");
    let text = std::fs::read_to_string(o.join("report.csv")).unwrap();
    for line in text.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a cell a spreadsheet would run: {cell} in {line}"
            );
        }
    }
    assert!(
        text.contains("'=HYPERLINK(1).png") && text.contains("'@s.png"),
        "{text}"
    );
    let rows = report::read(&o.join("report.csv")).unwrap();
    let mut names: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.content.clone(), r.style.clone()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("+2.png", "@s.png"), ("=HYPERLINK(1).png", "@s.png")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let merged = d.path().join("merged.csv");
    let m = Command::new(bin("adain"))
        .args(["merge-reports", s(&o.join("report.csv")), "-o", s(&merged)])
        .output()
        .unwrap();
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let mut back = report::read(&merged).unwrap();
    let mut orig = rows.clone();
    back.sort_by(|a, b| a.output.cmp(&b.output));
    orig.sort_by(|a, b| a.output.cmp(&b.output));
    assert_eq!(back, orig);
}

/// Issue 48 items 1 and 2: every command guards what it writes and never waits on a FIFO.
/// `merge-reports -o` onto a text file, one of its own inputs or /dev/null; `quality --report`
/// onto a content photo; `sheet --out` onto a text file; `resize --out` into its input folder;
/// adain-batch `--report` onto a FIFO; `merge-reports` and `export` reading a FIFO: each is
/// refused at once (exit 1) naming the file and why, and the file is untouched.
#[test]
fn every_command_guards_what_it_writes_and_reads_no_fifo() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 1);
    let o = d.path().join("out");
    assert_eq!(stylize(&c, &st, &o, &[]).status.code(), Some(0));
    let report = o.join("report.csv");
    let notes = d.path().join("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    let adain = |args: &[&str]| {
        let out = Command::new(bin("adain")).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let refused = |(code, err): (Option<i32>, String), why: &str| {
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(why), "expected '{why}' in: {err}");
    };
    refused(
        adain(&["merge-reports", s(&report), "-o", s(&notes)]),
        "something other than the merged CSV report",
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
    refused(
        adain(&["merge-reports", s(&report), "-o", s(&report), "--force"]),
        "one of this command's inputs",
    );
    refused(
        adain(&["merge-reports", s(&report), "-o", "/dev/null"]),
        "a device node",
    );
    assert!(
        !std::fs::metadata("/dev/null").unwrap().is_file(),
        "/dev/null is still a device"
    );
    let merged = d.path().join("merged.csv");
    assert_eq!(
        adain(&["merge-reports", s(&report), "-o", s(&merged)]).0,
        Some(0)
    );
    let photo = c.join("a.png");
    let before = std::fs::read(&photo).unwrap();
    refused(
        adain(&[
            "quality",
            "--content",
            s(&c),
            "--style",
            s(&st),
            "--outputs",
            s(&o),
            "--alphas",
            "1",
            "--report",
            s(&photo),
        ]),
        "one of this command's inputs",
    );
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    refused(
        adain(&[
            "sheet",
            "--rows",
            "a",
            "--styles",
            "s1",
            "--column",
            &format!("x={}/{{content}}.png", s(&c)),
            "--out",
            s(&notes),
        ]),
        "something other than the contact sheet",
    );
    refused(
        adain(&["resize", "--to", "short:16", "--out", s(&c), s(&c)]),
        "it is the folder of the input",
    );
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    // export and import pth: a file named like a graph or a weights file that holds something
    // else is left alone (--force replaces it); a device node never becomes a file.
    let g = d.path().join("g");
    std::fs::create_dir_all(&g).unwrap();
    std::fs::write(g.join("adain.onnx"), "my notes\n").unwrap();
    let dec = root().join("onnx/decoder.safetensors");
    refused(
        adain(&["export", "--decoder", s(&dec), "--out", s(&g)]),
        "something other than an ONNX graph",
    );
    assert_eq!(
        std::fs::read_to_string(g.join("adain.onnx")).unwrap(),
        "my notes\n"
    );
    assert_eq!(
        adain(&["export", "--decoder", s(&dec), "--out", s(&g), "--force"]).0,
        Some(0)
    );
    assert!(adain::fsutil::is_onnx(&g.join("adain.onnx")));
    let m = d.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("vgg_normalised.safetensors"), "my notes\n").unwrap();
    refused(
        adain(&["import", "pth", "--vgg", s(&notes), "--out-dir", s(&m)]),
        "something other than safetensors weights",
    );

    let fifo = d.path().join("fifo.csv");
    if !Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success())
    {
        eprintln!("mkfifo unavailable: the FIFO cases are skipped");
        return;
    }
    let t = std::time::Instant::now();
    let out = stylize(&c, &st, &d.path().join("o2"), &["--report", s(&fifo)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FIFO"));
    refused(
        adain(&["merge-reports", s(&fifo), "-o", s(&d.path().join("m2.csv"))]),
        "FIFO",
    );
    refused(
        adain(&[
            "export",
            "--decoder",
            s(&fifo),
            "--out",
            s(&d.path().join("g")),
        ]),
        "FIFO",
    );
    // A FIFO where a graph is to be written is refused, not replaced or opened.
    let g2 = d.path().join("g2");
    std::fs::create_dir_all(&g2).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(g2.join("decoder.onnx"))
            .status()
            .unwrap()
            .success()
    );
    refused(
        adain(&["export", "--decoder", s(&dec), "--out", s(&g2), "--force"]),
        "a FIFO",
    );
    // A FIFO named like the decoder's provenance sidecar is passed over, not read: the export
    // goes on without it (it once hung in read_to_string).
    let w = d.path().join("w");
    std::fs::create_dir_all(&w).unwrap();
    std::fs::copy(&dec, w.join("decoder.safetensors")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(w.join("decoder.provenance.json"))
            .status()
            .unwrap()
            .success()
    );
    let (code, err) = adain(&[
        "export",
        "--decoder",
        s(&w.join("decoder.safetensors")),
        "--out",
        s(&d.path().join("g3")),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(t.elapsed().as_secs() < 60, "a FIFO made something wait");
}

/// Issue 48 item 7: the run manifest. A resume into the same --out with other settings that
/// change output bytes (precision, JPEG quality, preserve-color, content size, another decoder)
/// is refused before anything is written (exit 1), naming each difference; the same settings
/// resume (every output skipped); --overwrite remakes the outputs and records the new settings.
#[test]
fn a_resume_with_other_settings_is_refused_naming_each_difference() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 1);
    let o = d.path().join("out");
    let base = [
        "--content",
        s(&c),
        "--style",
        s(&st),
        "--out",
        s(&o),
        "--precision",
        "fp32",
    ];
    let run = |models: &Path, extra: &[&str]| {
        let out = adain_batch(models).args(base).args(extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let shipped = root().join("onnx");
    assert_eq!(run(&shipped, &[]).0, Some(0));
    let report_before = std::fs::read(o.join("report.csv")).unwrap();
    let outputs_before = files(&o, ".jpg");
    for (extra, names) in [
        (
            &["--quality", "50"][..],
            &["quality: 92 in the folder, 50 now"][..],
        ),
        (
            &["--preserve-color"][..],
            &["preserve color: false in the folder, true now"][..],
        ),
        (
            &["--content-size", "24"][..],
            &["content size: shorter side 512 in the folder, shorter side 24 now"][..],
        ),
        (
            &["--quality", "50", "--preserve-color"][..],
            &["quality", "preserve color"][..],
        ),
    ] {
        let (code, err) = run(&shipped, extra);
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert!(
            err.contains("other settings") && err.contains("--overwrite"),
            "{err}"
        );
        for n in names {
            assert!(err.contains(n), "{extra:?}: expected '{n}' in {err}");
        }
        assert_eq!(
            std::fs::read(o.join("report.csv")).unwrap(),
            report_before,
            "nothing written"
        );
    }
    // Another decoder (a random one): its graph's hash differs.
    let other = export_tmp(&encoder_weights(), &Weights::random(model::DECODER, 5));
    let (code, err) = run(other.path(), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("graph adain_decoder.onnx") || err.contains("graph decoder.onnx"),
        "{err}"
    );
    // The same settings resume; --overwrite remakes and records the new ones.
    let (code, err) = run(&shipped, &[]);
    assert_eq!(code, Some(0), "{err}");
    let rows = report::read(&o.join("report.csv")).unwrap();
    assert!(
        rows.iter().all(|r| r.status == Some(Status::Skipped)),
        "{rows:?}"
    );
    assert_eq!(
        run(&shipped, &["--quality", "50", "--overwrite"]).0,
        Some(0)
    );
    assert_eq!(files(&o, ".jpg"), outputs_before);
    let (code, err) = run(&shipped, &["--quality", "50"]);
    assert_eq!(code, Some(0), "the manifest now holds quality 50: {err}");
}

/// Issue 48 item 8: a file name with an ANSI escape and a newline, which fails to decode, is
/// printed escaped: no raw ESC byte reaches the terminal and the name cannot start a forged
/// `error:` line of its own.
#[test]
fn names_with_control_characters_are_printed_escaped() {
    let d = tempfile::tempdir().unwrap();
    let (c, st) = inputs_scaled(d.path(), 1);
    std::fs::write(c.join("x\u{1b}[31m\nerror: forged.png"), b"not an image").unwrap();
    let out = stylize(&c, &st, &d.path().join("o"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains('\u{1b}'),
        "a raw escape reached stderr: {err:?}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("error: forged")),
        "a forged line: {err}"
    );
    assert!(err.contains("\\u{1b}[31m\\nerror: forged.png"), "{err}");
}

/// `--detail` on a real photo: alpha 0 gives the photo back (the residual is exactly what the
/// decoder lost), alpha 1 is the plain output byte for byte, alpha 0.5 is nearer the photo than
/// without it; the naive baseline and a uniform mask write the same bytes; a folder made
/// without it is not resumed with it.
#[test]
fn detail_restores_the_photo_below_alpha_one_only() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    save_demo("content/grace_hopper.jpg", &c.join("face.png"), 160, 200);
    let style = root().join("datasets/demo/style/starry_night.jpg");
    let run = |o: &str, extra: &[&str]| {
        let out = d.path().join(o);
        let mut args = vec![
            "--content",
            s(&c),
            "--style",
            s(&style),
            "--alphas",
            "0,0.5,1",
            "--content-size",
            "0",
            "--format",
            "png",
            "--precision",
            "fp32",
        ];
        args.extend_from_slice(&["--out", s(&out), "-q"]);
        args.extend_from_slice(extra);
        let o = batch(&args);
        (out, o)
    };
    let ok = |o: &str, extra: &[&str]| {
        let (out, o) = run(o, extra);
        assert_eq!(o.status.code(), Some(0));
        out
    };
    let (plain, kept, naive) = (
        ok("plain", &[]),
        ok("detail", &["--detail"]),
        ok("naive", &["--detail", "--naive"]),
    );
    assert_identical_outputs(&kept, &naive, ".png");
    let photo = png(&c.join("face.png"));
    let out =
        |dir: &Path, a: &str| png(&dir.join(format!("face_stylized_starry_night_alpha{a}.png")));
    let dist = |a: &image::RgbImage, b: &image::RgbImage| {
        let n = a.as_raw().len() as f64;
        let sq: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum();
        (sq / n).sqrt()
    };
    let back = out(&kept, "0");
    let worst = back
        .as_raw()
        .iter()
        .zip(photo.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        worst <= 1,
        "alpha 0 with --detail is the photo: off by {worst}/255"
    );
    let rec = dist(&out(&plain, "0"), &photo);
    assert!(
        rec > 5.0,
        "the plain reconstruction loses detail (rms {rec:.1}/255)"
    );
    assert_eq!(out(&kept, "1"), out(&plain, "1"), "alpha 1 is untouched");
    let (half_plain, half_kept) = (
        dist(&out(&plain, "0.5"), &photo),
        dist(&out(&kept, "0.5"), &photo),
    );
    eprintln!(
        "rms to the photo at 0.5: plain {half_plain:.1}, --detail {half_kept:.1}; reconstruction {rec:.1}"
    );
    assert!(
        half_kept < 0.9 * half_plain,
        "plain {half_plain}, --detail {half_kept}"
    );
    // A mask that gives every cell to one style: byte-identical to that style's --detail run.
    let styles = d.path().join("styles");
    std::fs::create_dir_all(&styles).unwrap();
    std::fs::copy(&style, styles.join("a_starry.jpg")).unwrap();
    std::fs::copy(
        root().join("datasets/demo/style/great_wave.jpg"),
        styles.join("b_wave.jpg"),
    )
    .unwrap();
    let white = d.path().join("white.png");
    image::RgbImage::from_pixel(160, 200, image::Rgb([255, 255, 255]))
        .save(&white)
        .unwrap();
    let masked = d.path().join("masked");
    let o = stylize(
        &c,
        &styles,
        &masked,
        &[
            "--mask",
            s(&white),
            "--alphas",
            "0.5",
            "--content-size",
            "0",
            "--format",
            "png",
            "--precision",
            "fp32",
            "--detail",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        png(&masked.join("face_stylized_mask-a_starry-b_wave_alpha0.5.png")),
        out(&kept, "0.5"),
        "a uniform mask with --detail is that style's --detail output"
    );
    // A folder made without --detail is not resumed with it.
    let (_, again) = run("plain", &["--detail"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("detail"));
}

/// A content folder with no image at its top says so by name: what was looked for, the
/// subfolder that --recursive would search, the other files it ignored; nothing is written.
#[test]
fn a_folder_without_images_is_an_error_naming_what_it_holds() {
    let d = tempfile::tempdir().unwrap();
    let (_, st) = inputs_scaled(d.path(), 1);
    let c = d.path().join("photos");
    write_image(&c.join("2024/a.png"), 40, 40, 1);
    std::fs::write(c.join("notes.txt"), "x").unwrap();
    let o = d.path().join("out");
    let out = stylize(&c, &st, &o, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        format!("no content images or videos found in '{}'", c.display()),
        "looked for .jpg".into(),
        ".mp4".into(),
        "1 subfolder(s) not searched (--recursive searches them)".into(),
        "1 other file(s) ignored".into(),
    ] {
        assert!(err.contains(&part), "expected '{part}' in {err}");
    }
    assert!(!o.join("report.csv").exists());
    // With --recursive the same folder runs.
    let out = stylize(&c, &st, &o, &["--recursive", "--alphas", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
