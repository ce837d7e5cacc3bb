//! Raster versions of a document: phone/scanner captures (PNG, JPEG), a "scanned PDF" of
//! embedded JPEGs without a text layer, and multi-page TIFFs.

use std::io::Cursor;
use std::path::Path;

use anyhow::{ensure, Context};
use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageFormat, Luma};
use imageproc::filter::gaussian_blur_f32;
use imageproc::geometric_transformations::{rotate_about_center, Interpolation};
use imageproc::noise::gaussian_noise;

pub use docket_pipeline::image_pdf::image_pdf;
use docket_pipeline::pdf;

/// Renders are capped well above any sensible capture (A4 at 600 dpi is 7016 px tall).
const MAX_SIDE: u32 = 8000;
/// Printed paper under a phone's exposure: neither white paper nor black ink stays pure.
const PAPER: f32 = 238.0;
const INK: f32 = 22.0;
const NOISE_STDDEV: f64 = 5.0;
const JPEG_QUALITY: u8 = 85;

/// The first page of `pdf` as a phone/scanner capture at `dpi`, encoded as PNG: 8-bit gray,
/// the page's size at `dpi` (A4 at 200 dpi is 1653 × 2339), content turned clockwise by
/// `angle_degrees` with white corners, paper ≈ 238 and ink ≈ 22 before blur and noise
/// (σ 5 levels, seeded). Binds PDFium from the default library path unless already bound.
pub fn scan_png(pdf: &[u8], dpi: f64, angle_degrees: f32, seed: u64) -> anyhow::Result<Vec<u8>> {
    let image = capture(pdf, dpi, angle_degrees, seed)?;
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)?;
    Ok(out)
}

/// The same capture as a JPEG (quality 85), as phones store them.
pub fn scan_jpeg(pdf: &[u8], dpi: f64, angle_degrees: f32, seed: u64) -> anyhow::Result<Vec<u8>> {
    let image = capture(pdf, dpi, angle_degrees, seed)?;
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&image)?;
    Ok(out)
}

/// Render, then degrade in the order a capture does: the page lies skewed (white where the
/// rotated corners leave the frame), the optics blur it, the sensor adds noise.
fn capture(bytes: &[u8], dpi: f64, angle_degrees: f32, seed: u64) -> anyhow::Result<GrayImage> {
    ensure!(
        dpi > 0.0 && dpi.is_finite(),
        "dpi must be positive, got {dpi}"
    );
    pdf::init(Path::new(pdf::DEFAULT_LIBRARY))?;
    let document = pdf::Document::open(bytes)?;
    let mut page = document
        .render(0, dpi, MAX_SIDE)
        .context("rendering the first page")?
        .image;
    let tone: Vec<u8> = (0..=255u8)
        .map(|level| (INK + f32::from(level) * (PAPER - INK) / 255.0).round() as u8)
        .collect();
    for value in page.iter_mut() {
        *value = tone[usize::from(*value)];
    }
    let skewed = rotate_about_center(
        &page,
        angle_degrees.to_radians(),
        Interpolation::Bilinear,
        Luma([255]),
    );
    // About a third of a pixel at 100 dpi: softens edges like a phone lens without smearing text.
    let sigma = (0.35 * dpi / 100.0).max(0.1) as f32;
    let blurred = gaussian_blur_f32(&skewed, sigma);
    Ok(gaussian_noise(&blurred, 0.0, NOISE_STDDEV, seed))
}

/// A small printed QR code as a capture sees it, alone on its paper: what the multi-attempt
/// decoder is measured on. Till receipts print codes of 15–20 mm on thermal paper that fades
/// (paper ≈ 200, ink ≈ 150 rather than 238/22), read at 150–200 dpi.
#[derive(Debug, Clone, Copy)]
pub struct SmallQr<'a> {
    pub payload: &'a str,
    /// The symbol's side, quiet zone excluded.
    pub side_mm: f64,
    pub dpi: f64,
    pub paper: u8,
    pub ink: u8,
    /// Gaussian σ in pixels: the optics' softening.
    pub blur: f32,
    pub seed: u64,
}

/// Paper around the symbol on every side: its quiet zone and some more.
const SMALL_QR_MARGIN_MM: f64 = 8.0;
/// Samples per pixel side when rasterising modules: edges get partial gray, as a sensor's do.
const SUPERSAMPLE: u32 = 4;

/// `qr` rasterised at its dpi (modules area-sampled, so a module of 1.7 px is drawn as one),
/// blurred, with sensor noise (σ 5 levels, seeded).
pub fn small_qr_capture(qr: &SmallQr) -> anyhow::Result<GrayImage> {
    ensure!(
        qr.dpi > 0.0 && qr.side_mm > 0.0,
        "dpi and side must be positive"
    );
    let code = qrcode::QrCode::with_error_correction_level(qr.payload, qrcode::EcLevel::M)?;
    let modules = code.width();
    let dark = code.to_colors();
    let px_per_mm = qr.dpi / 25.4;
    let module_px = qr.side_mm * px_per_mm / modules as f64;
    let margin_px = SMALL_QR_MARGIN_MM * px_per_mm;
    let side = (qr.side_mm * px_per_mm + 2.0 * margin_px).ceil() as u32;
    let is_dark = |x: f64, y: f64| {
        let (col, row) = ((x - margin_px) / module_px, (y - margin_px) / module_px);
        let inside = (0.0..modules as f64).contains(&col) && (0.0..modules as f64).contains(&row);
        inside && dark[row as usize * modules + col as usize] == qrcode::Color::Dark
    };
    let step = 1.0 / f64::from(SUPERSAMPLE);
    let image = GrayImage::from_fn(side, side, |x, y| {
        let mut inked = 0u32;
        for i in 0..SUPERSAMPLE {
            for j in 0..SUPERSAMPLE {
                let sx = f64::from(x) + (f64::from(i) + 0.5) * step;
                let sy = f64::from(y) + (f64::from(j) + 0.5) * step;
                inked += u32::from(is_dark(sx, sy));
            }
        }
        let share = f64::from(inked) / f64::from(SUPERSAMPLE * SUPERSAMPLE);
        let level = f64::from(qr.paper) - share * (f64::from(qr.paper) - f64::from(qr.ink));
        Luma([level.round() as u8])
    });
    let blurred = gaussian_blur_f32(&image, qr.blur.max(0.1));
    Ok(gaussian_noise(&blurred, 0.0, NOISE_STDDEV, qr.seed))
}

/// A multi-page gray TIFF, PackBits-compressed, one IFD per page (the image crate's encoder
/// writes a single page; the tiff crate it wraps chains directories).
pub fn multipage_tiff(pages: &[GrayImage]) -> anyhow::Result<Vec<u8>> {
    ensure!(!pages.is_empty(), "a TIFF needs at least one page");
    let mut out = Cursor::new(Vec::new());
    // Each page is complete once written: the encoder keeps no buffered state to flush.
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut out)?
        .with_compression(tiff::encoder::Compression::Packbits);
    for page in pages {
        encoder.write_image::<tiff::encoder::colortype::Gray8>(
            page.width(),
            page.height(),
            page.as_raw(),
        )?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{init_pdfium, invoice_pdf, invoices};

    #[test]
    fn scans_have_page_size_and_keep_the_qr_readable() {
        init_pdfium();
        let invoice = &invoices(1, 2)[0];
        let pdf_bytes = invoice_pdf(invoice);
        let png = scan_png(&pdf_bytes, 200.0, 1.5, 1).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        // A4 at 200 dpi; rotation keeps the frame.
        assert_eq!(image.dimensions(), (1653, 2339));
        assert!(
            image.get_pixel(0, 0).0[0] > 200,
            "rotated-in corners are white"
        );
        assert_eq!(
            png,
            scan_png(&pdf_bytes, 200.0, 1.5, 1).unwrap(),
            "deterministic"
        );
        let decoded = rxing::helpers::detect_in_luma(
            image.as_raw().clone(),
            image.width(),
            image.height(),
            Some(rxing::BarcodeFormat::QR_CODE),
        )
        .unwrap();
        assert_eq!(decoded.getText(), invoice.qr_payload);
    }

    #[test]
    fn jpeg_scans_make_an_image_only_pdf() {
        init_pdfium();
        let pdf_bytes = invoice_pdf(&invoices(1, 4)[0]);
        let jpeg = scan_jpeg(&pdf_bytes, 100.0, -0.8, 3).unwrap();
        let size = imagesize::blob_size(&jpeg).unwrap();
        assert_eq!((size.width, size.height), (826, 1169));
        let scanned = image_pdf(&[jpeg.clone(), b"not a jpeg".to_vec(), jpeg]);
        let pages = pdf::extract_text(&scanned).unwrap();
        assert_eq!(pages.len(), 2);
        assert!(pages.iter().all(|p| p.lines.is_empty()), "no text layer");
        let document = pdf::Document::open(&scanned).unwrap();
        assert!(!document.drawings(0).unwrap().graphics.is_empty());
        let render = document.render(1, 72.0, 1000).unwrap().image;
        assert_eq!(render.dimensions(), (595, 842));
        // The embedded scan shows: the page is not blank.
        assert!(render.pixels().any(|p| p.0[0] < 100));
    }

    #[test]
    fn tiff_has_every_page() {
        let pages: Vec<GrayImage> = (0..3u8)
            .map(|i| {
                GrayImage::from_fn(40 + u32::from(i), 30, |x, _| {
                    Luma([(x as u8).wrapping_mul(i)])
                })
            })
            .collect();
        let bytes = multipage_tiff(&pages).unwrap();
        let mut decoder = tiff::decoder::Decoder::new(Cursor::new(&bytes)).unwrap();
        for (i, page) in pages.iter().enumerate() {
            if i > 0 {
                decoder.next_image().unwrap();
            }
            assert_eq!(decoder.dimensions().unwrap(), page.dimensions());
            match decoder.read_image().unwrap() {
                tiff::decoder::DecodingResult::U8(data) => assert_eq!(&data, page.as_raw()),
                _ => panic!("not 8-bit gray"),
            }
        }
        assert!(!decoder.more_images());
        assert!(multipage_tiff(&[]).is_err());
    }
}
