//! Recognised text of a page: words with boxes and confidences, grouped in reading-order lines.
//! Shared by every recogniser (PDF text layer now, OCR later) and by the export model.

/// An axis-aligned box in page units with the origin at the page's top-left corner, y growing
/// down. Units are PDF points (1/72 in) for PDF pages and pixels for images.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        Rect {
            left: self.left.min(other.left),
            top: self.top.min(other.top),
            right: self.right.max(other.right),
            bottom: self.bottom.max(other.bottom),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Word {
    pub text: String,
    pub bbox: Rect,
    /// 0.0 ..= 1.0; a born-digital text layer is exact, so 1.0.
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub words: Vec<Word>,
}

impl Line {
    pub fn text(&self) -> String {
        let words: Vec<&str> = self.words.iter().map(|w| w.text.as_str()).collect();
        words.join(" ")
    }

    pub fn bbox(&self) -> Option<Rect> {
        let mut boxes = self.words.iter().map(|w| w.bbox);
        let first = boxes.next()?;
        Some(boxes.fold(first, |acc, b| acc.union(&b)))
    }

    pub fn confidence(&self) -> f64 {
        if self.words.is_empty() {
            return 0.0;
        }
        self.words.iter().map(|w| w.confidence).sum::<f64>() / self.words.len() as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageUnit {
    Point,
    Pixel,
}

/// One page's recognised text. `page_number` starts at 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageText {
    pub page_number: u32,
    pub width: f64,
    pub height: f64,
    pub unit: PageUnit,
    /// Lines in reading order (top to bottom, then left to right).
    pub lines: Vec<Line>,
}
