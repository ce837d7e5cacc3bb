//! What document understanding finds on recognised pages: labelled fields (key-values and
//! invoice fields), tables and QR codes, each with its page, box and confidence. Produced by
//! `extract`, stored with the task's result, and mapped onto the export model.

use serde::{Deserialize, Serialize};

use super::text::Rect;

/// A labelled value: a key-value found on the page, a field of a QR code, or an invoice field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub page_number: u32,
    /// The label as found (`NIF`, `Data de emissão`) or the QR key (`A`).
    pub category: String,
    /// A stable, readable name (`IssuerTaxId`, `InvoiceDate`).
    pub category_normalized: String,
    /// The value as found.
    pub content: String,
    /// The value typed: ISO dates, amounts with `.` decimals and no grouping, compact tax ids
    /// and IBANs. Equal to `content` when there is nothing to normalise.
    pub content_normalized: String,
    /// Where the value is; None when it has no place of its own (fields of a QR code).
    pub bbox: Option<Rect>,
    /// 0.0 ..= 1.0.
    pub confidence: f64,
    /// Set when the value breaks a rule (bad check digit, impossible date) or disagrees with
    /// another source (an invoice total against the QR code).
    pub issue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableCell {
    pub row: u32,
    pub column: u32,
    pub content: String,
    pub content_normalized: String,
    pub bbox: Rect,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub page_number: u32,
    pub bbox: Rect,
    pub row_count: u32,
    pub column_count: u32,
    /// The first row holds column headers.
    pub has_header: bool,
    /// Row-major; empty cells are left out.
    pub cells: Vec<TableCell>,
    pub confidence: f64,
}

/// A decoded QR code or barcode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QrCode {
    pub page_number: u32,
    /// `QR_CODE`, `DATA_MATRIX`, `PDF_417`, `CODE_128`, `CODE_39` or `EAN_13`.
    #[serde(default = "qr_code_format")]
    pub format: String,
    pub bbox: Rect,
    /// The decoded payload, byte for byte.
    pub content: String,
    /// Parsed fields for a Portuguese fiscal (AT) QR code; empty for other codes.
    pub fields: Vec<Field>,
    pub invalid_keys_count: u32,
    pub duplicated_keys: Vec<String>,
    pub confidence: f64,
}

fn qr_code_format() -> String {
    "QR_CODE".into()
}

/// Everything understood about a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Understanding {
    pub key_values: Vec<Field>,
    pub tables: Vec<Table>,
    pub qr_codes: Vec<QrCode>,
    /// Invoice fields, for invoice workspaces only.
    pub invoice: Vec<Field>,
    /// Receipt fields, for receipt workspaces only (absent from recognitions stored before).
    #[serde(default)]
    pub receipt: Vec<Field>,
    /// Item tables of invoices and receipts, their columns named.
    #[serde(default)]
    pub line_items: Vec<LineItems>,
}

/// A table of an invoice's or receipt's items, with the columns its header names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItems {
    pub table: Table,
    /// Column number and what it holds: `Description`, `Quantity`, `UnitPrice`, `VatRate` or
    /// `Amount`.
    pub columns: Vec<(u32, String)>,
}
