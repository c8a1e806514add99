//! ONNX Runtime sessions over the exported graphs: loading `libonnxruntime.so`, choosing the
//! execution provider (CUDA is never silently dropped when asked for), checking input sizes before
//! they reach an ONNX op, and running encoder / AdaIN / decoder on ndarray tensors.
//! The only module that knows `ort`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use ndarray::{Array1, Array4, ArrayView1, ArrayView4, Ix4};
use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Outlet, TensorElementType, TensorRef};

use crate::error::{Error, Result};
use crate::model::MIN_SIDE;
use crate::onnx::{
    ADAIN_DECODER_FILE, ADAIN_FILE, DECODER_FILE, ENCODER_FILE, Precision, STYLIZE_FILE,
};

/// Which execution provider to run on (also the binaries' `--provider` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// CUDA when ONNX Runtime was built with it and it starts; otherwise CPU, and say so.
    Auto,
    Cpu,
    /// CUDA or an error: never a silent CPU fallback.
    Cuda,
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Provider::Auto),
            "cpu" => Ok(Provider::Cpu),
            "cuda" => Ok(Provider::Cuda),
            _ => Err(format!(
                "unknown provider '{s}': expected auto, cpu or cuda"
            )),
        }
    }
}

/// The execution provider a session actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Cpu,
    Cuda,
}

impl Resolved {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolved::Cpu => "cpu",
            Resolved::Cuda => "cuda",
        }
    }

    /// The setting that reopens more sessions on this same provider.
    fn as_choice(self) -> Provider {
        match self {
            Resolved::Cpu => Provider::Cpu,
            Resolved::Cuda => Provider::Cuda,
        }
    }
}

impl std::fmt::Display for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ONNX Runtime's errors become the crate's here, the one module that knows ort.
impl From<ort::Error> for Error {
    fn from(e: ort::Error) -> Self {
        Error::Runtime(e.to_string())
    }
}

static ENV: OnceLock<std::result::Result<(ort::environment::Environment, PathBuf), String>> =
    OnceLock::new();

/// Loads ONNX Runtime once per process (from [`crate::paths::onnxruntime_dylib`]).
pub fn environment() -> Result<(&'static ort::environment::Environment, &'static Path)> {
    let r = ENV.get_or_init(|| {
        let lib = crate::paths::onnxruntime_dylib()
            .map_err(|e| e.to_string())?
            .path;
        let builder = ort::init_from(&lib)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", lib.display()))?;
        let env = builder
            .with_name("adain")
            .build()
            .map_err(|e| format!("{}: cannot start ONNX Runtime: {e}", lib.display()))?;
        Ok((env, lib))
    });
    match r {
        Ok((env, lib)) => Ok((env, lib.as_path())),
        Err(e) => Err(Error::Runtime(e.clone())),
    }
}

/// Settings for [`Models::open`].
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub provider: Provider,
    /// Intra-op threads for ONNX Runtime; 0 lets it choose (all cores).
    pub threads: usize,
    /// Which graphs [`Models::open`] runs (see [`Precision::file`]).
    pub precision: Precision,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            provider: Provider::Auto,
            threads: 0,
            precision: Precision::Fp32,
        }
    }
}

/// Opens one graph on the requested provider; returns the session and the provider that runs it.
fn open_session(path: &Path, cfg: &RuntimeConfig) -> Result<(Session, Resolved)> {
    if !path.is_file() {
        return Err(Error::Runtime(format!(
            "{}: model file not found (run `adain export`?)",
            path.display()
        )));
    }
    let (env, lib) = environment()?;
    let mut b = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| Error::Runtime(e.to_string()))?;
    if cfg.threads > 0 {
        b = b
            .with_intra_threads(cfg.threads)
            .map_err(|e| Error::Runtime(e.to_string()))?;
    }
    if wants_cuda(cfg.provider) {
        // Exhaustive cuDNN algorithm search: our shapes repeat for a whole batch, so the one-off
        // search pays for itself. TF32 set explicitly (on): Ampere+ tensor cores for the fp32
        // graphs, ~1e-3 relative error in each convolution, far under one 8-bit output level.
        let cuda = ep::CUDA::default()
            .with_conv_algorithm_search(ep::cuda::ConvAlgorithmSearch::Exhaustive)
            .with_tf32(true)
            .build()
            .error_on_failure();
        let registered = ep::CUDA::is_available().unwrap_or(false)
            && b.clone().with_execution_providers([cuda.clone()]).is_ok();
        if registered {
            b = b
                .with_execution_providers([cuda])
                .map_err(|e| Error::Runtime(e.to_string()))?;
            let s = b
                .commit_from_file(path)
                .map_err(|e| Error::Runtime(format!("{}: {e}", path.display())))?;
            return Ok((s, Resolved::Cuda));
        }
        if cfg.provider == Provider::Cuda {
            return Err(Error::Runtime(format!(
                "--provider cuda: the CUDA execution provider is not usable with {} (it needs the onnxruntime-gpu 1.31.x wheel, \
                 CUDA 13 and cuDNN 9, and a visible NVIDIA GPU). Use --provider cpu, or install onnxruntime-gpu \
                 (scripts/setup.sh --gpu) / point ORT_DYLIB_PATH at its libonnxruntime.so",
                lib.display()
            )));
        }
        crate::console::say("note: CUDA execution provider unavailable; running on CPU");
    }
    let s = b
        .commit_from_file(path)
        .map_err(|e| Error::Runtime(format!("{}: {e}", path.display())))?;
    Ok((s, Resolved::Cpu))
}

/// Whether `provider` will run on CUDA (as [`Models::open`] decides it). Asking ONNX Runtime
/// needs its library loaded: when it cannot be, the answer is no, and opening the graphs then
/// reports why the library did not load.
fn wants_cuda(provider: Provider) -> bool {
    match provider {
        Provider::Cpu => false,
        Provider::Cuda => true,
        Provider::Auto => environment().is_ok() && ep::CUDA::is_available().unwrap_or(false),
    }
}

/// The precision to run when none was asked for (`adain-batch` without `--precision`): int8 on
/// the CPU, where it is 2.5-4x faster than fp32 at a measured quality cost under 2%
/// (docs/weights.md), when `dir` holds current int8 graphs; fp32 on CUDA (its kernels are not
/// int8 QDQ ones) and where the int8 graphs are missing or stale, with a note saying why and
/// what makes them. An explicit `asked` is returned as it is.
pub fn resolve_precision(
    dir: &Path,
    provider: Provider,
    asked: Option<Precision>,
) -> (Precision, Option<String>) {
    if let Some(p) = asked {
        return (p, None);
    }
    if wants_cuda(provider) {
        return (Precision::Fp32, None);
    }
    let missing = Precision::Int8
        .own_graphs()
        .iter()
        .map(|g| dir.join(Precision::Int8.file(g)))
        .find(|p| !p.is_file());
    let why = match missing {
        Some(path) => format!("{} not found", path.display()),
        None => match check_int8_recipe(dir) {
            Ok(()) => return (Precision::Int8, None),
            Err(e) => e.to_string(),
        },
    };
    let export = Precision::Int8.export_command(dir);
    let fix = if crate::paths::installed() {
        format!("`{export}`")
    } else {
        format!("`{export}` (or scripts/setup.sh --int8)")
    };
    let note = format!(
        "note: running fp32, the slower path on a CPU, because the int8 graphs are not usable \
         ({why}); {fix} makes them"
    );
    (Precision::Fp32, Some(note))
}

/// Refuses images the network cannot take: reflection pads need every map >= 2 wide.
pub fn check_size(what: &Path, width: u32, height: u32) -> Result<()> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::TooSmall {
            path: what.into(),
            width,
            height,
            min: MIN_SIDE,
        });
    }
    Ok(())
}

/// Encoder output for a batch: relu4_1 and its per-channel statistics.
pub struct Encoded {
    pub features: Array4<f32>, // [N, 512, h, w]
    pub mean: Array4<f32>,     // [N, 512, 1, 1]
    pub std: Array4<f32>,      // [N, 512, 1, 1]
}

/// What [`Models::stylize_features_timed`] did: AdaIN seconds (0 with the fused graph, whose
/// time then includes AdaIN), decoder seconds, and the uncropped images.
pub struct Stylized {
    pub adain_s: f64,
    pub decode_s: f64,
    pub images: Array4<f32>,
}

/// One content's features bound to the fused graph ([`Models::bind_content`]).
pub struct BoundContent {
    binding: ort::session::IoBinding,
    host: ort::memory::MemoryInfo<'static>,
}

/// The three graphs of the split pipeline, each in its own session.
pub struct Models {
    /// The graph files the sessions were made from (encoder, AdaIN, decoder, fused when used):
    /// what a run's manifest hashes.
    pub files: Vec<PathBuf>,
    /// Encodes contents and styles.
    encoder: Session,
    adain: Session,
    decoder: Session,
    /// AdaIN + decoder in one graph, when the folder has it (exports before it lack the file).
    adain_decoder: Option<Session>,
    precision: Precision,
    pub provider: Resolved,
    pub dir: PathBuf,
}

fn out4(outputs: &ort::session::SessionOutputs<'_>, name: &str) -> Result<Array4<f32>> {
    let arr = outputs[name].try_extract_array::<f32>()?;
    arr.to_owned()
        .into_dimensionality::<Ix4>()
        .map_err(|e| Error::Runtime(format!("output '{name}': expected rank 4: {e}")))
}

/// `images`: `[N, 3, H, W]` RGB in [0,1] through an encoder graph.
fn run_encoder(encoder: &mut Session, images: ArrayView4<'_, f32>) -> Result<Encoded> {
    let (_, _, h, w) = images.dim();
    check_size(Path::new("<tensor>"), w as u32, h as u32)?;
    let images = images.as_standard_layout();
    let out = encoder.run(ort::inputs!["image" => TensorRef::from_array_view(images.view())?])?;
    Ok(Encoded {
        features: out4(&out, "features")?,
        mean: out4(&out, "mean")?,
        std: out4(&out, "std")?,
    })
}

/// Refuses int8 graphs made by another quantisation recipe: before recipe 5 they held 8-bit
/// weights, whose u8 x s8 sums saturate on x86 CPUs without VNNI (style statistics 19% off on
/// an AVX2-only EPYC), so running them could be silently wrong.
fn check_int8_recipe(dir: &Path) -> Result<()> {
    for graph in Precision::Int8.own_graphs() {
        let path = dir.join(Precision::Int8.file(graph));
        let meta = crate::onnx::read_metadata(&path)?;
        let found = crate::onnx::metadata_value(&meta, crate::onnx::INT8_RECIPE_KEY);
        if found != Some(crate::onnx::INT8_RECIPE) {
            let found = match found {
                Some(r) => format!("recipe {}", r.split(':').next().unwrap_or(r)),
                None => "no recipe recorded".into(),
            };
            return Err(Error::StaleGraph {
                path,
                found,
                export: Precision::Int8.remake_command(dir),
            });
        }
    }
    Ok(())
}

/// A graph input or output as the pipeline feeds or reads it: its name and dimensions (`None`:
/// any size). Every one is float32.
struct Port(&'static str, &'static [Option<i64>]);

const IMAGE: &[Option<i64>] = &[None, Some(3), None, None];
const FEATURES: &[Option<i64>] = &[None, Some(512), None, None];
const STATS: &[Option<i64>] = &[None, Some(512), Some(1), Some(1)];
const ADAIN_INPUTS: &[Port] = &[
    Port("content_features", FEATURES),
    Port("style_mean", STATS),
    Port("style_std", STATS),
    Port("alpha", &[None]),
];
const ENCODER_PORTS: (&[Port], &[Port]) = (
    &[Port("image", IMAGE)],
    &[
        Port("features", FEATURES),
        Port("mean", STATS),
        Port("std", STATS),
    ],
);
const ADAIN_PORTS: (&[Port], &[Port]) = (ADAIN_INPUTS, &[Port("t", FEATURES)]);
const DECODER_PORTS: (&[Port], &[Port]) = (&[Port("t", FEATURES)], &[Port("image", IMAGE)]);
const FUSED_PORTS: (&[Port], &[Port]) = (ADAIN_INPUTS, &[Port("image", IMAGE)]);

fn show_ports(ports: &[Port]) -> String {
    let dim = |d: &Option<i64>| d.map_or("?".to_string(), |v| v.to_string());
    ports
        .iter()
        .map(|Port(n, d)| format!("{n} [{}]", d.iter().map(dim).collect::<Vec<_>>().join(",")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_outlets(outlets: &[Outlet]) -> String {
    outlets
        .iter()
        .map(
            |o| match (o.dtype().tensor_type(), o.dtype().tensor_shape()) {
                (Some(t), Some(s)) => {
                    let dims: Vec<String> = s
                        .iter()
                        .map(|&d| if d < 0 { "?".into() } else { d.to_string() })
                        .collect();
                    format!("{} {t:?} [{}]", o.name(), dims.join(","))
                }
                _ => format!("{} (not a tensor)", o.name()),
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `outlets` are exactly `want`: same names, float32, same rank, and every fixed
/// dimension equal (a dimension the graph leaves dynamic is accepted).
fn ports_match(want: &[Port], outlets: &[Outlet]) -> bool {
    want.len() == outlets.len()
        && want.iter().all(|Port(name, dims)| {
            outlets.iter().any(|o| {
                o.name() == *name
                    && o.dtype().tensor_type() == Some(TensorElementType::Float32)
                    && o.dtype().tensor_shape().is_some_and(|s| {
                        s.len() == dims.len()
                            && s.iter()
                                .zip(*dims)
                                .all(|(&g, w)| g < 0 || w.is_none_or(|w| g == w))
                    })
            })
        })
}

/// Refuses, at start, a graph that is not the one its file name promises (a decoder copied over
/// the encoder, an encoder with 3 output channels): otherwise every image fails later with
/// ONNX Runtime's "Invalid input name", or the run panics on a shape.
fn check_ports(
    session: &Session,
    path: &Path,
    (inputs, outputs): (&[Port], &[Port]),
) -> Result<()> {
    if ports_match(inputs, session.inputs()) && ports_match(outputs, session.outputs()) {
        return Ok(());
    }
    Err(Error::Runtime(format!(
        "{}: not the graph this file name stands for: expected inputs {} and outputs {} \
         (float32); found inputs {} and outputs {}. Re-export it (`adain export`) or fix --models",
        path.display(),
        show_ports(inputs),
        show_ports(outputs),
        show_outlets(session.inputs()),
        show_outlets(session.outputs())
    )))
}

/// [`open_session`], then [`check_ports`] and [`check_metadata`].
fn open_checked(
    path: &Path,
    cfg: &RuntimeConfig,
    ports: (&[Port], &[Port]),
) -> Result<(Session, Resolved)> {
    let (s, r) = open_session(path, cfg)?;
    check_ports(&s, path, ports)?;
    check_metadata(path)?;
    Ok((s, r))
}

/// Refuses a graph of ours whose metadata contradicts what its file name and this build
/// promise: another precision than the name says (an fp16 decoder copied over `decoder.onnx`
/// has the same ports and would run at half precision under `--precision fp32`), or another
/// variance convention or epsilon than [`crate::model`]'s. Graphs without any `adain.*`
/// metadata (made by other tools) are taken on their ports alone.
fn check_metadata(path: &Path) -> Result<()> {
    let meta = crate::onnx::read_metadata(path)?;
    if !meta.iter().any(|(k, _)| k.starts_with("adain.")) {
        return Ok(());
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let named = [Precision::Fp16, Precision::Int8]
        .into_iter()
        .find(|p| name.ends_with(&format!(".{}.onnx", p.as_str())))
        .unwrap_or(Precision::Fp32);
    let marked = crate::onnx::metadata_value(&meta, crate::onnx::PRECISION_KEY)
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("fp32");
    let bad = |reason: String| Err(Error::Runtime(format!("{}: {reason}", path.display())));
    if marked != named.as_str() {
        return bad(format!(
            "an {marked} graph (metadata {}), but the file name stands for {named}; re-export it (`adain export`) or fix --models",
            crate::onnx::PRECISION_KEY
        ));
    }
    let eps = format!("{:e}", crate::model::EPS);
    for (key, want) in [
        ("adain.variance", crate::model::VARIANCE_CONVENTION),
        ("adain.eps", eps.as_str()),
    ] {
        if let Some(found) = crate::onnx::metadata_value(&meta, key)
            && found != want
        {
            return bad(format!(
                "made for {key} '{found}', but this adain uses '{want}'; re-export it (`adain export`)"
            ));
        }
    }
    Ok(())
}

impl Models {
    /// Opens the graphs of `cfg.precision` in `dir`: that precision's own files where it has
    /// them, the fp32 ones otherwise. The fused AdaIN + decoder graph is used when the
    /// precision has one and it is there; a precision's own decoder is never replaced by a
    /// graph of another precision.
    pub fn open(dir: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let precision = cfg.precision;
        let graphs = [ENCODER_FILE, ADAIN_FILE, DECODER_FILE].map(|g| precision.file(g));
        for file in &graphs {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(Error::MissingGraph {
                    path,
                    precision: precision.as_str(),
                    export: precision.export_command(dir),
                });
            }
        }
        if precision == Precision::Int8 {
            check_int8_recipe(dir)?;
        }
        let (encoder, provider) = open_checked(&dir.join(&graphs[0]), cfg, ENCODER_PORTS)?;
        // Once the first session settled the provider, the others must use the same one.
        let cfg2 = RuntimeConfig {
            provider: provider.as_choice(),
            ..cfg.clone()
        };
        let (adain, _) = open_checked(&dir.join(ADAIN_FILE), &cfg2, ADAIN_PORTS)?;
        let (decoder, _) = open_checked(
            &dir.join(precision.file(DECODER_FILE)),
            &cfg2,
            DECODER_PORTS,
        )?;
        let fused = dir.join(precision.file(ADAIN_DECODER_FILE));
        let own_fused =
            precision == Precision::Fp32 || precision.own_graphs().contains(&ADAIN_DECODER_FILE);
        let adain_decoder = if own_fused && fused.is_file() {
            Some(open_checked(&fused, &cfg2, FUSED_PORTS)?.0)
        } else {
            None
        };
        let mut files: Vec<PathBuf> = graphs.iter().map(|g| dir.join(g)).collect();
        files[1] = dir.join(ADAIN_FILE);
        if adain_decoder.is_some() {
            files.push(fused);
        }
        Ok(Models {
            files,
            encoder,
            adain,
            decoder,
            adain_decoder,
            precision,
            provider,
            dir: dir.into(),
        })
    }

    /// The precision of the graphs this runs.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// `images`: `[N, 3, H, W]` RGB in [0,1].
    /// # Shapes
    /// returns features `[N, 512, ceil(H/8), ceil(W/8)]`, mean/std `[N, 512, 1, 1]`.
    pub fn encode(&mut self, images: ArrayView4<'_, f32>) -> Result<Encoded> {
        run_encoder(&mut self.encoder, images)
    }

    /// AdaIN + alpha blend. `content` may have batch 1 while statistics and `alpha` have N
    /// (broadcast), so one content's features serve every style and alpha.
    pub fn adain(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Array4<f32>> {
        run_adain_inputs(&mut self.adain, content, style_mean, style_std, alpha, "t")
    }

    /// AdaIN and decoder for a batch of (style statistics, alpha) on one content's features,
    /// through `adain_decoder.onnx` when present, else `adain.onnx` then `decoder.onnx`.
    /// Returns the uncropped images.
    pub fn stylize_features(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Array4<f32>> {
        Ok(self
            .stylize_features_timed(content, style_mean, style_std, alpha)?
            .images)
    }

    /// [`Models::stylize_features`], timed per stage.
    pub fn stylize_features_timed(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Stylized> {
        let t = std::time::Instant::now();
        let Some(fused) = self.adain_decoder.as_mut() else {
            let tt = self.adain(content, style_mean, style_std, alpha)?;
            let adain_s = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let images = self.decode(tt.view())?;
            return Ok(Stylized {
                adain_s,
                decode_s: t.elapsed().as_secs_f64(),
                images,
            });
        };
        let images = run_adain_inputs(fused, content, style_mean, style_std, alpha, "image")?;
        Ok(Stylized {
            adain_s: 0.0,
            decode_s: t.elapsed().as_secs_f64(),
            images,
        })
    }

    /// Binds one content's relu4_1 `features` to the fused AdaIN + decoder graph for
    /// [`Models::stylize_bound`]: on CUDA they are copied to the device once here, not once per
    /// batch of (style, alpha). Needs the fused graph ([`Models::has_fused`]).
    pub fn bind_content(&mut self, features: Array4<f32>) -> Result<BoundContent> {
        let Some(fused) = self.adain_decoder.as_ref() else {
            return Err(Error::Runtime(format!(
                "{}: no fused AdaIN + decoder graph to bind to",
                self.dir.display()
            )));
        };
        let mut binding = fused.create_binding()?;
        binding.bind_input(
            "content_features",
            &ort::value::Tensor::from_array(features)?,
        )?;
        // The images come back to host memory once per call, where the save stage needs them.
        let host = ort::memory::MemoryInfo::new(
            ort::memory::AllocationDevice::CPU,
            0,
            ort::memory::AllocatorType::Device,
            ort::memory::MemoryType::CPUOutput,
        )?;
        Ok(BoundContent { binding, host })
    }

    /// [`Models::stylize_features_timed`] for a content bound by [`Models::bind_content`]: only
    /// the batch's statistics and alphas travel per call.
    pub fn stylize_bound(
        &mut self,
        bound: &mut BoundContent,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Stylized> {
        let t = std::time::Instant::now();
        let fused = self
            .adain_decoder
            .as_mut()
            .expect("bind_content returned a binding, so the fused graph is open");
        let b = &mut bound.binding;
        b.bind_input(
            "style_mean",
            &ort::value::Tensor::from_array(style_mean.to_owned())?,
        )?;
        b.bind_input(
            "style_std",
            &ort::value::Tensor::from_array(style_std.to_owned())?,
        )?;
        b.bind_input("alpha", &ort::value::Tensor::from_array(alpha.to_owned())?)?;
        // Bound afresh each call: after a run the binding holds that run's output tensor, and a
        // batch of another size (a content's last, shorter batch) would be refused.
        b.bind_output_to_device("image", &bound.host)?;
        let out = fused.run_binding(b)?;
        let images = out4(&out, "image")?;
        Ok(Stylized {
            adain_s: 0.0,
            decode_s: t.elapsed().as_secs_f64(),
            images,
        })
    }

    /// Whether AdaIN and the decoder run as one graph (`adain_decoder.onnx`), keeping the AdaIN
    /// target on the execution provider.
    pub fn has_fused(&self) -> bool {
        self.adain_decoder.is_some()
    }

    /// The decoder weights' file name recorded in the decoder graph (empty when not recorded).
    pub fn decoder_label(&self) -> String {
        crate::onnx::read_metadata(&self.dir.join(self.precision.file(DECODER_FILE)))
            .ok()
            .and_then(|m| crate::onnx::metadata_value(&m, "adain.decoder.file").map(String::from))
            .unwrap_or_default()
    }

    /// Decoder; the output is `8*ceil(h)` sized: crop with [`crop`].
    pub fn decode(&mut self, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
        run_decoder(&mut self.decoder, t)
    }
}

fn run_decoder(decoder: &mut Session, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
    let t = t.as_standard_layout();
    let out = decoder.run(ort::inputs!["t" => TensorRef::from_array_view(t.view())?])?;
    out4(&out, "image")
}

/// One encoder or decoder graph on its own, for tools and tests that need a single one (the
/// int8 check under an emulated CPU opens only the two int8 graphs: every session costs
/// seconds there).
pub struct Graph {
    session: Session,
}

impl Graph {
    pub fn open(path: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        Ok(Graph {
            session: open_session(path, cfg)?.0,
        })
    }

    /// As [`Models::encode`], for an encoder graph.
    pub fn encode(&mut self, images: ArrayView4<'_, f32>) -> Result<Encoded> {
        run_encoder(&mut self.session, images)
    }

    /// As [`Models::decode`], for a decoder graph.
    pub fn decode(&mut self, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
        run_decoder(&mut self.session, t)
    }
}

/// Runs a graph with the AdaIN inputs (`adain.onnx`, `adain_decoder.onnx`) and returns `output`.
fn run_adain_inputs(
    session: &mut Session,
    content: ArrayView4<'_, f32>,
    style_mean: ArrayView4<'_, f32>,
    style_std: ArrayView4<'_, f32>,
    alpha: ArrayView1<'_, f32>,
    output: &str,
) -> Result<Array4<f32>> {
    let (c, m, s) = (
        content.as_standard_layout(),
        style_mean.as_standard_layout(),
        style_std.as_standard_layout(),
    );
    let a = alpha.as_standard_layout();
    let out = session.run(ort::inputs![
        "content_features" => TensorRef::from_array_view(c.view())?,
        "style_mean" => TensorRef::from_array_view(m.view())?,
        "style_std" => TensorRef::from_array_view(s.view())?,
        "alpha" => TensorRef::from_array_view(a.view())?,
    ])?;
    out4(&out, output)
}

/// Crops decoder output `[N,3,H8,W8]` to `[N,3,h,w]`.
pub fn crop(images: Array4<f32>, h: usize, w: usize) -> Array4<f32> {
    let (_, _, ih, iw) = images.dim();
    if ih == h && iw == w {
        return images;
    }
    images.slice(ndarray::s![.., .., ..h, ..w]).to_owned()
}

/// The fused graph, for tools and tests that want one call.
pub struct Fused {
    session: Session,
    pub provider: Resolved,
}

impl Fused {
    /// Opens `stylize.onnx` at `cfg.precision` (fp32 where the precision has no own version).
    pub fn open(dir: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let (session, provider) = open_session(&dir.join(cfg.precision.file(STYLIZE_FILE)), cfg)?;
        Ok(Fused { session, provider })
    }

    pub fn run(
        &mut self,
        content: ArrayView4<'_, f32>,
        style: ArrayView4<'_, f32>,
        alpha: &Array1<f32>,
    ) -> Result<Array4<f32>> {
        let (_, _, h, w) = content.dim();
        check_size(Path::new("<content tensor>"), w as u32, h as u32)?;
        let (_, _, hs, ws) = style.dim();
        check_size(Path::new("<style tensor>"), ws as u32, hs as u32)?;
        let (c, s) = (content.as_standard_layout(), style.as_standard_layout());
        let out = self.session.run(ort::inputs![
            "content" => TensorRef::from_array_view(c.view())?,
            "style" => TensorRef::from_array_view(s.view())?,
            "alpha" => TensorRef::from_array_view(alpha.view())?,
        ])?;
        out4(&out, "image")
    }
}

/// What the quality judge sees in one image: (mean, std) per tapped layer, relu1_1..relu4_1,
/// and relu4_1 itself.
pub struct Judged {
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
    pub features: Vec<f32>,
    /// `[C, h, w]` of `features`.
    pub shape: [usize; 3],
}

/// The `adain quality` judge network (see [`crate::onnx::graphs::judge`]) in one session.
pub struct Judge {
    session: Session,
    pub provider: Resolved,
}

impl Judge {
    /// Opens a judge graph written by [`crate::onnx::export_judge`].
    pub fn open(path: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let (session, provider) = open_session(path, cfg)?;
        Ok(Judge { session, provider })
    }

    /// Judges one `[3, H, W]` image in [0,1].
    pub fn judge(&mut self, image: ndarray::ArrayView3<'_, f32>) -> Result<Judged> {
        let (_, h, w) = image.dim();
        check_size(Path::new("<image>"), w as u32, h as u32)?;
        let x = image.insert_axis(ndarray::Axis(0));
        let x = x.as_standard_layout();
        let out = self
            .session
            .run(ort::inputs!["image" => TensorRef::from_array_view(x.view())?])?;
        let mut stats = Vec::new();
        for tap in crate::model::ENCODER.iter().filter_map(|op| match op {
            crate::model::Op::Conv { tap: Some(t), .. } => Some(*t),
            _ => None,
        }) {
            let v = |name: String| -> Result<Vec<f32>> {
                Ok(out4(&out, &name)?.iter().copied().collect())
            };
            stats.push((v(format!("{tap}_mean"))?, v(format!("{tap}_std"))?));
        }
        let f = out4(&out, "features")?;
        let (_, c, fh, fw) = f.dim();
        Ok(Judged {
            stats,
            features: f.iter().copied().collect(),
            shape: [c, fh, fw],
        })
    }
}
