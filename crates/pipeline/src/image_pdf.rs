//! Image-only PDFs: JPEG pages embedded as they are, without a text layer. How `docket eval
//! --as-images` reads documents as scans, and how the test corpus makes scanned PDFs.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};

/// An A4 page in PDF points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const A4: Rect = Rect {
    x1: 0.0,
    y1: 0.0,
    x2: PAGE_WIDTH,
    y2: PAGE_HEIGHT,
};

/// A JPEG's frame header: what a PDF image dictionary must restate.
struct Frame {
    width: u32,
    height: u32,
    components: u8,
}

/// Walks the marker segments up to the first SOFn. None for anything that is not a JPEG.
fn jpeg_frame(bytes: &[u8]) -> Option<Frame> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            // Fill byte before a marker.
            at += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let header = bytes.get(at + 4..at + 10)?;
            return Some(Frame {
                height: u32::from(u16::from_be_bytes([header[1], header[2]])),
                width: u32::from(u16::from_be_bytes([header[3], header[4]])),
                components: header[5],
            });
        }
        if marker == 0xDA {
            // Start of scan with no frame header before it.
            return None;
        }
        at += 2 + length;
    }
}

/// A "scanned PDF": one A4 page per JPEG, each stretched over the whole page (DCTDecode, the
/// JPEG bytes embedded as they are), no text layer. Bytes that are not a JPEG are skipped.
pub fn image_pdf(jpegs: &[Vec<u8>]) -> Vec<u8> {
    let images: Vec<(&[u8], Frame)> = jpegs
        .iter()
        .filter_map(|jpeg| Some((jpeg.as_slice(), jpeg_frame(jpeg)?)))
        .collect();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    // Each page takes three ids after these: the page, its content stream and its image.
    let page_ids: Vec<Ref> = (0..images.len() as i32)
        .map(|i| Ref::new(3 + 3 * i))
        .collect();
    let image_name = Name(b"Im1");

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (id, (data, frame)) in page_ids.iter().zip(&images) {
        let content_id = Ref::new(id.get() + 1);
        let image_id = Ref::new(id.get() + 2);
        let mut page = pdf.page(*id);
        page.media_box(A4).parent(tree).contents(content_id);
        page.resources().x_objects().pair(image_name, image_id);
        page.finish();

        let mut image = pdf.image_xobject(image_id, data);
        image.filter(Filter::DctDecode);
        image.width(frame.width as i32);
        image.height(frame.height as i32);
        match frame.components {
            1 => image.color_space().device_gray(),
            4 => image.color_space().device_cmyk(),
            _ => image.color_space().device_rgb(),
        };
        image.bits_per_component(8);
        image.finish();

        let mut content = Content::new();
        content
            .save_state()
            .transform([PAGE_WIDTH, 0.0, 0.0, PAGE_HEIGHT, 0.0, 0.0])
            .x_object(image_name)
            .restore_state();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}
