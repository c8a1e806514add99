//! Images in and out: decode (any format the `image` crate reads, EXIF orientation applied,
//! alpha composited on white, greyscale/16-bit/CMYK converted to 8-bit-equivalent RGB), resize,
//! centre crop and colour transfer for `--preserve-color`; writing them is `encode`'s, labelled
//! contact sheets `sheet`'s.
//! Tensors are planar `[3, H, W]` f32 in `[0, 1]`, the layout the graphs take.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Rgb, Rgb32FImage, imageops};
use ndarray::Array3;

use crate::error::{Error, Result};
use crate::model::MIN_SIDE;

mod encode;
mod sheet;

pub use encode::{Encoding, Format, encode_jpeg, to_rgb8};
pub use sheet::{contact_sheet, draw_text, wrap_label};

/// Default limit for images kept at full size: a 48 MP phone photo fits, and stylizing it with
/// the default tiling stays under 4 GiB of memory (`bench/memory.sh`: 3.8 GiB at 48 MP).
pub const FULL_SIZE_MAX_PIXELS: u64 = 50_000_000;

/// Pixel limit for images that are always downscaled before use (training, evaluation): the
/// decoded original must still fit in memory.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// How to size an input image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizing {
    /// Downscale so the shorter side is at most this (never upscale); 0 keeps the original.
    pub short_side: u32,
    /// Centre-crop to a `short_side` x `short_side` square after resizing.
    pub crop: bool,
    /// Refuse images with more pixels than this when `short_side` is 0.
    pub max_pixels: u64,
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing {
            short_side: 512,
            crop: false,
            max_pixels: FULL_SIZE_MAX_PIXELS,
        }
    }
}

/// A decoded image as planar RGB in `[0, 1]`.
#[derive(Debug, Clone)]
pub struct Image {
    pub data: Array3<f32>, // [3, H, W]
}

impl Image {
    pub fn width(&self) -> u32 {
        self.data.dim().2 as u32
    }
    pub fn height(&self) -> u32 {
        self.data.dim().1 as u32
    }
}

fn decode_err(path: &Path, reason: impl ToString) -> Error {
    Error::Decode {
        path: path.into(),
        reason: reason.to_string(),
    }
}

/// Bytes per pixel allowed in an image file on top of a fixed 64 MiB: far above any real
/// encoding (16-bit RGBA is 8 bytes per pixel uncompressed), so only junk is refused.
const FILE_BYTES_PER_PIXEL: u64 = 16;

/// Reads an image file: only regular files (after following symlinks: never a FIFO, device or
/// socket, which could block or never end), and at most what `max_pixels` could need.
pub fn read_file(path: &Path, max_pixels: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(decode_err(
            path,
            "not a regular file (a FIFO, device, socket or folder); only image files are read",
        ));
    }
    let cap = (64 << 20) + max_pixels.saturating_mul(FILE_BYTES_PER_PIXEL);
    if meta.len() > cap {
        return Err(decode_err(
            path,
            format!(
                "file is {} bytes, over the {cap} bytes an image within the pixel limit can need",
                meta.len()
            ),
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // take(): the file may have grown since metadata() (it is someone else's file).
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(decode_err(
            path,
            format!("file grew past {cap} bytes while being read"),
        ));
    }
    Ok(bytes)
}

/// Reads, orients, converts and sizes one image.
pub fn load(path: &Path, sizing: &Sizing) -> Result<Image> {
    let limit = if sizing.short_side == 0 {
        sizing.max_pixels
    } else {
        sizing.max_pixels.saturating_mul(4)
    };
    let bytes = read_file(path, limit)?;
    decode(path, &bytes, sizing)
}

/// Whether JPEG `bytes` end their image data with the EOI marker. The decoder fills a scan cut
/// short with grey instead of failing; after the first start-of-scan marker, entropy-coded data
/// never holds 0xFF 0xD9 (0xFF is stuffed with 0x00 or followed by a restart marker), so a file
/// without it after the scan was cut.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    match sos {
        Some(i) => bytes[i..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// [`load`] on bytes already read; `path` names them in errors.
pub fn decode(path: &Path, bytes: &[u8], sizing: &Sizing) -> Result<Image> {
    if bytes.is_empty() {
        return Err(decode_err(path, "empty file"));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(path, e))?;
    match reader.format() {
        None => return Err(decode_err(path, "not a recognised image format")),
        Some(image::ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(decode_err(
                path,
                "truncated JPEG: the image data ends before its end marker",
            ));
        }
        Some(_) => {}
    }
    let mut decoder = reader.into_decoder().map_err(|e| decode_err(path, e))?;
    let (w, h) = decoder.dimensions();
    let pixels = w as u64 * h as u64;
    // Refuse before decoding: without a target size the network would run at full size; with
    // one, allow larger files (they are downscaled) but never a decompression bomb.
    let limit = if sizing.short_side == 0 {
        sizing.max_pixels
    } else {
        sizing.max_pixels.saturating_mul(4)
    };
    if pixels > limit {
        return Err(Error::TooLarge {
            path: path.into(),
            width: w,
            height: h,
            pixels,
            limit,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_err(path, e))?;
    img.apply_orientation(orientation);
    let mut rgb = flatten_alpha(img);
    if sizing.short_side > 0 {
        rgb = resize_short_side(rgb, sizing.short_side);
        if sizing.crop {
            rgb = centre_crop(rgb, sizing.short_side);
        }
    }
    let (w, h) = rgb.dimensions();
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(Error::TooSmall {
            path: path.into(),
            width: w,
            height: h,
            min: MIN_SIDE,
        });
    }
    Ok(Image {
        data: to_planar(&rgb),
    })
}

/// Any colour type to RGB f32; transparent pixels are composited on white (images and masks
/// alike).
pub(crate) fn flatten_alpha(img: DynamicImage) -> Rgb32FImage {
    if img.color().has_alpha() {
        let rgba = img.to_rgba32f();
        let (w, h) = rgba.dimensions();
        Rgb32FImage::from_fn(w, h, |x, y| {
            let p = rgba.get_pixel(x, y).0;
            let a = p[3];
            Rgb([
                p[0] * a + (1.0 - a),
                p[1] * a + (1.0 - a),
                p[2] * a + (1.0 - a),
            ])
        })
    } else {
        img.to_rgb32f()
    }
}

fn resize_short_side(img: Rgb32FImage, side: u32) -> Rgb32FImage {
    let (w, h) = img.dimensions();
    let short = w.min(h);
    if short <= side {
        return img;
    }
    let s = side as f64 / short as f64;
    let (nw, nh) = (
        ((w as f64 * s).round() as u32).max(1),
        ((h as f64 * s).round() as u32).max(1),
    );
    imageops::resize(&img, nw, nh, imageops::FilterType::Lanczos3)
}

/// A target size for [`load_fitted`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fit {
    /// Exactly `w` x `h` (aspect not kept).
    Exact(u32, u32),
    /// Shorter side at most this (downscale only), as adain-batch's --content-size.
    ShortSide(u32),
    /// Longer side at most this (downscale only), as tools with a `--max-size` size images.
    LongSide(u32),
    /// About this many megapixels, aspect kept, up or down.
    Megapixels(f64),
}

impl Fit {
    /// Refuses sizes the networks cannot take or that are not sizes at all.
    pub fn check(self) -> Result<()> {
        // Every size is bounded by the full-size pixel limit: `--to 100000x100000` asked for a
        // 40 GB buffer and aborted.
        let ok = match self {
            Fit::Exact(w, h) => {
                w >= crate::model::MIN_SIDE
                    && h >= crate::model::MIN_SIDE
                    && (w as u64) * (h as u64) <= FULL_SIZE_MAX_PIXELS
            }
            // Downscale only: a large side changes nothing.
            Fit::ShortSide(s) | Fit::LongSide(s) => s >= crate::model::MIN_SIDE,
            Fit::Megapixels(m) => {
                m.is_finite() && m > 0.0 && m * 1e6 <= FULL_SIZE_MAX_PIXELS as f64
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "{self:?}: sides must be at least {} px and the area at most {} MP",
                crate::model::MIN_SIDE,
                FULL_SIZE_MAX_PIXELS / 1_000_000
            )))
        }
    }
}

/// Loads `path` (as [`load`]) and sizes it as `fit` says (Lanczos 3).
pub fn load_fitted(path: &Path, fit: Fit) -> Result<Image> {
    let sizing = |short_side| Sizing {
        short_side,
        crop: false,
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    match fit {
        Fit::ShortSide(s) => load(path, &sizing(s)),
        Fit::LongSide(s) => {
            let img = load(path, &sizing(0))?;
            let (w, h) = (img.width(), img.height());
            let k = (s as f64 / w.max(h) as f64).min(1.0);
            let side = |v: u32| ((v as f64 * k).round() as u32).max(crate::model::MIN_SIDE);
            Ok(resize_exact(&img, side(w), side(h)))
        }
        Fit::Exact(w, h) => Ok(resize_exact(&load(path, &sizing(0))?, w, h)),
        Fit::Megapixels(mp) => {
            let img = load(path, &sizing(0))?;
            let k = (mp * 1e6 / (img.width() as f64 * img.height() as f64)).sqrt();
            let side = |v: u32| ((v as f64 * k).round() as u32).max(crate::model::MIN_SIDE);
            Ok(resize_exact(&img, side(img.width()), side(img.height())))
        }
    }
}

/// `img` resized to exactly `w` x `h` (Lanczos 3), e.g. a content image to the size of an output
/// made from it.
pub fn resize_exact(img: &Image, w: u32, h: u32) -> Image {
    let (iw, ih) = (img.width(), img.height());
    if (iw, ih) == (w, h) {
        return Image {
            data: img.data.clone(),
        };
    }
    let d = &img.data;
    let rgb = Rgb32FImage::from_fn(iw, ih, |x, y| {
        let (x, y) = (x as usize, y as usize);
        Rgb([d[[0, y, x]], d[[1, y, x]], d[[2, y, x]]])
    });
    Image {
        data: to_planar(&imageops::resize(
            &rgb,
            w,
            h,
            imageops::FilterType::Lanczos3,
        )),
    }
}

fn centre_crop(img: Rgb32FImage, side: u32) -> Rgb32FImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w.min(side), h.min(side));
    imageops::crop_imm(&img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

fn to_planar(img: &Rgb32FImage) -> Array3<f32> {
    let (w, h) = img.dimensions();
    let mut a = Array3::<f32>::zeros((3, h as usize, w as usize));
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            a[[c, y as usize, x as usize]] = p.0[c].clamp(0.0, 1.0);
        }
    }
    a
}

/// Colour preservation (paper section 7.2, "CORAL"): returns `style` with its RGB mean and
/// covariance matched to `content`'s, `x' = C_c^{1/2} C_s^{-1/2} (x - mu_s) + mu_c`.
pub fn match_color(style: &Image, content: &Image) -> Image {
    use nalgebra::{Matrix3, Vector3};
    fn stats(a: &Array3<f32>) -> (Vector3<f64>, Matrix3<f64>) {
        let n = (a.dim().1 * a.dim().2) as f64;
        let mut mu = Vector3::zeros();
        for c in 0..3 {
            mu[c] = a
                .index_axis(ndarray::Axis(0), c)
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>()
                / n;
        }
        let mut cov = Matrix3::zeros();
        let (r, g, b) = (
            a.index_axis(ndarray::Axis(0), 0),
            a.index_axis(ndarray::Axis(0), 1),
            a.index_axis(ndarray::Axis(0), 2),
        );
        for ((&x, &y), &z) in r.iter().zip(g.iter()).zip(b.iter()) {
            let d = Vector3::new(x as f64, y as f64, z as f64) - mu;
            cov += d * d.transpose();
        }
        // Regularised so flat images (a single colour) keep an invertible covariance.
        (mu, cov / n + Matrix3::identity() * 1e-5)
    }
    fn sqrt_sym(m: &Matrix3<f64>, inverse: bool) -> Matrix3<f64> {
        let e = m.symmetric_eigen();
        let d = e.eigenvalues.map(|v| {
            let s = v.max(1e-12).sqrt();
            if inverse { 1.0 / s } else { s }
        });
        e.eigenvectors * Matrix3::from_diagonal(&d) * e.eigenvectors.transpose()
    }
    let (mu_s, cov_s) = stats(&style.data);
    let (mu_c, cov_c) = stats(&content.data);
    let t = sqrt_sym(&cov_c, false) * sqrt_sym(&cov_s, true);
    let mut out = style.data.clone();
    let (_, h, w) = out.dim();
    for y in 0..h {
        for x in 0..w {
            let v = Vector3::new(
                style.data[[0, y, x]] as f64,
                style.data[[1, y, x]] as f64,
                style.data[[2, y, x]] as f64,
            );
            let m = t * (v - mu_s) + mu_c;
            for c in 0..3 {
                out[[c, y, x]] = m[c].clamp(0.0, 1.0) as f32;
            }
        }
    }
    Image { data: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(img: DynamicImage) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
        buf.into_inner()
    }

    #[test]
    fn resizes_short_side_down_only() {
        let s = Sizing {
            short_side: 32,
            ..Default::default()
        };
        let big = png_bytes(DynamicImage::new_rgb8(100, 50));
        let im = decode(Path::new("big.png"), &big, &s).unwrap();
        assert_eq!((im.width(), im.height()), (64, 32));
        let small = png_bytes(DynamicImage::new_rgb8(20, 24));
        let im = decode(Path::new("small.png"), &small, &s).unwrap();
        assert_eq!((im.width(), im.height()), (20, 24), "never upscaled");
        let crop = Sizing { crop: true, ..s };
        let im = decode(Path::new("big.png"), &big, &crop).unwrap();
        assert_eq!((im.width(), im.height()), (32, 32));
    }

    #[test]
    fn alpha_is_composited_on_white() {
        let img = image::RgbaImage::from_pixel(20, 20, image::Rgba([0, 0, 0, 0]));
        let im = decode(
            Path::new("t.png"),
            &png_bytes(DynamicImage::ImageRgba8(img)),
            &Sizing::default(),
        )
        .unwrap();
        assert!(im.data.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn too_small_and_too_large_are_refused() {
        let tiny = png_bytes(DynamicImage::new_rgb8(15, 40));
        let e = decode(Path::new("tiny.png"), &tiny, &Sizing::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tiny.png") && e.contains("15x40"), "{e}");
        let s = Sizing {
            short_side: 0,
            max_pixels: 1000,
            ..Default::default()
        };
        let e = decode(
            Path::new("big.png"),
            &png_bytes(DynamicImage::new_rgb8(40, 40)),
            &s,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("over the limit"), "{e}");
    }

    #[test]
    fn match_color_moves_statistics_to_content() {
        let content = Image {
            data: Array3::from_shape_fn((3, 8, 8), |(c, y, x)| {
                0.2 + 0.05 * c as f32 + 0.01 * (x + y) as f32
            }),
        };
        let style = Image {
            data: Array3::from_shape_fn((3, 8, 8), |(c, y, x)| {
                0.7 - 0.1 * c as f32 + 0.02 * ((x * 3 + y) % 5) as f32
            }),
        };
        let out = match_color(&style, &content);
        for c in 0..3 {
            let m_out = out.data.index_axis(ndarray::Axis(0), c).mean().unwrap();
            let m_c = content.data.index_axis(ndarray::Axis(0), c).mean().unwrap();
            assert!((m_out - m_c).abs() < 1e-3, "channel {c}: {m_out} vs {m_c}");
        }
    }
}
