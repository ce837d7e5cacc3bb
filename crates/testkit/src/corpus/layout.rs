//! The born-digital invoice PDF: one A4 page laid out from an `InvoiceTruth`, with Portuguese
//! or English labels and number/date formats from one label table, and the AT QR code drawn
//! as vector squares.
//!
//! Page map (points from the top-left): supplier block top-left (y 45–100), title and header
//! key-values top-right (y 45–152), customer block left (y 130–191), line-items table from
//! y 225, VAT summary (left) and totals (right) 28 pt under the table, QR code bottom-left
//! (y ≈ 671–762) with the ATCUD under it, payment details right of the QR, footer at y 800+.

use pdf_writer::{Content, Str};
use qrcode::{Color, EcLevel, QrCode};

use super::fonts::{text_pdf, win_ansi, Font, PAGE_HEIGHT};
use super::{InvoiceTruth, Language};

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
/// Text sits this far inside a table cell.
const PAD: f32 = 5.0;
const RULE: f32 = 0.5;

/// Line-items table column edges: description | quantity | unit price | VAT | total.
const ITEM_EDGES: [f32; 6] = [LEFT, 320.0, 370.0, 440.0, 485.0, RIGHT];
/// Boxed header column edges: invoice number | date | due date.
const HEADER_EDGES: [f32; 4] = [275.0, 385.0, 470.0, RIGHT];
/// VAT summary column edges: rate | base | VAT.
const VAT_EDGES: [f32; 4] = [LEFT, 110.0, 190.0, 260.0];
const TABLE_TOP: f32 = 225.0;
const HEADER_ROW: f32 = 20.0;
const ROW: f32 = 18.0;

/// The QR symbol's side, quiet zone excluded: the AT spec's 30 mm minimum.
const QR_SIDE: f32 = 30.0 / 25.4 * 72.0;
const QR_BOTTOM: f32 = 762.0;
/// Light modules around the symbol that a reader needs to find it.
const QUIET_MODULES: f32 = 4.0;

/// Everything that differs between the Portuguese and the English layout.
struct Labels {
    title: &'static str,
    copy: &'static str,
    invoice_number: &'static str,
    date: &'static str,
    due_date: &'static str,
    tax_id: &'static str,
    customer_tax_id: &'static str,
    currency: &'static str,
    bill_to: &'static str,
    item_columns: [&'static str; 5],
    vat_summary: &'static str,
    vat_columns: [&'static str; 3],
    net: &'static str,
    tax: &'static str,
    total: &'static str,
    payment: &'static str,
    conformity: &'static str,
    certified: &'static str,
    page: &'static str,
    thousands: char,
    decimal: char,
    /// How dates print: `d`, `m` and `Y` stand for day, month and year ("d.m.Y").
    date_format: &'static str,
    /// "€1,234.56" rather than "1.234,56 €".
    euro_first: bool,
    /// Number, date and due date as a ruled table, labels over values, rather than
    /// `Label: value` lines.
    boxed_header: bool,
}

const PORTUGUESE: Labels = Labels {
    title: "FATURA",
    copy: "Original",
    invoice_number: "Fatura n.º",
    date: "Data",
    due_date: "Vencimento",
    tax_id: "NIF",
    customer_tax_id: "NIF do cliente",
    currency: "Moeda",
    bill_to: "Cliente",
    item_columns: ["Descrição", "Qtd.", "Preço unit.", "IVA", "Total"],
    vat_summary: "Resumo do IVA",
    vat_columns: ["Taxa", "Incidência", "IVA"],
    net: "Total s/ IVA",
    tax: "IVA",
    total: "Total",
    payment: "Pagamento por transferência bancária",
    conformity:
        "Os bens e/ou serviços foram colocados à disposição do adquirente na data do documento.",
    certified: "Processado por programa certificado n.º",
    page: "Página 1 de 1",
    thousands: '.',
    decimal: ',',
    date_format: "d-m-Y",
    euro_first: false,
    boxed_header: false,
};

const ENGLISH: Labels = Labels {
    title: "INVOICE",
    copy: "Original",
    invoice_number: "Invoice No.",
    date: "Date",
    due_date: "Due Date",
    tax_id: "VAT No.",
    customer_tax_id: "Customer VAT No.",
    currency: "Currency",
    bill_to: "Bill to",
    item_columns: ["Description", "Qty", "Unit price", "VAT", "Total"],
    vat_summary: "VAT summary",
    vat_columns: ["Rate", "Base", "VAT"],
    net: "Subtotal",
    tax: "VAT",
    total: "Total",
    payment: "Payment by bank transfer",
    conformity: "Goods and/or services were made available to the customer on the document date.",
    certified: "Processed by certified software no.",
    page: "Page 1 of 1",
    thousands: ',',
    decimal: '.',
    date_format: "Y-m-d",
    euro_first: true,
    boxed_header: false,
};

const AMERICAN_ENGLISH: Labels = Labels {
    title: "INVOICE",
    copy: "Original",
    invoice_number: "Invoice #",
    date: "Invoice Date",
    due_date: "Payment Due",
    tax_id: "Tax ID",
    customer_tax_id: "Customer Tax ID",
    currency: "Currency",
    bill_to: "Bill To:",
    item_columns: ["Item Description", "Qty", "Rate", "Tax", "Amount"],
    vat_summary: "Tax summary",
    vat_columns: ["Rate", "Taxable", "Tax"],
    net: "Subtotal",
    tax: "Sales Tax",
    total: "Total Due",
    payment: "Payment by wire transfer",
    conformity: "Thank you for your business.",
    certified: "Software no.",
    page: "Page 1 of 1",
    thousands: ',',
    decimal: '.',
    date_format: "m/d/Y",
    euro_first: true,
    boxed_header: false,
};

const GERMAN: Labels = Labels {
    title: "RECHNUNG",
    copy: "Original",
    invoice_number: "Rechnungsnummer",
    date: "Rechnungsdatum",
    due_date: "Fällig am",
    tax_id: "USt-IdNr.",
    customer_tax_id: "USt-IdNr. des Kunden",
    currency: "Währung",
    bill_to: "Rechnungsempfänger",
    item_columns: ["Bezeichnung", "Menge", "Einzelpreis", "MwSt.", "Betrag"],
    vat_summary: "Umsatzsteuer",
    vat_columns: ["Satz", "Netto", "MwSt."],
    net: "Nettobetrag",
    tax: "zzgl. MwSt.",
    total: "Gesamtbetrag (inkl. MwSt.)",
    payment: "Zahlung per Überweisung",
    conformity: "Die Lieferung erfolgte am Rechnungsdatum.",
    certified: "Erstellt mit Software Nr.",
    page: "Seite 1 von 1",
    thousands: '.',
    decimal: ',',
    date_format: "d.m.Y",
    euro_first: false,
    boxed_header: true,
};

const FRENCH: Labels = Labels {
    title: "FACTURE",
    copy: "Original",
    invoice_number: "Facture n°",
    date: "Date de facture",
    due_date: "Date d'échéance",
    tax_id: "N° TVA",
    customer_tax_id: "N° TVA du client",
    currency: "Devise",
    bill_to: "Facturé à",
    item_columns: ["Désignation", "Qté", "Prix unitaire", "TVA", "Montant HT"],
    vat_summary: "Récapitulatif TVA",
    vat_columns: ["Taux", "Base HT", "TVA"],
    net: "Total HT",
    tax: "Total TVA",
    total: "Montant TTC",
    payment: "Paiement par virement bancaire",
    conformity: "Les biens et/ou services ont été fournis à la date de la facture.",
    certified: "Logiciel n°",
    page: "Page 1 sur 1",
    thousands: ' ',
    decimal: ',',
    date_format: "d/m/Y",
    euro_first: false,
    boxed_header: false,
};

const SPANISH: Labels = Labels {
    title: "FACTURA",
    copy: "Original",
    invoice_number: "Nº de factura",
    date: "Fecha de emisión",
    due_date: "Fecha de vencimiento",
    tax_id: "NIF",
    customer_tax_id: "NIF del cliente",
    currency: "Moneda",
    bill_to: "Facturar a",
    item_columns: ["Descripción", "Cant.", "Precio unitario", "IVA", "Importe"],
    vat_summary: "Resumen de IVA",
    vat_columns: ["Tipo", "Base imponible", "Cuota"],
    net: "Base imponible",
    tax: "Cuota de IVA",
    total: "Importe total",
    payment: "Pago por transferencia bancaria",
    conformity: "Los bienes y/o servicios se entregaron en la fecha de la factura.",
    certified: "Programa n.º",
    page: "Página 1 de 1",
    thousands: '.',
    decimal: ',',
    date_format: "d/m/Y",
    euro_first: false,
    boxed_header: false,
};

const DUTCH: Labels = Labels {
    title: "FACTUUR",
    copy: "Origineel",
    invoice_number: "Factuurnummer",
    date: "Factuurdatum",
    due_date: "Vervaldatum",
    tax_id: "BTW-nummer",
    customer_tax_id: "BTW-nummer klant",
    currency: "Valuta",
    bill_to: "Factuuradres",
    item_columns: ["Omschrijving", "Aantal", "Prijs per stuk", "BTW", "Bedrag"],
    vat_summary: "BTW-overzicht",
    vat_columns: ["Tarief", "Grondslag", "BTW"],
    net: "Subtotaal excl. BTW",
    tax: "BTW-bedrag",
    total: "Totaal incl. BTW",
    payment: "Betaling per bankoverschrijving",
    conformity: "De goederen en/of diensten zijn geleverd op de factuurdatum.",
    certified: "Software nr.",
    page: "Pagina 1 van 1",
    thousands: '.',
    decimal: ',',
    date_format: "d-m-Y",
    euro_first: true,
    boxed_header: true,
};

const ITALIAN: Labels = Labels {
    title: "FATTURA",
    copy: "Originale",
    invoice_number: "Fattura n.",
    date: "Data fattura",
    due_date: "Scadenza",
    tax_id: "Partita IVA",
    customer_tax_id: "P. IVA cliente",
    currency: "Valuta",
    bill_to: "Destinatario",
    item_columns: [
        "Descrizione",
        "Quantità",
        "Prezzo unitario",
        "IVA",
        "Importo",
    ],
    vat_summary: "Riepilogo IVA",
    vat_columns: ["Aliquota", "Imponibile", "Imposta"],
    net: "Totale imponibile",
    tax: "Totale IVA",
    total: "Totale documento",
    payment: "Pagamento tramite bonifico bancario",
    conformity: "I beni e/o servizi sono stati forniti alla data del documento.",
    certified: "Software n.",
    page: "Pagina 1 di 1",
    thousands: '.',
    decimal: ',',
    date_format: "d/m/Y",
    euro_first: false,
    boxed_header: false,
};

impl Labels {
    fn for_language(language: Language) -> &'static Labels {
        match language {
            Language::Portuguese => &PORTUGUESE,
            Language::English => &ENGLISH,
            Language::AmericanEnglish => &AMERICAN_ENGLISH,
            Language::German => &GERMAN,
            Language::French => &FRENCH,
            Language::Spanish => &SPANISH,
            Language::Dutch => &DUTCH,
            Language::Italian => &ITALIAN,
        }
    }

    /// "1234.56" → "1.234,56" or "1,234.56"; also quantities ("2.5" → "2,5").
    fn number(&self, plain: &str) -> String {
        let (units, fraction) = plain
            .split_once('.')
            .map_or((plain, None), |(u, f)| (u, Some(f)));
        let mut grouped = String::new();
        for (i, digit) in units.chars().enumerate() {
            if i > 0 && (units.len() - i) % 3 == 0 {
                grouped.push(self.thousands);
            }
            grouped.push(digit);
        }
        match fraction {
            Some(fraction) => format!("{grouped}{}{fraction}", self.decimal),
            None => grouped,
        }
    }

    fn amount_with_euro(&self, plain: &str) -> String {
        if self.euro_first {
            format!("€{}", self.number(plain))
        } else {
            format!("{} €", self.number(plain))
        }
    }

    /// ISO "2024-12-31" → "31-12-2024", "31.12.2024", ... as `date_format` says.
    fn date(&self, iso: &str) -> String {
        let [year, month, day] = iso.splitn(3, '-').collect::<Vec<_>>()[..] else {
            return iso.to_string();
        };
        let parts = self.date_format.chars().map(|c| match c {
            'd' => day.to_string(),
            'm' => month.to_string(),
            'Y' => year.to_string(),
            other => other.to_string(),
        });
        parts.collect()
    }
}

/// "23.00" → "23%".
fn percent(rate: &str) -> String {
    format!("{}%", rate.strip_suffix(".00").unwrap_or(rate))
}

/// "PT50000201231234567890154" → "PT50 0002 0123 1234 5678 9015 4", as printed.
fn grouped_iban(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A content stream addressed from the top-left corner, as layouts are thought of.
struct Canvas {
    content: Content,
}

impl Canvas {
    fn new() -> Self {
        let mut content = Content::new();
        content.set_line_width(RULE);
        Canvas { content }
    }

    /// `text` with its baseline at `top` and its left edge at `x`.
    fn text(&mut self, font: Font, size: f32, x: f32, top: f32, text: &str) {
        self.content
            .begin_text()
            .set_font(font.resource(), size)
            .next_line(x, PAGE_HEIGHT - top)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    /// `text` ending at `right`.
    fn text_right(&mut self, font: Font, size: f32, right: f32, top: f32, text: &str) {
        let width = font.width(&win_ansi(text), size);
        self.text(font, size, right - width, top, text);
    }

    fn line(&mut self, (x1, top1): (f32, f32), (x2, top2): (f32, f32)) {
        self.content
            .move_to(x1, PAGE_HEIGHT - top1)
            .line_to(x2, PAGE_HEIGHT - top2)
            .stroke();
    }

    fn fill_gray(&mut self, gray: f32, x: f32, top: f32, width: f32, height: f32) {
        self.content
            .set_fill_gray(gray)
            .rect(x, PAGE_HEIGHT - top - height, width, height)
            .fill_nonzero()
            .set_fill_gray(0.0);
    }

    /// A ruled table: a shaded header row, then `rows`; the first column left-aligned, the
    /// others right-aligned as numbers are. Returns the table's bottom.
    fn table(&mut self, edges: &[f32], top: f32, header: &[&str], rows: &[Vec<String>]) -> f32 {
        let (left, right) = (edges[0], edges[edges.len() - 1]);
        let bottom = top + HEADER_ROW + ROW * rows.len() as f32;
        self.fill_gray(0.9, left, top, right - left, HEADER_ROW);
        let cells = |canvas: &mut Canvas, font: Font, baseline: f32, texts: &[&str]| {
            for (column, text) in texts.iter().enumerate() {
                if column == 0 {
                    canvas.text(font, 9.0, edges[0] + PAD, baseline, text);
                } else {
                    canvas.text_right(font, 9.0, edges[column + 1] - PAD, baseline, text);
                }
            }
        };
        cells(self, Font::Bold, top + HEADER_ROW - 7.0, header);
        for (i, row) in rows.iter().enumerate() {
            let texts: Vec<&str> = row.iter().map(String::as_str).collect();
            cells(
                self,
                Font::Regular,
                top + HEADER_ROW + ROW * (i as f32 + 1.0) - 6.0,
                &texts,
            );
        }
        let mut rule_tops = vec![top, top + HEADER_ROW];
        rule_tops.extend((1..=rows.len()).map(|i| top + HEADER_ROW + ROW * i as f32));
        for y in rule_tops {
            self.line((left, y), (right, y));
        }
        for &x in edges {
            self.line((x, top), (x, bottom));
        }
        bottom
    }

    /// The QR symbol with its lower-left corner at (`x`, `bottom`): each row's runs of dark
    /// modules as rectangles of one path, so anti-aliasing leaves no seams between modules.
    fn qr(&mut self, code: &QrCode, x: f32, bottom: f32) {
        let width = code.width();
        let module = QR_SIDE / width as f32;
        let colors = code.to_colors();
        for (row, modules) in colors.chunks(width).enumerate() {
            let y = PAGE_HEIGHT - bottom + module * (width - 1 - row) as f32;
            let mut column = 0;
            while column < width {
                if modules[column] != Color::Dark {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < width && modules[column] == Color::Dark {
                    column += 1;
                }
                let run = (column - start) as f32;
                self.content
                    .rect(x + module * start as f32, y, module * run, module);
            }
        }
        self.content.fill_nonzero();
    }
}

/// A born-digital A4 invoice PDF, text in Helvetica (WinAnsi) so the text layer is exact.
pub fn invoice_pdf(invoice: &InvoiceTruth) -> Vec<u8> {
    text_pdf(std::iter::once(invoice_page(invoice)))
}

/// The invoice's one page.
pub(crate) fn invoice_page(invoice: &InvoiceTruth) -> Content {
    let labels = Labels::for_language(invoice.language);
    let mut canvas = Canvas::new();
    parties(&mut canvas, labels, invoice);
    let table_bottom = line_items(&mut canvas, labels, invoice);
    totals(&mut canvas, labels, invoice, table_bottom + 28.0);
    footer(&mut canvas, labels, invoice);
    canvas.content
}

/// A page with one ruled table whose columns all hold text (a contact list, say): tables like
/// this are found by their ruling lines, as word alignment needs a column of numbers.
pub fn ruled_text_table_pdf(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut canvas = Canvas::new();
    canvas.text(Font::Bold, 14.0, LEFT, 60.0, "Contactos");
    let width = (RIGHT - LEFT) / header.len().max(1) as f32;
    let edges: Vec<f32> = (0..=header.len())
        .map(|i| LEFT + width * i as f32)
        .collect();
    canvas.table(&edges, 100.0, header, rows);
    text_pdf(std::iter::once(canvas.content))
}

/// What a generated till receipt prints, top to bottom.
struct Receipt<'a> {
    head: [&'a str; 4],
    when: &'a str,
    items: [(&'a str, &'a str); 2],
    totals: [(&'a str, &'a str); 3],
    footer: &'a str,
}

/// A till receipt as shops print them: the merchant at the head, an unlabelled date and time,
/// items with right-aligned amounts, a total whose label carries the tax rate, the payment.
pub fn till_receipt_pdf() -> Vec<u8> {
    receipt_pdf(&Receipt {
        head: [
            "PAPELARIA SANTOS LDA (123456-X)",
            "RUA DAS FLORES 12",
            "1200-195 LISBOA",
            "GST ID No: 001531760640",
        ],
        when: "18/04/2017 13:05",
        items: [("ORDER CHIT NCR 3 X 2.90", "8.70"), ("DISCOUNT", "0.00")],
        totals: [
            ("TOTAL INCL. GST@6%", "RM 8.70"),
            ("CASH", "10.00"),
            ("CHANGE", "1.30"),
        ],
        footer: "THANK YOU. PLEASE COME AGAIN",
    })
}

/// A German till receipt, in German sentences, so OCR has a language to find.
pub fn german_receipt_pdf() -> Vec<u8> {
    receipt_pdf(&Receipt {
        head: [
            "Bäckerei Müller GmbH",
            "Hauptstraße 5",
            "80331 München",
            "USt-IdNr.: DE136695976",
        ],
        when: "Datum: 05.03.2018 09:15",
        items: [("2 x Brötchen für Sie", "1,20"), ("Käsekuchen", "3,50")],
        totals: [
            ("Summe inkl. MwSt.", "4,70 EUR"),
            ("Bar", "5,00"),
            ("Rückgeld", "0,30"),
        ],
        footer: "Vielen Dank für Ihren Einkauf und bis zum nächsten Mal",
    })
}

fn receipt_pdf(receipt: &Receipt) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let (left, right) = (LEFT + 120.0, RIGHT - 120.0);
    let mut top = 60.0;
    for (i, text) in receipt.head.iter().enumerate() {
        let font = if i == 0 { Font::Bold } else { Font::Regular };
        canvas.text(font, 11.0, left, top, text);
        top += 16.0;
    }
    canvas.text(Font::Regular, 11.0, left, top + 8.0, receipt.when);
    top += 40.0;
    for (item, amount) in receipt.items {
        canvas.text(Font::Regular, 11.0, left, top, item);
        canvas.text_right(Font::Regular, 11.0, right, top, amount);
        top += 16.0;
    }
    top += 8.0;
    for (label, amount) in receipt.totals {
        canvas.text(Font::Bold, 11.0, left, top, label);
        canvas.text_right(Font::Bold, 11.0, right, top, amount);
        top += 16.0;
    }
    canvas.text(Font::Regular, 11.0, left, top + 16.0, receipt.footer);
    text_pdf(std::iter::once(canvas.content))
}

/// Supplier (top-left), title and header key-values (top-right), customer (left).
fn parties(canvas: &mut Canvas, labels: &Labels, invoice: &InvoiceTruth) {
    canvas.text(Font::Bold, 14.0, LEFT, 60.0, &invoice.supplier_name);
    let mut top = 76.0;
    for line in &invoice.supplier_address {
        canvas.text(Font::Regular, 9.0, LEFT, top, line);
        top += 12.0;
    }
    canvas.text(
        Font::Regular,
        9.0,
        LEFT,
        top,
        &format!("{}: {}", labels.tax_id, invoice.supplier_tax_id),
    );

    canvas.text_right(Font::Bold, 18.0, RIGHT, 62.0, labels.title);
    canvas.text_right(Font::Regular, 8.0, RIGHT, 75.0, labels.copy);
    let mut header = vec![
        (labels.invoice_number, invoice.invoice_number.clone()),
        (labels.date, labels.date(&invoice.invoice_date)),
        (labels.due_date, labels.date(&invoice.due_date)),
    ];
    if labels.boxed_header {
        let (names, values): (Vec<&str>, Vec<String>) = header.drain(..).unzip();
        canvas.table(&HEADER_EDGES, 88.0, &names, &[values]);
    }
    if invoice.language.has_fiscal_qr() {
        header.push(("ATCUD", invoice.atcud.clone()));
    }
    header.push((labels.currency, invoice.currency.clone()));
    let first = if labels.boxed_header { 3 } else { 0 };
    for (i, (label, value)) in header.iter().enumerate() {
        let i = i + first;
        canvas.text(
            Font::Regular,
            9.0,
            350.0,
            96.0 + 14.0 * i as f32,
            &format!("{label}: {value}"),
        );
    }

    canvas.text(Font::Bold, 9.0, LEFT, 140.0, labels.bill_to);
    let mut top = 153.0;
    for line in std::iter::once(&invoice.customer_name).chain(&invoice.customer_address) {
        canvas.text(Font::Regular, 9.0, LEFT, top, line);
        top += 12.0;
    }
    let customer = format!("{}: {}", labels.customer_tax_id, invoice.customer_tax_id);
    canvas.text(Font::Regular, 9.0, LEFT, top + 2.0, &customer);
}

fn line_items(canvas: &mut Canvas, labels: &Labels, invoice: &InvoiceTruth) -> f32 {
    let rows: Vec<Vec<String>> = invoice
        .lines
        .iter()
        .map(|line| {
            vec![
                line.description.clone(),
                labels.number(&line.quantity),
                labels.number(&line.unit_price),
                percent(&line.vat_rate),
                labels.number(&line.total),
            ]
        })
        .collect();
    canvas.table(&ITEM_EDGES, TABLE_TOP, &labels.item_columns, &rows)
}

/// VAT summary table on the left, totals on the right, both starting at `top`.
fn totals(canvas: &mut Canvas, labels: &Labels, invoice: &InvoiceTruth, top: f32) {
    canvas.text(Font::Bold, 9.0, LEFT, top, labels.vat_summary);
    let rows: Vec<Vec<String>> = invoice
        .vat_breakdown
        .iter()
        .map(|band| {
            vec![
                percent(&band.rate),
                labels.number(&band.base),
                labels.number(&band.amount),
            ]
        })
        .collect();
    canvas.table(&VAT_EDGES, top + 6.0, &labels.vat_columns, &rows);

    let label_right = 455.0;
    let value_right = RIGHT - PAD;
    let amounts = [
        (labels.net, &invoice.net_total),
        (labels.tax, &invoice.tax_total),
    ];
    for (i, (label, amount)) in amounts.iter().enumerate() {
        let baseline = top + 12.0 + 16.0 * i as f32;
        canvas.text_right(
            Font::Regular,
            9.5,
            label_right,
            baseline,
            &format!("{label}:"),
        );
        canvas.text_right(
            Font::Regular,
            9.5,
            value_right,
            baseline,
            &labels.number(amount),
        );
    }
    canvas.line((360.0, top + 50.0), (RIGHT, top + 50.0));
    let baseline = top + 66.0;
    canvas.text_right(
        Font::Bold,
        12.0,
        label_right,
        baseline,
        &format!("{}:", labels.total),
    );
    let gross = labels.amount_with_euro(&invoice.gross_total);
    canvas.text_right(Font::Bold, 12.0, value_right, baseline, &gross);
}

/// QR code and ATCUD bottom-left, payment details beside them, legal notes at the foot.
fn footer(canvas: &mut Canvas, labels: &Labels, invoice: &InvoiceTruth) {
    // The payload is a few hundred bytes at most, far below a QR code's capacity; were it
    // ever too long the invoice would still be useful without its code.
    let fiscal = invoice
        .language
        .has_fiscal_qr()
        .then_some(&invoice.qr_payload);
    let code = fiscal.and_then(|payload| {
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).ok()
    });
    if let Some(code) = code {
        let quiet = QUIET_MODULES * QR_SIDE / code.width() as f32;
        canvas.qr(&code, LEFT + quiet, QR_BOTTOM);
        let atcud = format!("ATCUD: {}", invoice.atcud);
        canvas.text(
            Font::Regular,
            8.0,
            LEFT + quiet,
            QR_BOTTOM + quiet + 10.0,
            &atcud,
        );
    }

    let x = 175.0;
    canvas.text(Font::Bold, 9.0, x, 690.0, labels.payment);
    canvas.text(
        Font::Regular,
        9.0,
        x,
        704.0,
        &format!("IBAN: {}", grouped_iban(&invoice.iban)),
    );

    canvas.text(Font::Regular, 7.0, LEFT, 800.0, labels.conformity);
    if invoice.language.has_fiscal_qr() {
        let certified = format!("{} {}/AT", labels.certified, invoice.certificate());
        canvas.text(Font::Regular, 7.0, LEFT, 811.0, &certified);
    }
    canvas.text_right(Font::Regular, 7.0, RIGHT, 811.0, labels.page);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{init_pdfium, invoices};
    use docket_pipeline::pdf;

    #[test]
    fn formats_follow_language() {
        assert_eq!(PORTUGUESE.number("1234567.89"), "1.234.567,89");
        assert_eq!(ENGLISH.number("1234.56"), "1,234.56");
        assert_eq!(PORTUGUESE.number("123.40"), "123,40");
        assert_eq!(PORTUGUESE.number("2.5"), "2,5");
        assert_eq!(ENGLISH.number("12"), "12");
        assert_eq!(PORTUGUESE.date("2024-12-31"), "31-12-2024");
        assert_eq!(ENGLISH.date("2024-12-31"), "2024-12-31");
        assert_eq!(PORTUGUESE.amount_with_euro("1234.56"), "1.234,56 €");
        assert_eq!(ENGLISH.amount_with_euro("1234.56"), "€1,234.56");
        assert_eq!(percent("6.00"), "6%");
        assert_eq!(
            grouped_iban("PT50000201231234567890154"),
            "PT50 0002 0123 1234 5678 9015 4"
        );
    }

    #[test]
    fn text_layer_carries_the_truth() {
        init_pdfium();
        for invoice in invoices(2, 1) {
            let bytes = invoice_pdf(&invoice);
            let pages = pdf::extract_text(&bytes).unwrap();
            assert_eq!(pages.len(), 1);
            let lines: Vec<String> = pages[0].lines.iter().map(|l| l.text()).collect();
            let text = lines.join("\n");
            let labels = Labels::for_language(invoice.language);
            for expected in [
                invoice.invoice_number.clone(),
                invoice.supplier_tax_id.clone(),
                invoice.customer_tax_id.clone(),
                invoice.atcud.clone(),
                labels.number(&invoice.gross_total),
                labels.date(&invoice.invoice_date),
                invoice.supplier_name.clone(),
            ] {
                assert!(text.contains(&expected), "{expected:?} not in\n{text}");
            }
            // Right-aligned amounts in the total column end at the same x.
            let ends: Vec<f64> = pages[0]
                .lines
                .iter()
                .filter_map(|l| l.words.last())
                .filter(|w| {
                    invoice
                        .lines
                        .iter()
                        .any(|line| labels.number(&line.total) == w.text)
                })
                .map(|w| w.bbox.right)
                .collect();
            assert_eq!(ends.len(), invoice.lines.len(), "{text}");
            assert!(
                ends.iter()
                    .all(|e| (e - f64::from(ITEM_EDGES[5] - PAD)).abs() < 0.5),
                "{ends:?}"
            );
        }
    }

    #[test]
    fn qr_code_decodes_to_the_payload() {
        init_pdfium();
        let invoice = &invoices(1, 9)[0];
        let bytes = invoice_pdf(invoice);
        let document = pdf::Document::open(&bytes).unwrap();
        let page = document.render(0, 200.0, 4000).unwrap().image;
        let decoded = rxing::helpers::detect_in_luma(
            page.as_raw().clone(),
            page.width(),
            page.height(),
            Some(rxing::BarcodeFormat::QR_CODE),
        )
        .unwrap();
        assert_eq!(decoded.getText(), invoice.qr_payload);
    }
}
