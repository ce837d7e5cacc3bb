//! Structured e-invoices embedded in PDFs: UN/CEFACT CII (Factur-X, ZUGFeRD 2.x, XRechnung
//! CII, and ZUGFeRD 1.0's `CrossIndustryDocument`) and UBL 2.1 `Invoice`/`CreditNote`, read into
//! docket's invoice categories with normalised values. Parsing only; placing the values on the
//! page and comparing them with the page's reading is `embedded`'s.
//!
//! Why roxmltree: a read-only DOM is all this needs (a few paths into a small tree), it is
//! small and widely used, and it refuses DTDs by default, so entity expansion attacks cannot
//! start. Elements are matched by local name, so any namespace prefix works.

use roxmltree::{Document, Node, ParsingOptions};
use serde::{Deserialize, Serialize};

use super::normalize;
use docket_domain::understanding::Field;

/// Larger attachments are not read.
pub const MAX_XML_BYTES: usize = 10 * 1024 * 1024;
/// A tree with more nodes than this is refused (a 10 MiB invoice has far fewer).
const MAX_NODES: u32 = 1_000_000;

/// Attachment names the standards prescribe; any other `*.xml` is read too, these first.
const KNOWN_NAMES: [&str; 5] = [
    "factur-x.xml",
    "zugferd-invoice.xml",
    "xrechnung.xml",
    "zugferd_invoice.xml",
    "ubl.xml",
];

/// The invoice a PDF carries as XML: where it came from and what it states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedInvoice {
    /// The attachment's name in the PDF (`factur-x.xml`).
    pub file_name: String,
    pub syntax: Syntax,
    /// Invoice fields: `category` is the XML element, no box yet (page 1), confidence 1.0.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Syntax {
    /// UN/CEFACT Cross Industry Invoice.
    Cii,
    Ubl,
}

/// How a category's value is normalised and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Document numbers: compared without whitespace, case-blind.
    Id,
    Date,
    Amount,
    TaxId,
    Iban,
    Currency,
    /// Names and sentences: whitespace collapsed.
    Text,
    /// A postal address: its lines joined by ", ", compared by its words (`normalize::same_address`).
    Address,
}

/// The kind of an invoice category's value (`VatBase:19.00` is an amount).
pub fn kind(category: &str) -> Kind {
    match category {
        "InvoiceNumber" | "PurchaseOrder" => Kind::Id,
        "InvoiceDate" | "DueDate" => Kind::Date,
        "SupplierTaxId" | "CustomerTaxId" => Kind::TaxId,
        "Iban" => Kind::Iban,
        "Currency" => Kind::Currency,
        "SupplierName" | "CustomerName" | "PaymentTerms" => Kind::Text,
        "SupplierAddress" | "CustomerAddress" => Kind::Address,
        _ => Kind::Amount,
    }
}

/// Whether a PDF attachment of this name may hold an invoice.
pub fn is_candidate(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".xml")
}

/// The first attachment that parses as an invoice, trying the standard names first.
pub fn first_invoice<'a>(
    attachments: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Option<EmbeddedInvoice> {
    let mut candidates: Vec<_> = attachments.into_iter().collect();
    candidates.sort_by_key(|(name, _)| !KNOWN_NAMES.contains(&name.to_ascii_lowercase().as_str()));
    candidates
        .into_iter()
        .find_map(|(name, bytes)| parse(name, bytes))
}

/// The invoice in `bytes`, or None when they are not a CII or UBL invoice (or not XML at all,
/// too large, or too deep: untrusted input is never an error, only absent).
pub fn parse(file_name: &str, bytes: &[u8]) -> Option<EmbeddedInvoice> {
    if bytes.len() > MAX_XML_BYTES {
        return None;
    }
    let text = decode(bytes)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(&text, options).ok()?;
    let root = document.root_element();
    let (syntax, fields) = match local(root) {
        "CrossIndustryInvoice" | "CrossIndustryDocument" => (Syntax::Cii, cii(root)),
        "Invoice" | "CreditNote" => (Syntax::Ubl, ubl(root)),
        _ => return None,
    };
    (!fields.is_empty()).then(|| EmbeddedInvoice {
        file_name: file_name.to_string(),
        syntax,
        fields,
    })
}

/// UTF-8 (a BOM dropped), or Latin-1 when the declaration says so.
fn decode(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some(text.to_string());
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(100)]).to_ascii_lowercase();
    let latin = ["iso-8859-1", "iso-8859-15", "windows-1252", "latin1"];
    latin
        .iter()
        .any(|l| head.contains(l))
        .then(|| bytes.iter().map(|&b| char::from(b)).collect())
}

// ---------------------------------------------------------------------------------------------
// Tree helpers

type El<'a> = Node<'a, 'a>;

fn local<'a>(node: El<'a>) -> &'a str {
    node.tag_name().name()
}

fn children<'a>(node: El<'a>, name: &'a str) -> impl Iterator<Item = El<'a>> {
    node.children()
        .filter(move |c| c.is_element() && local(*c) == name)
}

/// The first child with any of `names`.
fn child<'a>(node: Option<El<'a>>, names: &[&str]) -> Option<El<'a>> {
    node?
        .children()
        .find(|c| c.is_element() && names.contains(&local(*c)))
}

/// Down a path of children, one local name per step.
fn at<'a>(node: Option<El<'a>>, path: &[&str]) -> Option<El<'a>> {
    path.iter()
        .try_fold(node?, |n, name| child(Some(n), &[name]))
}

fn text<'a>(node: Option<El<'a>>) -> Option<&'a str> {
    node?.text().map(str::trim).filter(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Values

/// An XML decimal (`-1234.5`, `50.0000`) in cents, rounded half away from zero. XML never
/// groups thousands, so this is not `normalize::amount`, which would read `123.456` as grouped.
fn decimal_cents(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) || int.len() > 24
    {
        return None;
    }
    let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let digit = |i: usize| frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    let cents = int * 100 + digit(0) * 10 + digit(1) + i128::from(digit(2) >= 5);
    Some(if negative { -cents } else { cents })
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The normalised form of an XML value of `kind`, None when it is not one.
fn normalized(kind: Kind, raw: &str) -> Option<String> {
    match kind {
        Kind::Id | Kind::Text => Some(collapse(raw)),
        Kind::Address => Some(
            raw.lines()
                .map(collapse)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Kind::Date => normalize::date(raw),
        Kind::Amount => decimal_cents(raw).map(normalize::format_cents),
        Kind::TaxId => Some(normalize::tax_id(raw).unwrap_or_else(|| {
            raw.split_whitespace()
                .collect::<String>()
                .to_ascii_uppercase()
        })),
        Kind::Iban => Some(normalize::iban_compact(raw)),
        Kind::Currency => {
            let code = raw.trim().to_ascii_uppercase();
            (code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic())).then_some(code)
        }
    }
    .filter(|v| !v.is_empty())
}

/// The invoice fields being gathered, one per category.
#[derive(Default)]
struct Fields(Vec<Field>);

impl Fields {
    /// `category` from the element's text, when it has a valid one and the category none yet.
    fn add(&mut self, category: &str, element: Option<El>) {
        let Some(element) = element else { return };
        let Some(raw) = text(Some(element)) else {
            return;
        };
        if self.0.iter().any(|f| f.category_normalized == category) {
            return;
        }
        if let Some(value) = normalized(kind(category), raw) {
            self.0.push(stated(local(element), category, raw, value));
        }
    }

    /// `category` from the lines of an address (`address_lines`), one per line.
    fn add_address(&mut self, category: &str, element: Option<El>, lines: Vec<String>) {
        let (Some(element), false) = (element, lines.is_empty()) else {
            return;
        };
        let raw = lines.join("\n");
        if let Some(value) = normalized(Kind::Address, &raw) {
            self.0.push(stated(local(element), category, &raw, value));
        }
    }

    /// The VAT breakdown from (rate, base, amount) elements, summed per rate.
    fn add_vat<'a>(&mut self, rows: impl Iterator<Item = [Option<El<'a>>; 3]>) {
        for [rate, base, amount] in rows {
            let Some(rate) = text(rate).and_then(decimal_cents) else {
                continue;
            };
            let rate = normalize::format_cents(rate);
            for (kind, element) in [("VatBase", base), ("VatAmount", amount)] {
                let Some(element) = element else { continue };
                let Some(raw) = text(Some(element)) else {
                    continue;
                };
                let Some(cents) = decimal_cents(raw) else {
                    continue;
                };
                let category = format!("{kind}:{rate}");
                match self
                    .0
                    .iter_mut()
                    .find(|f| f.category_normalized == category)
                {
                    Some(f) => {
                        let sum = decimal_cents(&f.content_normalized).unwrap_or(0) + cents;
                        f.content = format!("{} + {raw}", f.content);
                        f.content_normalized = normalize::format_cents(sum);
                    }
                    None => self.0.push(stated(
                        local(element),
                        &category,
                        raw,
                        normalize::format_cents(cents),
                    )),
                }
            }
        }
    }
}

fn stated(element: &str, category: &str, raw: &str, value: String) -> Field {
    Field {
        page_number: 1,
        category: element.to_string(),
        category_normalized: category.to_string(),
        content: raw.to_string(),
        content_normalized: value,
        bbox: None,
        confidence: 1.0,
        issue: None,
    }
}

/// A CII party's VAT registration (scheme VA), else its tax number (FC).
fn registrations(party: Option<El>) -> Option<El> {
    let ids: Vec<El> = party
        .into_iter()
        .flat_map(|p| children(p, "SpecifiedTaxRegistration"))
        .filter_map(|r| child(Some(r), &["ID"]))
        .collect();
    let scheme = |s: &str| {
        ids.iter()
            .copied()
            .find(|id| id.attribute("schemeID").map(str::trim) == Some(s))
    };
    scheme("VA").or_else(|| scheme("FC"))
}

/// The amount in the invoice's currency among several (a tax total is stated once in the
/// invoice currency and again in the tax currency when they differ).
fn in_currency<'a>(
    mut amounts: impl Iterator<Item = El<'a>>,
    currency: Option<&str>,
) -> Option<El<'a>> {
    amounts.find(|a| match (a.attribute("currencyID"), currency) {
        (Some(stated), Some(invoice)) => stated.trim().eq_ignore_ascii_case(invoice),
        _ => true,
    })
}

/// An address's lines: its street lines (a UBL `AddressLine` holds its text in `Line`), the
/// postcode and city, and the country code.
fn address_lines(
    postal: Option<El>,
    street: &[&str],
    postcode: &str,
    city: &str,
    country: &[&str],
) -> Vec<String> {
    let Some(postal) = postal else {
        return Vec::new();
    };
    let mut lines: Vec<String> = postal
        .children()
        .filter(|c| c.is_element() && street.contains(&local(*c)))
        .filter_map(|c| text(Some(c)).or_else(|| text(child(Some(c), &["Line"]))))
        .map(str::to_string)
        .collect();
    let place: Vec<&str> = [postcode, city]
        .iter()
        .filter_map(|name| text(child(Some(postal), &[name])))
        .collect();
    if !place.is_empty() {
        lines.push(place.join(" "));
    }
    lines.extend(text(at(Some(postal), country)).map(str::to_string));
    lines
}

// ---------------------------------------------------------------------------------------------
// CII

fn cii(root: El) -> Vec<Field> {
    let document = child(
        Some(root),
        &["ExchangedDocument", "HeaderExchangedDocument"],
    );
    let transaction = child(
        Some(root),
        &[
            "SupplyChainTradeTransaction",
            "SpecifiedSupplyChainTradeTransaction",
        ],
    );
    let agreement = child(
        transaction,
        &[
            "ApplicableHeaderTradeAgreement",
            "ApplicableSupplyChainTradeAgreement",
        ],
    );
    let settlement = child(
        transaction,
        &[
            "ApplicableHeaderTradeSettlement",
            "ApplicableSupplyChainTradeSettlement",
        ],
    );
    let totals = child(
        settlement,
        &[
            "SpecifiedTradeSettlementHeaderMonetarySummation",
            "SpecifiedTradeSettlementMonetarySummation",
        ],
    );
    let seller = child(agreement, &["SellerTradeParty"]);
    let buyer = child(agreement, &["BuyerTradeParty"]);
    let currency = text(child(settlement, &["InvoiceCurrencyCode"]));
    let terms: Vec<El> = settlement
        .map(|s| children(s, "SpecifiedTradePaymentTerms").collect())
        .unwrap_or_default();
    let first_in_terms = |path: &[&str]| terms.iter().find_map(|t| at(Some(*t), path));
    let payee_account = settlement.and_then(|s| {
        children(s, "SpecifiedTradeSettlementPaymentMeans")
            .find_map(|m| at(Some(m), &["PayeePartyCreditorFinancialAccount", "IBANID"]))
    });
    let order = child(agreement, &["BuyerOrderReferencedDocument"]);

    let mut out = Fields::default();
    out.add("SupplierTaxId", registrations(seller));
    out.add("CustomerTaxId", registrations(buyer));
    out.add("SupplierName", child(seller, &["Name"]));
    out.add("CustomerName", child(buyer, &["Name"]));
    for (category, party) in [("SupplierAddress", seller), ("CustomerAddress", buyer)] {
        let postal = child(party, &["PostalTradeAddress"]);
        let street = ["LineOne", "LineTwo", "LineThree"];
        let lines = address_lines(postal, &street, "PostcodeCode", "CityName", &["CountryID"]);
        out.add_address(category, postal, lines);
    }
    out.add("InvoiceNumber", child(document, &["ID"]));
    out.add(
        "InvoiceDate",
        at(document, &["IssueDateTime", "DateTimeString"]),
    );
    out.add(
        "DueDate",
        first_in_terms(&["DueDateDateTime", "DateTimeString"]),
    );
    out.add("PurchaseOrder", child(order, &["IssuerAssignedID", "ID"]));
    out.add("Currency", child(settlement, &["InvoiceCurrencyCode"]));
    out.add("NetTotal", child(totals, &["TaxBasisTotalAmount"]));
    let tax_totals = totals
        .into_iter()
        .flat_map(|t| children(t, "TaxTotalAmount"));
    out.add("TaxTotal", in_currency(tax_totals, currency));
    out.add("GrossTotal", child(totals, &["GrandTotalAmount"]));
    out.add("Iban", payee_account);
    out.add("PaymentTerms", first_in_terms(&["Description"]));
    let taxes = settlement
        .into_iter()
        .flat_map(|s| children(s, "ApplicableTradeTax"));
    out.add_vat(taxes.map(|tax| {
        [
            child(Some(tax), &["RateApplicablePercent", "ApplicablePercent"]),
            child(Some(tax), &["BasisAmount"]),
            child(Some(tax), &["CalculatedAmount"]),
        ]
    }));
    out.0
}

// ---------------------------------------------------------------------------------------------
// UBL

/// A UBL party's legal name, else its trading name.
fn party_name(party: Option<El>) -> Option<El> {
    at(party, &["PartyLegalEntity", "RegistrationName"])
        .or_else(|| at(party, &["PartyName", "Name"]))
}

/// A UBL party's company id in the VAT scheme, else its first (UBL names the scheme where CII
/// says VA or FC).
fn company_id(party: Option<El>) -> Option<El> {
    let schemes: Vec<El> = party
        .into_iter()
        .flat_map(|p| children(p, "PartyTaxScheme"))
        .collect();
    let is_vat = |s: &&El| {
        text(at(Some(**s), &["TaxScheme", "ID"])).is_some_and(|id| id.eq_ignore_ascii_case("VAT"))
    };
    let scheme = schemes.iter().find(is_vat).or(schemes.first());
    child(scheme.copied(), &["CompanyID"])
}

fn ubl(root: El) -> Vec<Field> {
    let party = |role: &str| at(Some(root), &[role, "Party"]);
    let (seller, buyer) = (
        party("AccountingSupplierParty"),
        party("AccountingCustomerParty"),
    );
    let currency = text(child(Some(root), &["DocumentCurrencyCode"]));
    let totals = child(Some(root), &["LegalMonetaryTotal"]);
    let tax_total = in_currency(
        children(root, "TaxTotal").filter_map(|t| child(Some(t), &["TaxAmount"])),
        currency,
    );
    let means: Vec<El> = children(root, "PaymentMeans").collect();

    let mut out = Fields::default();
    out.add("SupplierTaxId", company_id(seller));
    out.add("CustomerTaxId", company_id(buyer));
    out.add("SupplierName", party_name(seller));
    out.add("CustomerName", party_name(buyer));
    for (category, party) in [("SupplierAddress", seller), ("CustomerAddress", buyer)] {
        let postal = child(party, &["PostalAddress"]);
        let street = ["StreetName", "AdditionalStreetName", "AddressLine"];
        let country = ["Country", "IdentificationCode"];
        let lines = address_lines(postal, &street, "PostalZone", "CityName", &country);
        out.add_address(category, postal, lines);
    }
    out.add("InvoiceNumber", child(Some(root), &["ID"]));
    out.add("InvoiceDate", child(Some(root), &["IssueDate"]));
    out.add(
        "DueDate",
        child(Some(root), &["DueDate"]).or_else(|| {
            means
                .iter()
                .find_map(|m| child(Some(*m), &["PaymentDueDate"]))
        }),
    );
    out.add("PurchaseOrder", at(Some(root), &["OrderReference", "ID"]));
    out.add("Currency", child(Some(root), &["DocumentCurrencyCode"]));
    out.add("NetTotal", child(totals, &["TaxExclusiveAmount"]));
    out.add("TaxTotal", tax_total);
    out.add("GrossTotal", child(totals, &["TaxInclusiveAmount"]));
    out.add(
        "Iban",
        means
            .iter()
            .find_map(|m| at(Some(*m), &["PayeeFinancialAccount", "ID"])),
    );
    out.add("PaymentTerms", at(Some(root), &["PaymentTerms", "Note"]));
    let subtotals = children(root, "TaxTotal")
        .filter(|t| {
            let amount = child(Some(*t), &["TaxAmount"]);
            amount.is_some_and(|a| in_currency(std::iter::once(a), currency).is_some())
        })
        .flat_map(|t| children(t, "TaxSubtotal"));
    out.add_vat(subtotals.map(|sub| {
        [
            at(Some(sub), &["TaxCategory", "Percent"]).or_else(|| child(Some(sub), &["Percent"])),
            child(Some(sub), &["TaxableAmount"]),
            child(Some(sub), &["TaxAmount"]),
        ]
    }));
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(invoice: &EmbeddedInvoice) -> Vec<(&str, &str)> {
        let pairs = invoice.fields.iter().map(|f| {
            (
                f.category_normalized.as_str(),
                f.content_normalized.as_str(),
            )
        });
        pairs.collect()
    }

    const CII: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument>
    <ram:ID>RE-2024-0815</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20240315</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:RateApplicablePercent>19</ram:RateApplicablePercent></ram:ApplicableTradeTax>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:BuyerReference>04011000-12345-34</ram:BuyerReference>
      <ram:SellerTradeParty>
        <ram:Name>Muster
          GmbH</ram:Name>
        <ram:PostalTradeAddress>
          <ram:PostcodeCode>80333</ram:PostcodeCode>
          <ram:LineOne>Lieferantenstraße 20</ram:LineOne>
          <ram:LineTwo>Hinterhaus</ram:LineTwo>
          <ram:CityName>München</ram:CityName>
          <ram:CountryID>DE</ram:CountryID>
        </ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID></ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE 123 456 789</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty>
        <ram:Name>Kunde AG</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">99/999/99999</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:BuyerTradeParty>
      <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-77</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:TaxCurrencyCode>EUR</ram:TaxCurrencyCode>
      <ram:InvoiceCurrencyCode>GBP</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE75 5121 0800 1245 1261 99</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>19.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>100.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>3.5</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>50</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>7</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms>
        <ram:Description>Zahlbar innerhalb
          30 Tagen netto</ram:Description>
        <ram:DueDateDateTime><udt:DateTimeString format="102">20240414</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>150.00</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>150.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">26.50</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="GBP">22.50</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>172.5000</ram:GrandTotalAmount>
        <ram:DuePayableAmount>172.50</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#;

    #[test]
    fn cii_invoice() {
        let invoice = parse("factur-x.xml", CII.as_bytes()).expect("an invoice");
        assert_eq!(invoice.syntax, Syntax::Cii);
        assert_eq!(
            summary(&invoice),
            [
                ("SupplierTaxId", "DE123456789"),
                ("CustomerTaxId", "99/999/99999"),
                ("SupplierName", "Muster GmbH"),
                ("CustomerName", "Kunde AG"),
                (
                    "SupplierAddress",
                    "Lieferantenstraße 20, Hinterhaus, 80333 München, DE",
                ),
                ("InvoiceNumber", "RE-2024-0815"),
                ("InvoiceDate", "2024-03-15"),
                ("DueDate", "2024-04-14"),
                ("PurchaseOrder", "PO-77"),
                ("Currency", "GBP"),
                ("NetTotal", "150.00"),
                ("TaxTotal", "22.50"),
                ("GrossTotal", "172.50"),
                ("Iban", "DE75512108001245126199"),
                ("PaymentTerms", "Zahlbar innerhalb 30 Tagen netto"),
                ("VatBase:19.00", "100.00"),
                ("VatAmount:19.00", "19.00"),
                ("VatBase:7.00", "50.00"),
                ("VatAmount:7.00", "3.50"),
            ]
        );
        let gross = invoice
            .fields
            .iter()
            .find(|f| f.category_normalized == "GrossTotal");
        let gross = gross.expect("a gross total");
        assert_eq!(
            (
                gross.category.as_str(),
                gross.content.as_str(),
                gross.confidence,
                gross.bbox
            ),
            ("GrandTotalAmount", "172.5000", 1.0, None)
        );
    }

    #[test]
    fn zugferd_1_cross_industry_document() {
        let xml = r#"<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
            xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
            xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
          <rsm:HeaderExchangedDocument><ram:ID>471102</ram:ID>
            <ram:IssueDateTime><udt:DateTimeString format="102">20130305</udt:DateTimeString></ram:IssueDateTime>
          </rsm:HeaderExchangedDocument>
          <rsm:SpecifiedSupplyChainTradeTransaction>
            <ram:ApplicableSupplyChainTradeAgreement>
              <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name>
                <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID></ram:SpecifiedTaxRegistration>
              </ram:SellerTradeParty>
            </ram:ApplicableSupplyChainTradeAgreement>
            <ram:ApplicableSupplyChainTradeSettlement>
              <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
              <ram:SpecifiedTradeSettlementMonetarySummation>
                <ram:TaxBasisTotalAmount currencyID="EUR">198.00</ram:TaxBasisTotalAmount>
                <ram:TaxTotalAmount currencyID="EUR">37.62</ram:TaxTotalAmount>
                <ram:GrandTotalAmount currencyID="EUR">235.62</ram:GrandTotalAmount>
              </ram:SpecifiedTradeSettlementMonetarySummation>
            </ram:ApplicableSupplyChainTradeSettlement>
          </rsm:SpecifiedSupplyChainTradeTransaction>
        </rsm:CrossIndustryDocument>"#;
        let invoice = parse("ZUGFeRD-invoice.xml", xml.as_bytes()).expect("an invoice");
        assert_eq!(
            summary(&invoice),
            [
                ("SupplierTaxId", "DE123456789"),
                ("SupplierName", "Lieferant GmbH"),
                ("InvoiceNumber", "471102"),
                ("InvoiceDate", "2013-03-05"),
                ("Currency", "EUR"),
                ("NetTotal", "198.00"),
                ("TaxTotal", "37.62"),
                ("GrossTotal", "235.62"),
            ]
        );
    }

    #[test]
    fn ubl_invoice_and_credit_note() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>INV-12</cbc:ID>
  <cbc:IssueDate>2024-05-02</cbc:IssueDate>
  <cbc:DueDate>2024-06-01</cbc:DueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>4500012345</cbc:ID></cac:OrderReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Seller Trading</cbc:Name></cac:PartyName>
    <cac:PartyTaxScheme><cbc:CompanyID>12/345/67890</cbc:CompanyID><cac:TaxScheme><cbc:ID>FC</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyTaxScheme><cbc:CompanyID>NL123456789B01</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Seller B.V.</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>Buyer Ltd</cbc:Name></cac:PartyName>
    <cac:PostalAddress>
      <cbc:StreetName>1 Main Street</cbc:StreetName>
      <cbc:CityName>London</cbc:CityName>
      <cbc:PostalZone>EC1A 1BB</cbc:PostalZone>
      <cac:AddressLine><cbc:Line>Floor 3</cbc:Line></cac:AddressLine>
      <cac:Country><cbc:IdentificationCode>GB</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>NL91ABNA0417164300</cbc:ID></cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:PaymentTerms><cbc:Note>Net 30 days</cbc:Note></cac:PaymentTerms>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine><cbc:ID>1</cbc:ID></cac:InvoiceLine>
</Invoice>"#;
        let invoice = parse("invoice.xml", xml.as_bytes()).expect("an invoice");
        assert_eq!(invoice.syntax, Syntax::Ubl);
        assert_eq!(
            summary(&invoice),
            [
                ("SupplierTaxId", "NL123456789B01"),
                ("SupplierName", "Seller B.V."),
                ("CustomerName", "Buyer Ltd"),
                (
                    "CustomerAddress",
                    "1 Main Street, Floor 3, EC1A 1BB London, GB"
                ),
                ("InvoiceNumber", "INV-12"),
                ("InvoiceDate", "2024-05-02"),
                ("DueDate", "2024-06-01"),
                ("PurchaseOrder", "4500012345"),
                ("Currency", "EUR"),
                ("NetTotal", "100.00"),
                ("TaxTotal", "21.00"),
                ("GrossTotal", "121.00"),
                ("Iban", "NL91ABNA0417164300"),
                ("PaymentTerms", "Net 30 days"),
                ("VatBase:21.00", "100.00"),
                ("VatAmount:21.00", "21.00"),
            ]
        );
        let credit = xml
            .replace(
                "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"",
                "<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\"",
            )
            .replace("</Invoice>", "</CreditNote>");
        let credit = parse("creditnote.xml", credit.as_bytes()).expect("a credit note");
        assert_eq!(credit.fields.len(), invoice.fields.len());
    }

    #[test]
    fn what_is_not_an_invoice_is_absent() {
        let not = [
            &b"<html><body>Invoice</body></html>"[..],
            b"<rsm:CrossIndustryInvoice xmlns:rsm=\"x\"><unclosed>",
            b"\xff\xfe\x00garbage",
            b"",
            // Entity expansion needs a DTD, which is refused.
            b"<?xml version=\"1.0\"?><!DOCTYPE Invoice [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><Invoice><ID>&b;</ID></Invoice>",
            // An invoice root with nothing docket reads.
            b"<Invoice><Note>hello</Note></Invoice>",
        ];
        for bytes in not {
            assert_eq!(
                parse("x.xml", bytes),
                None,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let mut huge = CII.as_bytes().to_vec();
        huge.resize(MAX_XML_BYTES + 1, b' ');
        assert_eq!(parse("factur-x.xml", &huge), None);
    }

    #[test]
    fn the_standard_name_is_read_first() {
        let other = CII.replace("RE-2024-0815", "OTHER-1");
        let found = first_invoice([
            ("notes.xml", other.as_bytes()),
            ("factur-x.xml", CII.as_bytes()),
        ]);
        let found = found.expect("an invoice");
        assert_eq!(found.file_name, "factur-x.xml");
        assert!(is_candidate("ZUGFeRD-invoice.XML"));
        assert!(!is_candidate("logo.png"));
    }

    #[test]
    fn xml_decimals() {
        assert_eq!(decimal_cents("123.456"), Some(12346));
        assert_eq!(decimal_cents("-8.79"), Some(-879));
        assert_eq!(decimal_cents(".5"), Some(50));
        assert_eq!(decimal_cents("1,5"), None);
        assert_eq!(decimal_cents("-"), None);
    }
}
