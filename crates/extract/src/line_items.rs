//! Line items: the tables whose header names item columns (description, quantity, unit price,
//! VAT rate, amount) in a lexicon language, with those columns named, so a client reads the
//! items of any layout the same way; what the items add up to is evidence for the net total.

use std::sync::OnceLock;

use super::keyvalues::label_key;
use super::normalize;
use docket_domain::understanding::{LineItems, Table};

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

/// Every table with a header naming the description and another item column, or three item
/// columns (a VAT summary names only a rate and an amount). Each column is named once, by its
/// first header.
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
            let items = columns.len() >= 3 || (columns.len() >= 2 && named("Description"));
            items.then(|| LineItems {
                table: table.clone(),
                columns,
            })
        })
        .collect()
}

/// What the items of the item tables among `tables` add up to: the sum of their `Amount`
/// column, None when no item table has one that reads as amounts.
pub fn amounts_total(tables: &[Table]) -> Option<i128> {
    let mut total = None;
    for items in extract(tables) {
        let Some(&(column, _)) = items.columns.iter().find(|(_, name)| name == "Amount") else {
            continue;
        };
        let cells = items.table.cells.iter();
        let amounts = cells.filter(|c| c.row > 0 && c.column == column);
        for cents in amounts.filter_map(|c| normalize::amount_cents(&c.content)) {
            total = Some(total.unwrap_or(0) + cents);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::understanding::TableCell;

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

    fn table(header: &[&str]) -> Table {
        let rect = docket_domain::text::Rect {
            left: 0.0,
            top: 0.0,
            right: 1.0,
            bottom: 1.0,
        };
        let cells = header.iter().enumerate().map(|(i, text)| TableCell {
            row: 0,
            column: i as u32,
            content: text.to_string(),
            content_normalized: text.to_string(),
            bbox: rect,
            confidence: 1.0,
        });
        Table {
            page_number: 1,
            bbox: rect,
            row_count: 3,
            column_count: header.len() as u32,
            has_header: true,
            cells: cells.collect(),
            confidence: 1.0,
        }
    }

    #[test]
    fn the_items_add_up_their_amount_column() {
        let mut items = table(&["Description", "Qty", "Amount"]);
        let rect = items.bbox;
        for (row, amounts) in [(1, ["Pens", "2", "2,46"]), (2, ["Paper", "1", "1.000,04"])] {
            for (column, text) in amounts.iter().enumerate() {
                items.cells.push(TableCell {
                    row,
                    column: column as u32,
                    content: text.to_string(),
                    content_normalized: text.to_string(),
                    bbox: rect,
                    confidence: 1.0,
                });
            }
        }
        assert_eq!(amounts_total(&[items]), Some(100_250));
        let summary = table(&["Art", "%", "Basisbetrag", "Steuer", "Betrag"]);
        assert_eq!(amounts_total(&[summary]), None);
    }

    #[test]
    fn item_tables_are_named_and_vat_summaries_are_not_items() {
        let found = extract(&[
            table(&[
                "Pos",
                "Beschreibung",
                "Nettopreis",
                "Menge",
                "Steuersatz",
                "Nettobetrag",
            ]),
            table(&["Art", "%", "Basisbetrag", "Steuer", "Betrag"]),
        ]);
        assert_eq!(found.len(), 1);
        let named: Vec<(u32, &str)> = found[0]
            .columns
            .iter()
            .map(|(c, n)| (*c, n.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                (1, "Description"),
                (2, "UnitPrice"),
                (3, "Quantity"),
                (4, "VatRate"),
                (5, "Amount")
            ]
        );
    }
}
