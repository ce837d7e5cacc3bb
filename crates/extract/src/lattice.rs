//! Ruled tables: grids of horizontal and vertical ruling lines give rows and columns directly,
//! so tables are found even when no column lines up numbers (which word alignment in `tables`
//! needs). Words are assigned to the grid cell holding their centre.

use crate::tables;
use docket_domain::text::{PageText, Rect, Word};
use docket_domain::understanding::{Table, TableCell};

/// Lines thinner than this are rulings; a ruling is at least `MIN_LENGTH` long.
const MAX_THICKNESS: f64 = 3.0;
const MIN_LENGTH: f64 = 12.0;

#[derive(Debug, Clone, Copy)]
struct Ruling {
    /// y of a horizontal ruling, x of a vertical one.
    at: f64,
    from: f64,
    to: f64,
}

/// Ruled tables on the page, top to bottom. `rulings` are thin line boxes in page units;
/// `tolerance` is how far apart (page units) two rulings may be and still meet or count as one
/// position: small for drawn PDF lines, larger for lines straightened from a skewed scan.
pub fn detect(page: &PageText, rulings: &[Rect], tolerance: f64) -> Vec<Table> {
    let (mut horizontal, mut vertical) = (Vec::new(), Vec::new());
    for r in rulings {
        let (w, h) = (r.width(), r.height());
        if !(w.is_finite() && h.is_finite()) {
            continue;
        }
        if h <= MAX_THICKNESS && w >= MIN_LENGTH {
            horizontal.push(Ruling {
                at: (r.top + r.bottom) / 2.0,
                from: r.left,
                to: r.right,
            });
        } else if w <= MAX_THICKNESS && h >= MIN_LENGTH {
            vertical.push(Ruling {
                at: (r.left + r.right) / 2.0,
                from: r.top,
                to: r.bottom,
            });
        }
    }
    let words: Vec<&Word> = page.lines.iter().flat_map(|l| &l.words).collect();
    let mut tables: Vec<Table> = grids(&horizontal, &vertical, tolerance)
        .into_iter()
        .filter_map(|(hs, vs)| table(page.page_number, &hs, &vs, &words, tolerance))
        .collect();
    tables.sort_by(|a, b| a.bbox.top.total_cmp(&b.bbox.top));
    tables
}

fn meets(h: &Ruling, v: &Ruling, tolerance: f64) -> bool {
    v.at >= h.from - tolerance
        && v.at <= h.to + tolerance
        && h.at >= v.from - tolerance
        && h.at <= v.to + tolerance
}

/// Groups rulings that cross or touch into grids (connected components).
fn grids(
    horizontal: &[Ruling],
    vertical: &[Ruling],
    tolerance: f64,
) -> Vec<(Vec<Ruling>, Vec<Ruling>)> {
    let n = horizontal.len();
    let mut parent: Vec<usize> = (0..n + vertical.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, h) in horizontal.iter().enumerate() {
        for (j, v) in vertical.iter().enumerate() {
            if meets(h, v, tolerance) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, n + j));
                parent[a] = b;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, (Vec<Ruling>, Vec<Ruling>)> =
        Default::default();
    for (i, h) in horizontal.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().0.push(*h);
    }
    for (j, v) in vertical.iter().enumerate() {
        let r = root(&mut parent, n + j);
        groups.entry(r).or_default().1.push(*v);
    }
    groups.into_values().collect()
}

/// Distinct positions, rulings within the tolerance merged.
fn positions(rulings: &[Ruling], tolerance: f64) -> Vec<f64> {
    let mut at: Vec<f64> = rulings.iter().map(|r| r.at).collect();
    at.sort_by(f64::total_cmp);
    let mut merged: Vec<f64> = Vec::new();
    for value in at {
        match merged.last() {
            Some(last) if value - last <= tolerance => {}
            _ => merged.push(value),
        }
    }
    merged
}

fn table(
    page_number: u32,
    horizontal: &[Ruling],
    vertical: &[Ruling],
    words: &[&Word],
    tolerance: f64,
) -> Option<Table> {
    let (ys, xs) = (
        positions(horizontal, tolerance),
        positions(vertical, tolerance),
    );
    if ys.len() < 3 || xs.len() < 3 {
        return None; // fewer than two rows or two columns
    }
    let mut rows: Vec<Vec<(u32, Vec<&Word>)>> = Vec::new();
    for band in ys.windows(2) {
        let mut row = Vec::new();
        for (column, span) in xs.windows(2).enumerate() {
            let inside: Vec<&Word> = words
                .iter()
                .copied()
                .filter(|w| {
                    let (x, y) = (
                        (w.bbox.left + w.bbox.right) / 2.0,
                        (w.bbox.top + w.bbox.bottom) / 2.0,
                    );
                    x > span[0] && x < span[1] && y > band[0] && y < band[1]
                })
                .collect();
            if !inside.is_empty() {
                row.push((column as u32, inside));
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    if rows.len() < 2 {
        return None;
    }
    let mut cells = Vec::new();
    for (row_index, row) in rows.iter().enumerate() {
        for (column, words) in row {
            cells.push(cell(row_index as u32, *column, words));
        }
    }
    let numeric = |c: &TableCell| tables::amount(&c.content).is_some();
    let first_row_is_text = cells.iter().filter(|c| c.row == 0).all(|c| !numeric(c));
    let has_header = first_row_is_text && rows.len() > 1;
    let column_count = (xs.len() - 1) as u32;
    let filled = cells.len() as f64 / (rows.len() as f64 * f64::from(column_count));
    let confidence =
        cells.iter().map(|c| c.confidence).sum::<f64>() / cells.len() as f64 * filled.min(1.0);
    let bbox = Rect {
        left: xs[0],
        top: ys[0],
        right: xs[xs.len() - 1],
        bottom: ys[ys.len() - 1],
    };
    Some(Table {
        page_number,
        bbox,
        row_count: rows.len() as u32,
        column_count,
        has_header,
        cells,
        confidence,
    })
}

fn cell(row: u32, column: u32, words: &[&Word]) -> TableCell {
    let mut ordered = words.to_vec();
    // Reading order inside the cell: line by line, then left to right.
    ordered.sort_by(|a, b| {
        let line = |w: &Word| (w.bbox.top / (w.bbox.height().max(1.0) * 0.8)).floor();
        line(a)
            .total_cmp(&line(b))
            .then(a.bbox.left.total_cmp(&b.bbox.left))
    });
    let content = ordered
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let content_normalized = tables::amount(&content).unwrap_or_else(|| content.clone());
    let first = ordered[0].bbox;
    let bbox = ordered.iter().fold(first, |b, w| b.union(&w.bbox));
    let confidence = ordered.iter().map(|w| w.confidence).sum::<f64>() / ordered.len() as f64;
    TableCell {
        row,
        column,
        content,
        content_normalized,
        bbox,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::text::{Line, PageUnit};

    fn word(text: &str, left: f64, top: f64) -> Word {
        Word {
            text: text.into(),
            bbox: Rect {
                left,
                top,
                right: left + 6.0 * text.len() as f64,
                bottom: top + 10.0,
            },
            confidence: 1.0,
        }
    }

    fn h(y: f64, from: f64, to: f64) -> Rect {
        Rect {
            left: from,
            top: y - 0.25,
            right: to,
            bottom: y + 0.25,
        }
    }

    fn v(x: f64, from: f64, to: f64) -> Rect {
        Rect {
            left: x - 0.25,
            top: from,
            right: x + 0.25,
            bottom: to,
        }
    }

    /// Horizontal rulings at `ys` and vertical ones at `xs`, each spanning the other's extent.
    fn grid(ys: &[f64], xs: &[f64]) -> Vec<Rect> {
        let (top, bottom) = (ys[0], ys[ys.len() - 1]);
        let (left, right) = (xs[0], xs[xs.len() - 1]);
        let horizontal = ys.iter().map(|&y| h(y, left, right));
        horizontal
            .chain(xs.iter().map(|&x| v(x, top, bottom)))
            .collect()
    }

    fn page(words: Vec<Word>) -> PageText {
        PageText {
            page_number: 1,
            width: 595.0,
            height: 842.0,
            unit: PageUnit::Point,
            lines: vec![Line { words }],
        }
    }

    #[test]
    fn a_ruled_text_table_becomes_rows_and_columns() {
        let page = page(vec![
            word("Name", 55.0, 105.0),
            word("Role", 205.0, 105.0),
            word("Ana", 55.0, 125.0),
            word("Silva", 80.0, 125.0),
            word("Engineer", 205.0, 125.0),
            word("Rui", 55.0, 145.0),
            word("Sales", 205.0, 145.0),
            word("outside", 55.0, 300.0),
        ]);
        let rulings = grid(&[100.0, 120.0, 140.0, 160.0], &[50.0, 200.0, 350.0]);
        let tables = detect(&page, &rulings, 2.5);
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count, t.has_header), (3, 2, true));
        let texts: Vec<(u32, u32, &str)> = t
            .cells
            .iter()
            .map(|c| (c.row, c.column, c.content.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (0, 0, "Name"),
                (0, 1, "Role"),
                (1, 0, "Ana Silva"),
                (1, 1, "Engineer"),
                (2, 0, "Rui"),
                (2, 1, "Sales")
            ]
        );
    }

    #[test]
    fn cells_read_as_in_tables_found_by_alignment() {
        let page = page(vec![
            word("Qtd", 55.0, 105.0),
            word("Valor", 205.0, 105.0),
            word("3", 55.0, 125.0),
            word("1.234", 205.0, 125.0),
        ]);
        let rulings = grid(&[100.0, 120.0, 140.0], &[50.0, 200.0, 350.0]);
        let table = &detect(&page, &rulings, 2.5)[0];
        let values: Vec<&str> = table
            .cells
            .iter()
            .map(|c| c.content_normalized.as_str())
            .collect();
        assert_eq!(values, ["Qtd", "Valor", "3", "1234"]);
        assert!(table.has_header);
    }

    #[test]
    fn lone_lines_and_boxes_are_not_tables() {
        let page = page(vec![word("Total", 55.0, 105.0)]);
        assert!(
            detect(&page, &[h(100.0, 50.0, 350.0), h(120.0, 50.0, 350.0)], 2.5).is_empty(),
            "no columns"
        );
        assert!(
            detect(
                &page,
                &[
                    h(100.0, 50.0, 350.0),
                    h(120.0, 50.0, 350.0),
                    v(50.0, 100.0, 120.0),
                    v(350.0, 100.0, 120.0)
                ],
                2.5
            )
            .is_empty(),
            "one cell"
        );
        assert!(detect(&page, &[], 2.5).is_empty());
        let nan = Rect {
            left: f64::NAN,
            top: 0.0,
            right: 1.0,
            bottom: 1.0,
        };
        assert!(detect(&page, &[nan], 2.5).is_empty());
    }
}
