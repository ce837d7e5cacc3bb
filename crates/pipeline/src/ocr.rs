//! OCR through Tesseract's C API: a gray page image in, lines of words with pixel boxes and
//! confidences out.
//!
//! Pages are read with automatic segmentation and orientation detection (PSM 1): it keeps tables'
//! cells apart and turns pages scanned at 90/180/270°. A till roll (narrower than any paper
//! format) is one column of lines, and automatic segmentation drops some of them (those between
//! dashed rulings): it is read as one block of lines (PSM 6) first, and again automatically only
//! when that reads poorly (turned). Tesseract binarises (Otsu) and tolerates small skew itself.

use std::borrow::Cow;
use std::cell::RefCell;

use image::GrayImage;
use tesseract::{PageSegMode, Tesseract};

use docket_domain::text::{Line, Rect, Word};
use docket_domain::workspace::AUTO_LANGUAGES;
use docket_extract::language;

#[derive(Debug, thiserror::Error)]
#[error("OCR failed: {0}")]
pub struct OcrError(String);

thread_local! {
    /// The engine of this thread and the languages it was loaded with: loading models takes
    /// 50–95 ms, so each worker thread keeps one.
    static ENGINE: RefCell<Option<(String, Tesseract)>> = const { RefCell::new(None) };
}

fn engine(languages: &str) -> Result<Tesseract, OcrError> {
    let cached = ENGINE.with(|cell| cell.borrow_mut().take());
    if let Some((loaded, engine)) = cached {
        if loaded == languages {
            return Ok(engine);
        }
    }
    let engine = Tesseract::new(None, Some(languages)).map_err(|e| {
        OcrError(format!(
            "cannot load Tesseract languages {languages:?}: {e}"
        ))
    })?;
    Ok(engine)
}

/// Recognises the image's text. `dpi` is the image's resolution (Tesseract's size heuristics
/// need it). Boxes are in the image's pixels. With `auto` languages, a first pass reads English
/// and a second the language the words turn out to be in, when another: one pass with every
/// language model took 2–3× as long.
pub fn recognize(image: &GrayImage, dpi: u32, languages: &str) -> Result<Vec<Line>, OcrError> {
    if languages != AUTO_LANGUAGES {
        return recognize_in(image, dpi, languages);
    }
    let first = recognize_in(image, dpi, "eng")?;
    let words = first.iter().flat_map(|l| &l.words).map(|w| w.text.as_str());
    match language::detect(words) {
        Some(code) if code != "eng" => recognize_in(image, dpi, &format!("{code}+eng")),
        _ => Ok(first),
    }
}

/// Mean OCR confidence of the words that read as text, weighted by their length: low when a
/// page was read in the wrong orientation or its layout was misjudged.
fn legibility(lines: &[Line]) -> f64 {
    let (mut sum, mut chars) = (0.0, 0.0);
    for word in lines.iter().flat_map(|l| &l.words) {
        let n = word.text.chars().filter(|c| c.is_alphanumeric()).count() as f64;
        sum += word.confidence * n;
        chars += n;
    }
    if chars == 0.0 {
        0.0
    } else {
        sum / chars
    }
}

/// Legibility above which a till roll's reading as one block is kept.
const LEGIBLE: f64 = 0.75;
/// Width to height of the narrowest paper page (A4 and Letter portrait are 0.71 and 0.77):
/// anything narrower is a till roll.
const PAPER_WIDTH_RATIO: f64 = 0.68;

/// How Tesseract tells print from paper.
#[derive(Debug, Clone, Copy)]
enum Threshold {
    /// One Otsu threshold for the page (Tesseract's default).
    Global,
    /// Otsu per tile: for faint print on unevenly lit paper framed by a dark scanner bed, where
    /// one threshold puts all the print on the paper's side and the page reads as empty.
    Adaptive,
}

impl Threshold {
    /// Tesseract's `thresholding_method`.
    fn method(self) -> &'static str {
        match self {
            Threshold::Global => "0",
            Threshold::Adaptive => "1",
        }
    }
}

/// Fewer words than this and the page is read again with an adaptive threshold.
const FEW_WORDS: usize = 10;

fn word_count(lines: &[Line]) -> usize {
    lines.iter().map(|l| l.words.len()).sum()
}

fn recognize_in(image: &GrayImage, dpi: u32, languages: &str) -> Result<Vec<Line>, OcrError> {
    let lines = segmented(image, dpi, languages, Threshold::Global)?;
    if word_count(&lines) >= FEW_WORDS {
        return Ok(lines);
    }
    let adaptive = segmented(image, dpi, languages, Threshold::Adaptive)?;
    // Kept only when it finds a page where there was next to nothing: a short page (an
    // invoice's last) reads as well or better with the global threshold.
    let found = word_count(&adaptive);
    Ok(if found >= FEW_WORDS && found > 2 * word_count(&lines) {
        adaptive
    } else {
        lines
    })
}

fn segmented(
    image: &GrayImage,
    dpi: u32,
    languages: &str,
    threshold: Threshold,
) -> Result<Vec<Line>, OcrError> {
    let read = |mode| read(image, dpi, languages, mode, threshold);
    let till_roll = f64::from(image.width()) < PAPER_WIDTH_RATIO * f64::from(image.height());
    if !till_roll {
        return read(PageSegMode::PsmAutoOsd);
    }
    let block = read(PageSegMode::PsmSingleBlock)?;
    let first = legibility(&block);
    if first >= LEGIBLE {
        return Ok(block);
    }
    let auto = read(PageSegMode::PsmAutoOsd)?;
    Ok(if legibility(&auto) > first {
        auto
    } else {
        block
    })
}

fn read(
    image: &GrayImage,
    dpi: u32,
    languages: &str,
    mode: PageSegMode,
    threshold: Threshold,
) -> Result<Vec<Line>, OcrError> {
    let (width, height) = (image.width() as i32, image.height() as i32);
    if width == 0 || height == 0 {
        return Ok(Vec::new());
    }
    let failed = |what: &str| OcrError(what.to_owned());
    let mut engine = engine(languages)?;
    engine.set_page_seg_mode(mode);
    // Set on every read: the engine is reused.
    let engine = engine
        .set_variable("thresholding_method", threshold.method())
        .map_err(|_| failed("Tesseract refused its threshold setting"))?
        .set_frame(image.as_raw(), width, height, 1, width)
        .map_err(|_| failed("the image could not be handed to Tesseract"))?
        .set_source_resolution(dpi as i32);
    let mut engine = engine
        .recognize()
        .map_err(|_| failed("Tesseract could not recognise the page"))?;
    let tsv = engine
        .get_tsv_text(0)
        .map_err(|_| failed("Tesseract returned no text"))?;
    ENGINE.with(|cell| *cell.borrow_mut() = Some((languages.to_owned(), engine)));
    Ok(rows(lines_from_tsv(&tsv)))
}

/// Tesseract reads a page block by block, so a label at the left of a printed row and its
/// amount at the right come back as two lines ("Total" … "8.70"); lines side by side on one
/// row are joined again, words left to right, rows top to bottom.
fn rows(lines: Vec<Line>) -> Vec<Line> {
    let mut rows: Vec<(Rect, Line)> = Vec::new();
    for line in lines {
        let Some(at) = line.bbox() else { continue };
        let beside = |row: &(Rect, Line)| {
            let overlap = row.0.bottom.min(at.bottom) - row.0.top.max(at.top);
            let apart = !row
                .1
                .words
                .iter()
                .any(|w| w.bbox.left < at.right && at.left < w.bbox.right);
            overlap >= 0.6 * row.0.height().min(at.height()) && apart
        };
        match rows.iter_mut().find(|row| beside(row)) {
            Some((row_box, row)) => {
                row.words.extend(line.words);
                row.words
                    .sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
                *row_box = row_box.union(&at);
            }
            None => rows.push((at, line)),
        }
    }
    rows.sort_by(|a, b| a.0.top.total_cmp(&b.0.top));
    rows.into_iter().map(|(_, line)| line).collect()
}

/// How far (in gray levels) a frame must drag the page-wide threshold to be taken off.
const FRAME_SHIFT: u8 = 16;

/// The page without the scanner bed around it: dark regions that touch the image's edge (the
/// bed, a torn roll's shadow) become paper. Framed by them, faint print (thermal and dot-matrix
/// receipts) falls on the paper's side of a page-wide threshold and reads as nothing. Ink that
/// touches the edge is cut off anyway. Pages whose threshold the frame hardly moves are kept as
/// they are.
pub fn without_frame(image: &GrayImage) -> Cow<'_, GrayImage> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width == 0 || height == 0 {
        return Cow::Borrowed(image);
    }
    let level = imageproc::contrast::otsu_level(image);
    let pixels = image.as_raw();
    let dark = |i: usize| pixels[i] <= level;
    // Flood fill over dark pixels (8-connected) from the edge: it visits the frame alone, so a
    // page without one costs a walk round its edge.
    let mut stack: Vec<usize> = (0..width)
        .flat_map(|x| [x, (height - 1) * width + x])
        .chain((0..height).flat_map(|y| [y * width, y * width + width - 1]))
        .filter(|&i| dark(i))
        .collect();
    if stack.is_empty() {
        return Cow::Borrowed(image);
    }
    let mut frame = vec![false; width * height];
    while let Some(i) = stack.pop() {
        if frame[i] {
            continue;
        }
        frame[i] = true;
        let (x, y) = (i % width, i / width);
        for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
            for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                let n = ny * width + nx;
                if !frame[n] && dark(n) {
                    stack.push(n);
                }
            }
        }
    }
    let mut page = image.clone();
    for (pixel, _) in page.iter_mut().zip(&frame).filter(|(_, &f)| f) {
        *pixel = u8::MAX;
    }
    // A thin frame leaves the threshold where it was; whitening it anyway only perturbs the
    // reading of faint print.
    let moved = imageproc::contrast::otsu_level(&page).abs_diff(level);
    if moved < FRAME_SHIFT {
        return Cow::Borrowed(image);
    }
    Cow::Owned(page)
}

/// Characters shorter than this (in pixels) are read better enlarged: Tesseract is tuned for
/// capitals of 20–30 px; smaller print loses digits and decimal points (~150 dpi receipts).
const SMALL_PRINT_PX: u32 = 20;
/// Images larger than this are not enlarged (memory and time).
const MAX_UPSCALED_PIXELS: u64 = 40_000_000;

/// How many times to enlarge an image before OCR: 2 when its characters are small print, else
/// 1. Character height is the median height of character-sized ink blobs.
pub fn upscale_for(image: &GrayImage) -> u32 {
    use imageproc::region_labelling::{connected_components, Connectivity};
    let pixels = u64::from(image.width()) * u64::from(image.height());
    if pixels == 0 || pixels * 4 > MAX_UPSCALED_PIXELS {
        return 1;
    }
    let level = imageproc::contrast::otsu_level(image);
    // Ink becomes foreground (non-zero) for labelling.
    let ink = image::GrayImage::from_fn(image.width(), image.height(), |x, y| {
        image::Luma([u8::from(image.get_pixel(x, y)[0] <= level) * 255])
    });
    let labels = connected_components(&ink, Connectivity::Eight, image::Luma([0u8]));
    let mut boxes: std::collections::HashMap<u32, (u32, u32, u32, u32)> =
        std::collections::HashMap::new();
    for (x, y, label) in labels.enumerate_pixels() {
        if label[0] == 0 {
            continue;
        }
        let b = boxes.entry(label[0]).or_insert((x, y, x, y));
        *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    let mut heights: Vec<u32> = boxes
        .values()
        .map(|&(l, t, r, b)| (r - l + 1, b - t + 1))
        .filter(|&(w, h)| (5..=80).contains(&h) && w <= 2 * h)
        .map(|(_, h)| h)
        .collect();
    if heights.len() < 20 {
        return 1;
    }
    let middle = heights.len() / 2;
    let median = *heights.select_nth_unstable(middle).1;
    if median < SMALL_PRINT_PX {
        2
    } else {
        1
    }
}

/// Tesseract's TSV: level, page, block, paragraph, line, word, left, top, width, height,
/// confidence, text. Words (level 5) are grouped by their block/paragraph/line numbers.
fn lines_from_tsv(tsv: &str) -> Vec<Line> {
    let mut lines: Vec<((u32, u32, u32), Line)> = Vec::new();
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        let [level, _, block, par, line, _, left, top, width, height, conf, text] = cols[..] else {
            continue;
        };
        let text = text.trim();
        let number = |s: &str| s.trim().parse::<f64>().ok();
        let (Some(5.0), Some(left), Some(top), Some(width), Some(height), Some(conf)) = (
            number(level),
            number(left),
            number(top),
            number(width),
            number(height),
            number(conf),
        ) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let key = (
            number(block).unwrap_or(0.0) as u32,
            number(par).unwrap_or(0.0) as u32,
            number(line).unwrap_or(0.0) as u32,
        );
        let word = Word {
            text: text.to_owned(),
            bbox: Rect {
                left,
                top,
                right: left + width,
                bottom: top + height,
            },
            confidence: (conf / 100.0).clamp(0.0, 1.0),
        };
        match lines.last_mut() {
            Some((last, line)) if *last == key => line.words.push(word),
            _ => lines.push((key, Line { words: vec![word] })),
        }
    }
    lines.into_iter().map(|(_, line)| line).collect()
}

/// Tesseract's own OpenMP threads made a page 3-5× slower here; docket runs one page per core
/// instead. libgomp reads its limit when Tesseract's library loads, before `main`, so setting it
/// then is too late: a program calls this first thing, and starts again with the limit in its
/// environment. Returns only when the limit is already set (or on error).
pub fn restart_with_one_omp_thread() -> anyhow::Result<()> {
    #[cfg(unix)]
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        let error = std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .exec();
        return Err(anyhow::Error::new(error).context("cannot restart with OMP_THREAD_LIMIT=1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// White paper with "print" (blocks) of gray `ink`, on a dark scanner bed `bed` pixels wide.
    fn page(ink: u8, bed: u32) -> GrayImage {
        GrayImage::from_fn(200, 300, |x, y| {
            let on_bed = x < bed || y < bed || x >= 200 - bed || y >= 300 - bed;
            let print = (60..140).contains(&x) && (y / 10) % 3 == 0 && (100..200).contains(&y);
            image::Luma([match (on_bed, print) {
                (true, _) => 20,
                (false, true) => ink,
                (false, false) => 250,
            }])
        })
    }

    #[test]
    fn a_dark_frame_becomes_paper_and_faint_print_stays() {
        let framed = page(170, 30);
        let paper = without_frame(&framed);
        assert!(matches!(paper, Cow::Owned(_)));
        assert_eq!(paper.get_pixel(5, 5)[0], u8::MAX, "the bed is whitened");
        assert_eq!(paper.get_pixel(100, 120)[0], 170, "the print is kept");
        // The print is now on the ink's side of the page-wide threshold.
        assert!(imageproc::contrast::otsu_level(&paper) >= 170);
    }

    #[test]
    fn a_page_without_a_frame_is_left_alone() {
        assert!(matches!(without_frame(&page(170, 0)), Cow::Borrowed(_)));
        // Print as dark as the bed's edge: the threshold already parts it from the paper.
        assert!(matches!(without_frame(&page(20, 2)), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_side_by_side_on_a_row_are_joined() {
        // Block 1 holds the labels, block 2 the amounts of the same rows.
        let tsv = "5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96\tTotal\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t30\t12\t96\tCash\n\
                   5\t1\t2\t1\t1\t1\t200\t21\t30\t12\t96\t8.70\n\
                   5\t1\t2\t1\t2\t1\t200\t41\t30\t12\t96\t10.00\n";
        let texts: Vec<String> = rows(lines_from_tsv(tsv)).iter().map(Line::text).collect();
        assert_eq!(texts, ["Total 8.70", "Cash 10.00"]);
    }

    #[test]
    fn tsv_words_group_into_lines() {
        let tsv = "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96.5\tTotal\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t40\t12\t91\t12,50\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t30\t12\t50\t  \n\
                   5\t1\t1\t1\t2\t2\t10\t40\t30\t12\t88\tEUR\n\
                   garbage\n";
        let lines = lines_from_tsv(tsv);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text(), "Total 12,50");
        assert_eq!(
            lines[0].words[1].bbox,
            Rect {
                left: 45.0,
                top: 20.0,
                right: 85.0,
                bottom: 32.0
            }
        );
        assert_eq!(lines[0].words[0].confidence, 0.965);
        assert_eq!(lines[1].text(), "EUR");
    }
}
