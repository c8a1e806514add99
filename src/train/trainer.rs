//! The training loop: the reference step (content loss on relu4_1 against the AdaIN target,
//! style loss on relu1_1..relu4_1 mean/std, unbiased variance), Adam with inverse decay
//! `lr_i = lr / (1 + decay * i)`, checkpoints, resume, `losses.csv`, loss plot and sample grids.
//!
//! Adam is written out here (a few tensor ops per parameter) instead of tch's `nn::Adam` because
//! tch's optimizer cannot save or restore its moment estimates, and an exact resume needs them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};

use super::data::{DataConfig, Loader};
use super::model::{Decoder, Encoder, adain, channels_last, mean_std};
use crate::error::{Error, Result};
use crate::model::{self, Weights};

/// Everything that defines a run; saved as `config.json` in the run folder before training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub content: Vec<PathBuf>,
    pub style: Vec<PathBuf>,
    pub out: PathBuf,
    pub encoder: PathBuf,
    pub iterations: u64,
    pub batch_size: usize,
    pub lr: f64,
    pub lr_decay: f64,
    pub content_weight: f64,
    pub style_weight: f64,
    pub crop: u32,
    pub resize: u32,
    pub seed: u64,
    pub device: String,
    pub channels_last: bool,
    /// "fp32", or "bf16": the frozen encoder passes run in bfloat16 (CUDA), decoder and losses in fp32.
    pub precision: String,
    pub save_every: u64,
    pub log_every: u64,
    pub sample_every: u64,
    pub workers: usize,
    /// Start from these decoder weights instead of a random init (fresh Adam state).
    #[serde(default)]
    pub init_decoder: Option<PathBuf>,
    /// Stop (checkpoint, export) after this many seconds of training in this process; 0 = no limit.
    #[serde(default)]
    pub time_limit_s: f64,
    /// Fixed validation pairs drawn every `sample_every` iterations.
    pub sample_content: Vec<PathBuf>,
    pub sample_style: Vec<PathBuf>,
}

/// Adam hyper-parameters (PyTorch defaults).
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// What a checkpoint records besides tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub iteration: u64,
    pub epoch: f64,
    pub elapsed_s: f64,
    pub decoder: String,
    pub state: String,
    /// The data order is a function of (seed, iteration), so the seed is the loader's RNG state.
    pub seed: u64,
}

/// One line of `losses.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LossRow {
    pub iteration: u64,
    pub epoch: f64,
    pub content: f64,
    pub style: f64,
    pub total: f64,
    pub lr: f64,
    pub images_per_s: f64,
    pub elapsed_s: f64,
}

/// Callbacks for the binary's progress bar.
pub trait TrainProgress {
    fn start(&self, from: u64, to: u64);
    fn step(&self, iteration: u64, row: Option<&LossRow>);
    fn println(&self, line: &str);
    fn finish(&self);
}

pub fn resolve_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(Error::Invalid("--device cuda: libtorch sees no CUDA device (CPU-only libtorch, no GPU, or no driver)".into()))
            }
        }
        "auto" => Ok(Device::cuda_if_available()),
        other => Err(Error::Invalid(format!(
            "--device '{other}': expected auto, cpu or cuda"
        ))),
    }
}

/// The networks and optimizer state of a run.
pub struct Model {
    pub encoder: Encoder,
    pub vs: nn::VarStore,
    pub decoder: Decoder,
    names: Vec<String>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub device: Device,
    bf16: bool,
    cl: bool,
}

/// The losses of one step, as tensors on the device.
pub struct Losses {
    pub content: Tensor,
    pub style: Tensor,
}

impl Model {
    pub fn new(
        enc: &Weights,
        device: Device,
        seed: u64,
        channels_last_fmt: bool,
        bf16: bool,
    ) -> Self {
        tch::manual_seed(seed as i64);
        let mut encoder = Encoder::new(enc, device);
        if bf16 {
            encoder.to_kind(Kind::BFloat16);
        }
        if channels_last_fmt {
            encoder.use_channels_last();
        }
        let vs = nn::VarStore::new(device);
        let decoder = Decoder::new(&vs.root());
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        let zeros = |n: &String| vs.variables()[n].zeros_like();
        let m = names.iter().map(zeros).collect();
        let v = names.iter().map(zeros).collect();
        Model {
            encoder,
            vs,
            decoder,
            names,
            m,
            v,
            device,
            bf16,
            cl: channels_last_fmt,
        }
    }

    fn prep(&self, x: &Tensor) -> Tensor {
        if self.cl {
            channels_last(x)
        } else {
            x.shallow_clone()
        }
    }

    fn enc_taps(&self, x: &Tensor) -> Vec<Tensor> {
        let x = if self.bf16 {
            x.to_kind(Kind::BFloat16)
        } else {
            x.shallow_clone()
        };
        self.encoder
            .taps(&self.prep(&x))
            .into_iter()
            .map(|t| t.to_kind(Kind::Float))
            .collect()
    }

    /// The reference losses for content `c` and style `s` (`[B,3,H,W]`), alpha 1.
    pub fn losses(&self, c: &Tensor, s: &Tensor) -> Losses {
        let (s_taps, t) = tch::no_grad(|| {
            let s_taps = self.enc_taps(s);
            let fc = self.enc_taps(c).pop().expect("four taps");
            let (sm, ss) = mean_std(&s_taps[3]);
            let alpha = Tensor::ones([c.size()[0]], (Kind::Float, self.device));
            (s_taps, adain(&fc, &sm, &ss, &alpha))
        });
        let g = self.decoder.forward(&self.prep(&t));
        let g_taps = self.enc_taps(&g);
        let content = g_taps[3].mse_loss(&t, tch::Reduction::Mean);
        let mut style = Tensor::zeros([], (Kind::Float, self.device));
        for (gl, sl) in g_taps.iter().zip(&s_taps) {
            let (gm, gs) = mean_std(gl);
            let (sm, ss) = mean_std(sl);
            style = style
                + gm.mse_loss(&sm, tch::Reduction::Mean)
                + gs.mse_loss(&ss, tch::Reduction::Mean);
        }
        Losses { content, style }
    }

    /// One Adam step (PyTorch's algorithm, bias-corrected) at learning rate `lr`; `step` counts from 1.
    pub fn adam_step(&mut self, loss: &Tensor, lr: f64, step: u64) {
        let vars = self.vs.variables();
        for v in vars.values() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        loss.backward();
        let (bc1, bc2) = (1.0 - BETA1.powi(step as i32), 1.0 - BETA2.powi(step as i32));
        tch::no_grad(|| {
            for (i, name) in self.names.iter().enumerate() {
                let mut p = vars[name].shallow_clone();
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let _ = self.m[i].g_mul_scalar_(BETA1).g_add_(&(&g * (1.0 - BETA1)));
                let _ = self.v[i]
                    .g_mul_scalar_(BETA2)
                    .g_add_(&(&g * &g * (1.0 - BETA2)));
                let denom = (&self.v[i] / bc2).sqrt() + ADAM_EPS;
                let update = &self.m[i] / &denom * (lr / bc1);
                let _ = p.g_sub_(&update);
            }
        });
    }

    /// Adam moments as named tensors (for checkpoints).
    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut v = Vec::new();
        for (i, n) in self.names.iter().enumerate() {
            v.push((format!("adam.m.{n}"), self.m[i].to_device(Device::Cpu)));
            v.push((format!("adam.v.{n}"), self.v[i].to_device(Device::Cpu)));
        }
        v
    }

    fn load_state(&mut self, path: &Path) -> Result<()> {
        let named = Tensor::read_safetensors(path).map_err(|e| Error::Weights {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let map: std::collections::HashMap<String, Tensor> = named.into_iter().collect();
        for (i, n) in self.names.iter().enumerate() {
            for (prefix, store) in [("adam.m.", &mut self.m), ("adam.v.", &mut self.v)] {
                let key = format!("{prefix}{n}");
                let t = map.get(&key).ok_or_else(|| Error::MissingWeight {
                    path: path.into(),
                    key: key.clone(),
                })?;
                store[i] = t.to_device(self.device);
            }
        }
        Ok(())
    }

    /// Decoder weights in `decoder.pth` layout.
    pub fn decoder_weights(&self) -> Weights {
        super::model::decoder_weights(&self.vs)
    }

    /// Stylizes `content` with `style` (`[1,3,H,W]` each) at alpha 1, cropped to the content size.
    pub fn stylize(&self, content: &Tensor, style: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let fc = self.enc_taps(content).pop().expect("taps");
            let fs = self.enc_taps(style).pop().expect("taps");
            let (sm, ss) = mean_std(&fs);
            let t = adain(
                &fc,
                &sm,
                &ss,
                &Tensor::ones([1], (Kind::Float, self.device)),
            );
            let (h, w) = (content.size()[2], content.size()[3]);
            self.decoder
                .forward(&self.prep(&t))
                .narrow(2, 0, h)
                .narrow(3, 0, w)
                .to_kind(Kind::Float)
        })
    }
}

impl Encoder {
    /// Casts the frozen weights (bf16 mixed precision).
    pub fn to_kind(&mut self, kind: Kind) {
        self.map_weights(|t| t.to_kind(kind));
    }
}

/// Decoder weights from a safetensors file, or from the initializers of an exported decoder.onnx.
pub fn load_decoder_file(p: &Path) -> Result<Weights> {
    if p.extension().is_some_and(|e| e == "onnx") {
        crate::onnx::read_weights(p, "decoder", model::DECODER)
    } else {
        Weights::load(p, model::DECODER)
    }
}

/// `lr / (1 + decay * i)` (PyTorch port's `adjust_learning_rate`).
pub fn learning_rate(lr: f64, decay: f64, iteration: u64) -> f64 {
    lr / (1.0 + decay * iteration as f64)
}

fn to_device_batch(data: &[f32], b: usize, crop: u32, device: Device) -> Tensor {
    Tensor::from_slice(data)
        .reshape([b as i64, 3, crop as i64, crop as i64])
        .to_device(device)
}

fn ckpt_dir(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// The latest complete checkpoint of a run folder, if any (`checkpoints/latest.json`, written last).
pub fn latest_checkpoint(out: &Path) -> Result<Option<CheckpointMeta>> {
    let p = ckpt_dir(out).join("latest.json");
    if !p.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))
}

fn save_checkpoint(
    model: &Model,
    out: &Path,
    meta_in: (u64, f64, f64, u64),
) -> Result<CheckpointMeta> {
    let (iteration, epoch, elapsed_s, seed) = meta_in;
    let dir = ckpt_dir(out);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dec_name = format!("decoder_iter_{iteration:07}.safetensors");
    let state_name = format!("adam_iter_{iteration:07}.safetensors");
    model.decoder_weights().save(&dir.join(&dec_name))?;
    let state = model.state_tensors();
    let tmp = dir.join(format!(".{state_name}.tmp"));
    Tensor::write_safetensors(
        &state
            .iter()
            .map(|(k, t)| (k.as_str(), t))
            .collect::<Vec<_>>(),
        &tmp,
    )
    .map_err(|e| Error::Weights {
        path: tmp.clone(),
        reason: e.to_string(),
    })?;
    std::fs::rename(&tmp, dir.join(&state_name)).map_err(|e| Error::io(&tmp, e))?;
    let meta = CheckpointMeta {
        iteration,
        epoch,
        elapsed_s,
        decoder: dec_name,
        state: state_name,
        seed,
    };
    // latest.json is replaced last: a checkpoint exists only once all of its files do.
    let json = serde_json::to_string_pretty(&meta).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(
        &dir.join(format!("iter_{iteration:07}.json")),
        json.as_bytes(),
    )?;
    crate::fsutil::write_atomic(&dir.join("latest.json"), json.as_bytes())?;
    Ok(meta)
}

/// Reads `losses.csv`.
pub fn read_losses(path: &Path) -> Result<Vec<LossRow>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    r.deserialize()
        .map(|x| x.map_err(|e| Error::Invalid(format!("{}: {e}", path.display()))))
        .collect()
}

const LOSS_HEADER: [&str; 8] = [
    "iteration",
    "epoch",
    "content",
    "style",
    "total",
    "lr",
    "images_per_s",
    "elapsed_s",
];

fn write_losses(path: &Path, rows: &[LossRow]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(LOSS_HEADER)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    for r in rows {
        w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(path, &bytes)
}

/// Losses accumulated since the last `losses.csv` row.
struct LogWindow {
    content: f64,
    style: f64,
    steps: usize,
    images: usize,
    start: Instant,
}

impl LogWindow {
    fn new() -> Self {
        LogWindow {
            content: 0.0,
            style: 0.0,
            steps: 0,
            images: 0,
            start: Instant::now(),
        }
    }

    fn add(&mut self, content: f64, style: f64, images: usize) {
        self.content += content;
        self.style += style;
        self.steps += 1;
        self.images += images;
    }

    /// Writes the window's means as one row (and redraws the plot), starts a new window, and
    /// returns the window's images/s.
    #[allow(clippy::too_many_arguments)]
    fn close(
        &mut self,
        cfg: &TrainConfig,
        iteration: u64,
        per_epoch: f64,
        lr: f64,
        elapsed_s: f64,
        log: &mut std::fs::File,
        path: &Path,
        rows: &mut Vec<LossRow>,
    ) -> Result<f64> {
        let rate = self.images as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        let n = self.steps.max(1) as f64;
        let (c, s) = (self.content / n, self.style / n);
        let r = LossRow {
            iteration,
            epoch: iteration as f64 / per_epoch,
            content: c,
            style: s,
            total: cfg.content_weight * c + cfg.style_weight * s,
            lr,
            images_per_s: rate,
            elapsed_s,
        };
        append_loss(log, path, &r)?;
        rows.push(r);
        super::plot::loss_curves(rows, &cfg.out.join("losses.png"))?;
        *self = LogWindow::new();
        Ok(rate)
    }
}

fn append_loss(log: &mut std::fs::File, path: &Path, r: &LossRow) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.serialize(r).map_err(|e| Error::Invalid(e.to_string()))?;
    let line = w.into_inner().map_err(|e| Error::Invalid(e.to_string()))?;
    log.write_all(&line)
        .and_then(|_| log.flush())
        .map_err(|e| Error::io(path, e))
}

/// What a finished (or stopped) run reports.
pub struct TrainOutcome {
    pub last_iteration: u64,
    pub rows: Vec<LossRow>,
    pub decoder: PathBuf,
    pub images_per_s: f64,
}

/// Trains (or resumes, when `resume` and a checkpoint exists) until `cfg.iterations`.
pub fn train(
    cfg: &TrainConfig,
    resume: bool,
    progress: &dyn TrainProgress,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<TrainOutcome> {
    let device = resolve_device(&cfg.device)?;
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let bf16 = match cfg.precision.as_str() {
        "fp32" => false,
        "bf16" => true,
        p => {
            return Err(Error::Invalid(format!(
                "--precision '{p}': expected fp32 or bf16"
            )));
        }
    };
    std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
    let config_path = cfg.out.join("config.json");
    let enc_w = Weights::load(&cfg.encoder, model::ENCODER)?;
    let mut model = Model::new(&enc_w, device, cfg.seed, cfg.channels_last, bf16);

    let losses_path = cfg.out.join("losses.csv");
    let mut rows: Vec<LossRow> = Vec::new();
    let mut start = 0u64;
    let mut elapsed0 = 0.0;
    if resume && let Some(meta) = latest_checkpoint(&cfg.out)? {
        let dir = ckpt_dir(&cfg.out);
        let dec = Weights::load(&dir.join(&meta.decoder), model::DECODER)?;
        super::model::load_decoder(&mut model.vs, &dec)?;
        model.load_state(&dir.join(&meta.state))?;
        start = meta.iteration;
        elapsed0 = meta.elapsed_s;
        // The log continues exactly where the checkpoint was: later rows are dropped.
        if losses_path.is_file() {
            rows = read_losses(&losses_path)?
                .into_iter()
                .filter(|r| r.iteration <= start)
                .collect();
        }
        progress.println(&format!(
            "resuming {} at iteration {start}",
            cfg.out.display()
        ));
    } else if resume {
        progress.println(&format!(
            "--resume: no checkpoint in {}, starting from scratch",
            cfg.out.display()
        ));
    }
    let json = serde_json::to_string_pretty(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::fsutil::write_atomic(&config_path, json.as_bytes())?;
    write_losses(&losses_path, &rows)?;

    let data_cfg = DataConfig {
        content: cfg.content.clone(),
        style: cfg.style.clone(),
        batch_size: cfg.batch_size,
        crop: cfg.crop,
        resize: cfg.resize,
        seed: cfg.seed,
        workers: cfg.workers,
        prefetch: 4,
    };
    let mut loader = Loader::start(&data_cfg, start)?;
    let per_epoch = (loader.content_files as f64 / cfg.batch_size as f64).max(1.0);
    let samples = load_samples(cfg, device)?;

    progress.start(start, cfg.iterations);
    let t0 = Instant::now();
    let mut window = LogWindow::new();
    let mut wait_s = 0.0;
    let mut last_rate = 0.0;
    let mut last_it = start;
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(&losses_path)
        .map_err(|e| Error::io(&losses_path, e))?;
    for it in start..cfg.iterations {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        if cfg.time_limit_s > 0.0 && t0.elapsed().as_secs_f64() >= cfg.time_limit_s {
            progress.println(&format!(
                "time limit of {:.0} s reached at iteration {it}",
                cfg.time_limit_s
            ));
            break;
        }
        let tw = Instant::now();
        let b = loader.next_batch()?;
        wait_s += tw.elapsed().as_secs_f64();
        for w in loader.take_warnings() {
            progress.println(&w);
        }
        let c = to_device_batch(&b.content, cfg.batch_size, cfg.crop, device);
        let s = to_device_batch(&b.style, cfg.batch_size, cfg.crop, device);
        let lr = learning_rate(cfg.lr, cfg.lr_decay, it);
        let l = model.losses(&c, &s);
        let total = &l.content * cfg.content_weight + &l.style * cfg.style_weight;
        model.adam_step(&total, lr, it + 1);
        let (cv, sv) = (l.content.double_value(&[]), l.style.double_value(&[]));
        if !cv.is_finite() || !sv.is_finite() {
            return Err(Error::Invalid(format!(
                "iteration {}: loss is not finite (content {cv}, style {sv}); lower --lr",
                it + 1
            )));
        }
        window.add(cv, sv, cfg.batch_size);
        let done = it + 1;
        last_it = done;
        let logged = done % cfg.log_every == 0 || done == cfg.iterations;
        if logged {
            let elapsed = elapsed0 + t0.elapsed().as_secs_f64();
            last_rate = window.close(
                cfg,
                done,
                per_epoch,
                lr,
                elapsed,
                &mut log,
                &losses_path,
                &mut rows,
            )?;
        }
        progress.step(done, if logged { rows.last() } else { None });
        if cfg.sample_every > 0 && done % cfg.sample_every == 0 {
            super::plot::sample_grid(
                &model,
                &samples,
                &cfg.out.join(format!("samples_iter_{done:07}.png")),
            )?;
        }
        if cfg.save_every > 0 && done % cfg.save_every == 0 && done != cfg.iterations {
            save_checkpoint(
                &model,
                &cfg.out,
                (
                    done,
                    done as f64 / per_epoch,
                    elapsed0 + t0.elapsed().as_secs_f64(),
                    cfg.seed,
                ),
            )?;
        }
    }
    // A run stopped between log points (time limit, Ctrl-C) still logs its last iterations.
    if window.steps > 0 {
        let lr = learning_rate(cfg.lr, cfg.lr_decay, last_it.saturating_sub(1));
        let elapsed = elapsed0 + t0.elapsed().as_secs_f64();
        last_rate = window.close(
            cfg,
            last_it,
            per_epoch,
            lr,
            elapsed,
            &mut log,
            &losses_path,
            &mut rows,
        )?;
    }
    let meta = save_checkpoint(
        &model,
        &cfg.out,
        (
            last_it,
            last_it as f64 / per_epoch,
            elapsed0 + t0.elapsed().as_secs_f64(),
            cfg.seed,
        ),
    )?;
    if !samples.is_empty() {
        super::plot::sample_grid(&model, &samples, &cfg.out.join("samples_final.png"))?;
    }
    progress.finish();
    let total_s = t0.elapsed().as_secs_f64();
    if total_s > 0.0 && last_it > start {
        progress.println(&format!(
            "data loader wait: {:.1}% of the training time ({wait_s:.1} s of {total_s:.1} s); unreadable files skipped: {}",
            100.0 * wait_s / total_s,
            loader.bad_files()
        ));
    }
    Ok(TrainOutcome {
        last_iteration: last_it,
        rows,
        decoder: ckpt_dir(&cfg.out).join(meta.decoder),
        images_per_s: last_rate,
    })
}

/// Fixed validation pairs for the sample grids: each listed content with each listed style.
pub struct Samples {
    pub content: Vec<(String, Tensor)>,
    pub style: Vec<(String, Tensor)>,
}

impl Samples {
    pub fn is_empty(&self) -> bool {
        self.content.is_empty() || self.style.is_empty()
    }
}

fn load_samples(cfg: &TrainConfig, device: Device) -> Result<Samples> {
    let sizing = crate::imaging::Sizing {
        short_side: 256,
        crop: true,
        max_pixels: 100_000_000,
    };
    let load = |paths: &[PathBuf]| -> Result<Vec<(String, Tensor)>> {
        let mut v = Vec::new();
        for p in paths {
            let img = crate::imaging::load(p, &sizing)?;
            let (h, w) = (img.height() as i64, img.width() as i64);
            let t = Tensor::from_slice(img.data.as_slice().expect("standard layout"))
                .reshape([1, 3, h, w])
                .to_device(device);
            v.push((
                p.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                t,
            ));
        }
        Ok(v)
    };
    Ok(Samples {
        content: load(&cfg.sample_content)?,
        style: load(&cfg.sample_style)?,
    })
}
