//! Helvetica and Helvetica-Bold in WinAnsiEncoding: Windows-1252 encoding of text, advance
//! widths for right alignment, and the writer for text-only PDFs built on them (with attached
//! files, for e-invoices).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

pub(crate) const PAGE_WIDTH: f32 = 595.0;
pub(crate) const PAGE_HEIGHT: f32 = 842.0;
pub(crate) const A4: Rect = Rect {
    x1: 0.0,
    y1: 0.0,
    x2: PAGE_WIDTH,
    y2: PAGE_HEIGHT,
};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Font {
    Regular,
    Bold,
}

/// Advance widths (1/1000 em) of codes 32..=126, from Adobe's Helvetica AFM.
const REGULAR_ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space–/
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0–?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @–O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P–_
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `–o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p–~
];

/// The same from the Helvetica-Bold AFM.
const BOLD_ASCII: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space–/
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0–?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @–O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P–_
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `–o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p–~
];

/// For 0xC0..=0xFF, the ASCII letter whose width an accented letter shares ('*': see
/// `special_width`).
const LATIN1_BASE: &[u8; 64] = b"AAAAAA*CEEEEIIII*NOOOOO**UUUUY**aaaaaa*ceeee*****nooooo**uuuuy*y";

/// Widths of the non-ASCII codes that do not follow a base letter (both weights: the few bold
/// differences only nudge glyph spacing, since the font dictionary declares these widths).
fn special_width(code: u8) -> u16 {
    match code {
        0x91 | 0x92 => 222,               // ‘ ’
        0x93 | 0x94 => 333,               // “ ”
        0x95 => 350,                      // •
        0x85 | 0x97 | 0xC6 => 1000,       // … — Æ
        0xA0 | 0xEC..=0xEF => 278,        // nbsp, ì í î ï
        0xAA => 370,                      // ª
        0xBA => 365,                      // º
        0xB0 => 400,                      // °
        0xB2 | 0xB3 | 0xB9 => 333,        // ² ³ ¹
        0xA9 | 0xAE => 737,               // © ®
        0xAC | 0xB1 | 0xD7 | 0xF7 => 584, // ¬ ± × ÷
        0xD0 => 722,                      // Ð
        0xD8 => 778,                      // Ø
        0xDE => 667,                      // Þ
        0xDF | 0xF8 => 611,               // ß ø
        0xE6 => 889,                      // æ
        _ => 556,                         // €, currency signs, ð, þ and the rest
    }
}

impl Font {
    pub(crate) fn resource(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }

    fn base_font(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"Helvetica"),
            Font::Bold => Name(b"Helvetica-Bold"),
        }
    }

    fn ascii(self) -> &'static [u16; 95] {
        match self {
            Font::Regular => &REGULAR_ASCII,
            Font::Bold => &BOLD_ASCII,
        }
    }

    fn code_width(self, code: u8) -> u16 {
        let ascii = |c: u8| self.ascii()[usize::from(c - 32)];
        match code {
            32..=126 => ascii(code),
            0xC0..=0xFF => match LATIN1_BASE[usize::from(code - 0xC0)] {
                b'*' => special_width(code),
                base => ascii(base),
            },
            _ => special_width(code),
        }
    }

    /// Width in points of WinAnsi-encoded `text` at `size`.
    pub(crate) fn width(self, text: &[u8], size: f32) -> f32 {
        text.iter()
            .map(|&c| f32::from(self.code_width(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// The font dictionary, declaring every width so that all readers lay text out exactly as
    /// `width` measured it, whatever Helvetica substitute they render with.
    pub(crate) fn write(self, pdf: &mut Pdf, id: Ref) {
        pdf.type1_font(id)
            .base_font(self.base_font())
            .encoding_predefined(Name(b"WinAnsiEncoding"))
            .first_char(32)
            .last_char(255)
            .widths((32..=255u8).map(|c| f32::from(self.code_width(c))));
    }
}

/// `text` in Windows-1252; characters outside it become '?'.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// A PDF of A4 pages drawn with `Font`s: one content stream per page, both fonts shared.
pub(crate) fn text_pdf(pages: impl ExactSizeIterator<Item = Content>) -> Vec<u8> {
    text_pdf_with_files(pages, &[])
}

/// [`text_pdf`] with files attached (name, bytes), as the document's embedded files: how
/// Factur-X and ZUGFeRD carry their XML.
pub(crate) fn text_pdf_with_files(
    pages: impl ExactSizeIterator<Item = Content>,
    files: &[(&str, &[u8])],
) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    // Each page takes two ids after these: the page and its content stream.
    let page_ids: Vec<Ref> = (0..pages.len() as i32)
        .map(|i| Ref::new(5 + 2 * i))
        .collect();

    // Each file takes two ids after the pages': its file specification and its stream.
    let first_file = 5 + 2 * page_ids.len() as i32;
    let file_ids: Vec<(Ref, Ref)> = (0..files.len() as i32)
        .map(|i| {
            (
                Ref::new(first_file + 2 * i),
                Ref::new(first_file + 2 * i + 1),
            )
        })
        .collect();

    let mut pdf = Pdf::new();
    let mut root = pdf.catalog(catalog);
    root.pages(tree);
    if !files.is_empty() {
        let mut names = root.names();
        let mut tree = names.embedded_files();
        let mut entries = tree.names();
        for ((name, _), (spec, _)) in files.iter().zip(&file_ids) {
            entries.insert(Str(name.as_bytes()), *spec);
        }
    }
    root.finish();
    for ((name, bytes), (spec, stream)) in files.iter().zip(&file_ids) {
        pdf.file_spec(*spec)
            .path(Str(name.as_bytes()))
            .embedded_file(*stream);
        pdf.embedded_file(*stream, bytes);
    }
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    Font::Regular.write(&mut pdf, regular);
    Font::Bold.write(&mut pdf, bold);
    for (id, content) in page_ids.iter().zip(pages) {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(A4).parent(tree).contents(content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(Font::Regular.resource(), regular)
            .pair(Font::Bold.resource(), bold);
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_portuguese_and_measures() {
        assert_eq!(win_ansi("Preço n.º 1 €"), b"Pre\xE7o n.\xBA 1 \x80");
        assert_eq!(win_ansi("→"), b"?");
        assert_eq!(Font::Regular.width(b"0", 10.0), 5.56);
        assert_eq!(
            Font::Regular.code_width(0xE7),
            Font::Regular.code_width(b'c')
        );
        assert_eq!(Font::Bold.code_width(0xC3), Font::Bold.code_width(b'A'));
    }
}
