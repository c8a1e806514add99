//! The learning rate of each step: a linear warm-up from where the current Adam moments began,
//! times the schedule (the reference port's inverse decay, or a one-cycle linear decay to 0 at
//! the round's planned end).

use super::config::{Schedule, TrainConfig};

/// `lr / (1 + decay * i)` (PyTorch port's `adjust_learning_rate`).
pub fn learning_rate(lr: f64, decay: f64, iteration: u64) -> f64 {
    lr / (1.0 + decay * iteration as f64)
}

/// Where a round of training stands, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// The step's index (the iteration it completes, minus one).
    pub it: u64,
    /// Iteration at which the Adam moments began (the warm-up counts from there).
    pub adam_start: u64,
    /// Iteration at which this round began (the one-cycle decay spans the round).
    pub round_start: u64,
    /// Training seconds since the round began (the one-cycle decay under a time limit).
    pub round_s: f64,
}

/// The learning rate of the step at `p`: `cfg.lr` times a linear warm-up over `cfg.warmup`
/// iterations from `adam_start`, times the schedule.
pub fn scheduled_lr(cfg: &TrainConfig, p: Position) -> f64 {
    let warm = if cfg.warmup > 0 {
        ((p.it.saturating_sub(p.adam_start) + 1) as f64 / cfg.warmup as f64).min(1.0)
    } else {
        1.0
    };
    match cfg.schedule {
        Schedule::Inverse => learning_rate(cfg.lr, cfg.lr_decay, p.it) * warm,
        Schedule::OneCycle => cfg.lr * one_cycle(cfg, p) * warm,
    }
}

/// The one-cycle factor: 1 at the end of the warm-up, falling linearly to 0 at the round's
/// planned end, `cfg.iterations` or, when it comes first, `cfg.time_limit_s` seconds into the
/// round. The last step of an iteration budget runs at 1/N of the peak, never 0.
fn one_cycle(cfg: &TrainConfig, p: Position) -> f64 {
    let decay_from = p.round_start + cfg.warmup;
    let by_iterations = match cfg.iterations > decay_from {
        true => p.it.saturating_sub(decay_from) as f64 / (cfg.iterations - decay_from) as f64,
        false => 0.0,
    };
    let by_time = match cfg.time_limit_s > 0.0 {
        true => p.round_s / cfg.time_limit_s,
        false => 0.0,
    };
    (1.0 - by_iterations.max(by_time)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(it: u64) -> Position {
        Position {
            it,
            adam_start: 100,
            round_start: 100,
            round_s: 0.0,
        }
    }

    #[test]
    fn one_cycle_warms_up_to_the_peak_then_falls_linearly_to_zero_at_the_planned_end() {
        let cfg = TrainConfig {
            lr: 2e-4,
            warmup: 10,
            iterations: 210,
            schedule: Schedule::OneCycle,
            ..Default::default()
        };
        let lr = |it| scheduled_lr(&cfg, at(it));
        // Warm-up: 1/10 of the peak on the round's first step, the peak on its tenth.
        assert!((lr(100) - 2e-5).abs() < 1e-12);
        assert!((lr(108) - 2e-4 * 0.9).abs() < 1e-12, "{}", lr(108));
        assert!((lr(109) - 2e-4).abs() < 1e-12);
        assert!((lr(110) - 2e-4).abs() < 1e-12);
        // Halfway through the decay (100 steps from 110 to 210): half the peak.
        assert!((lr(160) - 1e-4).abs() < 1e-12);
        // The last step (index 209) at 1/100 of the peak; past the end, 0.
        assert!((lr(209) - 2e-6).abs() < 1e-12);
        assert_eq!(lr(210), 0.0);
        // A time limit that comes first ends the decay there: half the time gone, at most half.
        let timed = TrainConfig {
            time_limit_s: 100.0,
            ..cfg.clone()
        };
        let p = Position {
            round_s: 50.0,
            ..at(120)
        };
        assert!((scheduled_lr(&timed, p) - 1e-4).abs() < 1e-12);
    }

    #[test]
    fn the_inverse_schedule_is_the_reference_ports() {
        let cfg = TrainConfig::default();
        let p = Position {
            it: 4000,
            adam_start: 0,
            round_start: 0,
            round_s: 0.0,
        };
        assert_eq!(scheduled_lr(&cfg, p), 1e-4 / (1.0 + 5e-5 * 4000.0));
    }
}
