//! Document understanding through the API: generated invoices (born-digital, scanned, scanned
//! PDF, multi-page TIFF) come back with their text, QR code, table, key-values and invoice
//! fields; hostile files end in a failure state with a reason.

use serde_json::Value;

use crate::common::server::{start, start_with, TestServer};
use docket_testkit::corpus::{self, InvoiceTruth, Language};

/// A workspace of the given template, reading Portuguese and English; returns its id.
pub(crate) async fn workspace(server: &TestServer, template: &str) -> i64 {
    workspace_in(server, template, "por+eng").await
}

/// A workspace of the given template and OCR languages; returns its id.
async fn workspace_in(server: &TestServer, template: &str, languages: &str) -> i64 {
    let org = server.credentials.organization.id;
    let store = server.docket.store();
    store
        .create_workspace(org, template, None, template, languages)
        .await
        .unwrap()
        .id
}

/// Uploads `bytes` to the workspace and waits until the task is ready for review; returns the
/// export.
pub(crate) async fn process(
    server: &TestServer,
    workspace_id: i64,
    name: &str,
    bytes: Vec<u8>,
) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("workspaceId", workspace_id.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    let id = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(id, &[3]).await;
    server.export(id).await
}

pub(crate) fn entities<'a>(
    export: &'a Value,
    kind: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    export["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["entities"].as_array().unwrap())
        .filter(move |e| e["type"] == kind)
}

/// Invoice fields as name → normalised value.
pub(crate) fn invoice_fields(export: &Value) -> std::collections::BTreeMap<String, String> {
    fields_of(export, "invoiceField")
}

/// Receipt fields as name → normalised value.
fn receipt_fields(export: &Value) -> std::collections::BTreeMap<String, String> {
    fields_of(export, "receiptField")
}

/// Field entities of one type as name → normalised value.
fn fields_of(export: &Value, kind: &str) -> std::collections::BTreeMap<String, String> {
    entities(export, kind)
        .map(|e| {
            let value = &e["keyValues"][0];
            (
                value["categoryNormalized"].as_str().unwrap().to_owned(),
                value["contentNormalized"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fiscal_qr(export: &Value) -> &Value {
    let entity = entities(export, "qrCode")
        .find(|e| e["category"] == "fiscalQrCode")
        .expect("a fiscal QR code");
    &entity["qrCode"]
}

fn words(export: &Value) -> Vec<String> {
    entities(export, "text")
        .filter(|e| e["category"] == "words")
        .flat_map(|e| e["keyValues"].as_array().unwrap())
        .map(|w| w["content"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn truth(language: Language) -> InvoiceTruth {
    corpus::invoices(4, 7)
        .into_iter()
        .find(|t| t.language == language)
        .unwrap()
}

fn check_qr(export: &Value, truth: &InvoiceTruth) {
    let qr = fiscal_qr(export);
    assert_eq!(qr["qrCodeContent"], truth.qr_payload.as_str());
    assert_eq!(qr["invalidKeysCount"], 0);
    assert_eq!(qr["duplicatedKeys"], serde_json::json!([]));
    let fields = qr["keyValues"].as_array().unwrap();
    let issuer = fields.iter().find(|f| f["category"] == "A").unwrap();
    assert_eq!(issuer["categoryNormalized"], "IssuerTaxId");
    assert_eq!(issuer["content"], truth.supplier_tax_id.as_str());
    let date = fields.iter().find(|f| f["category"] == "F").unwrap();
    assert_eq!(date["contentNormalized"], truth.invoice_date.as_str());
    assert!(qr["boundingBox"]["width"].as_f64().unwrap() > 0.0);
}

/// One property of each header of an exported table.
fn headers<'a>(table: &'a Value, property: &str) -> Vec<&'a str> {
    table["tableHeaders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[property].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_born_digital_portuguese_invoice_is_understood() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let truth = truth(Language::Portuguese);
    let export = process(
        &server,
        workspace_id,
        "fatura.pdf",
        corpus::invoice_pdf(&truth),
    )
    .await;

    check_qr(&export, &truth);
    assert!(
        entities(&export, "barcode").next().is_none(),
        "no text misread as a barcode"
    );
    let fields = invoice_fields(&export);
    for (name, value) in truth.expected_fields() {
        if name == "Iban" {
            continue;
        }
        assert_eq!(fields.get(name), Some(&value), "{name} in {fields:?}");
    }
    // Agreement with the QR code shows in the confidence.
    let gross = entities(&export, "invoiceField")
        .find(|e| e["category"] == "GrossTotal")
        .unwrap();
    assert!(gross["confidence"].as_f64().unwrap() >= 0.99, "{gross}");

    let iban = entities(&export, "keyValue")
        .find(|e| e["category"] == "Iban")
        .expect("an IBAN key-value");
    assert_eq!(
        iban["keyValues"][0]["contentNormalized"],
        truth.iban.as_str()
    );

    let table = &entities(&export, "table")
        .next()
        .expect("the line-items table")["table"];
    assert_eq!(
        headers(table, "content"),
        ["Descrição", "Qtd.", "Preço unit.", "IVA", "Total"]
    );
    assert_eq!(table["rowCount"], truth.lines.len() + 1);
    assert_eq!(table["columnCount"], 5);
    let first_row = &table["tableRows"]["1"];
    assert_eq!(first_row[0]["content"], truth.lines[0].description.as_str());
    assert_eq!(
        first_row[4]["contentNormalized"],
        truth.lines[0].total.as_str()
    );
    assert!(table["tableRowsTableContent"]["1"]
        .as_str()
        .unwrap()
        .starts_with(&truth.lines[0].description));

    // The same table as line items: its columns named whatever the printed headers.
    let items = &entities(&export, "lineItems")
        .next()
        .expect("the line items")["table"];
    assert_eq!(
        headers(items, "categoryNormalized"),
        ["Description", "Quantity", "UnitPrice", "VatRate", "Amount"]
    );
    assert_eq!(items["tableRows"]["1"], table["tableRows"]["1"]);
}

#[tokio::test]
async fn a_scanned_invoice_is_read_by_ocr() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let truth = truth(Language::English);
    let scan = corpus::scan_png(&corpus::invoice_pdf(&truth), 300.0, 1.2, 11).unwrap();
    let export = process(&server, workspace_id, "scan.png", scan).await;

    let words = words(&export);
    assert!(
        words.contains(
            &truth
                .invoice_number
                .split(' ')
                .next_back()
                .unwrap()
                .to_owned()
        ),
        "{words:?}"
    );
    let word = entities(&export, "text").next().unwrap()["keyValues"][0].clone();
    let confidence = word["confidence"].as_f64().unwrap();
    assert!(
        confidence > 0.0 && confidence <= 1.0,
        "OCR confidences: {word}"
    );
    check_qr(&export, &truth);
    let fields = invoice_fields(&export);
    for name in [
        "InvoiceNumber",
        "SupplierTaxId",
        "CustomerTaxId",
        "InvoiceDate",
        "GrossTotal",
        "Atcud",
    ] {
        let expected = truth
            .expected_fields()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        assert_eq!(fields.get(name), Some(&expected), "{name} in {fields:?}");
    }
    let table = &entities(&export, "table")
        .next()
        .expect("the table is found in the scan")["table"];
    let line_totals: Vec<&str> = table["tableRows"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|row| row.as_array()?.last()?["contentNormalized"].as_str())
        .collect();
    // OCR of a noisy scan may misread a digit; the table must hold and most cells read right
    // (born-digital tables are checked cell by cell).
    let right = truth
        .lines
        .iter()
        .filter(|line| line_totals.contains(&line.total.as_str()))
        .count();
    assert!(
        right + 1 >= truth.lines.len(),
        "{right} of {} line totals in {line_totals:?}",
        truth.lines.len()
    );
}

#[tokio::test]
async fn scanned_pdfs_and_multi_page_tiffs_are_ocred_page_by_page() {
    let server = start().await;
    let truth = truth(Language::Portuguese);
    let pdf = corpus::invoice_pdf(&truth);
    let jpeg = corpus::scan_jpeg(&pdf, 200.0, 0.7, 3).unwrap();
    let scanned_pdf = corpus::image_pdf(&[jpeg.clone(), jpeg]);
    let export = process(&server, 1, "scanned.pdf", scanned_pdf).await;
    assert_eq!(export["totalPages"], 2);
    for chunk in export["chunks"].as_array().unwrap() {
        let page_words = chunk["entities"][0]["keyValues"].as_array().unwrap();
        assert!(page_words.len() > 50, "every page is OCRed");
        // Boxes are in PDF points, like the text layer of born-digital pages.
        assert!(page_words
            .iter()
            .all(|w| w["boundingBox"]["right"].as_f64().unwrap() <= 596.0));
    }
    let layout_workspace_has_no_invoice_fields = entities(&export, "invoiceField").next().is_none();
    assert!(layout_workspace_has_no_invoice_fields);

    let page = image::load_from_memory(&corpus::scan_png(&pdf, 150.0, 0.0, 5).unwrap())
        .unwrap()
        .to_luma8();
    let tiff = corpus::multipage_tiff(&[page.clone(), page]).unwrap();
    let export = process(&server, 1, "pages.tiff", tiff).await;
    assert_eq!(export["chunks"].as_array().unwrap().len(), 2);
    assert!(
        words(&export).iter().any(|w| w == "ATCUD:"),
        "{:?}",
        words(&export)
    );
}

#[tokio::test]
async fn mixed_pdfs_are_read_page_by_page() {
    let server = start().await;
    let truth = truth(Language::Portuguese);
    let born_digital = corpus::invoice_pdf(&truth);
    let scanned = corpus::image_pdf(&[corpus::scan_jpeg(&born_digital, 200.0, 0.5, 2).unwrap()]);
    let mixed = docket::pipeline::pdf::concatenate(&[&born_digital, &scanned]).unwrap();
    let export = process(&server, 1, "mixed.pdf", mixed).await;
    let chunks = export["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2);
    let confidences = |chunk: &Value| -> Vec<f64> {
        chunk["entities"][0]["keyValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["confidence"].as_f64().unwrap())
            .collect()
    };
    // The text layer of page 1 is exact; page 2 has none and is OCRed.
    assert!(confidences(&chunks[0]).iter().all(|c| *c == 1.0));
    let ocr = confidences(&chunks[1]);
    assert!(ocr.len() > 50 && ocr.iter().any(|c| *c < 1.0), "{ocr:?}");
    let page_two: Vec<&str> = chunks[1]["entities"][0]["keyValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["content"].as_str().unwrap())
        .collect();
    assert!(
        page_two.contains(&truth.customer_tax_id.as_str()),
        "{page_two:?}"
    );
}

/// A ruled table of text only (no column of numbers) with a header and `rows` people.
fn contacts_pdf(rows: usize) -> Vec<u8> {
    let people = [
        ["Ana Silva", "Lisboa", "Compras"],
        ["Rui Costa", "Porto", "Vendas"],
        ["Eva Lima", "Braga", "Apoio"],
    ];
    let rows: Vec<Vec<String>> = people
        .iter()
        .take(rows)
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    corpus::ruled_text_table_pdf(&["Nome", "Cidade", "Equipa"], &rows)
}

#[tokio::test]
async fn ruled_tables_are_found_by_their_lines() {
    let server = start().await;
    let pdf = contacts_pdf(3);
    let export = process(&server, 1, "contactos.pdf", pdf).await;
    let table = &entities(&export, "table").next().expect("the ruled table")["table"];
    assert_eq!(
        (table["rowCount"].as_i64(), table["columnCount"].as_i64()),
        (Some(4), Some(3))
    );
    let headers: Vec<&str> = table["tableHeaders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["content"].as_str().unwrap())
        .collect();
    assert_eq!(headers, ["Nome", "Cidade", "Equipa"]);
    assert_eq!(
        table["tableRowsTableContent"]["2"],
        "Rui Costa | Porto | Vendas"
    );
    assert_eq!(
        entities(&export, "table").count(),
        1,
        "found once, not again by alignment"
    );
}

#[tokio::test]
async fn ruled_tables_are_found_in_scans_too() {
    let server = start().await;
    let pdf = contacts_pdf(2);
    let scan = corpus::scan_png(&pdf, 300.0, 0.8, 4).unwrap();
    let export = process(&server, 1, "contactos.png", scan).await;
    let table = &entities(&export, "table")
        .next()
        .expect("the ruled table in the scan")["table"];
    assert_eq!(
        (table["rowCount"].as_i64(), table["columnCount"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        table["tableRowsTableContent"]["2"],
        "Rui Costa | Porto | Vendas"
    );
}

#[tokio::test]
async fn one_dimensional_barcodes_are_decoded() {
    use rxing::Writer;
    let server = start().await;
    let code = rxing::MultiFormatWriter
        .encode("INV-2024-0017", &rxing::BarcodeFormat::CODE_128, 600, 120)
        .unwrap();
    // A white A5-ish page at 150 dpi with the barcode in its upper half.
    let mut page = image::GrayImage::from_pixel(874, 1240, image::Luma([255]));
    for y in 0..code.getHeight() {
        for x in 0..code.getWidth() {
            if code.get(x, y) {
                page.put_pixel(x + 130, y + 200, image::Luma([0]));
            }
        }
    }
    let mut png = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let export = process(&server, 1, "label.png", png).await;
    let barcode = entities(&export, "barcode")
        .next()
        .expect("a barcode entity");
    assert_eq!(barcode["category"], "Code128");
    assert_eq!(barcode["qrCode"]["qrCodeContent"], "INV-2024-0017");
    let left = barcode["qrCode"]["boundingBox"]["left"].as_f64().unwrap();
    assert!((100.0..300.0).contains(&left), "{barcode}");
}

#[tokio::test]
async fn an_upside_down_scan_is_turned_and_read() {
    let server = start().await;
    let truth = truth(Language::English);
    let scan = corpus::scan_png(&corpus::invoice_pdf(&truth), 200.0, 0.5, 9).unwrap();
    let turned = image::imageops::rotate180(&image::load_from_memory(&scan).unwrap().to_luma8());
    let mut png = Vec::new();
    turned
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let export = process(&server, 1, "upside-down.png", png).await;
    let words = words(&export);
    assert!(words.iter().any(|w| w == "INVOICE"), "{words:?}");
    assert!(words.contains(&truth.supplier_tax_id), "{words:?}");
    assert_eq!(
        fiscal_qr(&export)["qrCodeContent"],
        truth.qr_payload.as_str()
    );
}

#[tokio::test]
async fn a_broken_fiscal_qr_code_is_reported_not_fatal() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let mut truth = truth(Language::Portuguese);
    truth.qr_payload = "A:123456788*B:999999990*C:PT*D:XX*F:20191332*Z:1*A:500000000".into();
    let export = process(
        &server,
        workspace_id,
        "broken-qr.pdf",
        corpus::invoice_pdf(&truth),
    )
    .await;
    let qr = fiscal_qr(&export);
    assert_eq!(qr["qrCodeContent"], truth.qr_payload.as_str());
    assert!(qr["invalidKeysCount"].as_i64().unwrap() >= 4, "{qr}");
    assert_eq!(qr["duplicatedKeys"], serde_json::json!(["A"]));
}

/// The fiscal QR code is the document's own record: a total the page prints differently is
/// exported as the code states it, with an issue naming what the page read; what only the code
/// states (the document type) is added.
#[tokio::test]
async fn the_fiscal_qr_code_wins_over_the_page() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesPortugal").await;
    let mut truth = truth(Language::Portuguese);
    let printed = truth.gross_total.clone();
    let stated = "99999.99";
    truth.qr_payload = truth
        .qr_payload
        .replace(&format!("*O:{printed}*"), &format!("*O:{stated}*"));
    let export = process(
        &server,
        workspace_id,
        "fatura.pdf",
        corpus::invoice_pdf(&truth),
    )
    .await;
    let fields = invoice_fields(&export);
    assert_eq!(fields.get("GrossTotal").map(String::as_str), Some(stated));
    assert_eq!(fields.get("DocumentType").map(String::as_str), Some("FT"));
    let gross = entities(&export, "invoiceField")
        .find(|e| e["category"] == "GrossTotal")
        .unwrap();
    let issue = gross["keyValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["category"] == "issue")
        .expect("an issue key-value");
    let issue = issue["content"].as_str().unwrap();
    let page_value = issue
        .strip_prefix("the page reads ")
        .and_then(|rest| rest.split(';').next());
    assert_eq!(
        page_value.and_then(docket::extract::normalize::amount),
        Some(printed),
        "{issue}"
    );
}

#[tokio::test]
async fn hostile_files_fail_with_reasons() {
    let server = start_with(true, |mut s| {
        s.pipeline.max_pages = 1000;
        s
    })
    .await;
    let cases = [
        ("bomb.png", corpus::bomb_png(), "megapixels"),
        ("long.pdf", corpus::many_page_pdf(2000), "2000 pages"),
    ];
    for (name, bytes, reason) in cases {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        let id = server.create_multipart(form).await["taskId"]
            .as_i64()
            .unwrap();
        server.wait_for(id, &[35]).await;
        let last = server.history(id).await.last().unwrap().clone();
        assert!(
            last["reason"].as_str().unwrap().contains(reason),
            "{name}: {last}"
        );
    }
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(corpus::many_page_pdf(300)).file_name("300.pdf"),
    );
    let id = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    assert_eq!(
        server.wait_for(id, &[3]).await["totalPages"],
        300,
        "within the limit, long documents are processed"
    );
}

#[tokio::test]
async fn ocr_languages_come_from_the_workspace() {
    let server = start().await;
    let org = server.credentials.organization.id;
    let klingon = server
        .docket
        .store()
        .create_workspace(org, "tlh", None, "Layout", "tlh")
        .await
        .unwrap();
    let scan = corpus::scan_png(&corpus::many_page_pdf(1), 100.0, 0.0, 1).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("workspaceId", klingon.id.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(scan).file_name("p.png"),
        );
    let id = server.create_multipart(form).await["taskId"]
        .as_i64()
        .unwrap();
    server.wait_for(id, &[42]).await;
    let reason = server.history(id).await.last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("tlh"), "{reason}");
}

#[tokio::test]
async fn receipts_get_receipt_fields_born_digital_and_scanned() {
    let server = start().await;
    let receipts = workspace(&server, "Receipts").await;
    let pdf = corpus::till_receipt_pdf();
    let expected = [
        ("MerchantName", "PAPELARIA SANTOS LDA"),
        ("MerchantAddress", "RUA DAS FLORES 12 1200-195 LISBOA"),
        ("MerchantTaxId", "001531760640"),
        ("TransactionDate", "2017-04-18"),
        ("TransactionTime", "13:05"),
        ("Total", "8.70"),
        ("Currency", "MYR"),
        ("PaymentMethod", "Cash"),
    ];
    let export = process(&server, receipts, "receipt.pdf", pdf.clone()).await;
    let found = receipt_fields(&export);
    for (name, value) in expected {
        assert_eq!(
            found.get(name).map(String::as_str),
            Some(value),
            "{name}: {found:?}"
        );
    }
    assert!(
        invoice_fields(&export).is_empty(),
        "receipts get no invoice fields"
    );
    // Scanned at 150 dpi: small print is enlarged for OCR, so the amounts keep their decimals.
    let scan = corpus::scan_png(&pdf, 150.0, 0.0, 3).unwrap();
    let found = receipt_fields(&process(&server, receipts, "receipt.png", scan).await);
    for name in ["TransactionDate", "Total"] {
        let want = expected.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(
            found.get(name).map(String::as_str),
            want,
            "{name}: {found:?}"
        );
    }
}

#[tokio::test]
async fn a_faint_till_roll_on_a_dark_scanner_bed_is_read() {
    let server = start().await;
    let receipts = workspace(&server, "Receipts").await;
    let scan = corpus::scan_png(&corpus::till_receipt_pdf(), 200.0, 0.0, 7).unwrap();
    let page = image::load_from_memory(&scan).unwrap().to_luma8();
    // The receipt alone (narrower than paper), its print faded to light gray, on a scanner bed
    // that shows dark along two edges: one global threshold would put all the print on the
    // paper's side.
    let (width, height) = (page.width() * 11 / 20, page.height() * 3 / 5);
    let roll = image::imageops::crop_imm(&page, page.width() / 5, 0, width, height).to_image();
    let faint = image::GrayImage::from_fn(width, height, |x, y| {
        if x < width / 16 || y > height - height / 20 {
            image::Luma([40])
        } else {
            let ink = 255 - u32::from(roll.get_pixel(x, y)[0]);
            image::Luma([(255 - ink * 3 / 10) as u8])
        }
    });
    let mut png = Vec::new();
    faint
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let found = receipt_fields(&process(&server, receipts, "faint.png", png).await);
    for (name, value) in [("TransactionDate", "2017-04-18"), ("Total", "8.70")] {
        assert_eq!(
            found.get(name).map(String::as_str),
            Some(value),
            "{name}: {found:?}"
        );
    }
}

#[tokio::test]
async fn auto_languages_read_a_german_scan_in_german() {
    let server = start().await;
    let receipts = workspace_in(&server, "Receipts", "auto").await;
    let scan = corpus::scan_png(&corpus::german_receipt_pdf(), 300.0, 0.0, 5).unwrap();
    let export = process(&server, receipts, "beleg.png", scan).await;
    let words = words(&export);
    // Umlauts need the German model: an English-only pass reads "fur", "Backerei".
    for word in ["für", "Bäckerei", "Käsekuchen"] {
        assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
    }
    let found = receipt_fields(&export);
    assert_eq!(
        found.get("Total").map(String::as_str),
        Some("4.70"),
        "{found:?}"
    );
    assert_eq!(
        found.get("TransactionDate").map(String::as_str),
        Some("2018-03-05"),
        "{found:?}"
    );
    assert_eq!(
        found.get("PaymentMethod").map(String::as_str),
        Some("Cash"),
        "{found:?}"
    );
}

/// Invoices in American English (month-first dates), German (a boxed header table, dates with
/// dots, a total label with extra words), French, Spanish, Dutch and Italian carry no fiscal
/// QR code: every field, the parties and
/// the VAT breakdown included, comes from reading the page in its language.
#[tokio::test]
async fn invoices_in_each_language_are_read_from_the_page() {
    let server = start().await;
    let workspace_id = workspace(&server, "InvoicesUniversal").await;
    let languages = Language::ALL.into_iter().filter(|l| !l.has_fiscal_qr());
    for language in languages {
        // Month-first dates are only told from day-first ones by a day above 12.
        let seeds = 0..;
        let truth = seeds
            .map(|seed| corpus::invoice_in(language, seed))
            .find(InvoiceTruth::dates_are_unambiguous)
            .unwrap();
        let pdf = corpus::invoice_pdf(&truth);
        let export = process(&server, workspace_id, "invoice.pdf", pdf).await;
        assert!(entities(&export, "qrCode").next().is_none());
        let fields = invoice_fields(&export);
        for (name, value) in truth.expected_fields() {
            let found = fields.get(name).map(String::as_str);
            assert_eq!(
                found,
                Some(value.as_str()),
                "{language:?} {name} in {fields:?}"
            );
        }
    }
}
