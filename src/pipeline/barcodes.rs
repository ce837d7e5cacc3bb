//! QR codes, the other 2-D codes invoices carry, and the common 1-D barcodes (Code 128, Code 39,
//! EAN-13) on a gray page image, through rxing (a pure-Rust ZXing). Formats are restricted:
//! scanning for every 1-D format costs about a second a page and misreads text as UPC codes.

use std::collections::HashSet;

use image::GrayImage;
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

pub fn scan(image: &GrayImage) -> Vec<Decoded> {
    if image.width() == 0 || image.height() == 0 {
        return Vec::new();
    }
    let longest = image.width().max(image.height());
    if longest > MAX_SCAN_SIDE {
        let factor = f64::from(longest) / f64::from(MAX_SCAN_SIDE);
        let (w, h) = (
            f64::from(image.width()) / factor,
            f64::from(image.height()) / factor,
        );
        let smaller =
            image::imageops::thumbnail(image, w.round().max(1.0) as u32, h.round().max(1.0) as u32);
        let mut found = scan_as_is(&smaller);
        for code in &mut found {
            for point in &mut code.points {
                *point = (point.0 * factor, point.1 * factor);
            }
        }
        return found;
    }
    scan_as_is(image)
}

fn scan_as_is(image: &GrayImage) -> Vec<Decoded> {
    let formats: HashSet<BarcodeFormat> = [
        BarcodeFormat::QR_CODE,
        BarcodeFormat::DATA_MATRIX,
        BarcodeFormat::PDF_417,
        BarcodeFormat::CODE_128,
        BarcodeFormat::CODE_39,
        BarcodeFormat::EAN_13,
    ]
    .into_iter()
    .collect();
    let mut hints = DecodeHints {
        PossibleFormats: Some(formats),
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
