//! What docket learns from reviewers' corrections: for one supplier, how a field was found on
//! its documents (the label before it, and the shape of its value), to find it the same way
//! on the supplier's next documents.

use serde::{Deserialize, Serialize};

use super::review::FieldKind;
use super::understanding::Understanding;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedRule {
    pub kind: FieldKind,
    /// The field's category, e.g. `InvoiceNumber`.
    pub category: String,
    /// The text before the value (on its line, else the line above), folded: lower case,
    /// letters and digits only.
    pub label: String,
    /// The value's shape: each digit `9`, each letter `A`, other characters kept
    /// (`FT A2024/1412` → `AA A9999/9999`).
    pub shape: String,
    /// For a value that is not on the page as the reviewer wrote it (misread, say): what the
    /// supplier's documents were read as, and what the reviewer made it. The label and shape
    /// are then empty.
    #[serde(default)]
    pub replace: Option<(String, String)>,
}

/// The shape of a value (see `LearnedRule::shape`).
pub fn shape(value: &str) -> String {
    value
        .trim()
        .chars()
        .map(|c| match c {
            c if c.is_ascii_digit() => '9',
            c if c.is_alphabetic() => 'A',
            c => c,
        })
        .collect()
}

/// Text folded for comparing labels: lower case, letters and digits only.
pub fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Who issued the document, as rules are kept: its tax id, else its name folded.
pub fn supplier_key(understanding: &Understanding) -> Option<String> {
    let find = |category: &str| {
        understanding
            .invoice
            .iter()
            .chain(&understanding.receipt)
            .find(|f| f.category_normalized == category && !f.content_normalized.trim().is_empty())
            .map(|f| f.content_normalized.clone())
    };
    if let Some(tax_id) = find("SupplierTaxId").or_else(|| find("MerchantTaxId")) {
        return Some(format!("tax:{}", fold(&tax_id)));
    }
    let name = find("SupplierName").or_else(|| find("MerchantName"))?;
    Some(format!("name:{}", fold(&name))).filter(|k| k.len() > "name:".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_keep_punctuation_and_fold_characters() {
        assert_eq!(shape(" FT A2024/1412 "), "AA A9999/9999");
        assert_eq!(fold("Nº Encomenda:"), "nºencomenda");
    }
}
