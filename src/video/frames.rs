//! Raw RGB frames over pipes in both directions: [`FrameReader`] decodes a video's first stream
//! (refusing frames that change size mid-stream), [`FrameWriter`] encodes H.264 into a temporary
//! MP4 beside the output with the source's audio, renamed when complete.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use super::{Tools, cannot_run, last_line};
use crate::error::{Error, Result};

/// Reads the decoder's log (`-v level+info`) on a thread: each `showinfo` line gives a
/// decoded frame's size, and the first that differs from frame 1's is set in `resized`.
/// Returns the tail of the errors (levels stripped) for error messages, as `-v error` gave.
fn watch_decoder_log(err: ChildStderr, resized: Arc<OnceLock<String>>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(err);
        let (mut line, mut kept, mut first, mut n) = (Vec::new(), Vec::new(), None, 0u64);
        while matches!(reader.read_until(b'\n', &mut line), Ok(k) if k > 0) {
            let text = String::from_utf8_lossy(&line);
            if let Some(size) = frame_size_logged(&text) {
                n += 1;
                match &first {
                    None => first = Some(size.to_string()),
                    Some(f) if f != size && resized.get().is_none() => {
                        let _ = resized.set(format!(
                            "frames change size mid-stream (frame {n} is {size}, frame 1 was {f})"
                        ));
                    }
                    Some(_) => {}
                }
            } else if let Some(msg) = logged_problem(&text) {
                kept.extend_from_slice(msg.as_bytes());
                kept.push(b'\n');
                let cut = kept.len().saturating_sub(4096);
                kept.drain(..cut);
            }
            line.clear();
        }
        kept
    })
}

/// The `s:WxH` of a `showinfo` frame line (`... [info] n:   3 pts: ... s:64x48 ...`).
fn frame_size_logged(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once("[info] n:")?;
    let size = rest.split_whitespace().find_map(|t| t.strip_prefix("s:"))?;
    size.contains('x').then_some(size)
}

/// The message of an error or worse in a `-v level+...` log line, without its prefixes.
fn logged_problem(line: &str) -> Option<&str> {
    ["[error] ", "[fatal] ", "[panic] "]
        .iter()
        .find_map(|level| line.split_once(level).map(|(_, msg)| msg.trim_end()))
}

/// Collects a child's stderr on a thread (a full pipe would stall it), keeping the tail.
fn drain_stderr(child: &mut Child) -> JoinHandle<Vec<u8>> {
    let mut err = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = err.read_to_end(&mut all);
        let keep = all.len().saturating_sub(4096);
        all.split_off(keep)
    })
}

/// Decoded frames of a video, scaled to a fixed size, as packed RGB bytes.
pub struct FrameReader {
    child: Child,
    stdout: ChildStdout,
    log: Option<JoinHandle<Vec<u8>>>,
    /// Set by the log reader when a decoded frame's size differs from the first one's.
    resized: Arc<OnceLock<String>>,
    path: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Frames read so far.
    pub frames: u64,
}

impl FrameReader {
    /// Starts decoding `path`'s first video stream at `width` x `height`. A stream whose
    /// frames change size mid-way is refused (scaling them all to one size would stretch
    /// some): `showinfo` logs each decoded frame's size, which `watch_decoder_log` reads.
    pub fn open(tools: &Tools, path: &Path, width: u32, height: u32) -> Result<Self> {
        let mut child = Command::new(&tools.ffmpeg)
            .args([
                "-nostdin",
                "-hide_banner",
                "-nostats",
                "-v",
                "level+info",
                "-xerror",
            ])
            .arg("-i")
            .arg(path)
            .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-vf"])
            .arg(format!(
                "showinfo=checksum=0,scale={width}:{height}:flags=bicubic"
            ))
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| cannot_run(&tools.ffmpeg, path, e))?;
        let resized = Arc::new(OnceLock::new());
        let err = child.stderr.take().expect("stderr piped");
        let log = Some(watch_decoder_log(err, resized.clone()));
        let stdout = child.stdout.take().expect("stdout piped");
        Ok(FrameReader {
            child,
            stdout,
            log,
            resized,
            path: path.to_path_buf(),
            width,
            height,
            frames: 0,
        })
    }

    /// Bytes in one frame.
    pub fn frame_len(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    /// Reads the next frame into `buf` ([`FrameReader::frame_len`] bytes): `Ok(false)` at the
    /// end of a stream that decoded whole; an error naming the frame where decoding failed.
    pub fn next(&mut self, buf: &mut [u8]) -> Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.stdout.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(&e.to_string())),
            }
        }
        if got == buf.len() {
            self.check_size()?;
            self.frames += 1;
            return Ok(true);
        }
        // The stream ended: whole only if ffmpeg says so.
        let status = self.child.wait().map_err(|e| self.failed(&e.to_string()))?;
        let log = self
            .log
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        self.check_size()?;
        if !status.success() || got > 0 {
            return Err(self.failed(&last_line(&log)));
        }
        Ok(false)
    }

    /// The log reader runs ahead of or beside the frames on stdout, so a size change is
    /// caught at the latest when the stream ends, before the output is kept.
    fn check_size(&self) -> Result<()> {
        match self.resized.get() {
            Some(why) => Err(Error::Invalid(format!(
                "video '{}': {why}; re-encode it to one size first (ffmpeg -i IN -vf scale=W:H OUT)",
                self.path.display()
            ))),
            None => Ok(()),
        }
    }

    fn failed(&self, why: &str) -> Error {
        Error::Invalid(format!(
            "video '{}': decoding failed at frame {}: {why}",
            self.path.display(),
            self.frames + 1
        ))
    }
}

impl Drop for FrameReader {
    fn drop(&mut self) {
        // Stopped early (an error elsewhere, Ctrl-C): ffmpeg is not left running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the source's audio reaches the output.
#[derive(Debug, Clone, PartialEq)]
pub enum Audio {
    None,
    /// Copied as it is (codecs MP4 holds).
    Copy(PathBuf),
    /// Re-encoded to AAC (codecs MP4 cannot hold, e.g. Vorbis, PCM).
    Aac(PathBuf),
}

impl Audio {
    /// For a source whose first audio stream has `codec` (if any).
    pub fn of(source: &Path, codec: Option<&str>) -> Audio {
        match codec {
            None => Audio::None,
            Some("aac" | "mp3" | "ac3" | "eac3" | "alac") => Audio::Copy(source.to_path_buf()),
            Some(_) => Audio::Aac(source.to_path_buf()),
        }
    }
}

/// An H.264 MP4 being written from packed RGB frames, into a temporary file in the output's
/// folder that [`FrameWriter::finish`] renames into place: an output is whole or absent.
pub struct FrameWriter {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// Removed when dropped unless persisted.
    tmp: Option<tempfile::TempPath>,
    out: PathBuf,
    pub frames: u64,
}

impl FrameWriter {
    /// Starts writing `out` at `width` x `height` and `rate` frames per second, with `audio`.
    pub fn create(
        tools: &Tools,
        out: &Path,
        (width, height): (u32, u32),
        rate: (u32, u32),
        audio: &Audio,
    ) -> Result<Self> {
        let dir = out.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(&crate::fsutil::tmp_prefix())
            .suffix(".mp4")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?
            .into_temp_path();
        let mut cmd = Command::new(&tools.ffmpeg);
        cmd.args([
            "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        ])
        .arg("-s")
        .arg(format!("{width}x{height}"))
        .arg("-r")
        .arg(format!("{}/{}", rate.0, rate.1))
        .args(["-i", "pipe:0"]);
        match audio {
            Audio::None => {}
            Audio::Copy(src) | Audio::Aac(src) => {
                cmd.arg("-i")
                    .arg(src)
                    .args(["-map", "0:v:0", "-map", "1:a:0"]);
                match audio {
                    Audio::Copy(_) => cmd.args(["-c:a", "copy"]),
                    _ => cmd.args(["-c:a", "aac", "-b:a", "192k"]),
                };
                // The audio ends with the frames (a clip cut short is not padded with sound).
                cmd.arg("-shortest");
            }
        }
        cmd.args([
            "-c:v",
            "libx264",
            "-preset",
            "medium",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ])
        .arg(&*tmp);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::Invalid(format!(
                    "'{}': cannot run {}: {e}",
                    out.display(),
                    tools.ffmpeg.display()
                ))
            })?;
        let stderr = Some(drain_stderr(&mut child));
        let stdin = child.stdin.take();
        Ok(FrameWriter {
            child,
            stdin,
            stderr,
            tmp: Some(tmp),
            out: out.to_path_buf(),
            frames: 0,
        })
    }

    /// Appends one packed RGB frame.
    pub fn write(&mut self, rgb: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().expect("open until finish");
        if let Err(e) = stdin.write_all(rgb) {
            // The encoder died: its message says why better than the broken pipe.
            let _ = self.child.wait();
            let why = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .map(|s| last_line(&s))
                .unwrap_or_else(|| e.to_string());
            return Err(Error::Invalid(format!(
                "'{}': the encoder stopped at frame {}: {why}",
                self.out.display(),
                self.frames + 1
            )));
        }
        self.frames += 1;
        Ok(())
    }

    /// Ends the stream, waits for the encoder and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|e| Error::io(&self.out, e))?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(Error::Invalid(format!(
                "'{}': the encoder failed: {}",
                self.out.display(),
                last_line(&stderr)
            )));
        }
        let tmp = self.tmp.take().expect("kept until finish");
        // tempfile creates 0600; outputs are ordinary files for the user and their group to read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644));
        }
        tmp.persist(&self.out)
            .map_err(|e| Error::io(&self.out, e.error))?;
        Ok(())
    }
}

impl Drop for FrameWriter {
    fn drop(&mut self) {
        // Not finished (interrupted, or an error): the encoder is stopped and the temporary
        // file goes with `tmp`.
        if self.tmp.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_log_lines_give_frame_sizes_and_errors() {
        let frame = "[Parsed_showinfo_0 @ 0x5] [info] n:   9 pts:   1900 pts_time:1.9 \
                     pos: 4865 fmt:yuv420p sar:1/1 s:96x48 i:P iskey:0 type:P \n";
        assert_eq!(frame_size_logged(frame), Some("96x48"));
        let config = "[Parsed_showinfo_0 @ 0x5] [info] config in time_base: 1/1000\n";
        assert_eq!(frame_size_logged(config), None);
        assert_eq!(
            frame_size_logged("[info] Stream #0:0: Video: h264, 64x48\n"),
            None
        );
        let err = "[h264 @ 0x7] [error] Invalid NAL unit size (1 > 0).\n";
        assert_eq!(logged_problem(err), Some("Invalid NAL unit size (1 > 0)."));
        assert_eq!(
            logged_problem("[error] Decoder (codec none) not found\n"),
            Some("Decoder (codec none) not found")
        );
        assert_eq!(logged_problem("[warning] deprecated pixel format\n"), None);
        assert_eq!(logged_problem(frame), None);
    }
}
