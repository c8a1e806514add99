//! Training the AdaIN decoder with tch (feature "train"): the tch model, the data loaders, the
//! feature bank, the step with the reference losses, the optimizer, checkpoints and the
//! published decoder, the loss log and plots, evaluation, the step's profile. The only module
//! that knows tch.

pub mod bank;
pub mod checkpoint;
pub mod data;
pub mod eval;
pub mod log;
pub mod model;
pub mod optim;
pub mod plot;
pub mod profile;
pub mod trainer;
