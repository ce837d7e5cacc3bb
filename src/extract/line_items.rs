//! Line items: the tables whose header names item columns (description, quantity, unit price,
//! VAT rate, amount) in a lexicon language, with those columns named, so a client reads the
//! items of any layout the same way.

use std::sync::OnceLock;

use super::keyvalues::label_key;
use crate::domain::understanding::{LineItems, Table};

/// Column headers as label keys, with the column they name; longest first, so "Preço unit."
/// is a unit price before "Preço" is.
fn headers() -> &'static [(String, String)] {
    static INDEX: OnceLock<Vec<(String, String)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Vec<(String, String)> = super::lexicon::all()
            .iter()
            .flat_map(|l| &l.line_items)
            .flat_map(|(column, names)| names.iter().map(|n| (label_key(n), column.clone())))
            .filter(|(key, _)| !key.is_empty())
            .collect();
        index.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        index.dedup_by(|a, b| a.0 == b.0);
        index
    })
}

/// The column a header names: its key is a known header, or starts with one ("Einzelpreis
/// EUR", "Total (EUR)").
fn column_of(header: &str) -> Option<&'static str> {
    let key = label_key(header);
    headers()
        .iter()
        .find(|(known, _)| key == *known || (known.len() >= 3 && key.starts_with(known.as_str())))
        .map(|(_, column)| column.as_str())
}

/// Every table with a header naming at least two item columns, one of them the description or
/// the amount. Each column is named once, by its first header.
pub fn extract(tables: &[Table]) -> Vec<LineItems> {
    tables
        .iter()
        .filter(|t| t.has_header && t.row_count >= 2)
        .filter_map(|table| {
            let mut columns: Vec<(u32, String)> = Vec::new();
            for cell in table.cells.iter().filter(|c| c.row == 0) {
                let Some(column) = column_of(&cell.content) else {
                    continue;
                };
                if !columns.iter().any(|(_, c)| c == column) {
                    columns.push((cell.column, column.to_owned()));
                }
            }
            let named = |name: &str| columns.iter().any(|(_, c)| c == name);
            (columns.len() >= 2 && (named("Description") || named("Amount"))).then(|| LineItems {
                table: table.clone(),
                columns,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_every_lexicon_language_name_the_item_columns() {
        for (header, column) in [
            ("Descrição", "Description"),
            ("Qtd.", "Quantity"),
            ("Preço unit.", "UnitPrice"),
            ("IVA", "VatRate"),
            ("Total", "Amount"),
            ("Bezeichnung", "Description"),
            ("Einzelpreis EUR", "UnitPrice"),
            ("MwSt.-Satz", "VatRate"),
            ("Désignation", "Description"),
            ("Qté", "Quantity"),
            ("Montant HT", "Amount"),
            ("Cantidad", "Quantity"),
            ("Omschrijving", "Description"),
            ("Importo", "Amount"),
        ] {
            assert_eq!(column_of(header), Some(column), "{header}");
        }
        assert_eq!(column_of("Lote"), None);
    }
}
