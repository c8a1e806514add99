//! Training the AdaIN decoder with tch (feature "train"), the only module that knows tch. In the
//! order data flows: `config` (what defines a run) -> `data` / `bank` / `feed` (crops, or their
//! frozen features) -> `net` (the tch model) -> `loss` (every term and its weight) -> `optim` (Adam)
//! and `schedule` (its learning rate) -> `run` (the loop), with `resume` (where a run starts),
//! `validate` (fixed-pair scores), `checkpoint`, `log` and `plot` (what a run writes) and
//! `publish` (the models folder); `eval` scores decoders, `profile` times a step's stages,
//! `layers` holds the tch layers built from the crate's layer tables; `terms` names the loss terms.

pub mod bank;
pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod ema;
pub mod eval;
mod feed;
pub mod layers;
pub mod log;
pub mod loss;
pub mod net;
pub mod optim;
pub mod plot;
pub mod profile;
pub mod progress;
mod publish;
pub mod resident;
pub mod resume;
pub mod run;
pub mod schedule;
pub mod terms;
pub mod validate;

pub use config::{
    AlphaDist, Arithmetic, DeviceChoice, Objective, Schedule, Select, TrainConfig, resolve_device,
};
pub use log::{LossRow, read as read_losses};
pub use loss::Losses;
pub use net::{Network, load_decoder_file};
pub use publish::{
    Chosen, export_outcome, holds_graphs, plot_published, publish_checkpoint, reexport_published,
};
pub use run::{TrainOutcome, TrainProgress, train};
pub use schedule::learning_rate;
pub use terms::{Terms, Weighting};
pub use validate::{Samples, ValScores};
