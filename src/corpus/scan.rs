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
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Ref};

use super::fonts::{A4, PAGE_HEIGHT, PAGE_WIDTH};
use crate::pipeline::pdf;

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
    pdf::init(Path::new(crate::app::DEFAULT_PDFIUM_LIBRARY))?;
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

/// A JPEG's frame header: what a PDF image dictionary must restate.
struct Frame {
    width: u32,
    height: u32,
    components: u8,
}

/// Walks the marker segments up to the first SOFn. None for anything that is not a JPEG.
fn jpeg_frame(bytes: &[u8]) -> Option<Frame> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            // Fill byte before a marker.
            at += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let header = bytes.get(at + 4..at + 10)?;
            return Some(Frame {
                height: u32::from(u16::from_be_bytes([header[1], header[2]])),
                width: u32::from(u16::from_be_bytes([header[3], header[4]])),
                components: header[5],
            });
        }
        if marker == 0xDA {
            // Start of scan with no frame header before it.
            return None;
        }
        at += 2 + length;
    }
}

/// A "scanned PDF": one A4 page per JPEG, each stretched over the whole page (DCTDecode, the
/// JPEG bytes embedded as they are), no text layer. Bytes that are not a JPEG are skipped.
pub fn image_pdf(jpegs: &[Vec<u8>]) -> Vec<u8> {
    let images: Vec<(&[u8], Frame)> = jpegs
        .iter()
        .filter_map(|jpeg| Some((jpeg.as_slice(), jpeg_frame(jpeg)?)))
        .collect();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    // Each page takes three ids after these: the page, its content stream and its image.
    let page_ids: Vec<Ref> = (0..images.len() as i32)
        .map(|i| Ref::new(3 + 3 * i))
        .collect();
    let image_name = Name(b"Im1");

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (id, (data, frame)) in page_ids.iter().zip(&images) {
        let content_id = Ref::new(id.get() + 1);
        let image_id = Ref::new(id.get() + 2);
        let mut page = pdf.page(*id);
        page.media_box(A4).parent(tree).contents(content_id);
        page.resources().x_objects().pair(image_name, image_id);
        page.finish();

        let mut image = pdf.image_xobject(image_id, data);
        image.filter(Filter::DctDecode);
        image.width(frame.width as i32);
        image.height(frame.height as i32);
        match frame.components {
            1 => image.color_space().device_gray(),
            4 => image.color_space().device_cmyk(),
            _ => image.color_space().device_rgb(),
        };
        image.bits_per_component(8);
        image.finish();

        let mut content = Content::new();
        content
            .save_state()
            .transform([PAGE_WIDTH, 0.0, 0.0, PAGE_HEIGHT, 0.0, 0.0])
            .x_object(image_name)
            .restore_state();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
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
        let frame = jpeg_frame(&jpeg).unwrap();
        assert_eq!(
            (frame.width, frame.height, frame.components),
            (826, 1169, 1)
        );
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
