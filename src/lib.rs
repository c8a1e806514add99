//! adain: arbitrary style transfer with AdaIN (Huang & Belongie, ICCV 2017).
//!
//! Data flow:
//! ```text
//! weights (safetensors) --model--> onnx::export --> onnx/*.onnx
//! images --imaging--> runtime (ONNX Runtime) --batch--> images + CSV reports
//! images --train (tch, feature "train")--> decoder weights --> onnx::export
//! ```
//! `model` owns the architecture and statistics; `onnx` the graphs; `runtime` is the only module
//! that knows ort; `train` the only one that knows tch; binaries only parse arguments.

pub mod batch;
pub mod console;
pub mod csv_text;
pub mod error;
pub mod fsutil;
pub mod imaging;
pub mod inputs;
pub mod install;
pub mod mask;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod paths;
pub mod pth;
pub mod quality;
pub mod quantize;
pub mod runtime;
pub mod signals;
pub mod tiling;
pub mod vgg;
pub mod video;
pub mod weights_import;

pub use error::{Error, Result};
#[cfg(feature = "train")]
pub mod train;
