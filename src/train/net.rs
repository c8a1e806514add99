//! The tch model of a run: the frozen encoder, the trainable decoder and its Adam state, and
//! the passes every stage shares (encoder taps in the run's precision, decoding, stylizing).
//! The losses are in `loss`, validation in `validate`; the weights' moving average, when a run
//! keeps one, is in `ema`.

use std::path::Path;

use tch::{Device, Kind, Tensor, nn};

use super::config::Arithmetic;
use super::ema::Ema;
use super::layers::{Decoder, Encoder, adain, channels_last, mean_std};
use super::optim::Adam;
use crate::error::Result;
use crate::model::{self, Weights};

/// The networks and optimizer state of a run.
pub struct Network {
    pub encoder: Encoder,
    pub vs: nn::VarStore,
    pub decoder: Decoder,
    pub adam: Adam,
    /// The weights' moving average (`--ema`), what the run publishes when present.
    pub ema: Option<Ema>,
    pub device: Device,
    pub(super) kind: Kind,
    pub(super) cl: bool,
}

impl Network {
    /// Encoder from `enc`; decoder initialised as PyTorch's `nn.Conv2d` does
    /// ([`Weights::random`], seeded), so a fresh run starts where the reference port starts.
    pub fn new(
        enc: &Weights,
        device: Device,
        seed: u64,
        channels_last_fmt: bool,
        precision: Arithmetic,
    ) -> Result<Self> {
        tch::manual_seed(seed as i64);
        let kind = match precision {
            Arithmetic::Fp32 => Kind::Float,
            Arithmetic::Bf16 => Kind::BFloat16,
        };
        let mut encoder = Encoder::new(enc, device);
        if kind != Kind::Float {
            encoder.to_kind(kind);
        }
        if channels_last_fmt {
            encoder.use_channels_last();
        }
        let mut vs = nn::VarStore::new(device);
        let decoder = Decoder::new(&vs.root());
        super::layers::load_decoder(&mut vs, &Weights::random(model::DECODER, seed))?;
        let adam = Adam::new(&vs);
        Ok(Network {
            encoder,
            vs,
            decoder,
            adam,
            ema: None,
            device,
            kind,
            cl: channels_last_fmt,
        })
    }

    pub(super) fn prep(&self, x: &Tensor) -> Tensor {
        if self.cl {
            channels_last(x)
        } else {
            x.shallow_clone()
        }
    }

    /// relu1_1..relu4_1 of `x` through the frozen encoder, in the run's precision, as float32.
    pub fn enc_taps(&self, x: &Tensor) -> Vec<Tensor> {
        self.encoder
            .taps(&self.prep(&x.to_kind(self.kind)))
            .into_iter()
            .map(|t| t.to_kind(Kind::Float))
            .collect()
    }

    pub(super) fn decode(&self, t: &Tensor) -> Tensor {
        self.decoder.forward_kind(&self.prep(t), self.kind)
    }

    /// Decoder weights in `decoder.pth` layout.
    pub fn decoder_weights(&self) -> Weights {
        super::layers::decoder_weights(&self.vs)
    }

    /// (Re)starts the moving average at the current weights (`decay` 0: none).
    pub fn start_ema(&mut self, decay: f64) {
        self.ema = (decay > 0.0).then(|| Ema::new(&self.vs, decay));
    }

    /// The weights a run exports and publishes: the moving average when kept, else the weights.
    pub fn published_weights(&self) -> Weights {
        match &self.ema {
            Some(e) => e.weights(),
            None => self.decoder_weights(),
        }
    }

    /// Runs `f` with the published weights in the decoder (the moving average swapped in and
    /// back out when kept): validation and samples judge what the run would publish.
    pub fn with_published<R>(&mut self, f: impl FnOnce(&Network) -> R) -> R {
        let Some(mut ema) = self.ema.take() else {
            return f(self);
        };
        ema.swap(&mut self.vs);
        let r = f(self);
        ema.swap(&mut self.vs);
        self.ema = Some(ema);
        r
    }

    /// Stylizes `content` with `style` (`[1,3,H,W]` each) at `alpha`, cropped to the content size.
    pub fn stylize_alpha(&self, content: &Tensor, style: &Tensor, alpha: f64) -> Tensor {
        tch::no_grad(|| {
            let fc = self.enc_taps(content).pop().expect("taps");
            let fs = self.enc_taps(style).pop().expect("taps");
            let (sm, ss) = mean_std(&fs);
            let a = Tensor::full([1], alpha, (Kind::Float, self.device));
            let t = adain(&fc, &sm, &ss, &a);
            let (h, w) = (content.size()[2], content.size()[3]);
            self.decode(&t).narrow(2, 0, h).narrow(3, 0, w)
        })
    }

    /// [`Network::stylize_alpha`] at alpha 1.
    pub fn stylize(&self, content: &Tensor, style: &Tensor) -> Tensor {
        self.stylize_alpha(content, style, 1.0)
    }
}

/// Decoder weights from a safetensors file, or from the initializers of an exported decoder.onnx.
pub fn load_decoder_file(p: &Path) -> Result<Weights> {
    if p.extension().is_some_and(|e| e == "onnx") {
        crate::onnx::read_weights(p, "decoder", model::DECODER)
    } else {
        Weights::load(p, model::DECODER)
    }
}
