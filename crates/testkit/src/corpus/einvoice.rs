//! E-invoices: the corpus invoice with a Factur-X (EN 16931) CII XML attached as
//! `factur-x.xml`, the XML written from an `InvoiceTruth` so the page and the XML can be made to
//! agree or, from an altered truth, to disagree.

use super::fonts::text_pdf_with_files;
use super::layout::invoice_page;
use super::InvoiceTruth;

/// The invoice page with `xml` attached as `factur-x.xml` (any bytes: hostile tests attach
/// broken ones).
pub fn einvoice_pdf(printed: &InvoiceTruth, xml: &[u8]) -> Vec<u8> {
    text_pdf_with_files(
        std::iter::once(invoice_page(printed)),
        &[("factur-x.xml", xml)],
    )
}

/// The invoice as Factur-X CII XML: parties with their addresses and VAT ids, number, dates, currency,
/// payee IBAN, the VAT breakdown and the totals.
pub fn cii_xml(invoice: &InvoiceTruth) -> String {
    let date = |iso: &str| iso.replace('-', "");
    let party = |role: &str, name: &str, address: &[String], tax_id: &str| {
        let (street, place) = address.split_at(address.len().saturating_sub(1));
        let lines = ["LineOne", "LineTwo"].iter().zip(street);
        let mut postal: String = lines
            .map(|(element, line)| format!("<ram:{element}>{}</ram:{element}>", escape(line)))
            .collect();
        if let Some((postcode, city)) = place.first().and_then(|p| p.split_once(' ')) {
            postal += &format!(
                "<ram:PostcodeCode>{}</ram:PostcodeCode><ram:CityName>{}</ram:CityName>",
                escape(postcode),
                escape(city)
            );
        }
        format!(
            "<ram:{role}><ram:Name>{}</ram:Name>\
             <ram:PostalTradeAddress>{postal}</ram:PostalTradeAddress><ram:SpecifiedTaxRegistration>\
             <ram:ID schemeID=\"VA\">PT{tax_id}</ram:ID></ram:SpecifiedTaxRegistration></ram:{role}>",
            escape(name)
        )
    };
    let taxes: String = invoice
        .vat_breakdown
        .iter()
        .map(|band| {
            format!(
                "<ram:ApplicableTradeTax><ram:CalculatedAmount>{}</ram:CalculatedAmount>\
                 <ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{}</ram:BasisAmount>\
                 <ram:CategoryCode>S</ram:CategoryCode>\
                 <ram:RateApplicablePercent>{}</ram:RateApplicablePercent></ram:ApplicableTradeTax>",
                band.amount, band.base, band.rate
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">{issued}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement>{seller}{buyer}</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement>
<ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode><ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{iban}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
{taxes}
<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">{due}</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>{net}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="{currency}">{tax}</ram:TaxTotalAmount><ram:GrandTotalAmount>{gross}</ram:GrandTotalAmount><ram:DuePayableAmount>{gross}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"#,
        number = escape(&invoice.invoice_number),
        issued = date(&invoice.invoice_date),
        due = date(&invoice.due_date),
        seller = party(
            "SellerTradeParty",
            &invoice.supplier_name,
            &invoice.supplier_address,
            &invoice.supplier_tax_id
        ),
        buyer = party(
            "BuyerTradeParty",
            &invoice.customer_name,
            &invoice.customer_address,
            &invoice.customer_tax_id
        ),
        currency = invoice.currency,
        iban = invoice.iban,
        net = invoice.net_total,
        tax = invoice.tax_total,
        gross = invoice.gross_total,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_extract::einvoice;

    #[test]
    fn the_xml_states_the_truth() {
        for truth in crate::corpus::invoices(3, 5) {
            let invoice = einvoice::parse("factur-x.xml", cii_xml(&truth).as_bytes());
            let invoice = invoice.expect("the generated XML parses");
            let stated: Vec<(&str, &str)> = invoice
                .fields
                .iter()
                .map(|f| {
                    (
                        f.category_normalized.as_str(),
                        f.content_normalized.as_str(),
                    )
                })
                .collect();
            for (category, value) in truth.expected_fields() {
                let value = match category {
                    "SupplierTaxId" | "CustomerTaxId" => format!("PT{value}"),
                    "Atcud" => continue, // Portuguese only, not in CII
                    _ => value,
                };
                assert!(
                    stated.contains(&(category, value.as_str())),
                    "{category} {value} in {stated:?}"
                );
            }
        }
    }
}
