//! Training the AdaIN decoder with tch (feature "train"), the only module that knows tch. In the
//! order data flows: `config` (what defines a run) -> `data` / `bank` / `feed` (crops, or their
//! frozen features) -> `net` (the tch model) -> `loss` (every term and its weight) -> `optim` (Adam)
//! and `schedule` (its learning rate) -> `run` (the loop), with `resume` (where a run starts),
//! `validate` (fixed-pair scores), `checkpoint`, `log` and `plot` (what a run writes) and
//! `publish` (the models folder); `eval` scores decoders, `profile` times a step's stages,
//! `layers` holds the tch layers built from the crate's layer tables; `terms` names the loss terms.
//!
//! Public: what a program that trains needs (`config`, `data`, `checkpoint`, `eval`, `layers`,
//! `terms`, and the re-exports below), plus the loop's pieces that the PyTorch step-parity tests in
//! `tests/train.rs` drive one by one (`batches`, `bank`, `schedule`, `profile`'s laps). The
//! loop's own machinery (`run`, `loss`, `net`, `optim`, `log`, `plot`...) is reached through
//! the re-exports only.

pub mod bank;
pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod data;
mod ema;
pub mod eval;
mod feed;
pub mod layers;
mod log;
mod loss;
mod net;
mod optim;
mod plot;
pub mod profile;
mod progress;
mod publish;
mod resident;
mod resume;
mod run;
pub mod schedule;
pub mod terms;
mod validate;

pub use config::{
    AlphaDist, Arithmetic, DeviceChoice, Objective, Open, Schedule, Select, StyleTarget,
    TrainConfig, resolve_device,
};
pub use log::{LossRow, read as read_losses};
pub use loss::{Alphas, Losses};
pub use net::{Network, load_decoder_file};
pub use publish::{
    Chosen, export_outcome, holds_graphs, plot_published, publish_checkpoint, reexport_published,
};
pub use run::{TrainOutcome, TrainProgress, train};
pub use schedule::learning_rate;
pub use terms::{Terms, Weighting};
pub use validate::{Samples, ValScores};
