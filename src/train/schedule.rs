//! The learning-rate schedule: the reference port's inverse decay, behind a linear warm-up from
//! where the current Adam moments began.

use super::config::TrainConfig;

/// `lr / (1 + decay * i)` (PyTorch port's `adjust_learning_rate`).
pub fn learning_rate(lr: f64, decay: f64, iteration: u64) -> f64 {
    lr / (1.0 + decay * iteration as f64)
}

/// The learning rate of iteration `it` when the Adam moments started at `adam_start`: the
/// schedule, times a linear warm-up over `cfg.warmup` iterations from `adam_start`.
pub(super) fn scheduled_lr(cfg: &TrainConfig, it: u64, adam_start: u64) -> f64 {
    let warm = if cfg.warmup > 0 {
        ((it.saturating_sub(adam_start) + 1) as f64 / cfg.warmup as f64).min(1.0)
    } else {
        1.0
    };
    learning_rate(cfg.lr, cfg.lr_decay, it) * warm
}
