//! Hostile inputs: a small PNG that claims to be enormous, a PDF with thousands of pages, and a
//! small PDF whose one page takes PDFium minutes and gigabytes.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{GrayImage, Luma};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};

use super::fonts::{text_pdf, Font, PAGE_HEIGHT};

/// What the bomb's header claims: 2.5 gigapixels, 2.5 GB as 8-bit gray.
const BOMB_SIDE: u32 = 50_000;

/// A PNG whose header says 50 000 × 50 000 gray pixels, a few hundred bytes long: the IHDR is
/// valid (right CRC) and the IDAT a valid zlib stream of the first rows only, so a decoder
/// that trusts the header allocates 2.5 GB before it finds the data short.
pub fn bomb_png() -> Vec<u8> {
    // Encode a real image BOMB_SIDE wide and a few rows tall (white rows deflate to almost
    // nothing), then raise the height in IHDR.
    let strip = GrayImage::from_pixel(BOMB_SIDE, 4, Luma([255]));
    let mut png = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::NoFilter);
    if strip.write_with_encoder(encoder).is_err() {
        // Encoding an in-memory image cannot fail; an empty result is caught by any test.
        return Vec::new();
    }
    // Signature (8) + IHDR length (4) + "IHDR" (4): width at 16..20, height at 20..24, and
    // the chunk's CRC over type and data at 29..33.
    if png.len() < 33 || &png[12..16] != b"IHDR" {
        return Vec::new();
    }
    png[20..24].copy_from_slice(&BOMB_SIDE.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// CRC-32 (IEEE, reflected), bit by bit: it only ever covers one 17-byte chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PDF of `pages` A4 pages, each with the single line "Page N", for page-count limits and
/// per-page memory tests.
pub fn many_page_pdf(pages: u32) -> Vec<u8> {
    let contents = (0..pages).map(|index| {
        let mut content = Content::new();
        content
            .begin_text()
            .set_font(Font::Regular.resource(), 12.0)
            .next_line(72.0, PAGE_HEIGHT - 72.0)
            .show(pdf_writer::Str(format!("Page {}", index + 1).as_bytes()))
            .end_text();
        content
    });
    text_pdf(contents)
}

/// A one-page PDF of about 230 KB whose compressed content stream fills a rectangle five million
/// times: PDFium spends minutes and gigabytes loading the page (the stand-in for files that make
/// it spin or swallow memory).
pub fn operator_flood_pdf() -> Vec<u8> {
    use std::io::Write;
    let content = b"10 10 500 700 re f\n".repeat(5_000_000);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed = match deflate.write_all(&content).and_then(|()| deflate.finish()) {
        Ok(compressed) => compressed,
        // Compressing into memory cannot fail; an empty result is caught by any test.
        Err(_) => return Vec::new(),
    };
    let (catalog, tree, page, stream) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    pdf.page(page)
        .media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
        .parent(tree)
        .contents(stream);
    pdf.stream(stream, &compressed).filter(Filter::FlateDecode);
    pdf.finish()
}

/// A one-page PDF with a line of text over an image that declares 40 000 × 40 000 gray pixels
/// (1.6 GB decoded) and carries a few bytes of them.
pub fn huge_image_pdf() -> Vec<u8> {
    const SIDE: i32 = 40_000;
    let (catalog, tree, page, stream, image, font) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut page_writer = pdf.page(page);
    page_writer
        .media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
        .parent(tree)
        .contents(stream);
    let mut resources = page_writer.resources();
    resources.x_objects().pair(Name(b"Im0"), image);
    resources.fonts().pair(Font::Regular.resource(), font);
    resources.finish();
    page_writer.finish();
    let mut content = Content::new();
    content
        .save_state()
        .transform([612.0, 0.0, 0.0, 792.0, 0.0, 0.0])
        .x_object(Name(b"Im0"))
        .restore_state()
        .begin_text()
        .set_font(Font::Regular.resource(), 12.0)
        .next_line(72.0, 720.0)
        .show(pdf_writer::Str(b"An enormous picture"))
        .end_text();
    pdf.stream(stream, &content.finish());
    let mut xobject = pdf.image_xobject(image, &[0u8; 4096]);
    xobject.width(SIDE).height(SIDE).color_space().device_gray();
    xobject.bits_per_component(8);
    xobject.finish();
    Font::Regular.write(&mut pdf, font);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::corpus::init_pdfium;
    use docket_pipeline::pdf;

    #[test]
    fn bomb_claims_to_be_huge_but_is_small() {
        let png = bomb_png();
        let size = imagesize::blob_size(&png).unwrap();
        assert_eq!((size.width, size.height), (50_000, 50_000));
        assert!(png.len() < 1024, "{} bytes", png.len());
        // The header is well-formed: a strict decoder reads it and only then objects.
        let decoder = png::Decoder::new(Cursor::new(png.as_slice()));
        let reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().height, 50_000);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn many_pages() {
        init_pdfium();
        let bytes = many_page_pdf(2000);
        assert_eq!(pdf::page_count(&bytes).unwrap(), 2000);
        let document = pdf::Document::open(&bytes).unwrap();
        let last = document.page_text(1999).unwrap();
        assert_eq!(last.lines[0].text(), "Page 2000");
    }
}
