//! OCR through Tesseract's C API: a gray page image in, lines of words with pixel boxes and
//! confidences out.
//!
//! Page segmentation is set explicitly to automatic-with-orientation (PSM 1): the C API's default
//! (one uniform block) garbles tables, and OSD detects and corrects pages turned by 90/180/270°.
//! Tesseract binarises (Otsu) and tolerates small skew itself.

use std::cell::RefCell;

use image::GrayImage;
use tesseract::{PageSegMode, Tesseract};

use crate::domain::text::{Line, Rect, Word};

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
    let mut engine = Tesseract::new(None, Some(languages)).map_err(|e| {
        OcrError(format!(
            "cannot load Tesseract languages {languages:?}: {e}"
        ))
    })?;
    engine.set_page_seg_mode(PageSegMode::PsmAutoOsd);
    Ok(engine)
}

/// Recognises the image's text. `dpi` is the image's resolution (Tesseract's size heuristics
/// need it). Boxes are in the image's pixels.
pub fn recognize(image: &GrayImage, dpi: u32, languages: &str) -> Result<Vec<Line>, OcrError> {
    let (width, height) = (image.width() as i32, image.height() as i32);
    if width == 0 || height == 0 {
        return Ok(Vec::new());
    }
    let failed = |what: &str| OcrError(what.to_owned());
    let engine = engine(languages)?
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
    Ok(lines_from_tsv(&tsv))
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

#[cfg(test)]
mod tests {
    use super::*;

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
