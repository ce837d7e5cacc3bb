//! Recognition of a whole document, one page at a time so memory follows pages in flight, not
//! document size: a PDF page's text layer where it has a usable one, OCR of a render where it
//! does not (scanned and mixed PDFs, page by page), OCR of every image frame, and QR codes on
//! every page that draws graphics, and the e-invoice XML a PDF may carry (with its first page).
//! Then document understanding over the recognised pages.

use std::io::Cursor;

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::detect::{self, DocumentKind, Unreadable};
use super::{barcodes, ocr, pdf, rulings};
use docket_domain::text::{Line, PageText, PageUnit, Rect, Word};
use docket_domain::understanding::{QrCode, Table, Understanding};
use docket_extract::einvoice::{self, EmbeddedInvoice};
use docket_extract::{atqr, embedded, invoice, keyvalues, lattice, line_items, receipt, tables};

/// Resolution PDF pages are rendered at for OCR: Tesseract reads body text best at 300 dpi.
const OCR_DPI: f64 = 300.0;
/// Resolution for finding QR codes on pages that have a text layer: enough for ~0.4 mm modules.
const QR_DPI: f64 = 200.0;
/// No rendered page side exceeds this (hostile page sizes).
const MAX_RENDER_SIDE: u32 = 10_000;
/// Margin around a graphic rendered for QR codes: about 3 mm.
const QR_MARGIN_POINTS: f64 = 9.0;
/// Graphics on a text page rendered one by one; more are rendered as one region.
const MAX_SEPARATE_REGIONS: usize = 8;
/// The resolution assumed for images that do not state one.
const DEFAULT_IMAGE_DPI: u32 = 300;

#[derive(Debug, Clone)]
pub struct Options {
    /// Tesseract languages, e.g. `por+eng`.
    pub languages: String,
    /// Extract invoice fields (invoice workspaces).
    pub invoice_fields: bool,
    /// Extract receipt fields (receipt workspaces).
    pub receipt_fields: bool,
    /// Take invoice fields from the e-invoice XML a PDF carries; off, they are read from the
    /// page alone (measuring the visual reading).
    pub embedded_invoice: bool,
}

/// What recognition produced: the text of every page and what was understood from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recognition {
    pub pages: Vec<PageText>,
    pub understanding: Understanding,
}

/// Recognises a whole document in this process (tests and the bench; the server recognises in
/// a sandboxed child, see `sandbox`).
pub fn recognize(bytes: &[u8], options: &Options) -> Result<Recognition, Unreadable> {
    let mut pages = Vec::new();
    recognize_pages(bytes, &options.languages, 0..u32::MAX, |_, page| {
        pages.push(page);
        Ok(())
    })?;
    Ok(understand(pages, options))
}

/// Recognises the document's pages in `pages` (indexes from 0; past the end is fine), handing
/// each to `each` as soon as it is read, so that progress can be kept page by page.
pub fn recognize_pages(
    bytes: &[u8],
    languages: &str,
    pages: std::ops::Range<u32>,
    mut each: impl FnMut(u32, RecognizedPage) -> Result<(), Unreadable>,
) -> Result<(), Unreadable> {
    match detect::detect(bytes)? {
        DocumentKind::Pdf => {
            let document = pdf::Document::open(bytes).map_err(|e| Unreadable(e.to_string()))?;
            for index in pages.start..document.page_count().min(pages.end) {
                let mut page = pdf_page(&document, index, languages)?;
                if index == 0 {
                    page.embedded = embedded_invoice(&document);
                }
                each(index, page)?;
            }
            Ok(())
        }
        DocumentKind::Tiff => for_each_tiff_page(bytes, pages, |index, image| {
            each(index, image_page(&image, index + 1, languages)?)
        }),
        _ if pages.contains(&0) => each(0, image_page(&decode_image(bytes)?, 1, languages)?),
        _ => Ok(()),
    }
}

/// A picture of page `index` (from 0) for people to look at, its longer side at most
/// `max_side` pixels, as PNG.
pub fn render_page(bytes: &[u8], index: u32, max_side: u32) -> Result<Vec<u8>, Unreadable> {
    let image = match detect::detect(bytes)? {
        DocumentKind::Pdf => {
            let document = pdf::Document::open(bytes).map_err(|e| Unreadable(e.to_string()))?;
            document
                .render(index, VIEW_DPI, max_side)
                .map_err(|e| Unreadable(e.to_string()))?
                .image
        }
        DocumentKind::Tiff => {
            let mut found = None;
            for_each_tiff_page(bytes, index..index + 1, |_, image| {
                found = Some(image);
                Ok(())
            })?;
            found.ok_or_else(|| Unreadable(format!("there is no page {}", index + 1)))?
        }
        _ if index == 0 => decode_image(bytes)?,
        _ => return Err(Unreadable(format!("there is no page {}", index + 1))),
    };
    let (width, height) = image.dimensions();
    let longest = width.max(height).max(1);
    let image = if longest > max_side {
        let scale = f64::from(max_side) / f64::from(longest);
        let size = |side: u32| ((f64::from(side) * scale).round() as u32).max(1);
        image::imageops::resize(
            &image,
            size(width),
            size(height),
            image::imageops::FilterType::Triangle,
        )
    } else {
        image
    };
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Unreadable(format!("cannot encode the page: {e}")))?;
    Ok(png)
}

/// Resolution of page pictures for people (a screen's, not OCR's).
const VIEW_DPI: f64 = 110.0;

/// Understanding of the recognised pages, in page order.
pub fn understand(pages: Vec<RecognizedPage>, options: &Options) -> Recognition {
    let mut texts = Vec::with_capacity(pages.len());
    let mut rulings = Vec::with_capacity(pages.len());
    let mut qr_codes = Vec::new();
    let mut stated = None;
    for page in pages {
        stated = stated.or(page.embedded);
        texts.push(page.text);
        qr_codes.extend(page.codes);
        rulings.push(page.rulings);
    }
    Recognition {
        understanding: understand_pages(&texts, &rulings, qr_codes, stated, options),
        pages: texts,
    }
}

/// One page's text, the codes on it, and its ruling lines with how exactly they are placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecognizedPage {
    text: PageText,
    codes: Vec<QrCode>,
    rulings: Rulings,
    /// The e-invoice the document carries as XML, on its first page only. Kept with the page,
    /// so a resumed recognition still has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embedded: Option<EmbeddedInvoice>,
    /// Read by OCR (a scan, a photo, a PDF page without text), not from a text layer.
    #[serde(default)]
    ocr: bool,
}

/// Ruling lines of a page in its units, and how far apart two may be and still meet: PDF
/// lines are drawn exactly; lines found in a scan are straightened from a slight skew.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Rulings {
    lines: Vec<Rect>,
    tolerance: f64,
}

impl RecognizedPage {
    pub fn was_ocr(&self) -> bool {
        self.ocr
    }

    /// The e-invoice XML the document carries (first page only).
    pub fn embedded(&self) -> Option<&EmbeddedInvoice> {
        self.embedded.as_ref()
    }
}

impl Rulings {
    /// Drawn lines of a PDF page, in points.
    const DRAWN_TOLERANCE: f64 = 2.5;

    /// Lines found in a page image; `units_per_pixel` converts them to the page's units.
    fn scanned(image: &GrayImage, units_per_pixel: f64) -> Self {
        let shorter = image.width().min(image.height());
        let lines = rulings::find(image, shorter / 20)
            .into_iter()
            .map(|r| scale_rect(r, units_per_pixel))
            .collect();
        // About a degree of skew across a table's width.
        let tolerance = f64::from(image.width().max(image.height())) * 0.015 * units_per_pixel;
        Rulings { lines, tolerance }
    }
}

/// Key-values, tables and invoice fields from the recognised pages; where the document
/// carries an e-invoice, its values are the invoice fields, placed on the page.
fn understand_pages(
    pages: &[PageText],
    rulings: &[Rulings],
    qr_codes: Vec<QrCode>,
    stated: Option<EmbeddedInvoice>,
    options: &Options,
) -> Understanding {
    let mut key_values = keyvalues::extract(pages);
    let tables: Vec<_> = pages
        .iter()
        .zip(rulings)
        .flat_map(|(page, rulings)| page_tables(page, rulings))
        .collect();
    let invoice = if options.invoice_fields {
        let read = invoice::extract(pages, &key_values, &tables, &qr_codes);
        match stated.filter(|_| options.embedded_invoice) {
            Some(stated) => {
                let merged = embedded::merge(&stated, read, pages, &key_values);
                key_values.extend(merged.mismatches);
                merged.fields
            }
            None => read,
        }
    } else {
        Vec::new()
    };
    let receipt = if options.receipt_fields {
        receipt::extract(pages, &key_values)
    } else {
        Vec::new()
    };
    let line_items = if options.invoice_fields || options.receipt_fields {
        line_items::extract(&tables)
    } else {
        Vec::new()
    };
    Understanding {
        key_values,
        tables,
        qr_codes,
        invoice,
        receipt,
        line_items,
    }
}

/// Ruled tables where the page has grids of rulings, and tables found by word alignment
/// elsewhere on the page.
fn page_tables(page: &PageText, rulings: &Rulings) -> Vec<Table> {
    let ruled = lattice::detect(page, &rulings.lines, rulings.tolerance);
    let overlaps = |a: &Rect, b: &Rect| {
        a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
    };
    let aligned = tables::detect(page)
        .into_iter()
        .filter(|t| !ruled.iter().any(|r| overlaps(&r.bbox, &t.bbox)));
    let mut all: Vec<Table> = ruled.iter().cloned().chain(aligned).collect();
    all.sort_by(|a, b| a.bbox.top.total_cmp(&b.bbox.top));
    all
}

fn pdf_page(
    document: &pdf::Document,
    index: u32,
    languages: &str,
) -> Result<RecognizedPage, Unreadable> {
    let unreadable = |e: pdf::PdfError| Unreadable(e.to_string());
    let page_number = index + 1;
    document
        .check_images(index, detect::MAX_IMAGE_PIXELS)
        .map_err(unreadable)?;
    let text = document.page_text(index).map_err(unreadable)?;
    if has_usable_text(&text) {
        let mut codes = Vec::new();
        let drawings = document.drawings(index).map_err(unreadable)?;
        let mut regions = drawings.graphics;
        // A QR code found in one graphic is all that graphic holds; many small graphics (icons,
        // a logo strip) are cheaper rendered once together, and then searched for every code.
        let mut scan: fn(&GrayImage) -> Vec<barcodes::Decoded> = barcodes::scan_graphic;
        if regions.len() > MAX_SEPARATE_REGIONS {
            let union = regions
                .iter()
                .skip(1)
                .fold(regions[0], |all, r| all.union(r));
            regions = vec![union];
            scan = barcodes::scan;
        }
        for region in regions {
            // The margin keeps a drawn code's quiet zone inside the render.
            let render = document
                .render_region(index, QR_DPI, region, QR_MARGIN_POINTS)
                .map_err(unreadable)?;
            let place = Placement {
                page_number,
                units_per_pixel: 1.0 / render.pixels_per_point,
                left: render.left,
                top: render.top,
            };
            codes.extend(find_codes(&render.image, &place, scan));
        }
        codes.dedup_by(|a, b| a.content == b.content);
        let rulings = Rulings {
            lines: drawings.rulings,
            tolerance: Rulings::DRAWN_TOLERANCE,
        };
        return Ok(RecognizedPage {
            text,
            codes,
            rulings,
            embedded: None,
            ocr: false,
        });
    }
    let render = document
        .render(index, OCR_DPI, MAX_RENDER_SIDE)
        .map_err(unreadable)?;
    let points_per_pixel = 1.0 / render.pixels_per_point;
    let dpi = (render.pixels_per_point * 72.0).round() as u32;
    let lines = ocr::recognize(&ocr::without_frame(&render.image), dpi, languages)
        .map_err(|e| Unreadable(e.to_string()))?;
    let page = PageText {
        lines: scale_lines(lines, points_per_pixel),
        ..text
    };
    let place = Placement::whole_page(page_number, points_per_pixel);
    let codes = find_qr_codes(&render.image, &place);
    let rulings = Rulings::scanned(&render.image, points_per_pixel);
    Ok(RecognizedPage {
        text: page,
        codes,
        rulings,
        embedded: None,
        ocr: true,
    })
}

/// The first attached file that is an e-invoice. What PDFium cannot give is simply absent: a
/// broken attachment never makes the document unreadable.
/// The e-invoice XML a PDF carries, if any.
pub fn embedded_invoice(document: &pdf::Document) -> Option<EmbeddedInvoice> {
    let files = document.attachments(einvoice::is_candidate, einvoice::MAX_XML_BYTES);
    einvoice::first_invoice(files.iter().map(|f| (f.name.as_str(), f.bytes.as_slice())))
}

/// A text layer worth trusting: some words, mostly made of real characters (scanned PDFs carry
/// none, or an invisible layer of replacement characters).
fn has_usable_text(page: &PageText) -> bool {
    let text: String = page
        .lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| w.text.as_str())
        .collect();
    let total = text.chars().count();
    let readable = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_ascii_punctuation())
        .count();
    total >= 3 && readable * 10 >= total * 8
}

fn image_page(
    image: &GrayImage,
    page_number: u32,
    languages: &str,
) -> Result<RecognizedPage, Unreadable> {
    let paper = ocr::without_frame(image);
    // Small print (till receipts scanned at ~150 dpi) is read at Tesseract's preferred size.
    let scale = ocr::upscale_for(&paper);
    let lines = if scale > 1 {
        let (w, h) = (paper.width() * scale, paper.height() * scale);
        let larger =
            image::imageops::resize(&*paper, w, h, image::imageops::FilterType::CatmullRom);
        let lines = ocr::recognize(&larger, DEFAULT_IMAGE_DPI, languages);
        lines.map(|l| scale_lines(l, 1.0 / f64::from(scale)))
    } else {
        ocr::recognize(&paper, DEFAULT_IMAGE_DPI, languages)
    }
    .map_err(|e| Unreadable(e.to_string()))?;
    let page = PageText {
        page_number,
        width: f64::from(image.width()),
        height: f64::from(image.height()),
        unit: PageUnit::Pixel,
        lines,
    };
    let codes = find_qr_codes(image, &Placement::whole_page(page_number, 1.0));
    let rulings = Rulings::scanned(image, 1.0);
    Ok(RecognizedPage {
        text: page,
        codes,
        rulings,
        embedded: None,
        ocr: true,
    })
}

fn scale_rect(r: Rect, factor: f64) -> Rect {
    Rect {
        left: r.left * factor,
        top: r.top * factor,
        right: r.right * factor,
        bottom: r.bottom * factor,
    }
}

fn scale_lines(lines: Vec<Line>, factor: f64) -> Vec<Line> {
    lines
        .into_iter()
        .map(|line| Line {
            words: line
                .words
                .into_iter()
                .map(|w| Word {
                    bbox: scale_rect(w.bbox, factor),
                    ..w
                })
                .collect(),
        })
        .collect()
}

/// Where an image lies on its page: page units per pixel, and the image's top-left corner in
/// page units (a rendered region need not start at the page's corner).
struct Placement {
    page_number: u32,
    units_per_pixel: f64,
    left: f64,
    top: f64,
}

impl Placement {
    fn whole_page(page_number: u32, units_per_pixel: f64) -> Self {
        Placement {
            page_number,
            units_per_pixel,
            left: 0.0,
            top: 0.0,
        }
    }

    fn on_page(&self, pixels: Rect) -> Rect {
        let r = scale_rect(pixels, self.units_per_pixel);
        Rect {
            left: r.left + self.left,
            top: r.top + self.top,
            right: r.right + self.left,
            bottom: r.bottom + self.top,
        }
    }
}

/// QR codes on a page image, with fiscal (AT) codes parsed, placed on the page.
/// Every code on a page image.
fn find_qr_codes(image: &GrayImage, place: &Placement) -> Vec<QrCode> {
    find_codes(image, place, barcodes::scan)
}

/// The codes `scan` finds on an image, placed on the page; fiscal QR codes parsed.
fn find_codes(
    image: &GrayImage,
    place: &Placement,
    scan: fn(&GrayImage) -> Vec<barcodes::Decoded>,
) -> Vec<QrCode> {
    let page_number = place.page_number;
    scan(image)
        .into_iter()
        .filter_map(|code| {
            let bbox = place.on_page(code_box(&code.points)?);
            let parsed = atqr::is_fiscal(&code.text).then(|| atqr::parse(&code.text, page_number));
            let (mut fields, invalid_keys_count, duplicated_keys) = parsed.map_or_else(
                || (Vec::new(), 0, Vec::new()),
                |p| (p.fields, p.invalid_keys_count, p.duplicated_keys),
            );
            for field in &mut fields {
                field.bbox = Some(bbox);
            }
            let confidence = if invalid_keys_count == 0 { 1.0 } else { 0.8 };
            Some(QrCode {
                page_number,
                format: code.format,
                bbox,
                content: code.text,
                fields,
                invalid_keys_count,
                duplicated_keys,
                confidence,
            })
        })
        .collect()
}

/// The code's box from the points the decoder reports. For QR codes those are the centres of
/// the finder patterns, about 3.5 modules inside the code's edges, so the box is widened.
fn code_box(points: &[(f64, f64)]) -> Option<Rect> {
    let (first, rest) = points.split_first()?;
    let start = Rect {
        left: first.0,
        top: first.1,
        right: first.0,
        bottom: first.1,
    };
    let core = rest.iter().fold(start, |r, &(x, y)| {
        r.union(&Rect {
            left: x,
            top: y,
            right: x,
            bottom: y,
        })
    });
    let margin = core.width().max(core.height()) * 0.12;
    Some(Rect {
        left: (core.left - margin).max(0.0),
        top: (core.top - margin).max(0.0),
        right: core.right + margin,
        bottom: core.bottom + margin,
    })
}

/// Decodes a single-frame image to gray, refusing oversized ones before allocating anything.
pub fn decode_image(bytes: &[u8]) -> Result<GrayImage, Unreadable> {
    let (width, height) = detect::image_size(bytes)?;
    detect::check_pixels(width, height)?;
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Unreadable(format!("not a readable image: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(detect::MAX_IMAGE_PIXELS * 4);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| Unreadable(format!("not a readable image: {e}")))?;
    Ok(image.to_luma8())
}

/// Decodes every frame of a TIFF, to refuse a broken one before recognition.
pub fn validate_tiff(bytes: &[u8]) -> Result<(), Unreadable> {
    for_each_tiff_page(bytes, 0..u32::MAX, |_, _| Ok(()))
}

/// Decodes a TIFF's frames one at a time, so a long multi-page file never sits in memory whole.
/// Frames before index `first` are skipped undecoded.
fn for_each_tiff_page(
    bytes: &[u8],
    pages: std::ops::Range<u32>,
    mut each: impl FnMut(u32, GrayImage) -> Result<(), Unreadable>,
) -> Result<(), Unreadable> {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::ColorType;
    let bad = |e: tiff::TiffError| Unreadable(format!("not a readable TIFF: {e}"));
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(bad)?;
    let mut index = 0;
    while index < pages.end {
        if index < pages.start {
            if !decoder.more_images() {
                return Ok(());
            }
            decoder.next_image().map_err(bad)?;
            index += 1;
            continue;
        }
        let (width, height) = decoder.dimensions().map_err(bad)?;
        detect::check_pixels(width, height)?;
        let color = decoder.colortype().map_err(bad)?;
        let DecodingResult::U8(data) = decoder.read_image().map_err(bad)? else {
            return Err(Unreadable("TIFF pages must have 8-bit samples".into()));
        };
        let image = match color {
            ColorType::Gray(8) => GrayImage::from_raw(width, height, data),
            ColorType::RGB(8) => image::RgbImage::from_raw(width, height, data)
                .map(|i| image::DynamicImage::ImageRgb8(i).to_luma8()),
            ColorType::RGBA(8) => image::RgbaImage::from_raw(width, height, data)
                .map(|i| image::DynamicImage::ImageRgba8(i).to_luma8()),
            other => {
                return Err(Unreadable(format!(
                    "unsupported TIFF pixel format {other:?}"
                )))
            }
        };
        each(
            index,
            image.ok_or_else(|| Unreadable("a TIFF page is truncated".into()))?,
        )?;
        if !decoder.more_images() {
            return Ok(());
        }
        decoder.next_image().map_err(bad)?;
        index += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_testkit::text::page;

    fn gross_total(pages: Vec<RecognizedPage>, embedded_invoice: bool) -> (String, bool) {
        let options = Options {
            languages: "eng".into(),
            invoice_fields: true,
            receipt_fields: false,
            embedded_invoice,
        };
        let invoice = understand(pages, &options).understanding.invoice;
        let gross = invoice
            .into_iter()
            .find(|f| f.category_normalized == "GrossTotal");
        gross.map_or_else(Default::default, |f| (f.category, f.bbox.is_some()))
    }

    #[test]
    fn the_embedded_invoice_survives_a_saved_page() {
        let xml = b"<Invoice><ID>7</ID><LegalMonetaryTotal>\
            <TaxInclusiveAmount>172.50</TaxInclusiveAmount></LegalMonetaryTotal></Invoice>";
        let first = RecognizedPage {
            text: page(&["Gesamtbetrag: 172,50"]),
            codes: Vec::new(),
            rulings: Rulings::default(),
            embedded: einvoice::parse("factur-x.xml", xml),
            ocr: false,
        };
        let plain = RecognizedPage {
            embedded: None,
            ..first.clone()
        };
        let saved = serde_json::to_string(&plain).expect("a page saves");
        assert!(!saved.contains("embedded"), "saved as before: {saved}");
        let resumed: RecognizedPage = serde_json::from_str(&saved).expect("an older page loads");
        assert_eq!(resumed, plain);

        let saved = serde_json::to_string(&first).expect("a page saves");
        let resumed: RecognizedPage = serde_json::from_str(&saved).expect("a saved page loads");
        assert_eq!(resumed, first);
        let later = RecognizedPage {
            text: PageText {
                page_number: 2,
                ..page(&["Seite 2"])
            },
            ..plain
        };
        assert_eq!(
            gross_total(vec![resumed.clone(), later.clone()], true),
            ("TaxInclusiveAmount".into(), true)
        );
        assert_eq!(
            gross_total(vec![resumed, later], false),
            ("Gesamtbetrag".into(), true),
            "the XML ignored"
        );
    }
}

#[cfg(test)]
mod qr_accuracy {
    use super::*;
    use docket_testkit::corpus;

    /// The share of QR-held invoice fields right on scanned corpus invoices whose QR code was
    /// read (the target is 0.98):
    /// `cargo test -p docket-pipeline --lib recognize::qr_accuracy -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check (OCR of whole pages)"]
    fn qr_held_fields_on_scans() {
        // The corpus renders its scans with its own PDFium binding; reading images needs none.
        let options = Options {
            languages: "por+eng".into(),
            invoice_fields: true,
            receipt_fields: false,
            embedded_invoice: true,
        };
        let held = [
            "SupplierTaxId",
            "CustomerTaxId",
            "InvoiceDate",
            "InvoiceNumber",
            "Atcud",
            "NetTotal",
            "TaxTotal",
            "GrossTotal",
        ];
        let (mut right, mut total, mut unread) = (0, 0, 0);
        for (i, truth) in corpus::invoices(6, 31).iter().enumerate() {
            for dpi in [150.0, 200.0] {
                let pdf = corpus::invoice_pdf(truth);
                let png = corpus::scan_png(&pdf, dpi, 0.7, i as u64).unwrap();
                let read = recognize(&png, &options).unwrap();
                if read
                    .understanding
                    .qr_codes
                    .iter()
                    .all(|q| q.fields.is_empty())
                {
                    unread += 1;
                    continue;
                }
                let expected = truth.expected_fields();
                let vat = expected.iter().filter(|(name, _)| name.starts_with("Vat"));
                let wanted = held
                    .iter()
                    .filter_map(|h| expected.iter().find(|(name, _)| name == h))
                    .chain(vat);
                for (name, value) in wanted {
                    total += 1;
                    let found = read
                        .understanding
                        .invoice
                        .iter()
                        .find(|f| f.category_normalized == *name);
                    if found.is_some_and(|f| &f.content_normalized == value) {
                        right += 1;
                    } else {
                        println!("{dpi} dpi #{i}: {name} expected {value}, found {found:?}");
                    }
                }
            }
        }
        println!("QR-held fields right: {right}/{total}; QR codes unread: {unread}/12");
    }
}
