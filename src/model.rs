//! The AdaIN contract in plain Rust (Huang & Belongie, ICCV 2017, as the PyTorch port
//! naoto0804/pytorch-AdaIN implements it): the VGG-19 encoder to relu4_1
//! and the decoder as layer tables with the PyTorch port's state-dict keys, the AdaIN statistics
//! (unbiased variance + 1e-5), the output-size rule, and weights IO as safetensors. Exporter,
//! trainer and tests all read these tables, so the architecture is written down exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Added to the variance before the square root (PyTorch port, `calc_mean_std`).
pub const EPS: f32 = 1e-5;
/// Written into every exported graph's metadata and checked by tests.
pub const VARIANCE_CONVENTION: &str =
    "unbiased (sum of squares / (H*W-1)) per sample and channel over H x W; std = sqrt(var + 1e-5)";
/// Channels of relu4_1, the features AdaIN works on.
pub const FEATURE_CHANNELS: usize = 512;
/// Smallest image side accepted. Reflection padding needs every padded map to be at least 2 wide;
/// relu4_1 is at 1/8 scale, so 9 px is the hard limit and 16 px (2x2 at relu4_1, so that the
/// unbiased variance has H*W-1 > 0 with room) is the documented one.
pub const MIN_SIDE: u32 = 16;

/// One step of the encoder or decoder, in `nn.Sequential` order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Convolution; `k` = 3 is preceded by ReflectionPad2d(1). `relu` follows it when true.
    /// `tap` names the activation after the ReLU that the style loss reads (relu1_1..relu4_1).
    Conv {
        key: &'static str,
        cin: usize,
        cout: usize,
        k: usize,
        relu: bool,
        tap: Option<&'static str>,
    },
    /// MaxPool2d(2, 2, ceil_mode=True).
    MaxPool,
    /// Upsample(scale_factor=2, mode='nearest').
    Upsample,
}

const fn conv3(key: &'static str, cin: usize, cout: usize, tap: Option<&'static str>) -> Op {
    Op::Conv {
        key,
        cin,
        cout,
        k: 3,
        relu: true,
        tap,
    }
}

/// `vgg_normalised.pth` keys 0..29 (relu4_1). Key `0` is the 1x1 preprocessing conv
/// (RGB `[0, 1]` -> BGR `[0, 255]` minus the ImageNet mean).
pub const ENCODER: &[Op] = &[
    Op::Conv {
        key: "0",
        cin: 3,
        cout: 3,
        k: 1,
        relu: false,
        tap: None,
    },
    conv3("2", 3, 64, Some("relu1_1")),
    conv3("5", 64, 64, None),
    Op::MaxPool,
    conv3("9", 64, 128, Some("relu2_1")),
    conv3("12", 128, 128, None),
    Op::MaxPool,
    conv3("16", 128, 256, Some("relu3_1")),
    conv3("19", 256, 256, None),
    conv3("22", 256, 256, None),
    conv3("25", 256, 256, None),
    Op::MaxPool,
    conv3("29", 256, 512, Some("relu4_1")),
];

/// `decoder.pth` keys; the last conv has no activation.
pub const DECODER: &[Op] = &[
    conv3("1", 512, 256, None),
    Op::Upsample,
    conv3("5", 256, 256, None),
    conv3("8", 256, 256, None),
    conv3("11", 256, 256, None),
    conv3("14", 256, 128, None),
    Op::Upsample,
    conv3("18", 128, 128, None),
    conv3("21", 128, 64, None),
    Op::Upsample,
    conv3("25", 64, 64, None),
    Op::Conv {
        key: "28",
        cin: 64,
        cout: 3,
        k: 3,
        relu: false,
        tap: None,
    },
];

/// The style-loss taps in order.
pub const STYLE_LAYERS: [&str; 4] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"];

/// Every `(key.weight, shape)` and `(key.bias, shape)` a table needs.
pub fn expected_shapes(ops: &[Op]) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for op in ops {
        if let Op::Conv {
            key, cin, cout, k, ..
        } = *op
        {
            out.push((format!("{key}.weight"), vec![cout, cin, k, k]));
            out.push((format!("{key}.bias"), vec![cout]));
        }
    }
    out
}

/// Multiply-adds per pixel of the image a network reads (the encoder) or writes (the decoder),
/// from the layer table: each convolution's `cin * cout * k * k` times its map's area relative
/// to the image (a pool quarters it, an upsample quadruples it). What `bench/speed.sh` divides
/// stage times by to give multiply-adds per second against the CPU's peak.
pub fn macs_per_pixel(ops: &[Op]) -> f64 {
    // The decoder's table starts at relu4_1, three pools below the image it writes.
    let pools = ops.iter().filter(|op| matches!(op, Op::MaxPool)).count() as i32;
    let ups = ops.iter().filter(|op| matches!(op, Op::Upsample)).count() as i32;
    let mut area = 4f64.powi(-(ups - pools).max(0));
    let mut total = 0.0;
    for op in ops {
        match *op {
            Op::Conv { cin, cout, k, .. } => total += (cin * cout * k * k) as f64 * area,
            Op::MaxPool => area /= 4.0,
            Op::Upsample => area *= 4.0,
        }
    }
    total
}

/// Side of the decoder's output for an input side (three ceil-mode pools, three x2 upsamples).
/// Callers crop back to the input size.
pub fn decoded_side(side: u32) -> u32 {
    let mut s = side;
    for _ in 0..3 {
        s = s.div_ceil(2);
    }
    s * 8
}

/// Side of relu4_1 for an input side.
pub fn feature_side(side: u32) -> u32 {
    decoded_side(side) / 8
}

/// A dense f32 tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// An ndarray array of any rank, in its logical (row-major) order.
    pub fn from_array<D: ndarray::Dimension>(a: ndarray::Array<f32, D>) -> Self {
        Tensor {
            shape: a.shape().to_vec(),
            data: a.into_iter().collect(),
        }
    }
}

/// A set of named tensors with the file they came from and its sha256.
#[derive(Debug, Clone)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
    pub path: PathBuf,
    pub sha256: String,
}

impl Weights {
    /// Loads a safetensors file and checks it holds every tensor `ops` needs with the right shape.
    /// Extra tensors (e.g. relu5 keys of a full VGG) are ignored.
    pub fn load(path: &Path, ops: &[Op]) -> Result<Self> {
        let bytes = crate::fsutil::read_regular(path)?;
        let sha256 = hex_sha256(&bytes);
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| Error::Weights {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let mut tensors = BTreeMap::new();
        for (key, shape) in expected_shapes(ops) {
            let view = st.tensor(&key).map_err(|_| Error::MissingWeight {
                path: path.into(),
                key: key.clone(),
            })?;
            if view.shape() != shape.as_slice() {
                return Err(Error::WeightShape {
                    path: path.into(),
                    key,
                    expected: shape,
                    got: view.shape().to_vec(),
                });
            }
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(Error::Weights {
                    path: path.into(),
                    reason: format!("tensor '{key}': expected dtype F32, got {:?}", view.dtype()),
                });
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(key, Tensor { shape, data });
        }
        let w = Weights {
            tensors,
            path: path.into(),
            sha256,
        };
        w.check_values()?;
        Ok(w)
    }

    /// Refuses weights no trained network has: a non-finite value (a diverged run), or a
    /// convolution kernel whose values are all the same (all zero: a zeroed or truncated
    /// file). Either would give black or flat images that look like success. Biases may be
    /// constant (zero-initialised layers), kernels never are.
    pub fn check_values(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::Weights {
                path: self.path.clone(),
                reason,
            })
        };
        for (key, t) in &self.tensors {
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                let n = t.data.iter().filter(|v| !v.is_finite()).count();
                return bad(format!(
                    "tensor '{key}': {n} of its {} values are not finite (the first, at index {i}, is {}); a diverged or corrupted training run?",
                    t.data.len(),
                    t.data[i]
                ));
            }
            if key.ends_with(".weight")
                && t.data.len() > 1
                && t.data.iter().all(|v| *v == t.data[0])
            {
                return bad(format!(
                    "tensor '{key}': all {} values are {} (a convolution kernel is never constant: zeroed or broken weights)",
                    t.data.len(),
                    t.data[0]
                ));
            }
        }
        Ok(())
    }

    /// PyTorch's default Conv2d initialisation (uniform in +-1/sqrt(fan_in) for weight and bias),
    /// seeded: the stand-in decoder shipped until a trained one exists.
    pub fn random(ops: &[Op], seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = BTreeMap::new();
        for op in ops {
            if let Op::Conv {
                key, cin, cout, k, ..
            } = *op
            {
                let bound = 1.0 / ((cin * k * k) as f32).sqrt();
                let mut gen_t = |shape: Vec<usize>| {
                    let n = shape.iter().product();
                    let data = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
                    Tensor { shape, data }
                };
                tensors.insert(format!("{key}.weight"), gen_t(vec![cout, cin, k, k]));
                tensors.insert(format!("{key}.bias"), gen_t(vec![cout]));
            }
        }
        let mut w = Weights {
            tensors,
            path: PathBuf::from(format!("random-decoder-seed-{seed}")),
            sha256: String::new(),
        };
        // The digest of the safetensors serialisation identifies these weights in graph metadata.
        w.sha256 = hex_sha256(&w.to_bytes().expect("f32 tensors serialise"));
        w
    }

    pub fn get(&self, key: &str) -> &Tensor {
        // Keys come from the static tables that `load`/`random` already checked.
        &self.tensors[key]
    }

    /// Writes the tensors as safetensors (atomically) and returns the file's sha256.
    pub fn save(&self, path: &Path) -> Result<String> {
        save_tensors(path, &self.tensors)
    }

    /// The safetensors serialisation.
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        safetensors_bytes(&self.tensors)
    }
}

/// Writes named f32 tensors (weights, calibration samples, images for Python) as safetensors,
/// atomically; returns the file's sha256.
pub fn save_tensors(path: &Path, tensors: &BTreeMap<String, Tensor>) -> Result<String> {
    let bytes = safetensors_bytes(tensors).map_err(|reason| Error::Weights {
        path: path.into(),
        reason,
    })?;
    crate::fsutil::write_atomic(path, &bytes)?;
    Ok(hex_sha256(&bytes))
}

/// Named f32 tensors as safetensors bytes.
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, Tensor>,
) -> std::result::Result<Vec<u8>, String> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, t)| {
            let bytes: &[u8] = bytemuck_f32(&t.data);
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                t.shape.clone(),
                bytes,
            )
            .expect("shape and data length agree by construction");
            (k.clone(), view)
        })
        .collect();
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

fn bytemuck_f32(data: &[f32]) -> &[u8] {
    // f32 has no padding and any byte pattern is a valid u8; the platform is little-endian
    // (safetensors stores little-endian) on every target adain supports.
    const _: () = assert!(cfg!(target_endian = "little"));
    unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data)) }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Per-channel statistics of one sample's features `[C, H, W]`: mean and
/// `sqrt(unbiased var + EPS)`, accumulated in f64.
pub fn mean_std(features: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let hw = features.len() / channels;
    let mut mean = Vec::with_capacity(channels);
    let mut std = Vec::with_capacity(channels);
    for c in features.chunks_exact(hw) {
        let m = c.iter().map(|&v| v as f64).sum::<f64>() / hw as f64;
        let ss = c.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>();
        let var = ss / (hw as f64 - 1.0);
        mean.push(m as f32);
        std.push((var + EPS as f64).sqrt() as f32);
    }
    (mean, std)
}

/// Weighted style statistics for style interpolation: since AdaIN is linear in (mean, std),
/// `sum_i w_i AdaIN(c, s_i)` equals AdaIN with `sum_i w_i mean_i` and `sum_i w_i std_i`.
/// Weights are normalised to sum to 1.
pub fn blend_stats(stats: &[(&[f32], &[f32])], weights: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
    if stats.is_empty() || stats.len() != weights.len() {
        return Err(Error::Invalid(format!(
            "style interpolation: {} styles but {} weights",
            stats.len(),
            weights.len()
        )));
    }
    let total: f32 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 || weights.iter().any(|w| *w < 0.0 || !w.is_finite()) {
        return Err(Error::Invalid(format!(
            "style interpolation weights must be non-negative with a positive sum, got {weights:?}"
        )));
    }
    let c = stats[0].0.len();
    let mut mean = vec![0.0; c];
    let mut std = vec![0.0; c];
    for ((m, s), w) in stats.iter().zip(weights) {
        let w = w / total;
        for i in 0..c {
            mean[i] += w * m[i];
            std[i] += w * s[i];
        }
    }
    Ok((mean, std))
}

/// Reference AdaIN with the alpha blend on one sample `[C, H, W]`, for tests and small tools.
pub fn adain(content: &[f32], style_mean: &[f32], style_std: &[f32], alpha: f32) -> Vec<f32> {
    let (cm, cs) = mean_std(content, style_mean.len());
    let mut out = vec![0.0; content.len()];
    adain_with_stats(
        content,
        (&cm, &cs),
        (style_mean, style_std),
        alpha,
        &mut out,
    );
    out
}

/// AdaIN with the alpha blend on one sample `[C, H, W]` into `out`, with the content
/// statistics given (video smooths them across frames), in the AdaIN graph's form:
/// `t = c + alpha * (s_std * (c - c_mean) / c_std + s_mean - c)`.
pub fn adain_with_stats(
    content: &[f32],
    (c_mean, c_std): (&[f32], &[f32]),
    (s_mean, s_std): (&[f32], &[f32]),
    alpha: f32,
    out: &mut [f32],
) {
    let hw = content.len() / s_mean.len();
    for (c, (o, chan)) in out
        .chunks_exact_mut(hw)
        .zip(content.chunks_exact(hw))
        .enumerate()
    {
        let scale = s_std[c] / c_std[c];
        for (o, &v) in o.iter_mut().zip(chan) {
            let styled = scale * (v - c_mean[c]) + s_mean[c];
            *o = v + alpha * (styled - v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiply_adds_per_pixel_follow_the_layer_tables() {
        // By hand: encoder 9 + 1,728 + 36,864 + (18,432 + 36,864) + (18,432 + 3 x 36,864)
        // + 18,432; decoder 18,432 + (3 x 36,864 + 18,432) + (36,864 + 18,432) + 36,864 + 1,728.
        assert_eq!(macs_per_pixel(ENCODER), 241_353.0);
        assert_eq!(macs_per_pixel(DECODER), 241_344.0);
    }

    #[test]
    fn decoded_side_follows_ceil_pooling() {
        assert_eq!(decoded_side(64), 64);
        assert_eq!(decoded_side(257), 264);
        assert_eq!(decoded_side(375), 376);
        assert_eq!(decoded_side(9), 16);
        assert_eq!(feature_side(16), 2);
    }

    #[test]
    fn mean_std_is_unbiased() {
        // numpy: x = [1, 2, 3, 4]; x.var(ddof=1) = 1.6666667
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0], 1);
        assert!((m[0] - 2.5).abs() < 1e-7);
        assert!(
            (s[0] - (1.6666667f32 + EPS).sqrt()).abs() < 1e-6,
            "std {}",
            s[0]
        );
    }

    #[test]
    fn adain_gives_style_statistics() {
        let content: Vec<f32> = (0..32)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 + 1.0)
            .collect();
        let out = adain(&content, &[5.0, -2.0], &[0.5, 2.0], 1.0);
        let (m, s) = mean_std(&out, 2);
        assert!(
            (m[0] - 5.0).abs() < 1e-4 && (m[1] + 2.0).abs() < 1e-4,
            "{m:?}"
        );
        // std of the output is style_std * sqrt(var/(var+eps)), i.e. style_std up to eps.
        assert!(
            (s[0] - 0.5).abs() < 1e-3 && (s[1] - 2.0).abs() < 1e-3,
            "{s:?}"
        );
        assert_eq!(adain(&content, &[5.0, -2.0], &[0.5, 2.0], 0.0), content);
    }

    #[test]
    fn blend_equals_mixture_of_adain() {
        let content: Vec<f32> = (0..18).map(|i| (i as f32).cos()).collect();
        let (m1, s1) = (vec![1.0, 2.0], vec![0.5, 1.5]);
        let (m2, s2) = (vec![-1.0, 0.0], vec![2.0, 0.25]);
        let (m, s) = blend_stats(&[(&m1, &s1), (&m2, &s2)], &[3.0, 1.0]).unwrap();
        let blended = adain(&content, &m, &s, 1.0);
        let a = adain(&content, &m1, &s1, 1.0);
        let b = adain(&content, &m2, &s2, 1.0);
        for i in 0..content.len() {
            assert!((blended[i] - (0.75 * a[i] + 0.25 * b[i])).abs() < 1e-5);
        }
        assert!(blend_stats(&[(&m1, &s1)], &[-1.0]).is_err());
    }

    #[test]
    fn tables_match_the_state_dict_keys() {
        let enc: Vec<String> = expected_shapes(ENCODER)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(enc.len(), 20);
        for k in ["0", "2", "5", "9", "12", "16", "19", "22", "25", "29"] {
            assert!(enc.contains(&format!("{k}.weight")));
        }
        let dec = expected_shapes(DECODER);
        assert_eq!(dec.len(), 18);
        assert_eq!(dec[0].1, vec![256, 512, 3, 3]);
    }
}
