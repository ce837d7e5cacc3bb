//! PDFs carrying e-invoice XML (Factur-X CII) through the API: the XML's values are the invoice
//! fields, placed on the page; a page that says otherwise is flagged; a broken or oversized
//! attachment leaves the fields to the page.

use serde_json::Value;

use crate::common::server::start;
use crate::understanding::{entities, invoice_fields, process, truth, workspace};
use docket_testkit::corpus::{self, Language};

fn invoice_field<'a>(export: &'a Value, category: &str) -> &'a Value {
    let found = entities(export, "invoiceField").find(|e| e["category"] == category);
    found.unwrap_or_else(|| panic!("no {category} invoice field in {export}"))
}

fn mismatches(export: &Value) -> Vec<&Value> {
    entities(export, "keyValue")
        .filter(|e| e["category"] == "EmbeddedInvoiceMismatch")
        .collect()
}

#[tokio::test]
async fn invoice_fields_come_from_the_embedded_xml() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let truth = truth(Language::English);
    let xml = corpus::cii_xml(&truth);
    let pdf = corpus::einvoice_pdf(&truth, xml.as_bytes());
    let export = process(&server, workspace_id, "factur-x.pdf", pdf).await;

    let fields = invoice_fields(&export);
    let expected = [
        ("SupplierTaxId", format!("PT{}", truth.supplier_tax_id)),
        ("CustomerTaxId", format!("PT{}", truth.customer_tax_id)),
        ("SupplierName", truth.supplier_name.clone()),
        ("InvoiceNumber", truth.invoice_number.clone()),
        ("InvoiceDate", truth.invoice_date.clone()),
        ("DueDate", truth.due_date.clone()),
        ("Iban", truth.iban.clone()),
        ("GrossTotal", truth.gross_total.clone()),
        ("NetTotal", truth.net_total.clone()),
        ("TaxTotal", truth.tax_total.clone()),
    ];
    for (category, value) in expected {
        assert_eq!(
            fields.get(category),
            Some(&value),
            "{category} in {fields:?}"
        );
        let entity = invoice_field(&export, category);
        let value = &entity["keyValues"][0];
        assert_eq!(entity["confidence"], 1.0, "{entity}");
        assert_ne!(
            value["category"], category,
            "named by its XML element: {entity}"
        );
        let bbox = &value["boundingBox"];
        assert!(bbox["width"].as_f64().unwrap() > 0.0, "a box: {entity}");
        assert_eq!(value["points"].as_array().unwrap().len(), 4);
    }
    assert_eq!(
        invoice_field(&export, "GrossTotal")["keyValues"][0]["category"],
        "GrandTotalAmount"
    );
    // The page's reading still fills what the XML lacks.
    assert_eq!(fields.get("Atcud"), Some(&truth.atcud));
    assert!(mismatches(&export).is_empty(), "{export}");
}

#[tokio::test]
async fn a_page_that_disagrees_with_its_xml_is_flagged() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let printed = truth(Language::Portuguese);
    let stated = corpus::InvoiceTruth {
        gross_total: "99999.99".into(),
        ..printed.clone()
    };
    let pdf = corpus::einvoice_pdf(&printed, corpus::cii_xml(&stated).as_bytes());
    let export = process(&server, workspace_id, "altered.pdf", pdf).await;

    assert_eq!(
        invoice_fields(&export)
            .get("GrossTotal")
            .map(String::as_str),
        Some("99999.99"),
        "the XML is authoritative"
    );
    let flags = mismatches(&export);
    assert_eq!(flags.len(), 1, "{flags:?}");
    let values = flags[0]["keyValues"].as_array().unwrap();
    assert_eq!(values[0]["contentNormalized"], printed.gross_total.as_str());
    assert!(values[0]["boundingBox"]["width"].as_f64().unwrap() > 0.0);
    let issue = values
        .iter()
        .find(|v| v["category"] == "issue")
        .expect("an issue key-value");
    let issue = issue["content"].as_str().unwrap();
    assert!(
        issue.contains("GrossTotal") && issue.contains("99999.99"),
        "{issue}"
    );
}

#[tokio::test]
async fn a_broken_or_oversized_attachment_leaves_the_fields_to_the_page() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let truth = truth(Language::English);
    let mut oversized = corpus::cii_xml(&truth).into_bytes();
    // Past the 10 MiB a reader takes from an attachment.
    oversized.resize(11 * 1024 * 1024, b' ');
    let broken = b"<rsm:CrossIndustryInvoice xmlns:rsm=\"x\"><rsm:ExchangedDocument>".to_vec();
    for (name, xml) in [("broken.pdf", broken), ("oversized.pdf", oversized)] {
        let pdf = corpus::einvoice_pdf(&truth, &xml);
        let export = process(&server, workspace_id, name, pdf).await;
        let gross = invoice_field(&export, "GrossTotal");
        assert_eq!(
            gross["keyValues"][0]["contentNormalized"],
            truth.gross_total.as_str(),
            "{name}"
        );
        assert_ne!(
            gross["keyValues"][0]["category"], "GrandTotalAmount",
            "{name}: read from the page"
        );
    }
}
