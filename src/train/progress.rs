//! What the trainer tells its caller while it runs ([`TrainProgress`]): the binary draws a bar
//! from it, tests capture it. Its own module so the stages that report (`feed`, `resume`) do not
//! import the loop (`run`) that calls them.

use super::log::LossRow;

/// Callbacks for the binary's progress bar.
pub trait TrainProgress {
    fn start(&self, from: u64, to: u64);
    fn step(&self, iteration: u64, row: Option<&LossRow>);
    fn println(&self, line: &str);
    fn finish(&self);
}
