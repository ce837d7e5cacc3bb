//! PDF facts through PDFium: page count, the text layer as words and lines with boxes, gray
//! renders of pages or regions for OCR and QR codes, and attached files (e-invoice XML).
//!
//! Why PDFium (Chromium's engine, BSD): correct word boxes, rotated text included, and a 300 dpi
//! page render in about 55 ms, text in about 3 ms. MuPDF is AGPL; Poppler is GPL and glued
//! table cells together; the pure-Rust options either misplace rotated text or cannot extract.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use anyhow::anyhow;
use pdfium_render::prelude::*;

use docket_domain::text::{Line, PageText, PageUnit, Rect, Word};

static PDFIUM: OnceLock<Pdfium> = OnceLock::new();
/// PDFium's last-error code is process-global and every load overwrites it, so a load and the
/// error read after it must not interleave with another thread's load.
static LOAD: Mutex<()> = Mutex::new(());

/// Where `scripts/setup.sh` installs PDFium's shared library.
pub const DEFAULT_LIBRARY: &str = "/usr/local/lib/docket/libpdfium.so";

/// Binds PDFium once per process from the given library path. Later calls are no-ops returning
/// Ok. A missing/unloadable library is an Err with a clear message naming the path and saying to
/// run scripts/setup.sh.
pub fn init(library_path: &Path) -> anyhow::Result<()> {
    if PDFIUM.get().is_some() {
        return Ok(());
    }
    let shown = library_path.display();
    if !library_path.is_file() {
        return Err(anyhow!(
            "PDFium library not found at {shown}; run scripts/setup.sh to install it"
        ));
    }
    let bindings = Pdfium::bind_to_library(library_path).map_err(|e| {
        anyhow!("cannot load the PDFium library at {shown} ({e:?}); run scripts/setup.sh to reinstall it")
    })?;
    // A concurrent init may have won the race; its instance is as good as ours.
    let _ = PDFIUM.set(Pdfium::new(bindings));
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("PDFium is not initialised")]
    Unavailable,
    #[error("the PDF is password-protected")]
    Encrypted,
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
}

/// One PDF made of the pages of several, in order (used to build mixed test documents).
pub fn concatenate(documents: &[&[u8]]) -> Result<Vec<u8>, PdfError> {
    let pdfium = PDFIUM.get().ok_or(PdfError::Unavailable)?;
    let failed = |e: PdfiumError| PdfError::Unreadable(describe(&e));
    let mut merged = pdfium.create_new_pdf().map_err(failed)?;
    for bytes in documents {
        let source = open(pdfium, bytes)?;
        merged.pages_mut().append(&source).map_err(failed)?;
    }
    merged.save_to_bytes().map_err(failed)
}

/// Number of pages; Unreadable for truncated/garbage bytes, Encrypted for password-protected files.
pub fn page_count(bytes: &[u8]) -> Result<u32, PdfError> {
    Ok(Document::open(bytes)?.page_count())
}

/// The text layer of every page, in page order (pages without text give a PageText with no lines).
pub fn extract_text(bytes: &[u8]) -> Result<Vec<PageText>, PdfError> {
    let document = Document::open(bytes)?;
    (0..document.page_count())
        .map(|index| document.page_text(index))
        .collect()
}

/// An open PDF, read one page at a time so that memory follows the page, not the document.
pub struct Document<'a> {
    /// The page last loaded, kept for the next call on it: loading parses the page's content,
    /// and recognising a page asks for its images, text, drawings and renders in turn. Declared
    /// before `inner` so it is closed before the document.
    loaded: RefCell<Option<(u32, Rc<PdfPage<'a>>)>>,
    inner: PdfDocument<'a>,
}

/// No rendered side exceeds this many pixels (hostile page sizes).
const MAX_RENDER_SIDE: u32 = 10_000;

/// Gray rendering. PDFium's own Gray bitmap format trips an internal CHECK (an abort) when
/// filling paths, so pages are rendered as 4-byte pixels in grayscale mode and one channel kept.
fn render_config(width: i32, height: i32) -> PdfRenderConfig {
    PdfRenderConfig::new()
        .set_target_width(width)
        .set_maximum_height(height)
        .set_format(PdfBitmapFormat::BGRx)
        .use_grayscale_rendering(true)
}

/// One channel of a grayscale-mode bitmap (B = G = R), without PDFium's row padding.
fn gray_image(bitmap: &PdfBitmap) -> Option<image::GrayImage> {
    let (w, h) = (bitmap.width() as usize, bitmap.height() as usize);
    let raw = bitmap.as_raw_bytes();
    let stride = raw.len().checked_div(h).unwrap_or(0);
    let mut pixels = Vec::with_capacity(w * h);
    for row in raw.chunks(stride.max(1)).take(h) {
        pixels.extend(row.chunks_exact(4).take(w).map(|px| px[1]));
    }
    image::GrayImage::from_raw(w as u32, h as u32, pixels)
}

/// What a page draws besides text (see `Document::drawings`).
#[derive(Debug, Default)]
pub struct Drawings {
    pub graphics: Vec<Rect>,
    pub rulings: Vec<Rect>,
}

/// A file attached to a PDF: its name in the document and its decoded bytes.
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Part of a page rendered to gray: its top-left corner in page points, and the scale.
pub struct RenderedRegion {
    pub image: image::GrayImage,
    pub pixels_per_point: f64,
    pub left: f64,
    pub top: f64,
}

/// A page rendered to 8-bit gray, and how many pixels make one PDF point.
pub struct RenderedPage {
    pub image: image::GrayImage,
    pub pixels_per_point: f64,
}

impl<'a> Document<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Self, PdfError> {
        let pdfium = PDFIUM.get().ok_or(PdfError::Unavailable)?;
        Ok(Document {
            loaded: RefCell::new(None),
            inner: open(pdfium, bytes)?,
        })
    }

    pub fn page_count(&self) -> u32 {
        u32::try_from(self.inner.pages().len()).unwrap_or(0)
    }

    fn page(&self, index: u32) -> Result<Rc<PdfPage<'a>>, PdfError> {
        if let Some((at, page)) = self.loaded.borrow().as_ref() {
            if *at == index {
                return Ok(Rc::clone(page));
            }
        }
        // The previous page is closed before the next is loaded: one page in memory at a time.
        self.loaded.replace(None);
        let number = i32::try_from(index)
            .map_err(|_| PdfError::Unreadable(format!("no page {}", index + 1)))?;
        let page =
            self.inner.pages().get(number).map_err(|e| {
                PdfError::Unreadable(format!("page {}: {}", index + 1, describe(&e)))
            })?;
        let page = Rc::new(page);
        self.loaded.replace(Some((index, Rc::clone(&page))));
        Ok(page)
    }

    /// The text layer of the page at `index` (from 0).
    pub fn page_text(&self, index: u32) -> Result<PageText, PdfError> {
        let page = self.page(index)?;
        let height = f64::from(page.height().value);
        // Character boxes are in user space; the visible page box need not start at (0, 0).
        let origin = page.boundaries().bounding().map_or((0.0, height), |b| {
            (
                f64::from(b.bounds.left().value),
                f64::from(b.bounds.top().value),
            )
        });
        let text = page
            .text()
            .map_err(|e| PdfError::Unreadable(format!("page {}: {}", index + 1, describe(&e))))?;
        Ok(PageText {
            page_number: index + 1,
            width: f64::from(page.width().value),
            height,
            unit: PageUnit::Point,
            lines: group_lines(words(&text, origin)),
        })
    }

    /// The page's top-left corner in PDF user space (y up): character and object positions are
    /// relative to it, and the visible page box need not start at (0, 0).
    fn origin(page: &PdfPage) -> (f64, f64) {
        let height = f64::from(page.height().value);
        page.boundaries().bounding().map_or((0.0, height), |b| {
            (
                f64::from(b.bounds.left().value),
                f64::from(b.bounds.top().value),
            )
        })
    }

    /// What the page draws besides text, in page points (top-left origin), from one pass over
    /// its objects: where graphics are (images, and paths with enough segments to be a drawn QR
    /// code: thousands of small squares, where table rulings are tens), which are rendered to
    /// look for codes, and its ruling lines (thin, long paths), which give ruled tables.
    pub fn drawings(&self, index: u32) -> Result<Drawings, PdfError> {
        const SEGMENTS_OF_A_DRAWN_CODE: usize = 400;
        const SEGMENTS_OF_A_LINE: usize = 6;
        const MAX_THICKNESS: f64 = 3.0;
        const MIN_LENGTH: f64 = 12.0;
        let page = self.page(index)?;
        let (left, top) = Self::origin(&page);
        let to_page = |bounds: PdfQuadPoints| {
            let r = bounds.to_rect();
            Rect {
                left: f64::from(r.left().value) - left,
                top: top - f64::from(r.top().value),
                right: f64::from(r.right().value) - left,
                bottom: top - f64::from(r.bottom().value),
            }
        };
        let mut drawings = Drawings::default();
        let mut all_segments = 0;
        for object in page.objects().iter() {
            let segments = match object.object_type() {
                PdfPageObjectType::Image | PdfPageObjectType::XObjectForm => {
                    drawings.graphics.extend(object.bounds().ok().map(to_page));
                    continue;
                }
                PdfPageObjectType::Path => object
                    .as_path_object()
                    .map_or(0, |p| p.segments().len() as usize),
                _ => continue,
            };
            all_segments += segments;
            // Only paths that can matter are measured: asking for bounds is the costly part.
            if segments >= SEGMENTS_OF_A_DRAWN_CODE {
                drawings.graphics.extend(object.bounds().ok().map(to_page));
            } else if segments <= SEGMENTS_OF_A_LINE {
                if let Some(rect) = object.bounds().ok().map(to_page) {
                    let (w, h) = (rect.width(), rect.height());
                    if (h <= MAX_THICKNESS && w >= MIN_LENGTH)
                        || (w <= MAX_THICKNESS && h >= MIN_LENGTH)
                    {
                        drawings.rulings.push(rect);
                    }
                }
            }
        }
        // A code drawn module by module as separate paths has no single big path to point at.
        if drawings.graphics.is_empty() && all_segments >= SEGMENTS_OF_A_DRAWN_CODE {
            let (width, height) = (
                f64::from(page.width().value),
                f64::from(page.height().value),
            );
            drawings.graphics.push(Rect {
                left: 0.0,
                top: 0.0,
                right: width,
                bottom: height,
            });
        }
        Ok(drawings)
    }

    /// Refuses a page drawing an image of more than `max_pixels` pixels, read from the image's
    /// header before anything decodes it (a small file can declare a 40 000 × 40 000 image).
    pub fn check_images(&self, index: u32, max_pixels: u64) -> Result<(), PdfError> {
        let page = self.page(index)?;
        for object in page.objects().iter() {
            let Some(image) = object.as_image_object() else {
                continue;
            };
            let (Ok(width), Ok(height)) = (image.width(), image.height()) else {
                continue;
            };
            let (width, height) = (
                u64::from(width.unsigned_abs()),
                u64::from(height.unsigned_abs()),
            );
            if width * height > max_pixels {
                return Err(PdfError::Unreadable(format!(
                    "page {} draws an image of {width}×{height} pixels; the limit is {} megapixels",
                    index + 1,
                    max_pixels / 1_000_000
                )));
            }
        }
        Ok(())
    }

    /// Renders the part of the page inside `region` (page points, top-left origin, widened by
    /// `margin` points) at `dpi`, into a bitmap of just that size.
    pub fn render_region(
        &self,
        index: u32,
        dpi: f64,
        region: Rect,
        margin: f64,
    ) -> Result<RenderedRegion, PdfError> {
        let page = self.page(index)?;
        let (width_pt, height_pt) = (
            f64::from(page.width().value),
            f64::from(page.height().value),
        );
        let scale = (dpi / 72.0).min(f64::from(MAX_RENDER_SIDE) / width_pt.max(height_pt).max(1.0));
        let left = (region.left - margin).clamp(0.0, width_pt);
        let top = (region.top - margin).clamp(0.0, height_pt);
        let right = (region.right + margin).clamp(left, width_pt);
        let bottom = (region.bottom + margin).clamp(top, height_pt);
        let (x, y) = ((left * scale).floor() as i32, (top * scale).floor() as i32);
        let w = (((right - left) * scale).ceil() as i32).max(1);
        let h = (((bottom - top) * scale).ceil() as i32).max(1);
        let failed =
            |e: PdfiumError| PdfError::Unreadable(format!("page {}: {}", index + 1, describe(&e)));
        let config = render_config(
            (width_pt * scale).round() as i32,
            (height_pt * scale).round() as i32,
        )
        .set_origin(-x, -y);
        let mut bitmap = PdfBitmap::empty(w, h, PdfBitmapFormat::BGRx).map_err(failed)?;
        page.render_into_bitmap_with_config(&mut bitmap, &config)
            .map_err(failed)?;
        let image = gray_image(&bitmap)
            .ok_or_else(|| PdfError::Unreadable(format!("page {}: bad bitmap", index + 1)))?;
        Ok(RenderedRegion {
            image,
            pixels_per_point: scale,
            left: f64::from(x) / scale,
            top: f64::from(y) / scale,
        })
    }

    /// Files attached to the document (its embedded-files name tree) whose name `wanted`
    /// accepts, each at most `max_bytes` once decoded; larger ones are left out. Only the first
    /// `MAX_ATTACHMENTS` are looked at, so a file listing thousands costs nothing. PDFium
    /// decodes a file to learn its size: a decompression bomb here costs the reader what one in
    /// a page's content would (its memory limit), never the server.
    pub fn attachments(&self, wanted: impl Fn(&str) -> bool, max_bytes: usize) -> Vec<Attachment> {
        const MAX_ATTACHMENTS: usize = 32;
        self.inner
            .attachments()
            .iter()
            .take(MAX_ATTACHMENTS)
            .filter_map(|attachment| {
                let name = attachment.name();
                if !wanted(&name) || attachment.len() > max_bytes {
                    return None;
                }
                let bytes = attachment.save_to_bytes().ok()?;
                Some(Attachment { name, bytes })
            })
            .collect()
    }

    /// Renders the page at `dpi`, scaled down when its longer side would exceed `max_side`
    /// pixels (hostile page sizes).
    pub fn render(&self, index: u32, dpi: f64, max_side: u32) -> Result<RenderedPage, PdfError> {
        let page = self.page(index)?;
        let (width_pt, height_pt) = (
            f64::from(page.width().value),
            f64::from(page.height().value),
        );
        let longest = width_pt.max(height_pt).max(1.0);
        let pixels_per_point = (dpi / 72.0).min(f64::from(max_side) / longest);
        let width = (width_pt * pixels_per_point).round().max(1.0) as i32;
        let height = (height_pt * pixels_per_point).round().max(1.0) as i32;
        let failed =
            |e: PdfiumError| PdfError::Unreadable(format!("page {}: {}", index + 1, describe(&e)));
        let config = render_config(width, height).render_form_data(true);
        let bitmap = page.render_with_config(&config).map_err(failed)?;
        let image = gray_image(&bitmap)
            .ok_or_else(|| PdfError::Unreadable(format!("page {}: bad bitmap", index + 1)))?;
        Ok(RenderedPage {
            image,
            pixels_per_point,
        })
    }
}

fn open<'a>(pdfium: &'a Pdfium, bytes: &'a [u8]) -> Result<PdfDocument<'a>, PdfError> {
    // Nothing to parse; and an empty slice's pointer is dangling, so keep it away from C.
    if bytes.is_empty() {
        return Err(PdfError::Unreadable("empty file".into()));
    }
    let _guard = LOAD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(|e| match e {
            // SecurityError is an unsupported security handler: unreadable without credentials too.
            PdfiumError::PdfiumLibraryInternalError(
                PdfiumInternalError::PasswordError | PdfiumInternalError::SecurityError,
            ) => PdfError::Encrypted,
            other => PdfError::Unreadable(describe(&other)),
        })
}

/// PdfiumError's Display is a multi-line Debug dump; say it in a few words instead.
fn describe(error: &PdfiumError) -> String {
    match error {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FormatError) => {
            "not in PDF format or corrupted".into()
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FileError) => {
            "file not found or could not be opened".into()
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PageError) => {
            "page not found or content error".into()
        }
        other => format!("{other:?}"),
    }
}

/// One character of the text layer, in top-left page coordinates.
struct Glyph {
    ch: char,
    bbox: Rect,
    size: f64,
}

/// Words of a page in PDFium's text order: split on whitespace, PDFium-generated characters
/// (inserted spaces and line breaks), baseline changes, and wide horizontal gaps.
/// `origin` is the page box's top-left corner in PDF user space (y up).
fn words(text: &PdfPageText, origin: (f64, f64)) -> Vec<Word> {
    let (left, top) = origin;
    let mut words = Vec::new();
    let mut current: Vec<Glyph> = Vec::new();
    for ch in text.chars().iter() {
        let glyph = ch.unicode_char().and_then(|c| {
            if c.is_whitespace() || c.is_control() || ch.is_generated().unwrap_or(false) {
                return None;
            }
            // Loose bounds span the font's ascent to descent, so every word of a run gets the
            // same height (≈ font size); tight bounds shrink to the ink, e.g. x-height for "ace".
            let b = ch.loose_bounds().ok()?;
            let bbox = Rect {
                left: f64::from(b.left().value) - left,
                top: top - f64::from(b.top().value),
                right: f64::from(b.right().value) - left,
                bottom: top - f64::from(b.bottom().value),
            };
            let size = match f64::from(ch.scaled_font_size().value) {
                s if s > 0.0 => s,
                _ => bbox.height(),
            };
            Some(Glyph { ch: c, bbox, size })
        });
        let Some(glyph) = glyph else {
            flush(&mut current, &mut words);
            continue;
        };
        if let Some(prev) = current.last() {
            if !same_line(&prev.bbox, &glyph.bbox) || {
                // Words are often positioned apart with no space character between them.
                let gap = glyph.bbox.left - prev.bbox.right;
                gap > 0.25 * prev.size.max(glyph.size) || glyph.bbox.left < prev.bbox.left
            } {
                flush(&mut current, &mut words);
            }
        }
        current.push(glyph);
    }
    flush(&mut current, &mut words);
    words
}

fn flush(glyphs: &mut Vec<Glyph>, words: &mut Vec<Word>) {
    let mut iter = glyphs.drain(..);
    let Some(first) = iter.next() else { return };
    let mut text = String::from(first.ch);
    let mut bbox = first.bbox;
    for glyph in iter {
        text.push(glyph.ch);
        bbox = bbox.union(&glyph.bbox);
    }
    words.push(Word {
        text,
        bbox,
        confidence: 1.0,
    });
}

fn centre(r: &Rect) -> f64 {
    (r.top + r.bottom) / 2.0
}

/// Vertical centres within half a line height of each other.
fn same_line(a: &Rect, b: &Rect) -> bool {
    (centre(a) - centre(b)).abs() <= 0.5 * a.height().max(b.height())
}

/// Lines top to bottom, each left to right.
fn group_lines(mut words: Vec<Word>) -> Vec<Line> {
    words.sort_by(|a, b| centre(&a.bbox).total_cmp(&centre(&b.bbox)));
    let mut lines: Vec<Line> = Vec::new();
    for word in words {
        match lines.last_mut() {
            Some(line) if line.bbox().is_some_and(|b| same_line(&b, &word.bbox)) => {
                line.words.push(word)
            }
            _ => lines.push(Line { words: vec![word] }),
        }
    }
    for line in &mut lines {
        line.words
            .sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
    }
    lines.sort_by(|a, b| {
        let top = |l: &Line| l.bbox().map_or(0.0, |r| r.top);
        top(a).total_cmp(&top(b))
    });
    lines
}
