//! The GetExportData model (seed 004), field for field, and how recognised pages fill it.
//! Every field of the seed is always present: what docket does not track yet is `null`.
//!
//! Chunks are pages (chunk N is page N). Each page with text has two entities, its `words` and
//! its `lines`, whose `keyValues` carry the text, box (page units, top-left origin), corner
//! points, confidence and span. Spans are offsets into the page text: lines joined by "\n",
//! words within a line by " ". Then one entity per key-value (`keyValue`), invoice field
//! (`invoiceField`), receipt field (`receiptField`), table (`table`), item table (`lineItems`)
//! and QR code (`qrCode`) found on the page.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::text::{Line, PageText, Rect};
use super::understanding::{self, Field, Understanding};
use super::Timestamp;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    pub height: f64,
    pub width: f64,
    pub left: f64,
    pub bottom: f64,
    pub x: f64,
    pub y: f64,
    pub right: f64,
    pub top: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Span {
    pub offset: i64,
    pub length: i64,
}

/// Where something is on its page and how sure we are of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub bounding_box: BoundingBox,
    pub points: Vec<Point>,
    pub confidence: f64,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValue {
    #[serde(flatten)]
    pub region: Region,
    pub page_number: i64,
    pub category: String,
    pub category_normalized: String,
    pub content: String,
    pub content_normalized: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildKeyValue {
    #[serde(flatten)]
    pub key_value: KeyValue,
    pub child_temporary_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QrCode {
    #[serde(flatten)]
    pub region: Region,
    pub key_values: Vec<ChildKeyValue>,
    pub qr_code_content: String,
    pub invalid_keys_count: i64,
    pub duplicated_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableCell {
    #[serde(flatten)]
    pub region: Region,
    pub row_index: i64,
    pub column_index: i64,
    pub content: String,
    pub content_normalized: String,
    pub page_number: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableHeader {
    #[serde(flatten)]
    pub cell: TableCell,
    pub category: String,
    pub category_normalized: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoundsAndPoints {
    pub page_number: i64,
    pub bounding_box: BoundingBox,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    #[serde(flatten)]
    pub region: Region,
    pub row_count: i64,
    pub column_count: i64,
    pub table_headers: Vec<TableHeader>,
    /// Keyed by row index.
    pub table_rows: BTreeMap<String, Vec<TableCell>>,
    pub bounds_and_points: Vec<BoundsAndPoints>,
    pub table_rows_table_content: BTreeMap<String, String>,
    pub has_alternative_headers: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateTableHeader {
    #[serde(flatten)]
    pub header: TableHeader,
    pub unique_id: String,
    pub field_type: i64,
    pub is_required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateTableCell {
    #[serde(flatten)]
    pub cell: TableCell,
    pub unique_id: String,
    pub header_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateTable {
    pub row_count: i64,
    pub column_count: i64,
    pub table_headers: Vec<TemplateTableHeader>,
    pub table_rows: BTreeMap<String, Vec<TemplateTableCell>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateBuilderField {
    #[serde(flatten)]
    pub region: Region,
    pub field_unique_id: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub key_values: Vec<ChildKeyValue>,
    pub table: Option<TemplateTable>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    #[serde(rename = "type")]
    pub entity_type: String,
    pub category: String,
    pub group_name: String,
    pub page_number: i64,
    pub chunk_number: i64,
    pub custom_form_values: Option<String>,
    pub qr_code: Option<QrCode>,
    pub table: Option<Table>,
    pub template_builder_field: Option<TemplateBuilderField>,
    pub key_values: Vec<KeyValue>,
    pub added_on: Option<Timestamp>,
    pub added_by: Option<i64>,
    pub added_by_external: Option<String>,
    pub edited_on: Option<Timestamp>,
    pub viewer_edited_on: Option<Timestamp>,
    pub edited_by: Option<i64>,
    pub edited_by_external: Option<String>,
    pub integrated_on: Option<Timestamp>,
    pub integrated_by: Option<i64>,
    pub integrated_by_external: Option<String>,
    pub integration_failed_reason: Option<String>,
    pub integration_failed_reason_detailed: Option<String>,
    pub marked_as_solved: bool,
    pub not_detected: bool,
    pub content_understanding_detected: bool,
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chunk {
    pub entities: Vec<Entity>,
    pub version: String,
    pub retrieved_on: Option<Timestamp>,
    pub last_modified_by: Option<i64>,
    pub last_modified_by_external: Option<String>,
    pub last_modified_on: Option<Timestamp>,
    pub average_confidence: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportData {
    pub task_id: i64,
    pub original_file_url: Option<String>,
    pub workspace_id: i64,
    pub batch_id: Option<i64>,
    pub task_number: Option<i64>,
    pub external_id: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub total_pages: i64,
    pub last_checkout_by_user_name: Option<String>,
    pub last_checked_out_by: Option<i64>,
    pub last_checked_out_until: Option<Timestamp>,
    pub chunks: Vec<Chunk>,
    pub last_integrated_by: Option<i64>,
    pub last_integrated_by_user_name: Option<String>,
    pub last_integrated_on: Option<Timestamp>,
    pub average_confidence: f64,
    pub metadata: BTreeMap<String, String>,
}

/// Version of the chunk layout produced by `chunks_from_pages`.
pub const CHUNK_VERSION: &str = "docket-1";

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Confidences keep four decimals.
fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if count == 0 {
        0.0
    } else {
        round4(sum / count as f64)
    }
}

impl From<Rect> for BoundingBox {
    fn from(r: Rect) -> Self {
        let (left, top, right, bottom) = (
            round2(r.left),
            round2(r.top),
            round2(r.right),
            round2(r.bottom),
        );
        BoundingBox {
            height: round2(bottom - top),
            width: round2(right - left),
            left,
            bottom,
            x: left,
            y: top,
            right,
            top,
        }
    }
}

fn region(rect: Option<Rect>, confidence: f64, spans: Vec<Span>) -> Region {
    let Some(rect) = rect else {
        // A value with no place of its own (e.g. taken from a QR code's payload).
        let origin = Rect {
            left: 0.0,
            top: 0.0,
            right: 0.0,
            bottom: 0.0,
        };
        return Region {
            bounding_box: origin.into(),
            points: Vec::new(),
            confidence: round4(confidence),
            spans,
        };
    };
    let bounding_box = BoundingBox::from(rect);
    let b = &bounding_box;
    // Clockwise from the top-left corner.
    let points = [
        (b.left, b.top),
        (b.right, b.top),
        (b.right, b.bottom),
        (b.left, b.bottom),
    ]
    .into_iter()
    .map(|(x, y)| Point { x, y })
    .collect();
    Region {
        bounding_box,
        points,
        confidence: round4(confidence),
        spans,
    }
}

fn span(offset: usize, length: usize) -> Vec<Span> {
    vec![Span {
        offset: offset as i64,
        length: length as i64,
    }]
}

/// Where each word of a page sits in the page text (lines joined by "\n", words by " "), so
/// that values found on the page get spans too.
struct PageIndex {
    words: Vec<(Rect, usize, usize)>,
}

impl PageIndex {
    /// The span covering the words whose centres lie inside `rect`.
    fn spans(&self, rect: Option<&Rect>) -> Vec<Span> {
        let Some(rect) = rect else { return Vec::new() };
        let inside = self.words.iter().filter(|(b, _, _)| {
            let (x, y) = ((b.left + b.right) / 2.0, (b.top + b.bottom) / 2.0);
            rect.left <= x && x <= rect.right && rect.top <= y && y <= rect.bottom
        });
        let covered = inside.fold(None, |acc: Option<(usize, usize)>, (_, offset, length)| {
            let end = offset + length;
            Some(acc.map_or((*offset, end), |(s, e)| (s.min(*offset), e.max(end))))
        });
        covered.map_or_else(Vec::new, |(start, end)| span(start, end - start))
    }
}

fn entity(entity_type: &str, category: &str, group: &str, page: i64, confidence: f64) -> Entity {
    Entity {
        entity_type: entity_type.into(),
        category: category.into(),
        group_name: group.into(),
        page_number: page,
        chunk_number: page,
        custom_form_values: None,
        qr_code: None,
        table: None,
        template_builder_field: None,
        key_values: Vec::new(),
        added_on: None,
        added_by: None,
        added_by_external: None,
        edited_on: None,
        viewer_edited_on: None,
        edited_by: None,
        edited_by_external: None,
        integrated_on: None,
        integrated_by: None,
        integrated_by_external: None,
        integration_failed_reason: None,
        integration_failed_reason_detailed: None,
        marked_as_solved: false,
        not_detected: false,
        content_understanding_detected: false,
        confidence: round4(confidence),
    }
}

fn text_entity(category: &str, group: &str, page: i64, key_values: Vec<KeyValue>) -> Entity {
    let confidence = mean(key_values.iter().map(|kv| kv.region.confidence));
    Entity {
        key_values,
        ..entity("text", category, group, page, confidence)
    }
}

fn key_value(category: &str, page: i64, text: String, region: Region) -> KeyValue {
    KeyValue {
        region,
        page_number: page,
        category: category.to_owned(),
        category_normalized: pascal_case(category),
        content_normalized: text.clone(),
        content: text,
    }
}

fn field_key_value(field: &Field, index: &PageIndex) -> KeyValue {
    KeyValue {
        region: region(
            field.bbox,
            field.confidence,
            index.spans(field.bbox.as_ref()),
        ),
        page_number: i64::from(field.page_number),
        category: field.category.clone(),
        category_normalized: field.category_normalized.clone(),
        content: field.content.clone(),
        content_normalized: field.content_normalized.clone(),
    }
}

/// One entity per field, named by its normalised category. A field that breaks a rule or
/// disagrees with another source carries a second key-value, category `issue`, saying why.
fn field_entity(entity_type: &str, group: &str, field: &Field, index: &PageIndex) -> Entity {
    let mut key_values = vec![field_key_value(field, index)];
    if let Some(issue) = &field.issue {
        let page = i64::from(field.page_number);
        key_values.push(key_value(
            "issue",
            page,
            issue.clone(),
            region(None, field.confidence, Vec::new()),
        ));
    }
    let page = i64::from(field.page_number);
    Entity {
        key_values,
        ..entity(
            entity_type,
            &field.category_normalized,
            group,
            page,
            field.confidence,
        )
    }
}

fn table_cell(cell: &understanding::TableCell, page: i64, index: &PageIndex) -> TableCell {
    TableCell {
        region: region(
            Some(cell.bbox),
            cell.confidence,
            index.spans(Some(&cell.bbox)),
        ),
        row_index: i64::from(cell.row),
        column_index: i64::from(cell.column),
        content: cell.content.clone(),
        content_normalized: cell.content_normalized.clone(),
        page_number: page,
    }
}

/// A table: header cells (row 0 when the table has a header) and body rows keyed by row index.
fn table_entity(table: &understanding::Table, ordinal: usize, index: &PageIndex) -> Entity {
    let group = format!("Table {}", ordinal + 1);
    let page = i64::from(table.page_number);
    Entity {
        table: Some(exported_table(table, index, |_, header| {
            pascal_case(header)
        })),
        ..entity("table", "table", &group, page, table.confidence)
    }
}

/// An item table as a `lineItems` entity: its headers' `categoryNormalized` name the columns
/// (`Description`, `Quantity`, `UnitPrice`, `VatRate`, `Amount`) whatever the printed words.
fn line_items_entity(items: &understanding::LineItems, index: &PageIndex) -> Entity {
    let page = i64::from(items.table.page_number);
    let named = |column: u32, header: &str| {
        items
            .columns
            .iter()
            .find(|(c, _)| *c == column)
            .map_or_else(|| pascal_case(header), |(_, name)| name.clone())
    };
    Entity {
        table: Some(exported_table(&items.table, index, named)),
        ..entity(
            "lineItems",
            "table",
            "Line items",
            page,
            items.table.confidence,
        )
    }
}

/// A table in the export's shape; `header_name` gives a header cell's `categoryNormalized`
/// from its column and text.
fn exported_table(
    table: &understanding::Table,
    index: &PageIndex,
    header_name: impl Fn(u32, &str) -> String,
) -> Table {
    let page = i64::from(table.page_number);
    let mut headers = Vec::new();
    let mut rows: BTreeMap<String, Vec<TableCell>> = BTreeMap::new();
    for cell in &table.cells {
        let exported = table_cell(cell, page, index);
        if table.has_header && cell.row == 0 {
            headers.push(TableHeader {
                category: cell.content.clone(),
                category_normalized: header_name(cell.column, &cell.content),
                cell: exported,
            });
        } else {
            rows.entry(cell.row.to_string()).or_default().push(exported);
        }
    }
    let contents = rows
        .iter()
        .map(|(row, cells)| {
            let texts: Vec<&str> = cells.iter().map(|c| c.content.as_str()).collect();
            (row.clone(), texts.join(" | "))
        })
        .collect();
    let region = region(
        Some(table.bbox),
        table.confidence,
        index.spans(Some(&table.bbox)),
    );
    let bounds = BoundsAndPoints {
        page_number: page,
        bounding_box: region.bounding_box.clone(),
        points: region.points.clone(),
    };
    Table {
        region,
        row_count: i64::from(table.row_count),
        column_count: i64::from(table.column_count),
        table_headers: headers,
        table_rows: rows,
        bounds_and_points: vec![bounds],
        table_rows_table_content: contents,
        has_alternative_headers: false,
    }
}

fn qr_entity(qr: &understanding::QrCode, index: &PageIndex) -> Entity {
    let page = i64::from(qr.page_number);
    let exported = QrCode {
        region: region(Some(qr.bbox), qr.confidence, Vec::new()),
        key_values: qr
            .fields
            .iter()
            .map(|f| ChildKeyValue {
                key_value: field_key_value(f, index),
                child_temporary_id: None,
            })
            .collect(),
        qr_code_content: qr.content.clone(),
        invalid_keys_count: i64::from(qr.invalid_keys_count),
        duplicated_keys: qr.duplicated_keys.clone(),
    };
    // QR codes are `qrCode` entities (`fiscalQrCode` when AT fields were parsed); other codes
    // are `barcode` entities named by their format, their payload in the same `qrCode` object.
    let (entity_type, category) = match (qr.format.as_str(), qr.fields.is_empty()) {
        ("QR_CODE", true) => ("qrCode", "qrCode".to_owned()),
        ("QR_CODE", false) => ("qrCode", "fiscalQrCode".to_owned()),
        (format, _) => ("barcode", pascal_case(&format.to_lowercase())),
    };
    Entity {
        qr_code: Some(exported),
        ..entity(entity_type, &category, "Codes", page, qr.confidence)
    }
}

/// `Invoice Date`, `Preço unit.` → `InvoiceDate`, `PreçoUnit`.
fn pascal_case(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// One chunk per page: its words and lines, then what was understood on it — key-values,
/// invoice fields, tables and QR codes, each an entity.
pub fn chunks_from_recognition(
    pages: &[PageText],
    understanding: &Understanding,
    retrieved_on: Timestamp,
) -> Vec<Chunk> {
    pages
        .iter()
        .map(|page| {
            let number = i64::from(page.page_number);
            let mut words = Vec::new();
            let mut lines = Vec::new();
            let mut index = PageIndex { words: Vec::new() };
            let mut offset = 0;
            for line in &page.lines {
                let line_start = offset;
                for (i, word) in line.words.iter().enumerate() {
                    if i > 0 {
                        offset += 1;
                    }
                    let length = word.text.chars().count();
                    index.words.push((word.bbox, offset, length));
                    let region = region(Some(word.bbox), word.confidence, span(offset, length));
                    words.push(key_value("word", number, word.text.clone(), region));
                    offset += length;
                }
                if let Some(kv) = line_key_value(line, number, line_start) {
                    lines.push(kv);
                }
                offset += 1;
            }
            let mut entities = Vec::new();
            if !words.is_empty() {
                entities.push(text_entity("words", "Words", number, words));
                entities.push(text_entity("lines", "Lines", number, lines));
            }
            let on_page = |n: u32| n == page.page_number;
            let fields = |list: &[Field], kind: &str, group: &str| -> Vec<Entity> {
                list.iter()
                    .filter(|f| on_page(f.page_number))
                    .map(|f| field_entity(kind, group, f, &index))
                    .collect()
            };
            entities.extend(fields(&understanding.key_values, "keyValue", "Key-values"));
            entities.extend(fields(&understanding.invoice, "invoiceField", "Invoice"));
            entities.extend(fields(&understanding.receipt, "receiptField", "Receipt"));
            let tables = understanding
                .tables
                .iter()
                .filter(|t| on_page(t.page_number));
            entities.extend(tables.enumerate().map(|(i, t)| table_entity(t, i, &index)));
            let items = understanding
                .line_items
                .iter()
                .filter(|items| on_page(items.table.page_number));
            entities.extend(items.map(|items| line_items_entity(items, &index)));
            let codes = understanding
                .qr_codes
                .iter()
                .filter(|q| on_page(q.page_number));
            entities.extend(codes.map(|q| qr_entity(q, &index)));
            Chunk {
                average_confidence: mean(entities.iter().map(|e| e.confidence)),
                entities,
                version: CHUNK_VERSION.into(),
                retrieved_on: Some(retrieved_on),
                last_modified_by: None,
                last_modified_by_external: None,
                last_modified_on: None,
            }
        })
        .collect()
}

fn line_key_value(line: &Line, page: i64, offset: usize) -> Option<KeyValue> {
    let text = line.text();
    let region = region(
        Some(line.bbox()?),
        line.confidence(),
        span(offset, text.chars().count()),
    );
    Some(key_value("line", page, text, region))
}

/// The task's confidence: the mean over its chunks that have entities.
pub fn average_confidence(chunks: &[Chunk]) -> f64 {
    mean(
        chunks
            .iter()
            .filter(|c| !c.entities.is_empty())
            .map(|c| c.average_confidence),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{PageUnit, Word};

    fn word(text: &str, left: f64) -> Word {
        Word {
            text: text.into(),
            bbox: Rect {
                left,
                top: 10.0,
                right: left + 20.0,
                bottom: 22.0,
            },
            confidence: 0.9,
        }
    }

    #[test]
    fn pages_become_chunks_with_words_lines_and_spans() {
        let page = PageText {
            page_number: 1,
            width: 595.0,
            height: 842.0,
            unit: PageUnit::Point,
            lines: vec![
                Line {
                    words: vec![word("Total", 10.0), word("12,50", 40.0)],
                },
                Line {
                    words: vec![word("EUR", 10.0)],
                },
            ],
        };
        let chunks = chunks_from_recognition(
            &[page],
            &Understanding::default(),
            Timestamp::from_millis(0),
        );
        let entities = &chunks[0].entities;
        let words = &entities[0].key_values;
        assert_eq!(
            words.iter().map(|w| w.content.as_str()).collect::<Vec<_>>(),
            ["Total", "12,50", "EUR"]
        );
        assert_eq!(words[1].region.spans[0].offset, 6);
        assert_eq!(words[2].region.spans[0].offset, 12);
        let lines = &entities[1].key_values;
        assert_eq!(lines[0].content, "Total 12,50");
        assert_eq!(lines[0].category, "line");
        assert_eq!(lines[0].region.bounding_box.right, 60.0);
        assert_eq!(lines[0].region.points.len(), 4);
        assert_eq!(chunks[0].average_confidence, 0.9);
        assert_eq!(average_confidence(&chunks), 0.9);
    }
}
