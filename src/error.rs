//! The crate's one error type. Variants carry the file, the thing and what was expected, so a
//! message reads "style image 'x.png': expected 3 channels, got 4" without extra context. It
//! depends on nothing else in the crate (only on ONNX Runtime's error type, kept as a source),
//! so every module can use it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot decode image: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error(
        "{path}: image is {width}x{height}, smaller than the {min}x{min} minimum the network's reflection pads need"
    )]
    TooSmall {
        path: PathBuf,
        width: u32,
        height: u32,
        min: u32,
    },
    #[error(
        "{path}: image is {width}x{height} = {pixels} pixels, over the limit of {limit} (set --content-size/--style-size to downscale, or raise --max-pixels)"
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("{path}: weight '{key}': expected shape {expected:?}, got {got:?}")]
    WeightShape {
        path: PathBuf,
        key: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error(
        "{path}: missing weight '{key}' (expected the vgg_normalised.pth / decoder.pth key layout)"
    )]
    MissingWeight { path: PathBuf, key: String },
    #[error("{path}: invalid weights file: {reason}")]
    Weights { path: PathBuf, reason: String },
    #[error("{path}: {precision} graph not found; make it with `{export}`")]
    MissingGraph {
        path: PathBuf,
        precision: &'static str,
        export: String,
    },
    #[error(
        "{path}: int8 graph made by another recipe ({found}), which can be wrong on this CPU; remake it with `{export}`"
    )]
    StaleGraph {
        path: PathBuf,
        found: String,
        export: String,
    },
    /// A piece of the installation is missing: every place looked at, in order, and the fix.
    #[error("cannot find {what}; looked in:\n{}\nfix: run `{fix}`", looked.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"))]
    NotFound {
        what: String,
        looked: Vec<String>,
        fix: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// A stop (Ctrl-C, SIGTERM) was honoured before the work could finish; says what was left.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// ONNX Runtime's own error, with what was being done when it came (a graph's path, an
    /// output's name; empty when the call says it all). The source is kept, not flattened into
    /// text, so a caller can walk the chain or match on ONNX Runtime's error code.
    #[error("onnx runtime: {}{source}", prefixed(what))]
    Ort {
        what: String,
        #[source]
        source: ort::Error,
    },
    /// A problem at the ONNX Runtime boundary that this crate finds itself (a graph with other
    /// ports than its name promises, a library that will not load).
    #[error("onnx runtime: {0}")]
    Runtime(String),
}

/// `what` followed by ": ", or nothing when `what` is empty.
fn prefixed(what: &str) -> String {
    match what {
        "" => String::new(),
        w => format!("{w}: "),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// ONNX Runtime's error `source`, met while doing `what` (see [`Error::Ort`]).
    pub fn ort(what: impl std::fmt::Display, source: ort::Error) -> Self {
        Error::Ort {
            what: what.to_string(),
            source,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
