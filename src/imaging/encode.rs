//! Images out: planar tensors to 8-bit RGB, the output formats (`--format`) and their
//! encoders (SIMD JPEG, PNG, WebP through `image`), each file written atomically.

use std::io::Cursor;
use std::path::Path;

use image::{Rgb, RgbImage};
use ndarray::ArrayView3;

use crate::error::{Error, Result};

/// Planar `[3,H,W]` (any range) to 8-bit RGB, clamped to `[0, 1]`.
pub fn to_rgb8(data: ArrayView3<'_, f32>) -> RgbImage {
    let (_, h, w) = data.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let px =
            |c: usize| (data[[c, y as usize, x as usize]].clamp(0.0, 1.0) * 255.0).round() as u8;
        Rgb([px(0), px(1), px(2)])
    })
}

/// Output encodings (also adain-batch's `--format` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jpg,
    Png,
    /// Lossless WebP (the `image` crate's encoder); `quality` does not apply.
    Webp,
}

impl Format {
    /// The `image` crate's name for the format (its encoders and its signature sniffing).
    pub fn image_format(self) -> image::ImageFormat {
        match self {
            Format::Jpg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Webp => image::ImageFormat::WebP,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }
}

/// How an image file is written: the format with the settings that format has (only JPEG has
/// a quality). The one owner of output encoding: a new per-output option is a field here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Jpeg {
        quality: u8,
    },
    Png,
    /// Lossless WebP (the `image` crate's encoder).
    WebpLossless,
}

impl Encoding {
    /// `--format` and `--quality` as the user gave them (`quality` is ignored unless JPEG).
    pub fn new(format: Format, quality: u8) -> Self {
        match format {
            Format::Jpg => Encoding::Jpeg { quality },
            Format::Png => Encoding::Png,
            Format::Webp => Encoding::WebpLossless,
        }
    }

    pub fn format(self) -> Format {
        match self {
            Encoding::Jpeg { .. } => Format::Jpg,
            Encoding::Png => Format::Png,
            Encoding::WebpLossless => Format::Webp,
        }
    }

    pub fn extension(self) -> &'static str {
        self.format().extension()
    }

    /// Encodes an image in memory.
    pub fn encode(self, img: &RgbImage) -> Result<Vec<u8>> {
        let mut buf = Cursor::new(Vec::new());
        let r = match self {
            Encoding::Jpeg { quality } => return encode_jpeg(img, quality),
            Encoding::Png => img.write_to(&mut buf, image::ImageFormat::Png),
            Encoding::WebpLossless => {
                img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut buf))
            }
        };
        r.map_err(|e| Error::Invalid(format!("cannot encode image: {e}")))?;
        Ok(buf.into_inner())
    }

    /// Encodes and writes `path` atomically.
    pub fn save(self, path: &Path, img: &RgbImage) -> Result<()> {
        let bytes = self
            .encode(img)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        crate::fsutil::write_atomic(path, &bytes)
    }
}

/// JPEG through the `jpeg-encoder` crate (SIMD on x86-64 with AVX2, chosen at run time; 4:2:0).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let (w, h) = img.dimensions();
    let (w16, h16) = match (u16::try_from(w), u16::try_from(h)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            return Err(Error::Invalid(format!(
                "cannot encode a {w}x{h} image as JPEG (at most 65535 px a side); use --format png"
            )));
        }
    };
    let mut buf = Vec::with_capacity((w * h / 4) as usize);
    jpeg_encoder::Encoder::new(&mut buf, quality)
        .encode(img.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::Invalid(format!("cannot encode image: {e}")))?;
    Ok(buf)
}
