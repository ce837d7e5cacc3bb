//! Deterministic test documents built in pure Rust: text PDFs, an encrypted PDF, PNG and TIFF.

/// A4 portrait, in PDF points.
pub const PAGE_WIDTH: f64 = 595.0;
pub const PAGE_HEIGHT: f64 = 842.0;

/// One `Tj` of Helvetica text; `y_from_top` is the baseline measured from the page top.
#[derive(Debug, Clone)]
pub struct TextRun {
    pub x: f64,
    pub y_from_top: f64,
    pub size: f64,
    pub text: String,
}

impl TextRun {
    pub fn new(x: f64, y_from_top: f64, size: f64, text: &str) -> Self {
        Self {
            x,
            y_from_top,
            size,
            text: text.to_owned(),
        }
    }
}

/// A PDF 1.4 with one A4 page per entry, each run drawn in Helvetica (WinAnsiEncoding).
pub fn text_pdf(pages: &[Vec<TextRun>]) -> Vec<u8> {
    let page_count = pages.len();
    let kids: Vec<String> = (0..page_count)
        .map(|i| format!("{} 0 R", 4 + 2 * i))
        .collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
            kids.join(" ")
        )
        .into_bytes(),
        HELVETICA.as_bytes().to_vec(),
    ];
    for (i, runs) in pages.iter().enumerate() {
        objects.push(page_object(5 + 2 * i));
        objects.push(stream(&content(runs)));
    }
    write_pdf(&objects, "/Root 1 0 R")
}

/// Width of `text` set in Helvetica at `size` points (standard AFM widths, no kerning).
pub fn helvetica_width(text: &str, size: f64) -> f64 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => HELVETICA_WIDTHS[c as usize - 32] as u32,
            _ => panic!("helvetica_width covers ASCII only, got {c:?}"),
        })
        .sum();
    f64::from(units) * size / 1000.0
}

/// A width × height 8-bit grayscale PNG (a horizontal gradient).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header");
    let pixels: Vec<u8> = (0..height)
        .flat_map(|_| (0..width).map(|x| (x % 256) as u8))
        .collect();
    writer.write_image_data(&pixels).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// A little-endian TIFF with `pages` 8×8 uncompressed grayscale pages, one chained IFD each.
pub fn tiff_pages(pages: u32) -> Vec<u8> {
    const SIDE: u32 = 8;
    const PIXELS: u32 = SIDE * SIDE;
    const ENTRIES: u16 = 12;
    let mut out = b"II*\0".to_vec();
    // Each page: pixels, then the 72/1 resolution rational, then its IFD (offsets stay even).
    let page_len = PIXELS + 8 + 2 + 12 * u32::from(ENTRIES) + 4;
    let first_ifd = if pages == 0 { 0 } else { 8 + PIXELS + 8 };
    out.extend(first_ifd.to_le_bytes());
    for page in 0..pages {
        let start = 8 + page * page_len;
        let rational = start + PIXELS;
        out.extend((0..PIXELS).map(|i| (page * 40 + i) as u8));
        out.extend(72u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(ENTRIES.to_le_bytes());
        // (tag, type, value): type 3 SHORT, 4 LONG, 5 RATIONAL (value is its offset).
        let entries: [(u16, u16, u32); ENTRIES as usize] = [
            (256, 3, SIDE),     // ImageWidth
            (257, 3, SIDE),     // ImageLength
            (258, 3, 8),        // BitsPerSample
            (259, 3, 1),        // Compression: none
            (262, 3, 1),        // PhotometricInterpretation: BlackIsZero
            (273, 4, start),    // StripOffsets
            (277, 3, 1),        // SamplesPerPixel
            (278, 3, SIDE),     // RowsPerStrip
            (279, 4, PIXELS),   // StripByteCounts
            (282, 5, rational), // XResolution
            (283, 5, rational), // YResolution
            (296, 3, 2),        // ResolutionUnit: inch
        ];
        for (tag, kind, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            out.extend(value.to_le_bytes()); // a SHORT sits in the low bytes, little-endian
        }
        let next = if page + 1 < pages {
            start + page_len + PIXELS + 8
        } else {
            0
        };
        out.extend(next.to_le_bytes());
    }
    out
}

/// User password of [`encrypted_pdf`].
pub const ENCRYPTED_PDF_PASSWORD: &str = "secret";

/// A one-page PDF encrypted with the standard security handler (RC4 40-bit, revision 2), user
/// password [`ENCRYPTED_PDF_PASSWORD`], owner password "owner". The page says "Hidden text".
pub fn encrypted_pdf() -> Vec<u8> {
    const ID: &[u8; 16] = b"docket-fixture-1";
    const PERMISSIONS: i32 = -4; // everything allowed; bits 1 and 2 must be 0
    let user = pad_password(ENCRYPTED_PDF_PASSWORD);
    // Algorithm 3: O is the padded user password under a key from the owner password.
    let owner_key = md5(&pad_password("owner"));
    let o = rc4(&owner_key[..5], &user);
    // Algorithm 2: the file key.
    let mut seed = user.to_vec();
    seed.extend(&o);
    seed.extend(PERMISSIONS.to_le_bytes());
    seed.extend(ID);
    let file_key = &md5(&seed)[..5];
    // Algorithm 4 (revision 2): U is the padding under the file key.
    let u = rc4(file_key, &PASSWORD_PAD);
    // Algorithm 1: the content stream (object 5, generation 0) under its own key.
    let mut object_seed = file_key.to_vec();
    object_seed.extend([5, 0, 0, 0, 0]);
    let object_key = &md5(&object_seed)[..10];
    let runs = [TextRun::new(72.0, 100.0, 12.0, "Hidden text")];
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        HELVETICA.as_bytes().to_vec(),
        page_object(5),
        stream(&rc4(object_key, &content(&runs))),
        format!(
            "<< /Filter /Standard /V 1 /R 2 /Length 40 /O <{}> /U <{}> /P {PERMISSIONS} >>",
            hex(&o),
            hex(&u)
        )
        .into_bytes(),
    ];
    let id = hex(ID);
    write_pdf(
        &objects,
        &format!("/Root 1 0 R /Encrypt 6 0 R /ID [<{id}> <{id}>]"),
    )
}

const HELVETICA: &str =
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// Helvetica AFM advance widths (1/1000 em) for WinAnsi codes 32..=126.
#[rustfmt::skip]
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,      // 'p'..'~'
];

/// An A4 page using font F1 = object 3, whose content stream is object `contents`.
fn page_object(contents: usize) -> Vec<u8> {
    format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
         /Resources << /Font << /F1 3 0 R >> >> /Contents {contents} 0 R >>"
    )
    .into_bytes()
}

fn content(runs: &[TextRun]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in runs {
        let baseline = PAGE_HEIGHT - run.y_from_top;
        out.extend(format!("BT /F1 {} Tf {} {baseline} Td (", run.size, run.x).into_bytes());
        for c in run.text.chars() {
            match c {
                '(' | ')' | '\\' => out.extend([b'\\', c as u8]),
                // WinAnsi agrees with Latin-1 on these.
                ' '..='~' | '\u{a0}'..='\u{ff}' => out.push(c as u8),
                _ => panic!("text_pdf cannot encode {c:?} in WinAnsi"),
            }
        }
        out.extend(b") Tj ET\n");
    }
    out
}

fn stream(data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend(data);
    out.extend(b"\nendstream");
    out
}

/// Numbers `objects` from 1 and adds the xref table, trailer and startxref.
fn write_pdf(objects: &[Vec<u8>], trailer: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(object);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend(format!("xref\n0 {size}\n0000000000 65535 f \n").into_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {size} {trailer} >>\nstartxref\n{xref}\n%%EOF\n").into_bytes(),
    );
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

const PASSWORD_PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

fn pad_password(password: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes = &password.as_bytes()[..password.len().min(32)];
    out[..bytes.len()].copy_from_slice(bytes);
    out[bytes.len()..].copy_from_slice(&PASSWORD_PAD[..32 - bytes.len()]);
    out
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[i as usize]);
            s.swap(i as usize, j as usize);
            byte ^ s[s[i as usize].wrapping_add(s[j as usize]) as usize]
        })
        .collect()
}

/// RFC 1321, enough for the security handler (the crate graph has no MD5 we may depend on).
fn md5(message: &[u8]) -> [u8; 16] {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: [u32; 64] =
        std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32);
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut data = message.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend((message.len() as u64 * 8).to_le_bytes());
    for block in data.chunks(64) {
        let m: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ])
        });
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(SHIFTS[(i / 16) * 4 + i % 4]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}
