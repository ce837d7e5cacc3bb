//! What a downloaded file really is, from its bytes (never from its name or Content-Type), and
//! how many pages it has.

use std::io::Cursor;

use super::pdf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    Gif,
    Bmp,
    Webp,
}

impl DocumentKind {
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Tiff => "image/tiff",
            DocumentKind::Gif => "image/gif",
            DocumentKind::Bmp => "image/bmp",
            DocumentKind::Webp => "image/webp",
        }
    }

    pub fn from_media_type(media_type: &str) -> Option<Self> {
        [
            Self::Pdf,
            Self::Png,
            Self::Jpeg,
            Self::Tiff,
            Self::Gif,
            Self::Bmp,
            Self::Webp,
        ]
        .into_iter()
        .find(|kind| kind.media_type() == media_type)
    }
}

/// Why a file cannot be processed; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

pub fn detect(bytes: &[u8]) -> Result<DocumentKind, Unreadable> {
    if bytes.is_empty() {
        return Err(Unreadable("the file is empty".into()));
    }
    // PDF readers accept a header anywhere in the first KiB, and so do we.
    if bytes
        .iter()
        .take(1024)
        .collect::<Vec<_>>()
        .windows(5)
        .any(|w| w.iter().copied().eq(b"%PDF-"))
    {
        return Ok(DocumentKind::Pdf);
    }
    let kind = infer::get(bytes).and_then(|t| DocumentKind::from_media_type(t.mime_type()));
    kind.ok_or_else(|| {
        let seen = infer::get(bytes).map_or("unknown content".to_owned(), |t| t.mime_type().to_owned());
        Unreadable(format!(
            "not a supported document (detected {seen}); send a PDF, PNG, JPEG, TIFF, GIF, BMP or WebP file"
        ))
    })
}

/// Page count; a broken file is `Unreadable` with the reason.
pub fn page_count(kind: DocumentKind, bytes: &[u8]) -> Result<u32, Unreadable> {
    let count = match kind {
        DocumentKind::Pdf => pdf::page_count(bytes).map_err(|e| Unreadable(e.to_string()))?,
        DocumentKind::Tiff => {
            let sizes = tiff_page_sizes(bytes)?;
            sizes.iter().try_for_each(|&(w, h)| check_pixels(w, h))?;
            sizes.len() as u32
        }
        _ => {
            let (w, h) = image_size(bytes)?;
            check_pixels(w, h)?;
            1
        }
    };
    if count == 0 {
        return Err(Unreadable("the document has no pages".into()));
    }
    Ok(count)
}

/// Images larger than this are refused before decoding (decompression bombs): 120 MP is an
/// A0 sheet at 200 dpi, far beyond any document scan.
pub const MAX_IMAGE_PIXELS: u64 = 120_000_000;

/// Refuses an image frame larger than `MAX_IMAGE_PIXELS`.
pub fn check_pixels(width: u32, height: u32) -> Result<(), Unreadable> {
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(Unreadable(format!(
            "the image is {width}×{height} pixels; the limit is {} megapixels",
            MAX_IMAGE_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

/// Pixel size of a single-image file, from its header.
pub fn image_size(bytes: &[u8]) -> Result<(u32, u32), Unreadable> {
    let size = imagesize::blob_size(bytes)
        .map_err(|e| Unreadable(format!("not a readable image: {e}")))?;
    let (width, height) = (u32::try_from(size.width), u32::try_from(size.height));
    match (width, height) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(Unreadable("the image has no pixels".into())),
    }
}

/// Pixel size of each page of a TIFF.
pub fn tiff_page_sizes(bytes: &[u8]) -> Result<Vec<(u32, u32)>, Unreadable> {
    let bad = |e: tiff::TiffError| Unreadable(format!("not a readable TIFF: {e}"));
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(bad)?;
    let mut sizes = vec![decoder.dimensions().map_err(bad)?];
    while decoder.more_images() {
        decoder.next_image().map_err(bad)?;
        sizes.push(decoder.dimensions().map_err(bad)?);
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_not_name() {
        assert_eq!(detect(b"%PDF-1.4\n...").unwrap(), DocumentKind::Pdf);
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap(),
            DocumentKind::Png
        );
        assert_eq!(
            detect(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).unwrap(),
            DocumentKind::Jpeg
        );
        assert!(detect(b"").is_err());
        assert!(detect(b"hello, this is plain text").is_err());
        assert!(detect(b"PK\x03\x04zipfile")
            .unwrap_err()
            .0
            .contains("application/zip"));
    }

    #[test]
    fn truncated_images_are_unreadable() {
        assert!(page_count(DocumentKind::Png, b"\x89PNG\r\n\x1a\n").is_err());
        assert!(page_count(DocumentKind::Tiff, b"II*\0\x08\0\0\0").is_err());
    }
}
