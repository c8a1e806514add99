//! Opening ONNX Runtime sessions: loading `libonnxruntime.so` once, choosing the execution
//! provider (CUDA is never silently dropped when asked for), the precision a run gets by
//! default, and refusing at start a graph that is not what its file name promises (ports,
//! precision, variance convention, int8 recipe). Running the sessions is [`super`]'s.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Outlet, TensorElementType};

use crate::error::{Error, Result};
use crate::onnx::Precision;

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
    pub(super) fn as_choice(self) -> Provider {
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
        Error::ort("", e)
    }
}

// A session builder's error carries the builder back (for recovery); we never recover, so it is
// ONNX Runtime's plain error.
impl From<ort::Error<ort::session::builder::SessionBuilder>> for Error {
    fn from(e: ort::Error<ort::session::builder::SessionBuilder>) -> Self {
        Error::ort("", e.into())
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

/// Settings for [`Models::open`](super::Models::open).
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub provider: Provider,
    /// Intra-op threads for ONNX Runtime; 0 lets it choose (all cores).
    pub threads: usize,
    /// Which graphs [`Models::open`](super::Models::open) runs (see [`Precision::file`]).
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
pub(super) fn open_session(path: &Path, cfg: &RuntimeConfig) -> Result<(Session, Resolved)> {
    if !path.is_file() {
        return Err(Error::Runtime(format!(
            "{}: model file not found (run `adain export`?)",
            path.display()
        )));
    }
    let (env, lib) = environment()?;
    let mut b = Session::builder(env)?.with_optimization_level(GraphOptimizationLevel::Level3)?;
    if cfg.threads > 0 {
        b = b.with_intra_threads(cfg.threads)?;
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
            b = b.with_execution_providers([cuda])?;
            let s = b
                .commit_from_file(path)
                .map_err(|e| Error::ort(path.display(), e))?;
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
        .map_err(|e| Error::ort(path.display(), e))?;
    Ok((s, Resolved::Cpu))
}

/// Whether `provider` will run on CUDA (as [`Models::open`](super::Models::open) decides it). Asking ONNX Runtime
/// needs its library loaded: when it cannot be, the answer is no, and opening the graphs then
/// reports why the library did not load.
pub(super) fn wants_cuda(provider: Provider) -> bool {
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
    let export = export_command(Precision::Int8, dir);
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

/// The command that writes `precision`'s graphs into `dir`: `adain export ...` in a
/// checkout, `adain setup` for an installed binary.
pub(super) fn export_command(precision: Precision, dir: &Path) -> String {
    // An installed binary (no checkout around it) has no onnx/decoder.safetensors to export
    // from: `adain setup` makes every precision's graphs in the data folder.
    if crate::paths::installed() {
        return "adain setup".into();
    }
    let flag = match precision {
        Precision::Fp32 => "",
        Precision::Fp16 => " --half",
        Precision::Int8 => " --int8",
    };
    format!(
        "adain export --decoder onnx/decoder.safetensors --out {}{flag}",
        dir.display()
    )
}

/// The command that remakes `precision`'s graphs in `dir` when they are stale: the
/// export with `--if-stale` in a checkout, `adain setup` (which remakes only what is stale)
/// for an installed binary.
pub(super) fn remake_command(precision: Precision, dir: &Path) -> String {
    if crate::paths::installed() {
        export_command(precision, dir)
    } else {
        format!("{} --if-stale", export_command(precision, dir))
    }
}

/// Refuses int8 graphs made by another quantisation recipe: before recipe 5 they held 8-bit
/// weights, whose u8 x s8 sums saturate on x86 CPUs without VNNI (style statistics 19% off on
/// an AVX2-only EPYC), so running them could be silently wrong.
pub(super) fn check_int8_recipe(dir: &Path) -> Result<()> {
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
                export: remake_command(Precision::Int8, dir),
            });
        }
    }
    Ok(())
}

/// A graph input or output as the pipeline feeds or reads it: its name and dimensions (`None`:
/// any size). Every one is float32.
pub(super) struct Port(&'static str, &'static [Option<i64>]);

const IMAGE: &[Option<i64>] = &[None, Some(3), None, None];
const FEATURES: &[Option<i64>] = &[None, Some(512), None, None];
const STATS: &[Option<i64>] = &[None, Some(512), Some(1), Some(1)];
const ADAIN_INPUTS: &[Port] = &[
    Port("content_features", FEATURES),
    Port("style_mean", STATS),
    Port("style_std", STATS),
    Port("alpha", &[None]),
];
pub(super) const ENCODER_PORTS: (&[Port], &[Port]) = (
    &[Port("image", IMAGE)],
    &[
        Port("features", FEATURES),
        Port("mean", STATS),
        Port("std", STATS),
    ],
);
pub(super) const ADAIN_PORTS: (&[Port], &[Port]) = (ADAIN_INPUTS, &[Port("t", FEATURES)]);
pub(super) const DECODER_PORTS: (&[Port], &[Port]) =
    (&[Port("t", FEATURES)], &[Port("image", IMAGE)]);
pub(super) const FUSED_PORTS: (&[Port], &[Port]) = (ADAIN_INPUTS, &[Port("image", IMAGE)]);

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
pub(super) fn open_checked(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_onnx_runtime_cannot_read_names_the_file_and_keeps_its_error_as_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decoder.onnx");
        std::fs::write(&path, b"not a protobuf").unwrap();
        let cfg = RuntimeConfig {
            provider: Provider::Cpu,
            threads: 1,
            precision: Precision::Fp32,
        };
        let e = open_session(&path, &cfg).expect_err("garbage refused");
        let Error::Ort { what, source } = &e else {
            panic!("expected ONNX Runtime's error, got {e:?}")
        };
        assert_eq!(what, &path.display().to_string());
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("onnx runtime: {}: ", path.display())),
            "{text}"
        );
        // ONNX Runtime's message is said once, and is the source's.
        let reason = std::error::Error::source(&e)
            .expect("source kept")
            .to_string();
        assert_eq!(reason, source.to_string());
        assert!(text.ends_with(&reason), "{text}");
    }
}
