//! Check digits of the identifiers invoices carry: Portuguese tax numbers (NIF) and IBANs.

/// A Portuguese NIF: nine digits whose last is the mod-11 check digit of the first eight.
pub fn pt_nif_is_valid(nif: &str) -> bool {
    let digits: Vec<u32> = nif.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 9 || nif.chars().count() != 9 {
        return false;
    }
    let sum: u32 = digits[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 | 11 => 0,
        c => c,
    };
    check == digits[8]
}

/// An IBAN in compact form (no spaces, upper case) whose ISO 13616 mod-97 check holds.
pub fn iban_is_valid(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return false;
    }
    let rearranged = bytes[4..].iter().chain(&bytes[..4]);
    let remainder = rearranged.fold(0u32, |acc, &b| {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nif_check_digits() {
        for valid in ["123456789", "999999990", "500000000", "501964843"] {
            assert!(pt_nif_is_valid(valid), "{valid}");
        }
        for invalid in ["123456788", "12345678", "1234567890", "12345678a", ""] {
            assert!(!pt_nif_is_valid(invalid), "{invalid}");
        }
    }

    #[test]
    fn iban_check_digits() {
        assert!(iban_is_valid("PT50000201231234567890154"));
        assert!(iban_is_valid("GB82WEST12345698765432"));
        assert!(!iban_is_valid("GB82WEST12345698765433"));
        assert!(
            !iban_is_valid("PT50 0002 0123 1234 5678 9015 4"),
            "compact form only"
        );
        assert!(!iban_is_valid("XX"));
    }
}
