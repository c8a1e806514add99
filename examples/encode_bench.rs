//! Benchmark (not a test): JPEG encoding of one 512x512 stylized-looking image, the image crate's
//! scalar encoder (what adain-batch used before) against `adain::imaging::encode_jpeg`
//! (jpeg-encoder, SIMD), same quality. Prints ms per image.
//! usage: cargo run --release --example encode_bench [ITERATIONS=50] [QUALITY=92]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let q: u8 = args.next().and_then(|a| a.parse().ok()).unwrap_or(92);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // A real picture with texture: the demo photo, 512x512.
    let img = image::open(root.join("datasets/demo/content/astronaut.jpg"))
        .expect("demo image")
        .resize_exact(512, 512, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let time = |name: &str, f: &dyn Fn() -> Vec<u8>| {
        let bytes = f().len();
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(f());
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!("{name:<28} {ms:7.2} ms per 512x512 image, {bytes} bytes (quality {q})");
    };
    time("image 0.25 JpegEncoder", &|| {
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut buf, q,
        ))
        .unwrap();
        buf.into_inner()
    });
    time("jpeg-encoder (simd)", &|| {
        adain::imaging::encode_jpeg(&img, q).unwrap()
    });
}
