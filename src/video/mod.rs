//! Video in and out through the `ffmpeg` and `ffprobe` programs: finding them, probing a file
//! (is it a video, its size, frame rate, frame count and audio); `frames` streams raw RGB
//! frames over pipes in both directions, so memory holds a few frames whatever the clip's length.
//!
//! Why the programs and not a libav binding: the Rust bindings (ffmpeg-next, rsmpeg) need
//! libav's headers and a matching major version at build time, so the batch tool would stop
//! building wherever FFmpeg is missing or another version; the programs are one Debian package,
//! optional at run time (only videos need them), and their pipes are FFmpeg's stable interface.
//! [`temporal`] owns the flicker reduction between frames.

mod frames;
pub mod temporal;

pub use frames::{Audio, FrameReader, FrameWriter};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// File extensions probed as videos (GIFs are probed too: an animated one is a video).
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "mkv", "webm", "avi", "m4v"];

/// Whether `p`'s extension is a video container's ([`VIDEO_EXTENSIONS`]).
pub fn has_video_ext(p: &Path) -> bool {
    ext_is(p, VIDEO_EXTENSIONS)
}

/// Whether `p` is named like a GIF: a video when it has more than one frame ([`probe`] says).
pub fn is_gif(p: &Path) -> bool {
    ext_is(p, &["gif"])
}

fn ext_is(p: &Path, set: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| set.contains(&e.to_ascii_lowercase().as_str()))
}

/// Said whenever FFmpeg is needed and not found.
const INSTALL: &str = "install FFmpeg (Debian/Ubuntu: `apt-get install ffmpeg`; macOS: `brew install ffmpeg`) or name the program with --ffmpeg";

/// The two programs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// `ffmpeg` named by the user (`--ffmpeg`, with `ffprobe` beside it, else on PATH), or
    /// both found on PATH. Missing is an error saying how to install them.
    pub fn find(named: Option<&Path>) -> Result<Tools> {
        let ffmpeg = match named {
            Some(p) if p.is_file() => p.to_path_buf(),
            Some(p) => {
                return Err(Error::Invalid(format!(
                    "--ffmpeg {}: no such program: {INSTALL}",
                    p.display()
                )));
            }
            None => on_path("ffmpeg")
                .ok_or_else(|| Error::Invalid(format!("ffmpeg not found on PATH: {INSTALL}")))?,
        };
        let beside = ffmpeg.with_file_name("ffprobe");
        let ffprobe = if beside.is_file() {
            beside
        } else {
            on_path("ffprobe").ok_or_else(|| {
                Error::Invalid(format!(
                    "ffprobe not found beside {} or on PATH: {INSTALL}",
                    ffmpeg.display()
                ))
            })?
        };
        check_version(&ffmpeg)?;
        Ok(Tools { ffmpeg, ffprobe })
    }
}

/// The oldest FFmpeg the frame reader's options work with (`-fps_mode`, from 5.1).
const MIN_VERSION: (u32, u32) = (5, 1);

/// Refuses an FFmpeg older than [`MIN_VERSION`] by name and version, instead of every video
/// failing at its first frame on an unrecognised option. A version line it cannot read (a git
/// build, "N-112233-g...") is taken as new enough: the options then speak for themselves.
fn check_version(ffmpeg: &Path) -> Result<()> {
    let out = Command::new(ffmpeg)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::Invalid(format!(
                "cannot run {} -version: {e}: {INSTALL}",
                ffmpeg.display()
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    match version_of(&text) {
        Some(v) if v < MIN_VERSION => Err(Error::Invalid(format!(
            "{} is FFmpeg {}.{}; videos need {}.{} or newer: {INSTALL}",
            ffmpeg.display(),
            v.0,
            v.1,
            MIN_VERSION.0,
            MIN_VERSION.1
        ))),
        _ => Ok(()),
    }
}

/// `(major, minor)` from `ffmpeg -version`'s first line: "ffmpeg version 5.1.6-0+deb12u1 ...",
/// "ffmpeg version n6.1.1 ...", "ffmpeg version 7.0 ..."; None for what has no such number.
fn version_of(text: &str) -> Option<(u32, u32)> {
    let word = text.lines().next()?.split_whitespace().nth(2)?;
    let mut nums = word
        .trim_start_matches('n')
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>());
    let major = nums.next()?.ok()?;
    let minor = nums.next().and_then(|n| n.ok()).unwrap_or(0);
    Some((major, minor))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What `ffprobe` says about a video file.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub width: u32,
    pub height: u32,
    /// Frames per second as a fraction (the stream's `r_frame_rate`).
    pub rate: (u32, u32),
    /// Frames, when the container says (or, for a GIF, when counted).
    pub frames: Option<u64>,
    /// The first audio stream's codec, if there is one.
    pub audio: Option<String>,
}

/// Formats ffprobe reports for single pictures: such a file is an image, not a video.
fn is_still_format(format: &str) -> bool {
    format == "image2" || format.ends_with("_pipe")
}

/// Probes `path`: `Ok(None)` when it is readable but not a video (a still picture, a
/// one-frame GIF), an error naming the file when ffprobe cannot read it or finds no video
/// stream.
pub fn probe(tools: &Tools, path: &Path) -> Result<Option<Probe>> {
    // A FIFO or device would block ffprobe (or feed it forever).
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "video '{}': it is {}, not a regular file",
            path.display(),
            crate::fsutil::describe(&meta.file_type())
        )));
    }
    let gif = is_gif(path);
    let mut cmd = Command::new(&tools.ffprobe);
    cmd.args(["-v", "error", "-of", "json", "-show_entries"])
        .arg("stream=codec_type,codec_name,codec_tag_string,width,height,r_frame_rate,nb_frames,nb_read_packets:format=format_name");
    // A GIF's frames are not in its header: count them (GIFs are small).
    if gif {
        cmd.arg("-count_packets");
    }
    let out = cmd
        .arg("--")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| cannot_run(&tools.ffprobe, path, e))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "video '{}': not a readable video: {}",
            path.display(),
            last_line(&out.stderr)
        )));
    }
    parse_probe(path, &out.stdout, gif)
}

/// Reads ffprobe's JSON (see [`probe`]).
fn parse_probe(path: &Path, json: &[u8], gif: bool) -> Result<Option<Probe>> {
    let bad = |why: &str| Error::Invalid(format!("video '{}': {why}", path.display()));
    let v: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| bad(&format!("unreadable ffprobe output: {e}")))?;
    let format = v["format"]["format_name"].as_str().unwrap_or("");
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let video = streams.iter().find(|s| s["codec_type"] == "video");
    let Some(s) = video else {
        return Err(bad("no video stream"));
    };
    if is_still_format(format) {
        return Ok(None);
    }
    // ffprobe names no codec when this FFmpeg has no decoder for the stream's tag.
    let codec = s["codec_name"].as_str().unwrap_or("");
    if codec.is_empty() || codec == "none" {
        let tag = s["codec_tag_string"].as_str().unwrap_or("?");
        return Err(bad(&format!(
            "unsupported video codec '{}' (this FFmpeg has no decoder for it)",
            crate::console::escape_controls(tag, false)
        )));
    }
    let num = |key: &str| -> Option<u64> {
        match &s[key] {
            serde_json::Value::String(t) => t.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        }
    };
    let (width, height) = match (num("width"), num("height")) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w as u32, h as u32),
        _ => return Err(bad("the video stream has no frame size")),
    };
    let rate = s["r_frame_rate"]
        .as_str()
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
        .filter(|&(n, d)| n > 0 && d > 0)
        .ok_or_else(|| bad("the video stream has no frame rate"))?;
    let frames = num("nb_frames").or_else(|| num("nb_read_packets"));
    if gif && frames.is_some_and(|f| f <= 1) {
        return Ok(None);
    }
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .map(|a| a["codec_name"].as_str().unwrap_or("").to_string());
    Ok(Some(Probe {
        width,
        height,
        rate,
        frames,
        audio,
    }))
}

/// `program` could not be started for the video at `path`.
fn cannot_run(program: &Path, path: &Path, e: std::io::Error) -> Error {
    Error::Invalid(format!(
        "video '{}': cannot run {}: {e}",
        path.display(),
        program.display()
    ))
}

/// The last non-empty line of a program's stderr, for an error message.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    crate::console::escape_controls(line.unwrap_or("(no message)").trim(), false).into_owned()
}

/// The output frame size for a `width` x `height` video under `short_side` (0 keeps it; never
/// upscales), rounded down to even sides: H.264 in 4:2:0 needs them.
pub fn output_size(width: u32, height: u32, short_side: u32) -> (u32, u32) {
    let short = width.min(height);
    let (w, h) = if short_side > 0 && short > short_side {
        let s = short_side as f64 / short as f64;
        (
            (width as f64 * s).round() as u32,
            (height as f64 * s).round() as u32,
        )
    } else {
        (width, height)
    };
    (w & !1, h & !1)
}

/// Whether `path` starts like an MP4 (an `ftyp` box): what resume trusts as a finished video
/// (written atomically, so an output of ours is whole or absent).
pub fn looks_like_mp4(path: &Path) -> bool {
    let mut head = [0u8; 12];
    crate::fsutil::open_regular(path)
        .ok()
        .and_then(|mut f| f.read_exact(&mut head).ok())
        .is_some_and(|()| &head[4..8] == b"ftyp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_versions_are_read_from_the_first_line() {
        let v = |first: &str| version_of(&format!("{first}\nbuilt with gcc 12"));
        assert_eq!(
            v("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026"),
            Some((5, 1))
        );
        assert_eq!(v("ffmpeg version n6.1.1 Copyright"), Some((6, 1)));
        assert_eq!(v("ffmpeg version 7.0 Copyright"), Some((7, 0)));
        assert_eq!(v("ffmpeg version 4.4.2-0ubuntu0.22.04.1"), Some((4, 4)));
        assert_eq!(v("ffmpeg version 5 Copyright"), Some((5, 0)));
        // Git builds say no release number: taken as new enough.
        assert_eq!(v("ffmpeg version N-112233-gabcdef Copyright"), None);
        assert_eq!(v("ffmpeg version git-2024-01-01"), None);
        assert_eq!(version_of(""), None);
    }

    #[test]
    fn output_sizes_are_even_and_never_upscaled() {
        assert_eq!(output_size(1920, 1080, 512), (910, 512));
        assert_eq!(output_size(640, 480, 512), (640, 480));
        assert_eq!(output_size(641, 481, 0), (640, 480));
        assert_eq!(output_size(480, 854, 240), (240, 426));
    }

    #[test]
    fn probe_output_is_read_and_stills_are_not_videos() {
        let p = Path::new("x.mp4");
        let clip =
            br#"{"streams":[{"codec_name":"h264","codec_type":"video","width":64,"height":48,
            "r_frame_rate":"25/1","nb_frames":"50"},{"codec_name":"vorbis","codec_type":"audio"}],
            "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"2.000000"}}"#;
        let got = parse_probe(p, clip, false).unwrap().unwrap();
        assert_eq!(
            (got.width, got.height, got.rate, got.frames),
            (64, 48, (25, 1), Some(50))
        );
        assert_eq!(got.audio.as_deref(), Some("vorbis"));
        assert_eq!(Audio::of(p, got.audio.as_deref()), Audio::Aac(p.into()));
        let still = br#"{"streams":[{"codec_name":"png","codec_type":"video","width":8,"height":8,
            "r_frame_rate":"25/1"}],"format":{"format_name":"png_pipe"}}"#;
        assert_eq!(parse_probe(p, still, false).unwrap(), None);
        let one_frame_gif = br#"{"streams":[{"codec_name":"gif","codec_type":"video","width":8,
            "height":8,"r_frame_rate":"10/1","nb_read_packets":"1"}],"format":{"format_name":"gif"}}"#;
        assert_eq!(parse_probe(p, one_frame_gif, true).unwrap(), None);
        let sound = br#"{"streams":[{"codec_name":"mp3","codec_type":"audio"}],"format":{"format_name":"mp3"}}"#;
        assert!(
            parse_probe(p, sound, false)
                .unwrap_err()
                .to_string()
                .contains("x.mp4': no video stream")
        );
        let unknown = br#"{"streams":[{"codec_type":"video","codec_tag_string":"qzq1","width":64,
            "height":48,"r_frame_rate":"10/1"}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}"#;
        let e = parse_probe(p, unknown, false).unwrap_err().to_string();
        assert!(e.contains("unsupported video codec 'qzq1'"), "{e}");
    }
}
