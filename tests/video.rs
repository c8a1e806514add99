//! adain-batch on videos, end to end: clips are made here from the demo photos with ffmpeg (no
//! video is committed), stylized by the real binary, and read back with ffprobe/ffmpeg. Every
//! test says "skipped: no ffmpeg" and passes when ffmpeg is not installed (scripts/test.sh
//! installs it where it can).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adain::batch::report::{self, Status};
use common::*;

fn have_ffmpeg() -> bool {
    let ok = |p: &str| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok("ffmpeg") && ok("ffprobe") {
        return true;
    }
    eprintln!("skipped: no ffmpeg (apt-get install ffmpeg)");
    false
}

fn ffmpeg(args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn demo(name: &str) -> String {
    root()
        .join("datasets/demo/content")
        .join(name)
        .display()
        .to_string()
}

/// `secs` of pan and zoom over a demo photo at 96x64, 12 fps, with a 440 Hz tone (AAC).
fn pan_clip(path: &Path, secs: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let t = secs.to_string();
    ffmpeg(&[
        "-loop",
        "1",
        "-i",
        &demo("chelsea.jpg"),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=22050",
        "-t",
        &t,
        "-filter_complex",
        "[0:v]scale=384:-2,zoompan=z='1+0.01*on':x='2*on':y='ih/2-(ih/zoom/2)':d=1:s=96x64:fps=12[v]",
        "-map",
        "[v]",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        path.to_str().unwrap(),
    ]);
}

/// A still shot with temporal sensor noise: `frames` frames of a photo at 96x64, 12 fps.
fn noisy_still(path: &Path, frames: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "12",
        "-i",
        &demo("grace_hopper.jpg"),
        "-frames:v",
        &frames.to_string(),
        "-vf",
        "scale=96:64:force_original_aspect_ratio=increase,crop=96:64,noise=alls=10:allf=t",
        "-c:v",
        "libx264",
        "-crf",
        "10",
        "-pix_fmt",
        "yuv420p",
        path.to_str().unwrap(),
    ]);
}

fn style() -> String {
    root()
        .join("datasets/demo/style/starry_night.jpg")
        .display()
        .to_string()
}

/// adain-batch on `content` with the starry_night painting into `out`, plus `extra`.
fn stylize(content: &Path, out: &Path, extra: &[&str]) -> Output {
    let out = Command::new(bin("adain-batch"))
        // Threads left to the tool: on two or more cores the video's encoder and decoder stages
        // get their own sessions, the path users run.
        .args(["--models", root().join("onnx").to_str().unwrap()])
        .arg("--content")
        .arg(content)
        .args(["--style", &style(), "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The streams of `path` as ffprobe lists them: (codec_type, codec_name, width, height, frames).
fn streams(path: &Path) -> Vec<(String, String, u32, u32, u64)> {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-of",
            "json",
            "-show_entries",
        ])
        .arg("stream=codec_type,codec_name,width,height,nb_read_frames")
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "ffprobe {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| {
                s[k].as_u64()
                    .or_else(|| s[k].as_str()?.parse().ok())
                    .unwrap_or(0)
            };
            (
                s["codec_type"].as_str().unwrap_or("").into(),
                s["codec_name"].as_str().unwrap_or("").into(),
                n("width") as u32,
                n("height") as u32,
                n("nb_read_frames"),
            )
        })
        .collect()
}

/// Every frame of `path` as RGB f32 in [0, 1], each `w*h*3` long.
fn frames(path: &Path) -> Vec<Vec<f32>> {
    let s = streams(path);
    let (w, h) = (s[0].2 as usize, s[0].3 as usize);
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
        ])
        .output()
        .unwrap();
    o.stdout
        .chunks_exact(w * h * 3)
        .map(|f| f.iter().map(|&b| b as f32 / 255.0).collect())
        .collect()
}

/// Mean |frame[t] - frame[t-1]| over all pixels and frames.
fn mean_step(v: &[Vec<f32>]) -> f64 {
    let mut sum = 0.0;
    for p in v.windows(2) {
        sum += p[0]
            .iter()
            .zip(&p[1])
            .map(|(a, b)| (a - b).abs() as f64)
            .sum::<f64>()
            / p[0].len() as f64;
    }
    sum / (v.len() - 1) as f64
}

fn rows(report: &Path) -> Vec<report::Row> {
    csv::Reader::from_path(report)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_video_becomes_one_mp4_per_style_and_alpha_with_its_audio_and_frames() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let content = d.path().join("content");
    pan_clip(&content.join("pan.mp4"), 2);
    std::fs::copy(demo("coffee.jpg"), content.join("coffee.jpg")).unwrap();
    let out = d.path().join("out");
    let args = ["--alphas", "1,0.5", "--content-size", "256"];
    let o = stylize(&content, &out, &args);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("video: 48 frames written"));
    let videos = files(&out, ".mp4");
    assert_eq!(
        videos,
        [
            "pan_stylized_starry_night_alpha0.5.mp4",
            "pan_stylized_starry_night_alpha1.mp4"
        ]
    );
    assert_eq!(files(&out, ".jpg").len(), 2, "the photo's outputs too");
    for v in &videos {
        let s = streams(&out.join(v));
        assert_eq!(s[0], ("video".into(), "h264".into(), 96, 64, 24), "{v}");
        assert_eq!(
            (s[1].0.as_str(), s[1].1.as_str()),
            ("audio", "aac"),
            "{v}: audio copied"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join(v)).unwrap().permissions().mode();
            assert_eq!(mode & 0o044, 0o044, "{v} readable like the photos");
        }
    }
    let r = rows(&out.join("report.csv"));
    let video_rows: Vec<&report::Row> = r.iter().filter(|r| r.output.ends_with(".mp4")).collect();
    assert_eq!(video_rows.len(), 2);
    for row in &video_rows {
        assert_eq!(row.status, Some(Status::Ok));
        assert_eq!(row.frames, Some(24));
        assert_eq!(row.video_s, Some(2.0));
        assert!(
            row.frames_per_s.unwrap() > 0.0 && row.decode_ms > 0.0 && row.encode_content_ms > 0.0
        );
        assert_eq!(
            (row.content_width, row.output_width, row.output_height),
            (96, 96, 64)
        );
    }
    assert!(
        r.iter()
            .filter(|r| r.output.ends_with(".jpg"))
            .all(|r| r.frames.is_none())
    );
    // Resume: the videos are finished, so they are skipped.
    let again = stylize(&content, &out, &args);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 written, 4 skipped"));
}

/// With smoothing off, each video frame is the photo path's output for that frame (the AdaIN
/// the video stage computes itself against the fused graph's), up to H.264's loss; with the
/// default smoothing a noisy still shot flickers less than frame by frame.
#[test]
fn frame_by_frame_matches_the_photo_path_and_smoothing_cuts_flicker() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip/still.mp4");
    noisy_still(&clip, 12);
    let run = |s: &str| {
        let out = d.path().join(format!("s{s}"));
        let o = stylize(
            &clip,
            &out,
            &["--precision", "fp32", "--temporal-smoothing", s],
        );
        assert!(o.status.success());
        out.join("still_stylized_starry_night_alpha1.mp4")
    };
    let (raw, smooth) = (run("0"), run("0.5"));
    // Frame 5 as a photo, through the image path.
    let photos = d.path().join("frames");
    std::fs::create_dir_all(&photos).unwrap();
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-vf",
        "select=eq(n\\,5)",
        "-frames:v",
        "1",
        photos.join("f5.png").to_str().unwrap(),
    ]);
    let out = d.path().join("photo");
    let photo_args = ["--precision", "fp32", "--format", "png"];
    assert!(stylize(&photos, &out, &photo_args).status.success());
    // The photo's output through H.264's 4:2:0 colour alone (lossless otherwise): at 96x64 the
    // chroma subsampling of a painted texture costs ~5/255, more than the rest of the encoding.
    let photo = d.path().join("photo.mp4");
    ffmpeg(&[
        "-i",
        out.join("f5_stylized_starry_night_alpha1.png")
            .to_str()
            .unwrap(),
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        photo.to_str().unwrap(),
    ]);
    let photo = &frames(&photo)[0];
    let video = frames(&raw);
    assert_eq!(video.len(), 12);
    let diff = video[5]
        .iter()
        .zip(photo)
        .map(|(v, p)| (v - p).abs() as f64)
        .sum::<f64>()
        / photo.len() as f64;
    eprintln!("frame 5 vs its photo: {:.2}/255", diff * 255.0);
    // Measured 3.5/255 (ffmpeg 5.1); an AdaIN off by its statistics or alpha is tens of levels.
    assert!(
        diff < 6.0 / 255.0,
        "frame 5 differs from its photo by {:.2}/255",
        diff * 255.0
    );
    let input = frames(&clip);
    let flicker = |v: &Path| mean_step(&frames(v)) / mean_step(&input);
    let (f_raw, f_smooth) = (flicker(&raw), flicker(&smooth));
    eprintln!("flicker: frame by frame {f_raw:.3}, smoothed {f_smooth:.3}");
    assert!(
        f_smooth < 0.8 * f_raw,
        "smoothing: {f_smooth:.3} vs {f_raw:.3}"
    );
}

/// The first `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Bad videos (not a video, no video stream, cut short, an unknown codec, no frames, frames
/// that change size) are error rows naming the file and the reason; the photo beside them is still
/// stylized, and the run exits 2.
#[test]
fn broken_videos_are_error_rows_and_the_rest_goes_on() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("content");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::copy(demo("coffee.jpg"), c.join("coffee.jpg")).unwrap();
    std::fs::write(c.join("notes.mp4"), b"this is not a video\n").unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        "1",
        c.join("sound.mp4").to_str().unwrap(),
    ]);
    // Cut after its header: the container promises 48 frames (moov first), the data stops.
    let whole = d.path().join("whole.mp4");
    pan_clip(&whole, 4);
    let remux = d.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        whole.to_str().unwrap(),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        remux.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&remux).unwrap();
    std::fs::write(c.join("cut.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    // A codec FFmpeg has no decoder for: the sample entry's tag after `stsd` renamed.
    let mut odd = std::fs::read(&whole).unwrap();
    let stsd = find(&odd, b"stsd", 0).unwrap();
    let tag = find(&odd, b"avc1", stsd).unwrap();
    odd[tag..tag + 4].copy_from_slice(b"qzq1");
    std::fs::write(c.join("codec.mp4"), odd).unwrap();
    // Zero frames.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10",
        "-frames:v",
        "0",
        c.join("empty.mp4").to_str().unwrap(),
    ]);
    // Frames that change size mid-stream: two H.264 segments of different sizes, joined.
    let mut parts = Vec::new();
    for size in ["96x64", "128x64"] {
        let part = d.path().join(format!("{size}.ts"));
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=size={size}:rate=12"),
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            part.to_str().unwrap(),
        ]);
        parts.push(part.to_str().unwrap().to_string());
    }
    ffmpeg(&[
        "-i",
        &format!("concat:{}", parts.join("|")),
        "-c",
        "copy",
        c.join("resized.mkv").to_str().unwrap(),
    ]);
    let out = d.path().join("out");
    let o = stylize(&c, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let r = rows(&out.join("report.csv"));
    let err = |name: &str| {
        let row = r.iter().find(|r| r.content.ends_with(name)).unwrap();
        assert_eq!(row.status, Some(Status::Error), "{name}");
        assert!(row.error.contains(name), "{name}: {}", row.error);
        row.error.clone()
    };
    assert!(err("notes.mp4").contains("not a readable video"));
    assert!(err("sound.mp4").contains("no video stream"));
    let cut = err("cut.mp4");
    assert!(cut.contains("frame"), "names the frame: {cut}");
    assert!(err("codec.mp4").contains("unsupported video codec 'qzq1'"));
    err("empty.mp4");
    let resized = err("resized.mkv");
    assert!(
        resized.contains("change size mid-stream") && resized.contains("frame 13 is 128x64"),
        "{resized}"
    );
    assert_eq!(
        files(&out, ".jpg"),
        ["coffee_stylized_starry_night_alpha1.jpg"]
    );
    assert!(files(&out, ".mp4").is_empty(), "no partial video is left");
    assert!(no_temp_files(&out));
}

/// Without FFmpeg a video is an error row saying how to install it; photos are unaffected.
#[test]
fn missing_ffmpeg_is_an_error_row_with_the_install_command() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("content");
    pan_clip(&c.join("pan.mp4"), 1);
    std::fs::copy(demo("coffee.jpg"), c.join("coffee.jpg")).unwrap();
    let out = d.path().join("out");
    let nowhere = d.path().join("no/ffmpeg");
    let o = stylize(&c, &out, &["--ffmpeg", nowhere.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let r = rows(&out.join("report.csv"));
    let v = r.iter().find(|r| r.content.ends_with("pan.mp4")).unwrap();
    assert!(
        v.error.contains("pan.mp4") && v.error.contains("apt-get install ffmpeg"),
        "{}",
        v.error
    );
    assert_eq!(files(&out, ".jpg").len(), 1);
}

/// An FFmpeg too old for the frame reader's options is refused by name and version for each
/// video (not a failure at every first frame on an unknown option); photos are unaffected.
/// Needs no FFmpeg: the one named is a script that says it is 4.4.
#[test]
fn an_ffmpeg_older_than_5_1_is_an_error_row_naming_its_version() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("old-ffmpeg");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["ffmpeg", "ffprobe"] {
        let p = bin.join(tool);
        std::fs::write(
            &p,
            "#!/bin/sh\necho 'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright'\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let c = d.path().join("content");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("pan.mp4"), b"never opened").unwrap();
    std::fs::copy(demo("coffee.jpg"), c.join("coffee.jpg")).unwrap();
    let out = d.path().join("out");
    let o = stylize(
        &c,
        &out,
        &["--ffmpeg", bin.join("ffmpeg").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let r = rows(&out.join("report.csv"));
    let v = r.iter().find(|r| r.content.ends_with("pan.mp4")).unwrap();
    assert!(
        v.error.contains("pan.mp4")
            && v.error.contains("FFmpeg 4.4")
            && v.error.contains("5.1 or newer"),
        "{}",
        v.error
    );
    assert_eq!(files(&out, ".jpg").len(), 1);
}

/// SIGTERM during a video stops within a second or two, leaves no partial output or temporary
/// file, and the rerun makes the video whole.
#[test]
fn sigterm_mid_video_leaves_nothing_and_resume_redoes_it() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip/long.mp4");
    pan_clip(&clip, 20);
    let out = d.path().join("out");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--content",
            clip.to_str().unwrap(),
            "--style",
            &style(),
            "--out",
            out.to_str().unwrap(),
            "--models",
            root().join("onnx").to_str().unwrap(),
            "--threads",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut child = Command::new(bin("adain-batch"))
        .args(args(&[]))
        .spawn()
        .unwrap();
    // Wait for the encoder's temporary file: frames are being written.
    let t0 = std::time::Instant::now();
    let temp = || -> Option<PathBuf> {
        std::fs::read_dir(&out)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".adain-tmp")
            })
    };
    while temp().is_none() {
        assert!(t0.elapsed().as_secs() < 60, "no video started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let t = std::time::Instant::now();
    let code = child.wait().unwrap().code();
    let stop_s = t.elapsed().as_secs_f64();
    assert_eq!(code, Some(143), "interrupted by SIGTERM");
    // Frames take milliseconds here; the bound only catches a stop that waits for the clip's end.
    assert!(stop_s < 10.0, "took {stop_s:.1} s to stop");
    assert!(files(&out, ".mp4").is_empty() && no_temp_files(&out));
    let o = Command::new(bin("adain-batch"))
        .args(args(&[]))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = streams(&out.join("long_stylized_starry_night_alpha1.mp4"));
    assert_eq!(s[0].4, 240);
}

/// `--detail` on a video: at alpha 0 each frame comes back as the input frame (up to H.264),
/// where the plain decoder's reconstruction is far from it; at alpha 1 the output is unchanged.
#[test]
fn detail_keeps_each_frame_of_a_video_at_alpha_zero() {
    if !have_ffmpeg() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip/pan.mp4");
    pan_clip(&clip, 1);
    let run = |o: &str, extra: &[&str]| {
        let out = d.path().join(o);
        let mut args = vec!["--precision", "fp32", "--alphas", "0,1"];
        args.extend_from_slice(extra);
        assert!(stylize(&clip, &out, &args).status.success());
        let f = |a: &str| frames(&out.join(format!("pan_stylized_starry_night_alpha{a}.mp4")));
        (f("0"), f("1"))
    };
    let ((plain0, plain1), (kept0, kept1)) = (run("plain", &[]), run("detail", &["--detail"]));
    let input = frames(&clip);
    let dist = |v: &[Vec<f32>]| {
        assert_eq!(v.len(), input.len());
        v.iter()
            .zip(&input)
            .map(|(a, b)| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs() as f64)
                    .sum::<f64>()
                    / a.len() as f64
            })
            .sum::<f64>()
            / v.len() as f64
            * 255.0
    };
    let (rec, back) = (dist(&plain0), dist(&kept0));
    eprintln!("mean |output - input| at alpha 0: plain {rec:.2}/255, --detail {back:.2}/255");
    assert!(
        back < 4.0 && back < 0.4 * rec,
        "plain {rec}, --detail {back}"
    );
    assert_eq!(kept1, plain1, "alpha 1 is untouched");
}
