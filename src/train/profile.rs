//! Where a training step's time goes (`adain-train --profile`): wall time per stage, summed
//! over the profiled steps and printed as one table at the end of the run.

use std::time::Instant;

use tch::Device;

/// Stage clocks. A lap first waits for the device, so on CUDA it times the stage and not its
/// launch (which slows the step: profile runs are for reading, not for throughput figures). Off,
/// a lap is a branch.
pub struct Laps {
    device: Option<Device>,
    last: Instant,
    /// (stage, seconds) in first-seen order.
    stages: Vec<(&'static str, f64)>,
    steps: u64,
}

impl Laps {
    pub fn off() -> Self {
        Laps {
            device: None,
            last: Instant::now(),
            stages: Vec::new(),
            steps: 0,
        }
    }

    pub fn on(device: Device) -> Self {
        Laps {
            device: Some(device),
            ..Self::off()
        }
    }

    fn sync(&self) {
        if let Some(Device::Cuda(i)) = self.device {
            tch::Cuda::synchronize(i as i64);
        }
    }

    /// Starts a step's clock.
    pub fn start(&mut self) {
        if self.device.is_some() {
            self.sync();
            self.last = Instant::now();
        }
    }

    /// Charges the time since the last lap (or [`Laps::start`]) to `stage`.
    pub fn lap(&mut self, stage: &'static str) {
        if self.device.is_none() {
            return;
        }
        self.sync();
        let now = Instant::now();
        let dt = (now - self.last).as_secs_f64();
        self.last = now;
        match self.stages.iter_mut().find(|(s, _)| *s == stage) {
            Some(e) => e.1 += dt,
            None => self.stages.push((stage, dt)),
        }
    }

    pub fn end_step(&mut self) {
        if self.device.is_some() {
            self.steps += 1;
        }
    }

    /// Mean milliseconds per step for each stage, in first-seen order.
    pub fn per_step_ms(&self) -> Vec<(&'static str, f64)> {
        let n = self.steps.max(1) as f64;
        self.stages.iter().map(|&(s, t)| (s, 1e3 * t / n)).collect()
    }

    /// The table printed at the end of a profiled run; `None` when off or nothing was timed.
    pub fn table(&self) -> Option<String> {
        if self.device.is_none() || self.steps == 0 {
            return None;
        }
        let rows = self.per_step_ms();
        let total: f64 = rows.iter().map(|r| r.1).sum();
        let mut out = format!(
            "profile: mean wall time per step over {} steps\n",
            self.steps
        );
        for (stage, ms) in rows.iter().chain([&("step (all stages)", total)]) {
            out += &format!(
                "  {stage:<28} {ms:9.1} ms {:5.1}%\n",
                100.0 * ms / total.max(1e-12)
            );
        }
        Some(out.trim_end().to_string())
    }
}
