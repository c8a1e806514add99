//! Training the AdaIN decoder with tch (feature "train"): the tch model, the data loader, the
//! step with the reference losses, checkpoints, loss plots and evaluation. The only module that
//! knows tch.

pub mod data;
pub mod eval;
pub mod model;
pub mod plot;
pub mod trainer;
