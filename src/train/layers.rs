//! The AdaIN network in tch, built from the same layer tables as the ONNX exporter
//! ([`crate::model::ENCODER`], [`crate::model::DECODER`]): a frozen encoder held as plain tensors
//! (no gradients are ever asked of it) and a decoder in a `VarStore` whose variable names are the
//! `decoder.pth` keys, so `VarStore::save("x.safetensors")` writes the PyTorch port's layout.

use tch::{Device, Kind, Tensor, nn};

use crate::error::{Error, Result};
use crate::model::{self, EPS, Op, Weights};

enum Layer {
    Conv {
        w: Tensor,
        b: Tensor,
        k: usize,
        relu: bool,
        tap: bool,
    },
    Pool,
}

/// VGG-19 to relu4_1, frozen.
pub struct Encoder {
    layers: Vec<Layer>,
}

pub(super) fn to_tensor(t: &model::Tensor, device: Device) -> Tensor {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data)
        .reshape(&shape)
        .to_device(device)
}

impl Encoder {
    pub fn new(w: &Weights, device: Device) -> Self {
        let layers = model::ENCODER
            .iter()
            .map(|op| match *op {
                Op::Conv {
                    key, k, relu, tap, ..
                } => Layer::Conv {
                    w: to_tensor(w.get(&format!("{key}.weight")), device),
                    b: to_tensor(w.get(&format!("{key}.bias")), device),
                    k,
                    relu,
                    tap: tap.is_some(),
                },
                Op::MaxPool => Layer::Pool,
                Op::Upsample => unreachable!("the encoder table has no upsampling"),
            })
            .collect();
        Encoder { layers }
    }

    /// Replaces every conv weight and bias with `f(tensor)`.
    pub fn map_weights(&mut self, f: impl Fn(&Tensor) -> Tensor) {
        for l in &mut self.layers {
            if let Layer::Conv { w, b, .. } = l {
                *w = f(w);
                *b = f(b);
            }
        }
    }

    /// Casts the frozen weights (bf16 mixed precision).
    pub fn to_kind(&mut self, kind: Kind) {
        self.map_weights(|t| t.to_kind(kind));
    }

    /// Stores the conv weights channels-last (NHWC strides), which cuDNN runs faster on
    /// tensor cores; inputs should be converted with [`channels_last`] too.
    pub fn use_channels_last(&mut self) {
        for l in &mut self.layers {
            if let Layer::Conv { w, .. } = l {
                *w = channels_last(w);
            }
        }
    }

    /// relu1_1, relu2_1, relu3_1, relu4_1 of `x` (`[N,3,H,W]` RGB in `[0, 1]`).
    pub fn taps(&self, x: &Tensor) -> Vec<Tensor> {
        let mut out = Vec::with_capacity(4);
        let mut x = x.shallow_clone();
        for l in &self.layers {
            match l {
                Layer::Conv { w, b, k, relu, tap } => {
                    if *k == 3 {
                        x = x.reflection_pad2d([1, 1, 1, 1]);
                    }
                    x = x.conv2d(w, Some(b), [1, 1], [0, 0], [1, 1], 1);
                    if *relu {
                        x = x.relu();
                    }
                    if *tap {
                        out.push(x.shallow_clone());
                    }
                }
                Layer::Pool => x = x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], true),
            }
        }
        out
    }

    /// relu4_1 only.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.taps(x).pop().expect("four taps")
    }
}

/// The same values with NHWC memory layout: tch exposes no `memory_format`, but a
/// permute-contiguous-permute round trip yields exactly PyTorch's channels_last strides.
pub fn channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// The decoder; parameters live in the `VarStore` under `decoder.pth` names ("1.weight", ...).
pub struct Decoder {
    convs: Vec<(nn::Conv2D, bool)>,
}

impl Decoder {
    pub fn new(p: &nn::Path) -> Self {
        let convs = model::DECODER
            .iter()
            .filter_map(|op| match *op {
                Op::Conv {
                    key,
                    cin,
                    cout,
                    k,
                    relu,
                    ..
                } => Some((
                    nn::conv2d(
                        p / key,
                        cin as i64,
                        cout as i64,
                        k as i64,
                        Default::default(),
                    ),
                    relu,
                )),
                _ => None,
            })
            .collect();
        Decoder { convs }
    }

    /// `t` `[N,512,h,w]` -> image `[N,3,8h,8w]` (not clamped).
    pub fn forward(&self, t: &Tensor) -> Tensor {
        self.forward_kind(t, Kind::Float)
    }

    /// [`Decoder::forward`] with the convolutions computed in `kind` (BFloat16 for mixed
    /// precision): the float32 variables are cast on the way in, so their gradients (the master
    /// weights Adam updates) stay float32. The output is float32.
    pub fn forward_kind(&self, t: &Tensor, kind: Kind) -> Tensor {
        let mut x = t.to_kind(kind);
        let mut conv = self.convs.iter();
        for op in model::DECODER {
            match op {
                Op::Conv { .. } => {
                    let (c, relu) = conv.next().expect("one conv per table entry");
                    x = x.reflection_pad2d([1, 1, 1, 1]);
                    x = if kind == Kind::Float {
                        x.apply(c)
                    } else {
                        let b = c.bs.as_ref().map(|b| b.to_kind(kind));
                        x.conv2d(&c.ws.to_kind(kind), b.as_ref(), [1, 1], [0, 0], [1, 1], 1)
                    };
                    if *relu {
                        x = x.relu();
                    }
                }
                Op::Upsample => {
                    let (h, w) = (x.size()[2], x.size()[3]);
                    x = x.upsample_nearest2d([h * 2, w * 2], 2.0, 2.0);
                }
                Op::MaxPool => unreachable!("the decoder table has no pooling"),
            }
        }
        x.to_kind(Kind::Float)
    }
}

/// A `[1,3,H,W]` float tensor of a loaded image, on `device`.
pub fn image_tensor(img: &crate::imaging::Image, device: Device) -> Tensor {
    let (h, w) = (img.height() as i64, img.width() as i64);
    Tensor::from_slice(img.data.as_slice().expect("standard layout"))
        .reshape([1, 3, h, w])
        .to_device(device)
}

/// Copies `w` (decoder.pth layout) into the variables of `vs`.
pub fn load_decoder(vs: &mut nn::VarStore, w: &Weights) -> Result<()> {
    let device = vs.device();
    let vars = vs.variables();
    tch::no_grad(|| {
        for (name, t) in &w.tensors {
            let mut v = vars
                .get(name)
                .ok_or_else(|| Error::MissingWeight {
                    path: w.path.clone(),
                    key: name.clone(),
                })?
                .shallow_clone();
            v.copy_(&to_tensor(t, device));
        }
        Ok(())
    })
}

/// Decoder variables as [`Weights`] (for the exporter).
pub fn decoder_weights(vs: &nn::VarStore) -> Weights {
    named_weights(vs.variables())
}

/// Named tensors (decoder.pth keys) as float32 host [`Weights`].
pub(super) fn named_weights(named: impl IntoIterator<Item = (String, Tensor)>) -> Weights {
    let tensors = named
        .into_iter()
        .map(|(k, v)| {
            let v = v.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
            let shape: Vec<usize> = v.size().iter().map(|&d| d as usize).collect();
            let data = Vec::<f32>::try_from(v.flatten(0, -1)).expect("float tensor");
            (k, model::Tensor { shape, data })
        })
        .collect();
    Weights {
        tensors,
        path: "<trained>".into(),
        sha256: String::new(),
    }
}

/// Per-sample, per-channel mean and sqrt(unbiased var + EPS) over H x W, `[N,C,1,1]`.
pub fn mean_std(x: &Tensor) -> (Tensor, Tensor) {
    let x32 = x.to_kind(Kind::Float);
    let mean = x32.mean_dim([2i64, 3].as_slice(), true, Kind::Float);
    let var = x32.var_dim([2i64, 3].as_slice(), true, true);
    (mean, (var + EPS as f64).sqrt())
}

/// `alpha * AdaIN(c, s) + (1 - alpha) * c` with style statistics given; `alpha` `[N]`.
pub fn adain(c: &Tensor, s_mean: &Tensor, s_std: &Tensor, alpha: &Tensor) -> Tensor {
    let (cm, cs) = mean_std(c);
    let styled = (c - &cm) / &cs * s_std + s_mean;
    let a = alpha.view([-1, 1, 1, 1]);
    c + a * (styled - c)
}
