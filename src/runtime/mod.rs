//! ONNX Runtime sessions over the exported graphs, run on ndarray tensors: encoder / AdaIN /
//! decoder, the fused graphs and the quality judge, with input sizes checked before they reach
//! an ONNX op. Opening them (library, provider, checks at start) is `session`'s.
//! The only module that knows `ort`.

mod session;

use session::{
    ADAIN_PORTS, DECODER_PORTS, ENCODER_PORTS, FUSED_PORTS, check_int8_recipe, open_checked,
    open_session,
};
pub use session::{Provider, Resolved, RuntimeConfig, environment, resolve_precision};

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array4, ArrayView1, ArrayView4, Ix4};
use ort::session::Session;
use ort::value::TensorRef;

use crate::error::{Error, Result};
use crate::model::MIN_SIDE;
use crate::onnx::{
    ADAIN_DECODER_FILE, ADAIN_FILE, DECODER_FILE, ENCODER_FILE, Precision, STYLIZE_FILE,
};

/// Refuses images the network cannot take: reflection pads need every map >= 2 wide.
pub fn check_size(what: &Path, width: u32, height: u32) -> Result<()> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::TooSmall {
            path: what.into(),
            width,
            height,
            min: MIN_SIDE,
        });
    }
    Ok(())
}

/// Encoder output for a batch: relu4_1 and its per-channel statistics.
pub struct Encoded {
    pub features: Array4<f32>, // [N, 512, h, w]
    pub mean: Array4<f32>,     // [N, 512, 1, 1]
    pub std: Array4<f32>,      // [N, 512, 1, 1]
}

/// What [`Models::stylize_features_timed`] did: AdaIN seconds (0 with the fused graph, whose
/// time then includes AdaIN), decoder seconds, and the uncropped images.
pub struct Stylized {
    pub adain_s: f64,
    pub decode_s: f64,
    pub images: Array4<f32>,
}

/// One content's features bound to the fused graph ([`Models::bind_content`]).
pub struct BoundContent {
    binding: ort::session::IoBinding,
    host: ort::memory::MemoryInfo<'static>,
}

/// The three graphs of the split pipeline, each in its own session.
pub struct Models {
    /// The graph files the sessions were made from (encoder, AdaIN, decoder, fused when used):
    /// what a run's manifest hashes.
    pub files: Vec<PathBuf>,
    /// Encodes contents and styles.
    encoder: Session,
    adain: Session,
    decoder: Session,
    /// AdaIN + decoder in one graph, when the folder has it (exports before it lack the file).
    adain_decoder: Option<Session>,
    precision: Precision,
    pub provider: Resolved,
    pub dir: PathBuf,
}

fn out4(outputs: &ort::session::SessionOutputs<'_>, name: &str) -> Result<Array4<f32>> {
    let arr = outputs[name].try_extract_array::<f32>()?;
    arr.to_owned()
        .into_dimensionality::<Ix4>()
        .map_err(|e| Error::Runtime(format!("output '{name}': expected rank 4: {e}")))
}

/// `images`: `[N, 3, H, W]` RGB in [0,1] through an encoder graph.
fn run_encoder(encoder: &mut Session, images: ArrayView4<'_, f32>) -> Result<Encoded> {
    let (_, _, h, w) = images.dim();
    check_size(Path::new("<tensor>"), w as u32, h as u32)?;
    let images = images.as_standard_layout();
    let out = encoder
        .run(ort::inputs!["image" => TensorRef::from_array_view(images.view())?])
        .map_err(|e| Error::ort("running the encoder graph", e))?;
    Ok(Encoded {
        features: out4(&out, "features")?,
        mean: out4(&out, "mean")?,
        std: out4(&out, "std")?,
    })
}

impl Models {
    /// Opens the graphs of `cfg.precision` in `dir`: that precision's own files where it has
    /// them, the fp32 ones otherwise. The fused AdaIN + decoder graph is used when the
    /// precision has one and it is there; a precision's own decoder is never replaced by a
    /// graph of another precision.
    pub fn open(dir: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let precision = cfg.precision;
        let graphs = [ENCODER_FILE, ADAIN_FILE, DECODER_FILE].map(|g| precision.file(g));
        for file in &graphs {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(Error::MissingGraph {
                    path,
                    precision: precision.as_str(),
                    export: session::export_command(precision, dir),
                });
            }
        }
        if precision == Precision::Int8 {
            check_int8_recipe(dir)?;
        }
        let (encoder, provider) = open_checked(&dir.join(&graphs[0]), cfg, ENCODER_PORTS)?;
        // Once the first session settled the provider, the others must use the same one.
        let cfg2 = RuntimeConfig {
            provider: provider.as_choice(),
            ..cfg.clone()
        };
        let (adain, _) = open_checked(&dir.join(ADAIN_FILE), &cfg2, ADAIN_PORTS)?;
        let (decoder, _) = open_checked(
            &dir.join(precision.file(DECODER_FILE)),
            &cfg2,
            DECODER_PORTS,
        )?;
        let fused = dir.join(precision.file(ADAIN_DECODER_FILE));
        let own_fused =
            precision == Precision::Fp32 || precision.own_graphs().contains(&ADAIN_DECODER_FILE);
        let adain_decoder = if own_fused && fused.is_file() {
            Some(open_checked(&fused, &cfg2, FUSED_PORTS)?.0)
        } else {
            None
        };
        let mut files: Vec<PathBuf> = graphs.iter().map(|g| dir.join(g)).collect();
        files[1] = dir.join(ADAIN_FILE);
        if adain_decoder.is_some() {
            files.push(fused);
        }
        Ok(Models {
            files,
            encoder,
            adain,
            decoder,
            adain_decoder,
            precision,
            provider,
            dir: dir.into(),
        })
    }

    /// The precision of the graphs this runs.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// `images`: `[N, 3, H, W]` RGB in `[0, 1]`.
    /// # Shapes
    /// returns features `[N, 512, ceil(H/8), ceil(W/8)]`, mean/std `[N, 512, 1, 1]`.
    pub fn encode(&mut self, images: ArrayView4<'_, f32>) -> Result<Encoded> {
        run_encoder(&mut self.encoder, images)
    }

    /// AdaIN + alpha blend. `content` may have batch 1 while statistics and `alpha` have N
    /// (broadcast), so one content's features serve every style and alpha.
    pub fn adain(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Array4<f32>> {
        run_adain_inputs(&mut self.adain, content, style_mean, style_std, alpha, "t")
    }

    /// AdaIN and decoder for a batch of (style statistics, alpha) on one content's features,
    /// through `adain_decoder.onnx` when present, else `adain.onnx` then `decoder.onnx`.
    /// Returns the uncropped images.
    pub fn stylize_features(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Array4<f32>> {
        Ok(self
            .stylize_features_timed(content, style_mean, style_std, alpha)?
            .images)
    }

    /// [`Models::stylize_features`], timed per stage.
    pub fn stylize_features_timed(
        &mut self,
        content: ArrayView4<'_, f32>,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Stylized> {
        let t = std::time::Instant::now();
        let Some(fused) = self.adain_decoder.as_mut() else {
            let tt = self.adain(content, style_mean, style_std, alpha)?;
            let adain_s = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let images = self.decode(tt.view())?;
            return Ok(Stylized {
                adain_s,
                decode_s: t.elapsed().as_secs_f64(),
                images,
            });
        };
        let images = run_adain_inputs(fused, content, style_mean, style_std, alpha, "image")?;
        Ok(Stylized {
            adain_s: 0.0,
            decode_s: t.elapsed().as_secs_f64(),
            images,
        })
    }

    /// Binds one content's relu4_1 `features` to the fused AdaIN + decoder graph for
    /// [`Models::stylize_bound`]: on CUDA they are copied to the device once here, not once per
    /// batch of (style, alpha). Needs the fused graph ([`Models::has_fused`]).
    pub fn bind_content(&mut self, features: Array4<f32>) -> Result<BoundContent> {
        let Some(fused) = self.adain_decoder.as_ref() else {
            return Err(Error::Runtime(format!(
                "{}: no fused AdaIN + decoder graph to bind to",
                self.dir.display()
            )));
        };
        let mut binding = fused.create_binding()?;
        binding.bind_input(
            "content_features",
            &ort::value::Tensor::from_array(features)?,
        )?;
        // The images come back to host memory once per call, where the save stage needs them.
        let host = ort::memory::MemoryInfo::new(
            ort::memory::AllocationDevice::CPU,
            0,
            ort::memory::AllocatorType::Device,
            ort::memory::MemoryType::CPUOutput,
        )?;
        Ok(BoundContent { binding, host })
    }

    /// [`Models::stylize_features_timed`] for a content bound by [`Models::bind_content`]: only
    /// the batch's statistics and alphas travel per call.
    pub fn stylize_bound(
        &mut self,
        bound: &mut BoundContent,
        style_mean: ArrayView4<'_, f32>,
        style_std: ArrayView4<'_, f32>,
        alpha: ArrayView1<'_, f32>,
    ) -> Result<Stylized> {
        let t = std::time::Instant::now();
        let fused = self
            .adain_decoder
            .as_mut()
            .expect("bind_content returned a binding, so the fused graph is open");
        let b = &mut bound.binding;
        b.bind_input(
            "style_mean",
            &ort::value::Tensor::from_array(style_mean.to_owned())?,
        )?;
        b.bind_input(
            "style_std",
            &ort::value::Tensor::from_array(style_std.to_owned())?,
        )?;
        b.bind_input("alpha", &ort::value::Tensor::from_array(alpha.to_owned())?)?;
        // Bound afresh each call: after a run the binding holds that run's output tensor, and a
        // batch of another size (a content's last, shorter batch) would be refused.
        b.bind_output_to_device("image", &bound.host)?;
        let out = fused
            .run_binding(b)
            .map_err(|e| Error::ort("running the fused AdaIN + decoder graph", e))?;
        let images = out4(&out, "image")?;
        Ok(Stylized {
            adain_s: 0.0,
            decode_s: t.elapsed().as_secs_f64(),
            images,
        })
    }

    /// Whether AdaIN and the decoder run as one graph (`adain_decoder.onnx`), keeping the AdaIN
    /// target on the execution provider.
    pub fn has_fused(&self) -> bool {
        self.adain_decoder.is_some()
    }

    /// The decoder weights' file name recorded in the decoder graph (empty when not recorded).
    pub fn decoder_label(&self) -> String {
        crate::onnx::read_metadata(&self.dir.join(self.precision.file(DECODER_FILE)))
            .ok()
            .and_then(|m| crate::onnx::metadata_value(&m, "adain.decoder.file").map(String::from))
            .unwrap_or_default()
    }

    /// Decoder; the output is `8*ceil(h)` sized: crop with [`crop`].
    pub fn decode(&mut self, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
        run_decoder(&mut self.decoder, t)
    }
}

fn run_decoder(decoder: &mut Session, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
    let t = t.as_standard_layout();
    let out = decoder
        .run(ort::inputs!["t" => TensorRef::from_array_view(t.view())?])
        .map_err(|e| Error::ort("running the decoder graph", e))?;
    out4(&out, "image")
}

/// One encoder or decoder graph on its own, for tools and tests that need a single one (the
/// int8 check under an emulated CPU opens only the two int8 graphs: every session costs
/// seconds there).
pub struct Graph {
    session: Session,
}

impl Graph {
    pub fn open(path: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        Ok(Graph {
            session: open_session(path, cfg)?.0,
        })
    }

    /// As [`Models::encode`], for an encoder graph.
    pub fn encode(&mut self, images: ArrayView4<'_, f32>) -> Result<Encoded> {
        run_encoder(&mut self.session, images)
    }

    /// As [`Models::decode`], for a decoder graph.
    pub fn decode(&mut self, t: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
        run_decoder(&mut self.session, t)
    }
}

/// Runs a graph with the AdaIN inputs (`adain.onnx`, `adain_decoder.onnx`) and returns `output`.
fn run_adain_inputs(
    session: &mut Session,
    content: ArrayView4<'_, f32>,
    style_mean: ArrayView4<'_, f32>,
    style_std: ArrayView4<'_, f32>,
    alpha: ArrayView1<'_, f32>,
    output: &str,
) -> Result<Array4<f32>> {
    let (c, m, s) = (
        content.as_standard_layout(),
        style_mean.as_standard_layout(),
        style_std.as_standard_layout(),
    );
    let a = alpha.as_standard_layout();
    let out = session
        .run(ort::inputs![
            "content_features" => TensorRef::from_array_view(c.view())?,
            "style_mean" => TensorRef::from_array_view(m.view())?,
            "style_std" => TensorRef::from_array_view(s.view())?,
            "alpha" => TensorRef::from_array_view(a.view())?,
        ])
        .map_err(|e| {
            Error::ort(
                format!("running the AdaIN graph for its output {output}"),
                e,
            )
        })?;
    out4(&out, output)
}

/// Crops decoder output `[N,3,H8,W8]` to `[N,3,h,w]`.
pub fn crop(images: Array4<f32>, h: usize, w: usize) -> Array4<f32> {
    let (_, _, ih, iw) = images.dim();
    if ih == h && iw == w {
        return images;
    }
    images.slice(ndarray::s![.., .., ..h, ..w]).to_owned()
}

/// The fused graph, for tools and tests that want one call.
pub struct Fused {
    session: Session,
    pub provider: Resolved,
}

impl Fused {
    /// Opens `stylize.onnx` at `cfg.precision` (fp32 where the precision has no own version).
    pub fn open(dir: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let (session, provider) = open_session(&dir.join(cfg.precision.file(STYLIZE_FILE)), cfg)?;
        Ok(Fused { session, provider })
    }

    pub fn run(
        &mut self,
        content: ArrayView4<'_, f32>,
        style: ArrayView4<'_, f32>,
        alpha: &Array1<f32>,
    ) -> Result<Array4<f32>> {
        let (_, _, h, w) = content.dim();
        check_size(Path::new("<content tensor>"), w as u32, h as u32)?;
        let (_, _, hs, ws) = style.dim();
        check_size(Path::new("<style tensor>"), ws as u32, hs as u32)?;
        let (c, s) = (content.as_standard_layout(), style.as_standard_layout());
        let out = self
            .session
            .run(ort::inputs![
                "content" => TensorRef::from_array_view(c.view())?,
                "style" => TensorRef::from_array_view(s.view())?,
                "alpha" => TensorRef::from_array_view(alpha.view())?,
            ])
            .map_err(|e| Error::ort("running the stylize graph", e))?;
        out4(&out, "image")
    }
}

/// What the quality judge sees in one image: (mean, std) per tapped layer, relu1_1..relu4_1,
/// and relu4_1 itself.
pub struct Judged {
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
    pub features: Vec<f32>,
    /// `[C, h, w]` of `features`.
    pub shape: [usize; 3],
}

/// The `adain quality` judge network (see [`crate::onnx::graphs::judge`]) in one session.
pub struct Judge {
    session: Session,
    pub provider: Resolved,
}

impl Judge {
    /// Opens a judge graph written by [`crate::onnx::export_judge`].
    pub fn open(path: &Path, cfg: &RuntimeConfig) -> Result<Self> {
        let (session, provider) = open_session(path, cfg)?;
        Ok(Judge { session, provider })
    }

    /// Judges one `[3, H, W]` image in `[0, 1]`.
    pub fn judge(&mut self, image: ndarray::ArrayView3<'_, f32>) -> Result<Judged> {
        let (_, h, w) = image.dim();
        check_size(Path::new("<image>"), w as u32, h as u32)?;
        let x = image.insert_axis(ndarray::Axis(0));
        let x = x.as_standard_layout();
        let out = self
            .session
            .run(ort::inputs!["image" => TensorRef::from_array_view(x.view())?])
            .map_err(|e| Error::ort("running the judge's encoder graph", e))?;
        let mut stats = Vec::new();
        for tap in crate::model::ENCODER.iter().filter_map(|op| match op {
            crate::model::Op::Conv { tap: Some(t), .. } => Some(*t),
            _ => None,
        }) {
            let v = |name: String| -> Result<Vec<f32>> {
                Ok(out4(&out, &name)?.iter().copied().collect())
            };
            stats.push((v(format!("{tap}_mean"))?, v(format!("{tap}_std"))?));
        }
        let f = out4(&out, "features")?;
        let (_, c, fh, fw) = f.dim();
        Ok(Judged {
            stats,
            features: f.iter().copied().collect(),
            shape: [c, fh, fw],
        })
    }
}
