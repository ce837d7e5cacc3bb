//! Ruling lines in a gray page image (scans, photos, rendered scanned PDFs): long runs of dark
//! pixels chained across the small steps a skewed scan puts in them. Each line comes back
//! straightened to its mean position as a thin box in pixels.

use image::GrayImage;

use docket_domain::text::Rect;

/// Darker than this counts as ink (scanned thin lines blur to mid-gray).
const INK: u8 = 160;
/// Runs shorter than this (in pixels) are letters, not lines.
const MIN_RUN: u32 = 24;
/// How far a chained run may step sideways (a skewed line) or leave a gap (a broken line).
const MAX_STEP: i64 = 4;
const MAX_GAP: i64 = 24;

/// A run of ink along one row (or column) of pixels.
#[derive(Clone, Copy)]
struct Run {
    across: i64,
    from: i64,
    to: i64,
}

/// Horizontal and vertical ruling lines at least `min_length` pixels long.
pub fn find(image: &GrayImage, min_length: u32) -> Vec<Rect> {
    let (w, h) = (image.width(), image.height());
    let pixels = image.as_raw();
    let ink = |x: u32, y: u32| {
        pixels
            .get(y as usize * w as usize + x as usize)
            .is_some_and(|&p| p < INK)
    };
    let horizontal = lines(h, w, |row, i| ink(i, row), min_length);
    let vertical = lines(w, h, ink, min_length);
    let mut found: Vec<Rect> = horizontal
        .into_iter()
        .map(|(at, from, to)| Rect {
            left: from,
            right: to,
            top: at - 0.5,
            bottom: at + 0.5,
        })
        .collect();
    found.extend(vertical.into_iter().map(|(at, from, to)| Rect {
        left: at - 0.5,
        right: at + 0.5,
        top: from,
        bottom: to,
    }));
    found
}

/// Lines along `count` rows of `length` pixels each: (mean position across, start, end).
fn lines(
    count: u32,
    length: u32,
    ink: impl Fn(u32, u32) -> bool,
    min_length: u32,
) -> Vec<(f64, f64, f64)> {
    let mut runs = Vec::new();
    for row in 0..count {
        let mut start = None;
        for i in 0..=length {
            match (i < length && ink(row, i), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= MIN_RUN {
                        runs.push(Run {
                            across: i64::from(row),
                            from: i64::from(s),
                            to: i64::from(i),
                        });
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    runs.sort_by_key(|r| (r.from, r.across));
    // Chains of runs: each continues where the last one ended, a pixel or two across.
    let mut chains: Vec<Vec<Run>> = Vec::new();
    for run in runs {
        let next = chains
            .iter_mut()
            .filter_map(|chain| {
                let last = chain.last()?;
                // Runs of a thick, sloped line overlap their neighbours: any run that starts
                // before the chain's end (plus a gap) and reaches further continues it.
                let step = (run.across - last.across).abs();
                let continues = run.from - last.to <= MAX_GAP && run.to > last.to;
                (step <= MAX_STEP && continues).then_some((step, chain))
            })
            .min_by_key(|(step, _)| *step);
        match next {
            Some((_, chain)) => chain.push(run),
            None => chains.push(vec![run]),
        }
    }
    let mut lines: Vec<(f64, f64, f64)> = chains
        .iter()
        .filter_map(|chain| {
            let (first, last) = (chain.first()?, chain.last()?);
            let (from, to) = (first.from, last.to);
            if to - from < i64::from(min_length) {
                return None;
            }
            let weight: i64 = chain.iter().map(|r| r.to - r.from).sum();
            let across = chain
                .iter()
                .map(|r| (r.across * (r.to - r.from)) as f64)
                .sum::<f64>()
                / weight.max(1) as f64;
            Some((across, from as f64, to as f64))
        })
        .collect();
    // A line a few pixels thick gives parallel chains: keep one.
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64, f64)> = Vec::new();
    for line in lines {
        match merged.last_mut() {
            Some(last) if line.0 - last.0 <= 4.0 && line.1 < last.2 && last.1 < line.2 => {
                *last = (last.0, last.1.min(line.1), last.2.max(line.2));
            }
            _ => merged.push(line),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_skewed_grid_lines_and_ignores_text() {
        let mut image = GrayImage::from_pixel(600, 400, image::Luma([255]));
        // A horizontal line rising one pixel every 60 (about 1°), two pixels thick.
        for x in 50..550u32 {
            let y = 100 - x / 60;
            image.put_pixel(x, y, image::Luma([0]));
            image.put_pixel(x, y + 1, image::Luma([0]));
        }
        // A vertical line and a short dash that is not a line.
        for y in 80..300 {
            image.put_pixel(300, y, image::Luma([0]));
        }
        for x in 100..110 {
            image.put_pixel(x, 250, image::Luma([0]));
        }
        let found = find(&image, 100);
        assert_eq!(found.len(), 2, "{found:?}");
        let horizontal = found.iter().find(|r| r.width() > r.height()).unwrap();
        assert!(
            (horizontal.left - 50.0).abs() < 2.0 && (horizontal.right - 550.0).abs() < 2.0,
            "{horizontal:?}"
        );
        let vertical = found.iter().find(|r| r.height() > r.width()).unwrap();
        assert!(
            (vertical.left + vertical.right) / 2.0 == 300.0 && vertical.height() >= 219.0,
            "{vertical:?}"
        );
        assert!(find(&GrayImage::new(0, 0), 10).is_empty());
    }
}
