//! Table detection on one recognised page from word alignment alone (no ruling lines).
//!
//! Words are regrouped into visual rows (OCR may split a row into one line per column block),
//! each row is cut into segments at gaps wider than [`SEGMENT_GAP`] character widths, and runs
//! of vertically close rows whose segments share columns become tables. A table stops at a row
//! that does not fit its columns: a full-width paragraph line, a text cell under a column that
//! so far held only numbers, or a totals line (`Total`, `IVA`, `Subtotal`…) with fewer cells
//! than the rows above. So a totals block is kept out of the lines table; when two or more of
//! its lines align it may form a small table of its own.

use docket_domain::text::{PageText, Rect, Word};
use docket_domain::understanding::{Table, TableCell};

/// Words further apart than this many character widths are in different cells. About 1.5×
/// the usual gap, with room for OCR jitter; real column gutters are wider still.
const SEGMENT_GAP: f64 = 2.0;
/// Column extents match when they come within this many character widths of each other.
const ALIGN_TOL: f64 = 1.0;
/// Rows further apart than this many line heights are not in the same table.
const ROW_GAP: f64 = 2.0;
/// How far (in character widths) a header may sit beside its column, e.g. left-aligned over
/// right-aligned numbers.
const HEADER_OFFSET: f64 = 3.0;
/// Share of rows that must fill at least two columns.
const MIN_FULL_ROWS: f64 = 0.6;

/// Words that name invoice and statement columns, lowercase.
const HEADER_WORDS: &str = "descrição descricao description designação designacao artigo article \
    item produto product qtd qty quant quantidade quantity preço preco price unit unitário \
    unitario un iva vat total valor value amount montante taxa rate tax desconto discount data \
    date ref referência referencia reference código codigo code débito debito debit crédito \
    credito credit saldo balance";

/// Labels that open a totals line under a table, `|`-separated.
const TOTALS_LABELS: &str = "total|totais|subtotal|sub-total|sub total|soma|iva|vat|tax|\
    desconto|discount|saldo|balance|a pagar|amount due|net|líquido|liquido";

const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "R$", "€", "$", "£"];

/// Tables on one page, top to bottom.
pub fn detect(page: &PageText) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut current: Option<Builder> = None;
    for row in rows(page) {
        if let Some(table) = current.as_mut() {
            if table.near(&row) && (table.continue_cell(&row) || table.try_add(&row)) {
                continue;
            }
        }
        tables.extend(current.take().and_then(|t| t.finish(page.page_number)));
        current = (row.segs.len() >= 2).then(|| Builder::start(row));
    }
    tables.extend(current.and_then(|t| t.finish(page.page_number)));
    tables
}

/// Words of one row close enough to read as one cell.
#[derive(Clone)]
struct Seg<'a> {
    words: Vec<&'a Word>,
    bbox: Rect,
    text: String,
    numeric: bool,
}

impl<'a> Seg<'a> {
    fn new(words: Vec<&'a Word>) -> Option<Self> {
        let bbox = union(words.iter().map(|w| w.bbox))?;
        let text = words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let numeric = amount(&text).is_some();
        Some(Seg {
            words,
            bbox,
            text,
            numeric,
        })
    }

    fn append(&mut self, other: &Seg<'a>) {
        self.words.extend(&other.words);
        if let Some(merged) = Seg::new(std::mem::take(&mut self.words)) {
            *self = merged;
        }
    }
}

struct Row<'a> {
    segs: Vec<Seg<'a>>,
    bbox: Rect,
    height: f64,
    /// Typical character width, the unit of every horizontal tolerance.
    cw: f64,
}

/// Visual rows top to bottom: lines whose vertical centres are within half a line height join.
fn rows(page: &PageText) -> Vec<Row<'_>> {
    let mut lines: Vec<_> = page
        .lines
        .iter()
        .filter_map(|l| Some((l.bbox()?, l)))
        .collect();
    lines.sort_by(|a, b| centre(&a.0).total_cmp(&centre(&b.0)));
    let mut groups: Vec<(Rect, Vec<&Word>)> = Vec::new();
    for (bbox, line) in lines {
        match groups.last_mut() {
            Some((b, words))
                if (centre(b) - centre(&bbox)).abs() <= 0.5 * b.height().max(bbox.height()) =>
            {
                *b = b.union(&bbox);
                words.extend(&line.words);
            }
            _ => groups.push((bbox, line.words.iter().collect())),
        }
    }
    groups
        .into_iter()
        .filter_map(|(bbox, words)| row(bbox, words))
        .collect()
}

fn row(bbox: Rect, mut words: Vec<&Word>) -> Option<Row<'_>> {
    words.sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
    let height = median(words.iter().map(|w| w.bbox.height()));
    let cw = median(words.iter().filter_map(|w| {
        let chars = w.text.chars().count();
        (chars > 0).then(|| w.bbox.width() / chars as f64)
    }));
    let mut segs = Vec::new();
    let mut run: Vec<&Word> = Vec::new();
    let mut right = f64::NEG_INFINITY;
    for word in words {
        if !run.is_empty() && word.bbox.left - right > SEGMENT_GAP * cw {
            segs.extend(Seg::new(std::mem::take(&mut run)));
        }
        right = right.max(word.bbox.right);
        run.push(word);
    }
    segs.extend(Seg::new(run));
    (!segs.is_empty()).then_some(Row {
        segs,
        bbox,
        height,
        cw,
    })
}

#[derive(Clone)]
struct Cell<'a> {
    col: usize,
    seg: Seg<'a>,
}

/// Where a segment falls among the columns.
enum Place {
    Column(usize),
    Spans(usize, usize),
    Outside,
}

/// A table being grown row by row; columns are disjoint x-extents sorted left to right.
#[derive(Clone)]
struct Builder<'a> {
    cols: Vec<(f64, f64)>,
    rows: Vec<Vec<Cell<'a>>>,
    bottom: f64,
    height: f64,
    cw: f64,
    /// Smallest gap seen between rows, to tell a wrapped cell from the next paragraph.
    min_gap: Option<f64>,
}

impl<'a> Builder<'a> {
    fn start(row: Row<'a>) -> Self {
        let cols = row
            .segs
            .iter()
            .map(|s| (s.bbox.left, s.bbox.right))
            .collect();
        let cells = row
            .segs
            .into_iter()
            .enumerate()
            .map(|(col, seg)| Cell { col, seg });
        Builder {
            cols,
            rows: vec![cells.collect()],
            bottom: row.bbox.bottom,
            height: row.height,
            cw: row.cw,
            min_gap: None,
        }
    }

    fn near(&self, row: &Row) -> bool {
        row.bbox.top - self.bottom <= ROW_GAP * self.height.max(row.height)
    }

    fn tol(&self, row: &Row) -> f64 {
        ALIGN_TOL * self.cw.max(row.cw)
    }

    fn place(&self, seg: &Seg, tol: f64) -> Place {
        let hits = |slack: f64| {
            let (l, r) = (seg.bbox.left - slack, seg.bbox.right + slack);
            let mut it = self
                .cols
                .iter()
                .enumerate()
                .filter(|(_, c)| l <= c.1 && r >= c.0);
            let first = it.next().map(|(i, _)| i);
            (first, it.next_back().map(|(i, _)| i))
        };
        match hits(0.0) {
            (Some(i), Some(j)) => return Place::Spans(i, j),
            (Some(i), None) => return Place::Column(i),
            _ => {}
        }
        // Near several columns but on none: take the closest.
        let gap = |c: &(f64, f64)| (c.0 - seg.bbox.right).max(seg.bbox.left - c.1);
        match hits(tol) {
            (Some(i), Some(j)) => Place::Column(if gap(&self.cols[i]) <= gap(&self.cols[j]) {
                i
            } else {
                j
            }),
            (Some(i), None) => Place::Column(i),
            _ => Place::Outside,
        }
    }

    /// Whether no row has cells in two of columns `i..=j`.
    fn disjoint(&self, i: usize, j: usize) -> bool {
        self.rows
            .iter()
            .all(|r| r.iter().filter(|c| (i..=j).contains(&c.col)).count() <= 1)
    }

    fn merge(&mut self, i: usize, j: usize) {
        let Some(span) = self.cols.get(i..=j) else {
            return;
        };
        let merged = span
            .iter()
            .fold(span[0], |a, c| (a.0.min(c.0), a.1.max(c.1)));
        self.cols[i] = merged;
        self.cols.drain(i + 1..=j);
        for cell in self.rows.iter_mut().flatten() {
            if cell.col > j {
                cell.col -= j - i;
            } else if cell.col > i {
                cell.col = i;
            }
        }
    }

    fn insert(&mut self, col: (f64, f64)) {
        let at = self
            .cols
            .iter()
            .position(|c| c.0 > col.0)
            .unwrap_or(self.cols.len());
        self.cols.insert(at, col);
        for cell in self.rows.iter_mut().flatten() {
            if cell.col >= at {
                cell.col += 1;
            }
        }
    }

    /// Whether column `c` has held only numbers below the first row.
    fn numeric_column(&self, c: usize) -> bool {
        let mut body = self
            .rows
            .iter()
            .skip(1)
            .flatten()
            .filter(|x| x.col == c)
            .peekable();
        body.peek().is_some() && body.all(|x| x.seg.numeric)
    }

    /// A wrapped text cell: a one-segment row tucked under a text cell of the last row.
    fn continue_cell(&mut self, row: &Row<'a>) -> bool {
        let [seg] = &row.segs[..] else { return false };
        let h = self.height.max(row.height);
        let limit = self.min_gap.map_or(0.5 * h, |g| g + 0.25 * h).min(h);
        if row.bbox.top - self.bottom > limit || seg.numeric || totals_label(&seg.text) {
            return false;
        }
        let Place::Column(col) = self.place(seg, self.tol(row)) else {
            return false;
        };
        let last = self
            .rows
            .last_mut()
            .and_then(|r| r.iter_mut().find(|c| c.col == col));
        let Some(cell) = last.filter(|c| !c.seg.numeric) else {
            return false;
        };
        cell.seg.append(seg);
        let c = &mut self.cols[col];
        *c = (c.0.min(seg.bbox.left), c.1.max(seg.bbox.right));
        self.bottom = self.bottom.max(row.bbox.bottom);
        true
    }

    fn try_add(&mut self, row: &Row<'a>) -> bool {
        let mut next = self.clone();
        let fits = row.segs.len() >= 2 && next.add(row);
        if fits {
            *self = next;
        }
        fits
    }

    fn add(&mut self, row: &Row<'a>) -> bool {
        let tol = self.tol(row);
        // A segment over columns that never share a row joins them (a header beside its column).
        for seg in &row.segs {
            if let Place::Spans(i, j) = self.place(seg, 0.0) {
                if !self.disjoint(i, j) {
                    return false;
                }
                self.merge(i, j);
            }
        }
        // Only the second row may open columns: it may be the first body row under a header.
        for seg in &row.segs {
            if let Place::Outside = self.place(seg, tol) {
                if self.rows.len() > 1 {
                    return false;
                }
                self.insert((seg.bbox.left, seg.bbox.right));
            }
        }
        let mut cells: Vec<Cell<'a>> = Vec::new();
        for seg in &row.segs {
            let Place::Column(col) = self.place(seg, tol) else {
                return false;
            };
            if cells.iter().any(|c| c.col == col) {
                return false;
            }
            if self.rows.len() >= 2 && !seg.numeric && self.numeric_column(col) {
                return false;
            }
            cells.push(Cell {
                col,
                seg: seg.clone(),
            });
        }
        cells.sort_by_key(|c| c.col);
        let widest = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let first_is_total = cells.first().is_some_and(|c| totals_label(&c.seg.text));
        if self.rows.len() >= 2 && first_is_total && cells.len() < widest {
            return false;
        }
        for cell in &cells {
            let c = &mut self.cols[cell.col];
            *c = (c.0.min(cell.seg.bbox.left), c.1.max(cell.seg.bbox.right));
        }
        let gap = row.bbox.top - self.bottom;
        self.min_gap = Some(self.min_gap.map_or(gap, |g| g.min(gap)));
        self.bottom = row.bbox.bottom;
        self.height = self.height.max(row.height);
        self.rows.push(cells);
        true
    }

    /// Joins a column filled only by the first row with a neighbour empty in that row, when
    /// close: a left-aligned header over right-aligned numbers.
    fn merge_header_offsets(&mut self) {
        let in_first =
            |b: &Self, c: usize| b.rows.first().is_some_and(|r| r.iter().any(|x| x.col == c));
        let only_first = |b: &Self, c: usize| {
            b.rows.iter().skip(1).flatten().all(|x| x.col != c) && in_first(b, c)
        };
        let mut i = 0;
        while i + 1 < self.cols.len() {
            let close = self.cols[i + 1].0 - self.cols[i].1 <= HEADER_OFFSET * self.cw;
            let header_beside = (only_first(self, i) && !in_first(self, i + 1))
                || (only_first(self, i + 1) && !in_first(self, i));
            if close && header_beside && self.disjoint(i, i + 1) {
                self.merge(i, i + 1);
            } else {
                i += 1;
            }
        }
    }

    fn drop_empty_columns(&mut self) {
        let mut i = 0;
        while i < self.cols.len() {
            if self.rows.iter().flatten().any(|c| c.col == i) {
                i += 1;
                continue;
            }
            self.cols.remove(i);
            for cell in self.rows.iter_mut().flatten() {
                if cell.col > i {
                    cell.col -= 1;
                }
            }
        }
    }

    fn finish(mut self, page_number: u32) -> Option<Table> {
        self.merge_header_offsets();
        // A caption line glued on top of a header row is not part of the table.
        if self.rows.len() > 2
            && header_words(&self.rows[1]) >= 2
            && header_words(&self.rows[0]) == 0
        {
            self.rows.remove(0);
            self.drop_empty_columns();
        }
        let (n_rows, n_cols) = (self.rows.len(), self.cols.len());
        if n_rows < 2 || n_cols < 2 {
            return None;
        }
        let has_header = self.has_header();
        let body = &self.rows[usize::from(has_header)..];
        // Invoices and statements always carry a column of numbers; side-by-side text blocks
        // (addresses, two-column prose) do not.
        let numbers = (0..n_cols).any(|c| {
            let cells: Vec<bool> = body
                .iter()
                .flatten()
                .filter(|x| x.col == c)
                .map(|x| x.seg.numeric)
                .collect();
            !cells.is_empty() && 2 * cells.iter().filter(|&&n| n).count() >= cells.len()
        });
        let full = self.rows.iter().filter(|r| r.len() >= 2).count();
        if !numbers || (full as f64) < MIN_FULL_ROWS * n_rows as f64 {
            return None;
        }
        let cells: Vec<TableCell> = self
            .rows
            .iter()
            .enumerate()
            .flat_map(|(r, cells)| cells.iter().map(move |c| table_cell(r, c)))
            .collect();
        let bbox = union(cells.iter().map(|c| c.bbox))?;
        let mean = cells.iter().map(|c| c.confidence).sum::<f64>() / cells.len() as f64;
        let filled = cells.len() as f64 / (n_rows * n_cols) as f64;
        Some(Table {
            page_number,
            bbox,
            row_count: n_rows as u32,
            column_count: n_cols as u32,
            has_header,
            cells,
            confidence: mean * filled,
        })
    }

    /// The first row heads the table when it holds no numbers and either names its columns
    /// with header words or sits over columns of numbers.
    fn has_header(&self) -> bool {
        let Some(first) = self.rows.first() else {
            return false;
        };
        if first.iter().any(|c| c.seg.numeric) {
            return false;
        }
        let over_numbers = first.iter().any(|h| {
            let below: Vec<bool> = self.rows[1..]
                .iter()
                .flatten()
                .filter(|x| x.col == h.col)
                .map(|x| x.seg.numeric)
                .collect();
            !below.is_empty() && 2 * below.iter().filter(|&&n| n).count() >= below.len()
        });
        over_numbers || header_words(first) > 0
    }
}

fn table_cell(row: usize, cell: &Cell) -> TableCell {
    let seg = &cell.seg;
    let n = seg.words.len().max(1) as f64;
    TableCell {
        row: row as u32,
        column: cell.col as u32,
        content: seg.text.clone(),
        content_normalized: amount(&seg.text).unwrap_or_else(|| seg.text.clone()),
        bbox: seg.bbox,
        confidence: seg.words.iter().map(|w| w.confidence).sum::<f64>() / n,
    }
}

fn header_words(row: &[Cell]) -> usize {
    row.iter()
        .flat_map(|c| c.seg.words.iter())
        .filter(|w| {
            let word = w
                .text
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            HEADER_WORDS.split_whitespace().any(|h| h == word)
        })
        .count()
}

fn totals_label(text: &str) -> bool {
    let text = text.trim().to_lowercase();
    TOTALS_LABELS.split('|').any(|label| {
        text.strip_prefix(label)
            .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
    })
}

/// A numeric-looking cell as a plain decimal: `1.234,56` and `1,234.56` → `1234.56`,
/// `(10,00)` → `-10.00`, `23%` → `23.00`. None when the text is not a number. Shared by every
/// table detector so a cell reads the same whichever found its table.
pub(crate) fn amount(text: &str) -> Option<String> {
    let mut s = text.trim();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    let percent = s.ends_with('%');
    s = s.trim_end_matches('%').trim();
    // Signs and currency marks come in either order around the number.
    for _ in 0..2 {
        for cur in CURRENCIES {
            s = s
                .strip_prefix(cur)
                .or_else(|| s.strip_suffix(cur))
                .unwrap_or(s)
                .trim();
        }
        if let Some(t) = s.strip_prefix(['-', '−']).or_else(|| s.strip_suffix('-')) {
            negative = true;
            s = t.trim();
        }
        s = s.strip_prefix('+').unwrap_or(s).trim();
    }
    let digit_ends =
        s.starts_with(|c: char| c.is_ascii_digit()) && s.ends_with(|c: char| c.is_ascii_digit());
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}' | '\'');
    if !digit_ends || !s.chars().all(allowed) {
        return None;
    }
    // The last separator is the decimal point unless it repeats, or stands alone before
    // exactly three digits (`1.234` is a thousand in pt and in en alike).
    let decimal = s.rfind(['.', ',']).filter(|&i| {
        let sep = if s[i..].starts_with('.') { '.' } else { ',' };
        let (int, frac) = (&s[..i], &s[i + 1..]);
        let other = if sep == '.' { ',' } else { '.' };
        !int.contains(sep)
            && (int.contains(other) || frac.len() != 3 || int == "0" || int.len() > 3)
    });
    let (int, frac) = match decimal {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let groups: Vec<&str> = int.split(|c: char| !c.is_ascii_digit()).collect();
    let grouped_ok = groups.len() == 1
        || (matches!(groups[0].len(), 1..=3) && groups[1..].iter().all(|g| g.len() == 3));
    if !grouped_ok || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits: String = groups.concat();
    let digits = match digits.trim_start_matches('0') {
        "" => "0",
        d => d,
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(digits);
    let places: usize = if percent { 2 } else { 0 };
    if !frac.is_empty() || places > 0 {
        out.push('.');
        out.push_str(frac);
        out.extend(std::iter::repeat_n('0', places.saturating_sub(frac.len())));
    }
    Some(out)
}

fn centre(r: &Rect) -> f64 {
    (r.top + r.bottom) / 2.0
}

fn union(mut boxes: impl Iterator<Item = Rect>) -> Option<Rect> {
    let first = boxes.next()?;
    Some(boxes.fold(first, |a, b| a.union(&b)))
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite() && *x >= 0.0).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::text::{Line, PageUnit};

    const CW: f64 = 6.0;

    /// A cell's words laid out from `left`, one character width between words.
    fn cell_at(text: &str, left: f64, top: f64, words: &mut Vec<Word>) {
        let mut x = left;
        for t in text.split(' ') {
            let right = x + CW * t.chars().count() as f64;
            let bbox = Rect {
                left: x,
                top,
                right,
                bottom: top + 10.0,
            };
            words.push(Word {
                text: t.to_owned(),
                bbox,
                confidence: 0.9,
            });
            x = right + CW;
        }
    }

    /// Left-aligned at `x` when positive; right-aligned to `-x` when negative.
    fn line(top: f64, cells: &[(&str, f64)]) -> Line {
        let mut words = Vec::new();
        for &(text, x) in cells {
            let left = if x >= 0.0 {
                x
            } else {
                -x - CW * text.chars().count() as f64
            };
            cell_at(text, left, top, &mut words);
        }
        Line { words }
    }

    fn page(lines: Vec<Line>) -> PageText {
        PageText {
            page_number: 1,
            width: 600.0,
            height: 800.0,
            unit: PageUnit::Point,
            lines,
        }
    }

    // Columns: description left at 50, quantity right at 268, price right at 386, total right at 480.
    fn invoice_rows(top: f64, header: [&str; 4], items: &[[&str; 4]]) -> Vec<Line> {
        let mut lines = vec![line(
            top,
            &[
                (header[0], 50.0),
                (header[1], -268.0),
                (header[2], -386.0),
                (header[3], -480.0),
            ],
        )];
        for (i, it) in items.iter().enumerate() {
            let cells: Vec<(&str, f64)> = [
                (it[0], 50.0),
                (it[1], -268.0),
                (it[2], -386.0),
                (it[3], -480.0),
            ]
            .into_iter()
            .filter(|c| !c.0.is_empty())
            .collect();
            lines.push(line(top + 15.0 * (i + 1) as f64, &cells));
        }
        lines
    }

    const PT_ITEMS: [[&str; 4]; 3] = [
        ["Serviço de consultoria", "2", "150,00", "300,00"],
        ["Licença software", "10", "1.250,00", "12.500,00"],
        ["Formação", "1", "80,50", "80,50"],
    ];

    fn content(t: &Table, row: u32, column: u32) -> Option<(&str, &str)> {
        t.cells
            .iter()
            .find(|c| c.row == row && c.column == column)
            .map(|c| (c.content.as_str(), c.content_normalized.as_str()))
    }

    fn paragraph(top: f64, text: &str) -> Line {
        line(top, &[(text, 50.0)])
    }

    #[test]
    fn portuguese_invoice_lines_with_header() {
        let lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count, t.has_header), (4, 4, true));
        assert_eq!(t.cells.len(), 16);
        assert_eq!(content(t, 0, 2), Some(("Preço unit.", "Preço unit.")));
        assert_eq!(
            content(t, 1, 0),
            Some(("Serviço de consultoria", "Serviço de consultoria"))
        );
        assert_eq!(content(t, 2, 2), Some(("1.250,00", "1250.00")));
        assert_eq!(content(t, 2, 3), Some(("12.500,00", "12500.00")));
        assert_eq!(content(t, 3, 1), Some(("1", "1")));
        assert!((t.confidence - 0.9).abs() < 1e-9);
        assert_eq!(t.bbox.top, 100.0);
        assert_eq!(t.bbox.bottom, 155.0);
        assert_eq!((t.bbox.left, t.bbox.right), (50.0, 480.0));
    }

    #[test]
    fn english_invoice_lines_with_header() {
        let items = [
            ["Consulting services", "2", "150.00", "300.00"],
            ["Software licence", "10", "1,250.00", "12,500.00"],
            ["Training", "1", "80.50", "80.50"],
        ];
        let lines = invoice_rows(
            100.0,
            ["Description", "Qty", "Unit price", "Amount"],
            &items,
        );
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count, t.has_header), (4, 4, true));
        assert_eq!(content(t, 2, 3), Some(("12,500.00", "12500.00")));
        assert_eq!(content(t, 0, 2), Some(("Unit price", "Unit price")));
    }

    #[test]
    fn stops_before_paragraph_and_totals() {
        let mut lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        lines.push(line(170.0, &[("Subtotal", 320.0), ("12.880,50", -480.0)]));
        lines.push(line(185.0, &[("IVA 23%", 320.0), ("2.962,52", -480.0)]));
        lines.push(line(200.0, &[("Total", 320.0), ("15.843,02", -480.0)]));
        lines.push(paragraph(
            230.0,
            "Pagamento a 30 dias por transferência bancária para o IBAN indicado abaixo, obrigado.",
        ));
        let tables = detect(&page(lines));
        assert_eq!(tables[0].row_count, 4);
        assert_eq!(tables[0].bbox.bottom, 155.0);
        // The aligned totals block reads as its own two-column table, without header.
        assert_eq!(tables.len(), 2);
        let totals = &tables[1];
        assert_eq!(
            (totals.row_count, totals.column_count, totals.has_header),
            (3, 2, false)
        );
        assert_eq!(content(totals, 2, 1), Some(("15.843,02", "15843.02")));

        // A paragraph right under the table ends it too.
        let mut lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        lines.push(paragraph(
            165.0,
            "Os bens e serviços foram colocados à disposição do adquirente nesta data.",
        ));
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].row_count, 4);
    }

    #[test]
    fn totals_label_under_description_column_is_kept_out() {
        let mut lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        lines.push(line(165.0, &[("Total", 50.0), ("12.880,50", -480.0)]));
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].row_count, 4);
    }

    #[test]
    fn two_tables_on_one_page() {
        let mut lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        lines.push(paragraph(180.0, "Resumo do IVA"));
        lines.push(line(
            200.0,
            &[("Taxa", 50.0), ("Base", -268.0), ("IVA", -386.0)],
        ));
        lines.push(line(
            215.0,
            &[("23%", -80.0), ("12.880,50", -268.0), ("2.962,52", -386.0)],
        ));
        lines.push(line(
            230.0,
            &[("6%", -80.0), ("100,00", -268.0), ("6,00", -386.0)],
        ));
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 2);
        assert_eq!((tables[0].row_count, tables[0].column_count), (4, 4));
        let vat = &tables[1];
        assert_eq!(
            (vat.row_count, vat.column_count, vat.has_header),
            (3, 3, true)
        );
        assert_eq!(content(vat, 1, 0), Some(("23%", "23.00")));
        assert_eq!(content(vat, 2, 2), Some(("6,00", "6.00")));
        assert!(tables[0].bbox.bottom < vat.bbox.top);
    }

    #[test]
    fn plain_paragraphs_are_no_table() {
        let lines = vec![
            paragraph(
                100.0,
                "Exmos. Senhores, junto enviamos a fatura referente aos serviços",
            ),
            paragraph(
                115.0,
                "prestados durante o mês de março, conforme acordado na proposta",
            ),
            paragraph(130.0, "n.º 12 de 2024. Com os melhores cumprimentos,"),
        ];
        assert!(detect(&page(lines)).is_empty());
        // Side-by-side address blocks align but hold no numbers.
        let lines = vec![
            line(
                100.0,
                &[("Empresa Exemplo Lda", 50.0), ("Cliente Final SA", 300.0)],
            ),
            line(
                115.0,
                &[("Rua das Flores 12", 50.0), ("Avenida Central 45", 300.0)],
            ),
            line(
                130.0,
                &[("1000-001 Lisboa", 50.0), ("4000-002 Porto", 300.0)],
            ),
        ];
        assert!(detect(&page(lines)).is_empty());
    }

    #[test]
    fn degenerate_pages_do_not_panic() {
        assert!(detect(&page(vec![])).is_empty());
        assert!(detect(&page(vec![Line { words: vec![] }])).is_empty());
        assert!(detect(&page(vec![line(10.0, &[("1", 10.0)])])).is_empty());
        let zero = |t: &str| Word {
            text: t.into(),
            bbox: Rect {
                left: 5.0,
                top: 5.0,
                right: 5.0,
                bottom: 5.0,
            },
            confidence: 0.0,
        };
        let same = Line {
            words: vec![zero("1"), zero(""), zero("2,00")],
        };
        detect(&page(vec![same.clone(), same]));
        let huge = |x: f64| Word {
            text: "9".into(),
            bbox: Rect {
                left: x,
                top: x,
                right: -x,
                bottom: f64::MAX,
            },
            confidence: 1.0,
        };
        let lines = vec![
            Line {
                words: vec![huge(f64::MAX), huge(f64::MIN), huge(0.0)],
            },
            Line {
                words: vec![huge(1e300), huge(-1e300)],
            },
        ];
        detect(&page(lines));
        let overlapping = vec![
            line(0.0, &[("a", 0.0), ("10", 2.0), ("5", 100.0)]),
            line(3.0, &[("x", 0.0), ("7", 100.0)]),
        ];
        detect(&page(overlapping));
    }

    #[test]
    fn random_pages_do_not_panic() {
        let mut n = 7u64;
        let mut next = |m: u64| {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (n >> 33) % m
        };
        let texts = [
            "1.234,56",
            "Total",
            "23%",
            "x",
            "",
            "(5,00)",
            "Descrição",
            "-",
            "€",
        ];
        let scales = [1.0, 0.01, 1e9, 1e300];
        for _ in 0..300 {
            let scale = scales[next(4) as usize];
            let lines = (0..next(12))
                .map(|_| Line {
                    words: (0..next(8))
                        .map(|_| {
                            let (l, t) = (next(500) as f64 * scale, next(300) as f64 * scale);
                            let (w, h) = (next(60) as f64 * scale, next(12) as f64 * scale);
                            let text = texts[next(texts.len() as u64) as usize].to_owned();
                            Word {
                                text,
                                bbox: Rect {
                                    left: l,
                                    top: t,
                                    right: l + w,
                                    bottom: t + h,
                                },
                                confidence: 0.5,
                            }
                        })
                        .collect(),
                })
                .collect();
            for t in detect(&page(lines)) {
                assert!(t.row_count >= 2 && t.column_count >= 2);
                assert!(t
                    .cells
                    .iter()
                    .all(|c| c.row < t.row_count && c.column < t.column_count));
            }
        }
    }

    #[test]
    fn empty_cell_is_omitted() {
        let mut items = PT_ITEMS.to_vec();
        items.push(["Portes de envio", "1", "", "5,00"]);
        let lines = invoice_rows(100.0, ["Descrição", "Qtd", "Preço unit.", "Total"], &items);
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count), (5, 4));
        assert_eq!(t.cells.len(), 19);
        assert_eq!(content(t, 4, 2), None);
        assert_eq!(content(t, 4, 3), Some(("5,00", "5.00")));
        assert!((t.confidence - 0.9 * 19.0 / 20.0).abs() < 1e-9);
    }

    #[test]
    fn wrapped_description_joins_its_cell() {
        let mut lines = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS[..2],
        );
        // Rows 15 apart; the wrap sits 12 under its row.
        lines.insert(2, paragraph(127.0, "(março 2024)"));
        for l in &mut lines[3..] {
            for w in &mut l.words {
                w.bbox.top += 12.0;
                w.bbox.bottom += 12.0;
            }
        }
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].row_count, 3);
        assert_eq!(
            content(&tables[0], 1, 0).map(|c| c.0),
            Some("Serviço de consultoria (março 2024)")
        );
    }

    #[test]
    fn left_aligned_header_over_right_aligned_numbers() {
        let mut lines = vec![line(
            100.0,
            &[("Descrição", 50.0), ("Qtd", 250.0), ("Valor", 330.0)],
        )];
        lines.push(line(
            115.0,
            &[("Serviço", 50.0), ("2", -290.0), ("150,00", -400.0)],
        ));
        lines.push(line(
            130.0,
            &[("Licença", 50.0), ("1000", -290.0), ("9.999,00", -400.0)],
        ));
        let tables = detect(&page(lines));
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count, t.has_header), (3, 3, true));
        assert_eq!(content(t, 2, 1), Some(("1000", "1000")));
    }

    #[test]
    fn ocr_jitter_and_split_lines() {
        // Deterministic ±2 jitter; each column block comes as its own line, as Tesseract does.
        let clean = invoice_rows(
            100.0,
            ["Descrição", "Qtd", "Preço unit.", "Total"],
            &PT_ITEMS,
        );
        let mut n = 0u32;
        let mut jitter = || {
            n = n.wrapping_mul(1103515245).wrapping_add(12345);
            f64::from((n >> 16) % 5) - 2.0
        };
        let mut blocks: Vec<Line> = Vec::new();
        for l in clean {
            let mut words = l.words;
            for w in &mut words {
                let (dx, dy) = (jitter(), jitter());
                w.bbox = Rect {
                    left: w.bbox.left + dx,
                    top: w.bbox.top + dy,
                    right: w.bbox.right + dx,
                    bottom: w.bbox.bottom + dy,
                };
                w.confidence = 0.8;
            }
            // Description words in one line, the numbers in another.
            let split = words
                .iter()
                .position(|w| w.bbox.left > 200.0)
                .unwrap_or(words.len());
            let rest = words.split_off(split);
            blocks.push(Line { words });
            blocks.push(Line { words: rest });
        }
        blocks.sort_by(|a, b| (b.words.len() as f64).total_cmp(&(a.words.len() as f64)));
        let tables = detect(&page(blocks));
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.row_count, t.column_count, t.has_header), (4, 4, true));
        assert_eq!(content(t, 0, 2).map(|c| c.0), Some("Preço unit."));
        assert_eq!(content(t, 3, 3).map(|c| c.1), Some("80.50"));
        assert!((t.confidence - 0.8).abs() < 1e-9);
    }

    #[test]
    fn amounts_normalise() {
        let cases = [
            ("1.234,56", Some("1234.56")),
            ("1,234.56", Some("1234.56")),
            ("23%", Some("23.00")),
            ("6,5 %", Some("6.50")),
            ("€ 1 234,50", Some("1234.50")),
            ("-10,00 EUR", Some("-10.00")),
            ("(80.00)", Some("-80.00")),
            ("1.234", Some("1234")),
            ("0,500", Some("0.500")),
            ("150,00", Some("150.00")),
            ("007", Some("7")),
            ("12.03.2024", None),
            ("2024-03-01", None),
            ("FT 2024/1", None),
            ("1,234,56", None),
            ("", None),
            ("%", None),
        ];
        for (text, want) in cases {
            assert_eq!(amount(text).as_deref(), want, "{text}");
        }
    }
}
