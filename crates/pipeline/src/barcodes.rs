//! QR codes, the other 2-D codes invoices carry, and the common 1-D barcodes (Code 128, Code 39,
//! EAN-13) on a gray page image, through rxing (a pure-Rust ZXing). Formats are restricted:
//! scanning for every 1-D format costs about a second a page and misreads text as UPC codes.
//! A page where the first attempt finds no QR code is looked at again, QR codes only, with its
//! contrast stretched and with the blocks that look like small codes enlarged, as zxing-cpp's
//! readers try variants before giving up.

use std::collections::HashSet;

use image::imageops::FilterType;
use image::GrayImage;
use imageproc::contrast::stretch_contrast;
use imageproc::filter::gaussian_blur_f32;
use rxing::{BarcodeFormat, DecodeHints};

/// A decoded code: its format, payload and corners (or, for 1-D codes, scan-line ends) in image
/// pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// rxing's name for the format, e.g. `QR_CODE`, `CODE_128`.
    pub format: String,
    pub text: String,
    pub points: Vec<(f64, f64)>,
}

/// Longest side searched: about an A4 page at 200 dpi, enough for 0.4 mm modules. A 300 dpi
/// page (what OCR wants) costs twice as much to search for nothing, so it is shrunk first.
const MAX_SCAN_SIDE: u32 = 2400;

/// Largest image the full-resolution retry searches: an A4 page at 300 dpi.
const MAX_RETRY_PIXELS: u64 = 9_000_000;

/// How a retry prepares the image before rxing's own (local, 8×8-block) binariser.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tone {
    /// The 1st–99th percentile stretched to black–white: faded thermal print and low-contrast
    /// photos leave blocks under the binariser's minimum range of 24 levels, read as blank.
    Stretched,
    /// Sensor noise smoothed (σ 0.8 px) before the stretch: on a blurred code the noise, not
    /// the contrast, flips modules.
    Smoothed,
}

/// Enlargements tried on each place a small code may be (`suspects`), in order: 2× and 3×
/// give small codes (20 mm at 150 dpi: 2 px a module) the size the finder-pattern search
/// needs. A global (Otsu) threshold was measured too and decoded nothing these did not
/// (`tests::measure`). Enlarging a whole page instead cost 25 times the first attempt.
const ENLARGEMENTS: [(u32, Tone); 3] = [
    (2, Tone::Stretched),
    (3, Tone::Stretched),
    (3, Tone::Smoothed),
];

/// Side of the cells a page is divided into to find code-like blocks, in pixels.
const CELL: u32 = 8;
/// Sides, in cells, of blocks worth enlarging: 64–400 px; a larger code has modules enough.
const SUSPECT_CELLS: std::ops::RangeInclusive<u32> = 8..=50;
/// At most this many blocks are enlarged on one page, the most code-like first.
const MAX_SUSPECTS: usize = 6;

pub fn scan(image: &GrayImage) -> Vec<Decoded> {
    if image.width() == 0 || image.height() == 0 {
        return Vec::new();
    }
    let mut found = scan_fitted(image, &every_format());
    if !found.iter().any(|code| code.format == QR_CODE) {
        found.extend(retry_qr(image));
    }
    found
}

/// One graphic drawn on a born-digital page: a QR code there is all it holds, so the search for
/// every format (most of the cost) runs only when no QR code is found at once.
pub fn scan_graphic(image: &GrayImage) -> Vec<Decoded> {
    if image.width() == 0 || image.height() == 0 {
        return Vec::new();
    }
    let found = scan_fitted(image, &qr_only());
    if !found.is_empty() {
        return found;
    }
    // The QR search is not repeated: the other formats, then the QR retries.
    let mut others = every_format();
    others.remove(&BarcodeFormat::QR_CODE);
    let mut found = scan_fitted(image, &others);
    found.extend(retry_qr(image));
    found
}

fn qr_only() -> HashSet<BarcodeFormat> {
    [BarcodeFormat::QR_CODE].into_iter().collect()
}

/// rxing's name for QR codes, as `Decoded::format` holds it.
const QR_CODE: &str = "QR_CODE";

fn every_format() -> HashSet<BarcodeFormat> {
    [
        BarcodeFormat::QR_CODE,
        BarcodeFormat::DATA_MATRIX,
        BarcodeFormat::PDF_417,
        BarcodeFormat::CODE_128,
        BarcodeFormat::CODE_39,
        BarcodeFormat::EAN_13,
    ]
    .into_iter()
    .collect()
}

/// The image shrunk to `MAX_SCAN_SIDE` when larger, searched, points back in its pixels.
fn scan_fitted(image: &GrayImage, formats: &HashSet<BarcodeFormat>) -> Vec<Decoded> {
    let longest = image.width().max(image.height());
    if longest <= MAX_SCAN_SIDE {
        return scan_as_is(image, formats);
    }
    let factor = f64::from(MAX_SCAN_SIDE) / f64::from(longest);
    scaled_scan(image, factor, formats)
}

/// The image resized by `factor` and searched; points come back in the original's pixels.
fn scaled_scan(image: &GrayImage, factor: f64, formats: &HashSet<BarcodeFormat>) -> Vec<Decoded> {
    let (w, h) = (
        (f64::from(image.width()) * factor).round().max(1.0) as u32,
        (f64::from(image.height()) * factor).round().max(1.0) as u32,
    );
    let resized = if factor < 1.0 {
        image::imageops::thumbnail(image, w, h)
    } else {
        image::imageops::resize(image, w, h, FilterType::Triangle)
    };
    let mut found = scan_as_is(&resized, formats);
    for code in &mut found {
        for point in &mut code.points {
            *point = (point.0 / factor, point.1 / factor);
        }
    }
    found
}

/// Second looks for a QR code, stopping at the first that finds one: the whole image with its
/// contrast stretched, at full resolution; then each block that looks like a small code,
/// enlarged. They run only when the first attempt found no QR code and look for QR codes
/// alone (the 1-D readers are the slow part), so a page without any code pays one search of
/// at most `MAX_RETRY_PIXELS` and a few of small crops.
fn retry_qr(image: &GrayImage) -> Vec<Decoded> {
    let qr_only = qr_only();
    let pixels = u64::from(image.width()) * u64::from(image.height());
    let toned_page = toned(image, Tone::Stretched);
    let found = if pixels <= MAX_RETRY_PIXELS {
        scan_as_is(&toned_page, &qr_only)
    } else {
        scaled_scan(
            &toned_page,
            (MAX_RETRY_PIXELS as f64 / pixels as f64).sqrt(),
            &qr_only,
        )
    };
    if !found.is_empty() {
        return found;
    }
    for (x, y, w, h) in suspects(image) {
        let crop = image::imageops::crop_imm(image, x, y, w, h).to_image();
        for (scale, tone) in ENLARGEMENTS {
            let mut found = scaled_scan(&toned(&crop, tone), f64::from(scale), &qr_only);
            if !found.is_empty() {
                for point in found.iter_mut().flat_map(|code| &mut code.points) {
                    *point = (point.0 + f64::from(x), point.1 + f64::from(y));
                }
                return found;
            }
        }
    }
    Vec::new()
}

/// Blocks that may be a small code, as crops (left, top, width, height) with room for its
/// quiet zone: square groups of busy cells (gray levels varying well beyond the paper's
/// noise) without gaps. Text has gaps between its lines; a code has none.
fn suspects(image: &GrayImage) -> Vec<(u32, u32, u32, u32)> {
    let (cols, rows) = (image.width() / CELL, image.height() / CELL);
    if cols == 0 || rows == 0 {
        return Vec::new();
    }
    let spread: Vec<f64> = (0..rows * cols)
        .map(|i| {
            let (cx, cy) = ((i % cols) * CELL, (i / cols) * CELL);
            let levels = (0..CELL * CELL)
                .map(|j| f64::from(image.get_pixel(cx + j % CELL, cy + j / CELL).0[0]));
            let (sum, squares) = levels.fold((0.0, 0.0), |(s, q), v| (s + v, q + v * v));
            let n = f64::from(CELL * CELL);
            (squares / n - (sum / n).powi(2)).max(0.0).sqrt()
        })
        .collect();
    // Most cells are blank paper: the median spread is the noise.
    let mut sorted = spread.clone();
    sorted.sort_by(f64::total_cmp);
    let noise = sorted[sorted.len() / 2];
    let mut busy: Vec<bool> = spread.iter().map(|&s| s > 1.3 * noise + 1.0).collect();

    let mut blocks: Vec<(f64, (u32, u32, u32, u32))> = Vec::new();
    for start in 0..busy.len() {
        if !busy[start] {
            continue;
        }
        // Flood fill of the 4-connected busy cells from `start`, clearing them.
        busy[start] = false;
        let mut stack = vec![start as u32];
        let (mut left, mut top, mut right, mut bottom, mut count) = (cols, rows, 0, 0, 0u32);
        while let Some(cell) = stack.pop() {
            let (cx, cy) = (cell % cols, cell / cols);
            (left, top, right, bottom) = (left.min(cx), top.min(cy), right.max(cx), bottom.max(cy));
            count += 1;
            let neighbours = [
                (cx > 0).then(|| cell - 1),
                (cx + 1 < cols).then(|| cell + 1),
                (cy > 0).then(|| cell - cols),
                (cy + 1 < rows).then(|| cell + cols),
            ];
            for next in neighbours.into_iter().flatten() {
                if busy[next as usize] {
                    busy[next as usize] = false;
                    stack.push(next);
                }
            }
        }
        let (w, h) = (right - left + 1, bottom - top + 1);
        let fill = f64::from(count) / f64::from(w * h);
        let square = w.max(h) * 2 <= w.min(h) * 3;
        if SUSPECT_CELLS.contains(&w) && SUSPECT_CELLS.contains(&h) && square && fill >= 0.6 {
            // A quarter of the side around it: the quiet zone is 4 of 21–57 modules.
            let margin = w.max(h) / 4 + 1;
            let (x0, y0) = (left.saturating_sub(margin), top.saturating_sub(margin));
            let (x1, y1) = (
                (right + 1 + margin).min(cols),
                (bottom + 1 + margin).min(rows),
            );
            blocks.push((
                fill,
                (x0 * CELL, y0 * CELL, (x1 - x0) * CELL, (y1 - y0) * CELL),
            ));
        }
    }
    blocks.sort_by(|a, b| b.0.total_cmp(&a.0));
    blocks
        .into_iter()
        .take(MAX_SUSPECTS)
        .map(|(_, crop)| crop)
        .collect()
}

fn toned(image: &GrayImage, tone: Tone) -> GrayImage {
    match tone {
        Tone::Stretched => stretched(image),
        Tone::Smoothed => stretched(&gaussian_blur_f32(image, 0.8)),
    }
}

/// The 1st and 99th percentiles of the levels mapped to 0 and 255.
fn stretched(image: &GrayImage) -> GrayImage {
    let mut histogram = [0u64; 256];
    for pixel in image.pixels() {
        histogram[usize::from(pixel.0[0])] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let percentile = |share: u64| {
        let mut seen = 0;
        let level = histogram.iter().position(|&count| {
            seen += count;
            seen * 100 >= total * share
        });
        level.map_or(255, |l| l as u8)
    };
    let (low, high) = (percentile(1), percentile(99));
    if low >= high {
        return image.clone();
    }
    stretch_contrast(image, low, high, 0, 255)
}

fn scan_as_is(image: &GrayImage, formats: &HashSet<BarcodeFormat>) -> Vec<Decoded> {
    let mut hints = DecodeHints {
        PossibleFormats: Some(formats.clone()),
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let found = rxing::helpers::detect_multiple_in_luma_with_hints(
        image.as_raw().clone(),
        image.width(),
        image.height(),
        &mut hints,
    );
    let mut decoded: Vec<Decoded> = found
        .unwrap_or_default()
        .into_iter()
        .map(|result| Decoded {
            // The variant name (`QR_CODE`, `CODE_128`), not rxing's lower-case display form.
            format: format!("{:?}", result.getBarcodeFormat()),
            text: result.getText().to_owned(),
            points: result
                .getPoints()
                .iter()
                .map(|p| (f64::from(p.x), f64::from(p.y)))
                .collect(),
        })
        .collect();
    // The multi-reader may report one code twice (found from two starting regions).
    decoded.dedup_by(|a, b| a.text == b.text);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_testkit::corpus::{small_qr_capture, SmallQr};

    /// An AT payload of the usual length (about 200 bytes: a version 9–10 symbol).
    const PAYLOAD: &str = "A:501964843*B:999999990*C:PT*D:FS*E:N*F:20250314*G:FS A2025/1234*H:JJ3K7LPM-1234*I1:PT*I3:4.72*I4:0.28*I7:12.20*I8:2.81*N:3.09*O:20.01*Q:kLp0*R:2345";

    fn faded(side_mm: f64, dpi: f64, seed: u64) -> SmallQr<'static> {
        SmallQr {
            payload: PAYLOAD,
            side_mm,
            dpi,
            paper: 205,
            ink: 160,
            blur: 0.9,
            seed,
        }
    }

    fn first_attempt(image: &GrayImage) -> bool {
        scan_fitted(image, &every_format())
            .iter()
            .any(|c| c.format == QR_CODE && c.text == PAYLOAD)
    }

    fn decoded(image: &GrayImage) -> bool {
        scan(image).iter().any(|c| c.text == PAYLOAD)
    }

    /// `text` encoded as `format`, on white with a quiet zone.
    fn drawn(text: &str, format: BarcodeFormat, width: i32, height: i32) -> GrayImage {
        use rxing::Writer;
        let code = rxing::MultiFormatWriter
            .encode(text, &format, width, height)
            .expect("encodable");
        GrayImage::from_fn(code.getWidth() + 80, code.getHeight() + 80, |x, y| {
            let inside =
                (40..code.getWidth() + 40).contains(&x) && (40..code.getHeight() + 40).contains(&y);
            image::Luma([if inside && code.get(x - 40, y - 40) {
                0
            } else {
                255
            }])
        })
    }

    #[test]
    fn a_drawn_graphic_is_searched_for_other_formats_only_when_no_qr_code_decodes() {
        let qr = scan_graphic(&drawn(PAYLOAD, BarcodeFormat::QR_CODE, 300, 300));
        assert_eq!(qr.len(), 1);
        assert_eq!(
            (qr[0].format.as_str(), qr[0].text.as_str()),
            (QR_CODE, PAYLOAD)
        );
        let bar = scan_graphic(&drawn("INV-2024-0017", BarcodeFormat::CODE_128, 600, 120));
        assert_eq!(bar.len(), 1);
        assert_eq!(
            (bar[0].format.as_str(), bar[0].text.as_str()),
            ("CODE_128", "INV-2024-0017")
        );
    }

    #[test]
    fn a_small_faded_code_at_150_dpi_needs_the_retries() {
        let image = small_qr_capture(&faded(20.0, 150.0, 1)).unwrap();
        assert!(!first_attempt(&image), "one attempt already reads it");
        let found = scan(&image);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].format.as_str(), found[0].text.as_str()),
            (QR_CODE, PAYLOAD)
        );
        // Points come back in the capture's pixels, inside the symbol.
        let side = f64::from(image.width());
        assert!(found[0]
            .points
            .iter()
            .all(|&(x, y)| (0.0..side).contains(&x) && (0.0..side).contains(&y)));
    }

    #[test]
    fn a_small_faded_code_on_a_scanned_page_is_found() {
        // The corpus renders its scan with its own PDFium binding; reading the image needs none.
        let receipt = docket_testkit::corpus::till_receipt_pdf();
        let png = docket_testkit::corpus::scan_png(&receipt, 150.0, 0.5, 3).unwrap();
        let mut page = image::load_from_memory(&png).unwrap().to_luma8();
        let code = small_qr_capture(&faded(20.0, 150.0, 4)).unwrap();
        // Bottom left, clear of the receipt's text.
        let (x, y) = (60, page.height() - code.height() - 60);
        image::imageops::replace(&mut page, &code, i64::from(x), i64::from(y));
        assert!(!first_attempt(&page), "one attempt already reads it");
        let found = scan(&page);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].text, PAYLOAD);
        let (left, top) = (f64::from(x), f64::from(y));
        let (right, bottom) = (
            left + f64::from(code.width()),
            top + f64::from(code.height()),
        );
        let inside =
            |&(px, py): &(f64, f64)| (left..right).contains(&px) && (top..bottom).contains(&py);
        assert!(found[0].points.iter().all(inside), "{:?}", found[0].points);
    }

    #[test]
    fn a_clear_code_is_read_at_once_and_blank_paper_gives_nothing() {
        let clear = SmallQr {
            paper: 238,
            ink: 22,
            blur: 0.5,
            ..faded(30.0, 200.0, 2)
        };
        assert!(first_attempt(&small_qr_capture(&clear).unwrap()));
        let blank = GrayImage::from_pixel(600, 800, image::Luma([230]));
        assert!(scan(&blank).is_empty());
        assert!(scan(&GrayImage::new(0, 0)).is_empty());
    }

    /// The decode rate of the first attempt and of the retries (each alone, on the first
    /// attempt's misses) on clear and faded, blurred codes of 15–20 mm at 150 and 200 dpi:
    /// `cargo test -p docket-pipeline --lib barcodes::tests::measure -- --ignored --nocapture`.
    /// What the retries cost on a page holding no code (a till receipt scanned at 150 and
    /// 200 dpi): `cargo test -p docket-pipeline --lib barcodes::tests::retry_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn retry_cost() {
        // The corpus renders its scan with its own PDFium binding; reading the image needs none.
        let pdf = docket_testkit::corpus::till_receipt_pdf();
        for dpi in [150.0, 200.0] {
            let png = docket_testkit::corpus::scan_png(&pdf, dpi, 0.5, 1).unwrap();
            let page = image::load_from_memory(&png).unwrap().to_luma8();
            let started = std::time::Instant::now();
            assert!(scan_fitted(&page, &every_format()).is_empty());
            let first = started.elapsed();
            let started = std::time::Instant::now();
            assert!(retry_qr(&page).is_empty());
            println!(
                "{dpi} dpi page: first attempt {first:?}, retries {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure() {
        for (side_mm, dpi) in [
            (15.0, 150.0),
            (18.0, 150.0),
            (20.0, 150.0),
            (15.0, 200.0),
            (20.0, 200.0),
        ] {
            for (paper, ink, blur) in [
                (238, 22, 0.6),
                (205, 160, 0.9),
                (200, 170, 1.2),
                (215, 120, 1.5),
            ] {
                let (mut first, mut retried) = (0, 0);
                let mut by_retry = [0; ENLARGEMENTS.len()];
                for seed in 0..10 {
                    let qr = SmallQr {
                        paper,
                        ink,
                        blur,
                        ..faded(side_mm, dpi, seed)
                    };
                    let image = small_qr_capture(&qr).unwrap();
                    if first_attempt(&image) {
                        first += 1;
                        continue;
                    }
                    if decoded(&image) {
                        retried += 1;
                    }
                    for (i, (scale, tone)) in ENLARGEMENTS.iter().enumerate() {
                        let toned = toned(&image, *tone);
                        if !scaled_scan(&toned, f64::from(*scale), &qr_only()).is_empty() {
                            by_retry[i] += 1;
                        }
                    }
                }
                println!("{side_mm} mm {dpi} dpi paper {paper} ink {ink} blur {blur}: first {first}/10, with retries {}/10, each retry alone on first misses {by_retry:?}", first + retried);
            }
        }
    }
}
