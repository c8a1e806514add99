//! The video stage: each video content is decoded once, frame by frame (FFmpeg, streamed), and
//! every one of its outputs (style x alpha) is written as it goes, one H.264 encoder per output.
//! Per frame: encode the content once -> AdaIN here, with the content statistics smoothed
//! across frames ([`crate::video::temporal`]) -> the decoder in batches of outputs -> the
//! output-side stabiliser -> the encoders. Two stages on two threads, each with its own
//! sessions on half the cores when the CPU is ours to split: frame t+1 is read and encoded
//! while frame t is decoded (a convolution split over two threads wastes a fifth, see
//! `pipeline::lanes`). An output is renamed into place only when its last frame is written;
//! an interrupted video leaves nothing and is redone on resume.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis};

use super::RunContext;
use super::outcome::{End, JobOutcome, Saved, Sink, Sizes, VideoStats, fail_all};
use super::plan::{Job, StyleRef};
use super::report::Shares;
use super::styles::{self, StyleStats};
use crate::error::{Error, Result};
use crate::imaging::Image;
use crate::runtime::{self, Models};
use crate::video::temporal::Smoother;
use crate::video::{self, Audio, FrameReader, FrameWriter, Probe};

/// Said for `--mask` on a video: masks are drawn for one picture, and a moving one would need
/// a mask per frame.
pub(super) const NO_MASKS: &str =
    "--mask applies to photos; a video content gets no masked outputs (stylize it without --mask)";

/// Runs the jobs of video contents; returns whether a stop was requested.
pub(super) fn run(
    inputs: RunContext<'_>,
    sink: &mut Sink<'_>,
    models: &mut Models,
    todo: &[Job],
    batch_size: usize,
    stop: &AtomicBool,
) -> bool {
    if todo.is_empty() {
        return false;
    }
    let mut pair = stage_sessions(inputs, models);
    for (ci, jobs) in super::plan::by_content(todo) {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let probe = match &inputs.videos[ci] {
            Some(Ok(p)) => p.clone(),
            Some(Err(e)) => {
                fail_all(sink, &jobs, e, Shares::default());
                continue;
            }
            None => unreachable!("only video contents reach the video stage"),
        };
        let (masked, jobs): (Vec<&Job>, Vec<&Job>) =
            jobs.into_iter().partition(|j| j.style == StyleRef::Masked);
        fail_all(sink, &masked, NO_MASKS, Shares::default());
        if jobs.is_empty() {
            continue;
        }
        let short_side = inputs.cfg.content_sizing.short_side;
        let v = Video {
            inputs,
            ci,
            size: video::output_size(probe.width, probe.height, short_side),
            probe,
            batch_size: batch_size.max(1),
            stop,
        };
        let (enc, dec) = match pair.as_mut_slice() {
            [a, b] => (a, Some(b)),
            _ => (&mut *models, None),
        };
        if v.run(sink, &jobs, enc, dec) {
            return true;
        }
    }
    false
}

/// The encoder and decoder stages' own sessions (two parts side by side, as the pipeline's
/// lanes are opened); none where one part runs at a time, and then both stages share `models`
/// one after the other. Sessions that do not open leave the video on the run's sessions:
/// slower, not wrong.
fn stage_sessions(inputs: RunContext<'_>, models: &Models) -> Vec<Models> {
    super::side_by_side(inputs.cfg, models, 2)
        .map(|(sessions, _)| sessions)
        .unwrap_or_default()
}

/// One frame through the encoder stage.
struct EncodedFrame {
    frame: Image,
    features: Array4<f32>,
    mean: Vec<f32>,
    std: Vec<f32>,
    /// Its number, from 1.
    index: u64,
}

/// One output being written, with its style target and its share of the stage times.
struct Stream<'j> {
    job: &'j Job,
    style: StyleStats,
    writer: FrameWriter,
    adain_s: f64,
    decode_s: f64,
    save_s: f64,
    thumb: Option<image::RgbImage>,
    /// Why this output failed mid-way (its encoder stopped, the decoder's output was broken).
    failed: Option<String>,
}

struct Video<'a> {
    inputs: RunContext<'a>,
    ci: usize,
    probe: Probe,
    batch_size: usize,
    stop: &'a AtomicBool,
    /// The output frames' width and height.
    size: (u32, u32),
}

impl Video<'_> {
    fn path(&self) -> String {
        self.inputs.contents[self.ci].path.display().to_string()
    }

    /// All of one video's outputs; returns whether it was interrupted (nothing recorded then).
    /// `enc` encodes frames (and the styles); `dec`, when given, decodes on its own thread.
    fn run(
        &self,
        sink: &mut Sink<'_>,
        jobs: &[&Job],
        enc: &mut Models,
        dec: Option<&mut Models>,
    ) -> bool {
        let cfg = self.inputs.cfg;
        let tools = self
            .inputs
            .tools
            .expect("video contents were probed with the tools");
        let (w, h) = self.size;
        if let Err(e) = self.check_size(w, h) {
            fail_all(sink, jobs, &e.to_string(), Shares::default());
            return false;
        }
        let t_open = Instant::now();
        let path = self.inputs.contents[self.ci].path.clone();
        let mut reader = match FrameReader::open(tools, &path, w, h) {
            Ok(r) => r,
            Err(e) => {
                fail_all(sink, jobs, &e.to_string(), Shares::default());
                return false;
            }
        };
        let mut buf = vec![0u8; reader.frame_len()];
        match reader.next(&mut buf) {
            Ok(true) => {}
            Ok(false) => {
                let msg = format!("video '{}': no frames to decode", self.path());
                fail_all(sink, jobs, &msg, Shares::default());
                return false;
            }
            Err(e) => {
                fail_all(sink, jobs, &e.to_string(), Shares::default());
                return false;
            }
        }
        let load_s = t_open.elapsed().as_secs_f64();
        let first = planar(&buf, w as usize, h as usize);
        // Styles: the run's statistics, or recoloured to the first frame (preserve-color).
        let n_styles = self.inputs.styles.len();
        let need = styles::needed(jobs, n_styles);
        let table = styles::encode(
            self.inputs,
            enc,
            &need,
            cfg.preserve_color.then_some(&first),
        );
        let audio = Audio::of(&path, self.probe.audio.as_deref());
        let mut streams = Vec::new();
        for j in jobs {
            let style = match styles::target(self.inputs, j, &table) {
                Ok(s) => s,
                Err(e) => {
                    fail_all(sink, &[j], &e, Shares::default());
                    continue;
                }
            };
            match FrameWriter::create(tools, &j.output, (w, h), self.probe.rate, &audio) {
                Ok(writer) => streams.push(Stream {
                    job: j,
                    style,
                    writer,
                    adain_s: 0.0,
                    decode_s: 0.0,
                    save_s: 0.0,
                    thumb: None,
                    failed: None,
                }),
                Err(e) => fail_all(sink, &[j], &e.to_string(), Shares::default()),
            }
        }
        if streams.is_empty() {
            return false;
        }
        let t_all = Instant::now();
        let first_load_s = load_s;
        let mut smoother = Smoother::new(cfg.temporal_smoothing, streams.len());
        let total = self.probe.frames;
        let label = self.inputs.contents[self.ci].name.clone();
        let (enc, dec) = match dec {
            Some(d) => (Mutex::new(enc), Some(Mutex::new(d))),
            None => (Mutex::new(enc), None),
        };
        let dec = dec.as_ref().unwrap_or(&enc);
        let stop = self.stop;
        let this = self;
        let (tx, rx) = mpsc::sync_channel::<std::result::Result<EncodedFrame, String>>(1);
        // The encoder stage: reads and encodes frames ahead, one in the queue.
        let encode_stage = || {
            let (mut load, mut encode_s) = (load_s, 0.0);
            let mut next = Some(first);
            while !stop.load(Ordering::SeqCst) {
                let frame = match next.take() {
                    Some(f) => f,
                    None => {
                        let t = Instant::now();
                        match reader.next(&mut buf) {
                            Ok(true) => {}
                            Ok(false) => break,
                            Err(e) => {
                                let _ = tx.send(Err(e.to_string()));
                                break;
                            }
                        }
                        load += t.elapsed().as_secs_f64();
                        planar(&buf, w as usize, h as usize)
                    }
                };
                let t = Instant::now();
                let r = enc
                    .lock()
                    .expect("not poisoned")
                    .encode(frame.data.view().insert_axis(Axis(0)));
                encode_s += t.elapsed().as_secs_f64();
                let msg = r
                    .map(|e| EncodedFrame {
                        frame,
                        mean: e.mean.iter().copied().collect(),
                        std: e.std.iter().copied().collect(),
                        features: e.features,
                        index: reader.frames,
                    })
                    .map_err(|e| format!("video '{}': frame {}: {e}", this.path(), reader.frames));
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed {
                    break;
                }
            }
            drop(tx);
            (reader.frames, load, encode_s)
        };
        let mut interrupted = false;
        let (ended, (decoded, load_s, encode_s)) = std::thread::scope(|scope| {
            let encoder = scope.spawn(encode_stage);
            let mut ended = Ok(());
            for msg in rx.iter() {
                if stop.load(Ordering::SeqCst) {
                    interrupted = true;
                    break;
                }
                let e = match msg {
                    Ok(e) => e,
                    Err(why) => {
                        ended = Err(why);
                        break;
                    }
                };
                smoother.next_frame(e.frame.data.view());
                let (c_mean, c_std) = smoother.content_stats(&e.mean, &e.std);
                let r = this.frame_outputs(
                    dec,
                    &mut streams,
                    &mut smoother,
                    e.frame.data.view(),
                    e.features.view(),
                    (&c_mean, &c_std),
                    e.index == 1,
                );
                if let Err(err) = r {
                    ended = Err(format!("video '{}': frame {}: {err}", this.path(), e.index));
                    break;
                }
                this.inputs.progress.frames(&label, e.index, total);
                if streams.iter().all(|s| s.failed.is_some()) {
                    break;
                }
            }
            // Unblocks the encoder stage if this one left early.
            drop(rx);
            let counts = encoder.join().expect("the encoder stage does not panic");
            (ended, counts)
        });
        if interrupted || stop.load(Ordering::SeqCst) {
            return true;
        }
        // A container that promised more frames than came out was cut short.
        let ended = ended.and_then(|()| match total {
            Some(n) if decoded + 1 < n => Err(format!(
                "video '{}': decoding ended at frame {decoded} of {n}: the file is truncated or damaged",
                self.path()
            )),
            _ => Ok(()),
        });
        let wall_s = t_all.elapsed().as_secs_f64() + first_load_s;
        let n = streams.len();
        for s in streams {
            let shares = Shares {
                content_load_s: load_s,
                content_encode_s: encode_s,
                content_outputs: n,
                style_load_s: s.style.load_s,
                style_encode_s: s.style.encode_s,
                style_outputs: 1,
                adain_s: s.adain_s,
                decode_s: s.decode_s,
                batch: 1,
            };
            let end = match (&ended, s.failed) {
                (Err(e), _) => End::Failed(e.clone()),
                (Ok(()), Some(e)) => End::Failed(e),
                (Ok(()), None) => {
                    let t = Instant::now();
                    let written = s.writer.finish().map_err(|e| e.to_string());
                    End::Saved(Saved {
                        save_s: s.save_s + t.elapsed().as_secs_f64(),
                        size: (w, h),
                        written,
                        thumb: s.thumb,
                        video: Some(VideoStats {
                            frames: decoded,
                            duration_s: decoded as f64 * self.probe.rate.1 as f64
                                / self.probe.rate.0 as f64,
                            wall_s,
                        }),
                    })
                }
            };
            sink(JobOutcome {
                job: s.job.clone(),
                shares,
                sizes: Some(Sizes {
                    content: (self.probe.width, self.probe.height),
                    style: (s.style.width, s.style.height),
                }),
                end,
            });
        }
        false
    }

    /// Refuses frame sizes the network cannot take or the run does not allow.
    fn check_size(&self, w: u32, h: u32) -> Result<()> {
        let path = &self.inputs.contents[self.ci].path;
        let sizing = &self.inputs.cfg.content_sizing;
        if w < crate::model::MIN_SIDE || h < crate::model::MIN_SIDE {
            return Err(Error::TooSmall {
                path: path.clone(),
                width: w,
                height: h,
                min: crate::model::MIN_SIDE,
            });
        }
        let pixels = w as u64 * h as u64;
        if sizing.short_side == 0 && pixels > sizing.max_pixels {
            return Err(Error::TooLarge {
                path: path.clone(),
                width: w,
                height: h,
                pixels,
                limit: sizing.max_pixels,
            });
        }
        Ok(())
    }

    /// Every output's frame from one input `frame` (`[3, h, w]`) and its relu4_1 `features`:
    /// AdaIN with the smoothed content statistics, the decoder in batches, `--detail`'s residual,
    /// the stabiliser, the encoders.
    #[allow(clippy::too_many_arguments)]
    fn frame_outputs(
        &self,
        dec: &Mutex<&mut Models>,
        streams: &mut [Stream<'_>],
        smoother: &mut Smoother,
        frame: ArrayView3<'_, f32>,
        features: ArrayView4<'_, f32>,
        content_stats: (&[f32], &[f32]),
        first: bool,
    ) -> Result<()> {
        let (_, _, fh, fw) = features.dim();
        let (w, h) = self.size;
        let live: Vec<usize> = (0..streams.len())
            .filter(|&k| streams[k].failed.is_none())
            .collect();
        // `--detail`: this frame's reconstruction (its own features decoded), once for all of
        // its outputs; its time is shared by them as the decoder's.
        let jobs: Vec<&Job> = live.iter().map(|&k| streams[k].job).collect();
        let residual = match super::detail::wanted(self.inputs.cfg.detail, &jobs) {
            true => {
                let t = Instant::now();
                let rec = dec.lock().expect("not poisoned").decode(features)?;
                let rec = runtime::crop(rec, h as usize, w as usize);
                let res = super::detail::residual(frame, rec.index_axis(Axis(0), 0));
                let share = t.elapsed().as_secs_f64() / live.len().max(1) as f64;
                for &k in &live {
                    streams[k].decode_s += share;
                }
                Some(res)
            }
            false => None,
        };
        for chunk in live.chunks(self.batch_size) {
            let t = Instant::now();
            let mut batch = Array4::<f32>::zeros((chunk.len(), features.dim().1, fh, fw));
            let content = features
                .as_slice()
                .expect("the encoder's features are in standard layout");
            for (b, &k) in chunk.iter().enumerate() {
                let s = &streams[k];
                let mut t = batch.index_axis_mut(Axis(0), b);
                crate::model::adain_with_stats(
                    content,
                    content_stats,
                    (&s.style.mean, &s.style.std),
                    s.job.alpha,
                    t.as_slice_mut()
                        .expect("a fresh array is in standard layout"),
                );
            }
            let adain_s = t.elapsed().as_secs_f64() / chunk.len() as f64;
            let t = Instant::now();
            let images = dec.lock().expect("not poisoned").decode(batch.view())?;
            let decode_s = t.elapsed().as_secs_f64() / chunk.len() as f64;
            let mut images = runtime::crop(images, h as usize, w as usize);
            for (b, &k) in chunk.iter().enumerate() {
                let s = &mut streams[k];
                s.adain_s += adain_s;
                s.decode_s += decode_s;
                if let Some(res) = &residual {
                    super::detail::restore(
                        images.index_axis_mut(Axis(0), b),
                        res.view(),
                        s.job.alpha,
                    );
                }
                let img = smoother.stabilise(k, images.index_axis(Axis(0), b).to_owned());
                if first && let Some(why) = super::save::implausible(img.view()) {
                    s.failed = Some(why);
                    continue;
                }
                let t = Instant::now();
                let rgb = crate::imaging::to_rgb8(img.view());
                if first && self.inputs.cfg.grid != super::Grid::None {
                    s.thumb = Some(super::sheets::thumbnail(&rgb));
                }
                if let Err(e) = s.writer.write(rgb.as_raw()) {
                    s.failed = Some(e.to_string());
                }
                s.save_s += t.elapsed().as_secs_f64();
            }
        }
        Ok(())
    }
}

/// Packed RGB bytes to planar `[3, H, W]` in [0, 1].
fn planar(rgb: &[u8], w: usize, h: usize) -> Image {
    let mut a = Array3::<f32>::zeros((3, h, w));
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let (y, x) = (i / w, i % w);
        for c in 0..3 {
            a[[c, y, x]] = px[c] as f32 / 255.0;
        }
    }
    Image { data: a }
}
