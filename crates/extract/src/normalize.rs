//! Value normalisation: dates, amounts, currencies, tax ids, IBANs and percentages written the
//! Portuguese or the English way, each turned into one canonical form (ISO dates, `1234.56`
//! amounts, ISO 4217 codes, compact ids). Every function answers None rather than guessing.

use super::ids;

/// Whether two addresses name the same place: the same words, ignoring case, accents and
/// punctuation, except at most one word of letters on each side (the country, written as a
/// code on one and a name or nothing on the other).
pub fn same_address(a: &str, b: &str) -> bool {
    let words = |text: &str| -> Vec<String> {
        let folded = fold(text).replace('ß', "ss");
        let mut words: Vec<String> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        words.sort();
        words.dedup();
        words
    };
    let (a, b) = (words(a), words(b));
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter().filter(|w| !y.contains(w)).cloned().collect()
    };
    let at_most_a_country = |extra: Vec<String>| {
        extra.len() <= 1 && extra.iter().all(|w| w.chars().all(char::is_alphabetic))
    };
    !a.is_empty() && at_most_a_country(only(&a, &b)) && at_most_a_country(only(&b, &a))
}

/// Lower case with Latin accents stripped, so labels and month names compare however typed.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'º' | '°' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            _ => c,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Dates

#[derive(Debug, PartialEq)]
enum Tok {
    Num(String),
    Word(String),
    Sep(char),
}

/// Digit runs, letter runs and single punctuation marks; whitespace only separates.
fn date_tokens(text: &str) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::new();
    for c in fold(text).chars() {
        match (toks.last_mut(), c) {
            (Some(Tok::Num(n)), d) if d.is_ascii_digit() => n.push(d),
            (Some(Tok::Word(w)), a) if a.is_alphabetic() => w.push(a),
            (_, d) if d.is_ascii_digit() => toks.push(Tok::Num(d.to_string())),
            (_, a) if a.is_alphabetic() => toks.push(Tok::Word(a.to_string())),
            (_, s) if s.is_whitespace() => toks.push(Tok::Sep(' ')),
            (_, s) => toks.push(Tok::Sep(s)),
        }
    }
    // Spaces only delimit runs; dropping them lets "16 / 03 / 2022" read like "16/03/2022".
    toks.retain(|t| *t != Tok::Sep(' '));
    toks
}

/// Month names of every language, folded, by month (index 0 is January).
fn months() -> &'static [Vec<String>; 12] {
    static MONTHS: std::sync::OnceLock<[Vec<String>; 12]> = std::sync::OnceLock::new();
    MONTHS.get_or_init(|| {
        let mut all: [Vec<String>; 12] = Default::default();
        for lexicon in super::lexicon::all() {
            for (month, names) in all.iter_mut().zip(&lexicon.months) {
                month.extend(names.iter().map(|n| fold(n)));
            }
        }
        all
    })
}

/// A month name in any lexicon's language, or an abbreviation of at least three letters.
fn month_number(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    let index = months()
        .iter()
        .position(|names| names.iter().any(|n| n.starts_with(word)))?;
    u32::try_from(index + 1).ok()
}

/// Words and marks allowed around a written month: "16 de março de 2022", "March 16th, 2022".
fn skip_fillers(t: &[Tok], mut i: usize) -> usize {
    while let Some(tok) = t.get(i) {
        match tok {
            Tok::Sep('-' | '.' | ',' | '/') => i += 1,
            Tok::Word(w)
                if matches!(
                    w.as_str(),
                    "de" | "del" | "of" | "st" | "nd" | "rd" | "th" | "er" | "van"
                ) =>
            {
                i += 1
            }
            _ => break,
        }
    }
    i
}

fn year(digits: &str) -> Option<u32> {
    let value: u32 = digits.parse().ok()?;
    match digits.len() {
        // Two-digit years pivot at 70: 22 -> 2022, 99 -> 1999.
        2 => Some(if value < 70 {
            2000 + value
        } else {
            1900 + value
        }),
        4 if (1900..2100).contains(&value) => Some(value),
        _ => None,
    }
}

fn iso(y: u32, m: u32, d: u32) -> Option<String> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&d)
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn digits<'a>(t: Option<&'a Tok>, lengths: &[usize]) -> Option<&'a str> {
    match t {
        Some(Tok::Num(n)) if lengths.contains(&n.len()) => Some(n),
        _ => None,
    }
}

/// A date starting exactly at the first token.
fn date_at(t: &[Tok]) -> Option<String> {
    if let [Tok::Num(a), Tok::Sep(s1), Tok::Num(b), Tok::Sep(s2), Tok::Num(c), ..] = t {
        if s1 == s2 && matches!(s1, '-' | '/' | '.') {
            let (m, d) = (b.parse().ok()?, c.parse().ok()?);
            if a.len() == 4 && b.len() <= 2 && c.len() <= 2 {
                return iso(year(a)?, m, d);
            }
            if a.len() <= 2 && b.len() <= 2 {
                // Day first (Portugal, Europe); month first only when day first is impossible.
                let (y, first) = (year(c)?, a.parse().ok()?);
                return iso(y, m, first).or_else(|| iso(y, first, m));
            }
        }
    }
    if let Some(Tok::Num(n)) = t.first() {
        if n.len() == 8 {
            let part = |r: std::ops::Range<usize>| n.get(r).and_then(|s| s.parse().ok());
            return iso(year(n.get(..4)?)?, part(4..6)?, part(6..8)?);
        }
    }
    // 16 de março de 2022, 16 Mar 2022, 16-Mar-2022
    if let Some(d) = digits(t.first(), &[1, 2]) {
        let i = skip_fillers(t, 1);
        if let Some(Tok::Word(w)) = t.get(i) {
            let y = digits(t.get(skip_fillers(t, i + 1)), &[2, 4]);
            if let (Some(m), Some(y)) = (month_number(w), y) {
                return iso(year(y)?, m, d.parse().ok()?);
            }
        }
    }
    // March 16, 2022
    if let Some(Tok::Word(w)) = t.first() {
        let i = skip_fillers(t, 1);
        let d = digits(t.get(i), &[1, 2]);
        let y = digits(t.get(skip_fillers(t, i + 1)), &[4]);
        if let (Some(m), Some(d), Some(y)) = (month_number(w), d, y) {
            return iso(year(y)?, m, d.parse().ok()?);
        }
    }
    None
}

/// A numeric day/month/year date in `text`: its two leading numbers and its year.
fn numeric_date(text: &str) -> Option<(u32, u32, u32)> {
    let toks = date_tokens(text);
    (0..toks.len()).find_map(|i| numeric_date_at(&toks[i..]))
}

/// A numeric date starting exactly at the first token (`numeric_date`).
fn numeric_date_at(toks: &[Tok]) -> Option<(u32, u32, u32)> {
    match toks {
        [Tok::Num(a), Tok::Sep(s1), Tok::Num(b), Tok::Sep(s2), Tok::Num(c), ..]
            if s1 == s2 && matches!(s1, '-' | '/' | '.') && a.len() <= 2 && b.len() <= 2 =>
        {
            Some((a.parse().ok()?, b.parse().ok()?, year(c)?))
        }
        _ => None,
    }
}

/// A numeric date ("11/03/2017") read month first, when that reading is a valid date.
pub fn month_first(text: &str) -> Option<String> {
    let (a, b, y) = numeric_date(text)?;
    iso(y, a, b)
}

/// Whether `text` holds a numeric date that reads only month first ("11/17/2017"): the
/// document it is on writes its dates that way.
pub fn only_month_first(text: &str) -> bool {
    numeric_date(text).is_some_and(|(a, b, y)| iso(y, b, a).is_none() && iso(y, a, b).is_some())
}

/// The first date written in `text`, as `YYYY-MM-DD`.
pub fn date(text: &str) -> Option<String> {
    let toks = date_tokens(text);
    (0..toks.len()).find_map(|i| date_at(&toks[i..]))
}

/// A time of day as `HH:MM` or `HH:MM:SS`: "13:05", "1:05:26" followed by "PM", "01:05PM".
pub fn time(word: &str, next: Option<&str>) -> Option<String> {
    let upper = word.to_ascii_uppercase();
    let (clock, meridiem) = match upper
        .strip_suffix("AM")
        .or_else(|| upper.strip_suffix("PM"))
    {
        Some(clock) => (clock, Some(upper.ends_with("PM"))),
        None => (
            upper.as_str(),
            next.and_then(|n| match n {
                "AM" | "A.M." => Some(false),
                "PM" | "P.M." => Some(true),
                _ => None,
            }),
        ),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        || parts[1..].iter().any(|p| p.len() != 2)
    {
        return None;
    }
    let mut hour: u32 = parts[0].parse().ok()?;
    let minute: u32 = parts[1].parse().ok()?;
    let second: Option<u32> = parts.get(2).and_then(|s| s.parse().ok());
    match meridiem {
        Some(pm) if (1..=12).contains(&hour) => hour = hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => {}
    }
    if hour > 23 || minute > 59 || second.is_some_and(|s| s > 59) {
        return None;
    }
    Some(match second {
        Some(s) => format!("{hour:02}:{minute:02}:{s:02}"),
        None => format!("{hour:02}:{minute:02}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Amounts, currencies and percentages

/// The ISO code a currency word stands for (`word` folded, letters only).
fn currency_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "eur" | "euro" | "euros" => "EUR",
        "usd" | "dollar" | "dollars" | "dolar" | "dolares" => "USD",
        "gbp" | "pound" | "pounds" => "GBP",
        "chf" => "CHF",
        "brl" | "real" | "reais" => "BRL",
        "aoa" | "kz" | "kwanza" | "kwanzas" => "AOA",
        "rm" | "myr" | "ringgit" => "MYR",
        "sek" => "SEK",
        "nok" => "NOK",
        "dkk" => "DKK",
        "pln" | "zl" => "PLN",
        "czk" => "CZK",
        "huf" => "HUF",
        "ron" => "RON",
        "jpy" => "JPY",
        "cad" => "CAD",
        "aud" => "AUD",
        "sgd" => "SGD",
        _ => return None,
    })
}

/// Walks `text` and reports each currency mention (symbol or word) to `found`, and each other
/// letter run to `other`. The "R$" and "US$" prefixes are read as one mention.
fn scan_currencies(text: &str, mut found: impl FnMut(&'static str), mut other: impl FnMut()) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_alphabetic()) {
                i += 1;
            }
            let word = fold(&chars[start..i].iter().collect::<String>());
            let prefix = match (word.as_str(), chars.get(i)) {
                ("r", Some('$')) => Some("BRL"),
                ("us", Some('$')) => Some("USD"),
                _ => None,
            };
            if prefix.is_some() {
                i += 1; // the '$' belongs to the prefix
            }
            match prefix.or_else(|| currency_word(&word)) {
                Some(code) => found(code),
                None => other(),
            }
            continue;
        }
        match c {
            '€' => found("EUR"),
            '$' => found("USD"),
            '£' => found("GBP"),
            _ => {}
        }
        i += 1;
    }
}

/// The ISO 4217 code of the first currency symbol or name in `text`.
pub fn currency(text: &str) -> Option<String> {
    let mut first = None;
    scan_currencies(
        text,
        |code| {
            first.get_or_insert(code);
        },
        || {},
    );
    first.map(str::to_string)
}

/// An amount in cents, rounded half away from zero. See [`amount`].
pub(crate) fn amount_cents(text: &str) -> Option<i128> {
    let mut letters_ok = true;
    scan_currencies(text, |_| {}, || letters_ok = false);
    if !letters_ok {
        return None;
    }
    // Keep digits and separators; read the sign from '-' or from enclosing parentheses.
    let mut number = String::new();
    let (mut negative, mut ended, mut open, mut close) = (false, false, false, false);
    for c in text.chars() {
        let digits_seen = number.chars().any(|c| c.is_ascii_digit());
        match c {
            '0'..='9' if ended || close => return None,
            '0'..='9' | '.' | ',' => number.push(c),
            '\'' => number.push(' '),
            '-' | '−' if !negative => (negative, ended) = (true, digits_seen),
            '+' if !digits_seen => {}
            '(' if !open && !digits_seen => open = true,
            ')' if open && !close && digits_seen => close = true,
            c if c.is_whitespace() => number.push(' '),
            c if c.is_alphabetic() || matches!(c, '€' | '$' | '£') => {}
            _ => return None,
        }
    }
    if open != close {
        return None;
    }
    let (int, frac) = split_decimal(&number)?;
    let int: i128 = if int.len() > 24 {
        return None;
    } else {
        int.parse().ok()?
    };
    let frac_digit = |i: usize| frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    let round = i128::from(frac_digit(2) >= 5);
    let cents = int * 100 + frac_digit(0) * 10 + frac_digit(1) + round;
    Some(if negative || open { -cents } else { cents })
}

/// Splits "1.234,56" into ("1234", "56"), deciding which separator is the decimal one.
fn split_decimal(number: &str) -> Option<(String, String)> {
    // Groups of digits and the separators between them; a space next to '.' or ',' is noise.
    let mut groups: Vec<String> = vec![String::new()];
    let mut seps: Vec<char> = Vec::new();
    for c in number.trim().chars() {
        let last = groups.last_mut()?;
        if c.is_ascii_digit() {
            last.push(c);
        } else if last.is_empty() {
            // Two separators in a row: ". " or " ," keeps the mark; anything else is malformed.
            match (seps.last_mut(), c) {
                (Some(prev @ ' '), '.' | ',') => *prev = c,
                (Some('.' | ',' | ' '), ' ') => {}
                _ => return None,
            }
        } else {
            seps.push(c);
            groups.push(String::new());
        }
    }
    if groups.last().is_some_and(String::is_empty) {
        // A trailing mark ("12,") ends the number.
        groups.pop();
        seps.pop();
    }
    let first = groups.first().filter(|g| !g.is_empty())?.clone();
    let decimal = match seps.last() {
        None | Some(' ') => false,
        Some(&s) => {
            let before = &seps[..seps.len() - 1];
            let tail = groups.last().map_or(0, String::len);
            if before.iter().any(|&p| p != s && p != ' ') {
                true // "1.234,56", "1,234.56"
            } else if before.contains(&s) {
                false // "1.234.567"
            } else {
                // One mark: three digits after it group thousands ("1.234"), unless the
                // integer part could not be grouped ("0,500", "1234.567").
                tail != 3 || first == "0" || first.len() > 3
            }
        }
    };
    let frac = if decimal {
        groups.pop()?
    } else {
        String::new()
    };
    // What is left must be well-formed thousands grouping.
    if groups.len() > 1 && (first.len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    Some((groups.concat(), frac))
}

/// Cents as an amount: -300 -> "-3.00".
pub(crate) fn format_cents(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// An amount with `.` decimals, no grouping and two decimals: "1.234,56 €" -> "1234.56".
pub fn amount(text: &str) -> Option<String> {
    amount_cents(text).map(format_cents)
}

/// An amount OCR misread a digit or two of as a look-alike letter ("s2.00", "i6.00", "1O.5O"):
/// one word of digits, a decimal mark and two decimals, at most two of them look-alikes.
pub fn ocr_amount(text: &str) -> Option<String> {
    let look_alike = |c: char| match c {
        'O' | 'o' | 'D' | 'Q' => Some('0'),
        'I' | 'l' | 'i' | '|' | '!' => Some('1'),
        'Z' | 'z' => Some('2'),
        'S' | 's' | '$' => Some('5'),
        'G' | 'b' => Some('6'),
        'B' => Some('8'),
        'g' => Some('9'),
        _ => None,
    };
    let at = text.rfind(['.', ','])?;
    let (int, frac) = (&text[..at], &text[at + 1..]);
    if !(1..=6).contains(&int.chars().count()) || frac.chars().count() != 2 {
        return None;
    }
    let mut fixed = String::new();
    let mut replaced = 0;
    for c in int.chars().chain(['.']).chain(frac.chars()) {
        if c.is_ascii_digit() || c == '.' {
            fixed.push(c);
        } else {
            fixed.push(look_alike(c)?);
            replaced += 1;
        }
    }
    (1..=2)
        .contains(&replaced)
        .then(|| amount(&fixed))
        .flatten()
}

/// A numeric date OCR misread (only a whole word that is no valid date as printed is mended):
/// - its month, one digit for a look-alike ("25/42/2017" for "25/12/2017", "04/99/2017" for
///   "04/09/2017"): no month is above 12, so a month's tens digit that is not 0 or 1 was one of
///   them. Round digits (6, 8, 9) stand for 0, stroked ones (4, 7) for 1;
/// - one of its separators, a dot read as a colon or comma ("03-10:2018", "03.10,2018"), read
///   day first.
pub fn ocr_date(text: &str) -> Option<String> {
    if date(text).is_some() {
        return None;
    }
    let toks = date_tokens(text);
    if toks.len() != 5 {
        return None;
    }
    let Some((first, second, y)) = numeric_date_at(&toks) else {
        return slipped_separator(&toks);
    };
    // A two-digit month above 12 whose tens digit has a look-alike.
    let mended = |month: u32| {
        let tens = match month / 10 {
            6 | 8 | 9 => 0,
            4 | 7 => 1,
            _ => return None,
        };
        Some(tens * 10 + month % 10)
    };
    // Day first, as `date` reads; month first where only that mends.
    mended(second)
        .and_then(|m| iso(y, m, first))
        .or_else(|| mended(first).and_then(|m| iso(y, m, second)))
}

/// Day, month and four-digit year parted by date separators, one of them a colon or comma.
fn slipped_separator(toks: &[Tok]) -> Option<String> {
    let [Tok::Num(d), Tok::Sep(s1), Tok::Num(m), Tok::Sep(s2), Tok::Num(y)] = toks else {
        return None;
    };
    let proper = |s: &char| matches!(s, '.' | '-' | '/');
    let slipped = |s: &char| matches!(s, ':' | ',');
    let shaped = d.len() <= 2 && m.len() <= 2 && y.len() == 4;
    let seps = [s1, s2];
    if !shaped || !seps.iter().any(|s| proper(s)) || !seps.iter().any(|s| slipped(s)) {
        return None;
    }
    iso(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A percentage as a number with two decimals: "23 %" -> "23.00". A bare number is accepted.
pub fn percent(text: &str) -> Option<String> {
    let number = match text.split_once('%') {
        Some((before, _)) => before.split_whitespace().next_back()?,
        None => text.trim(),
    };
    let number = number.trim_start_matches('('); // "IVA (23%)"
    let cents = amount_cents(number).filter(|c| (0..=10_000).contains(c))?;
    number
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        .then(|| format_cents(cents))
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/// OCR reads digits as look-alike letters; undo that when the text is nearly all digits.
fn ocr_digits(text: &str) -> Option<String> {
    let fixed: String = text
        .chars()
        .map(|c| match c {
            'O' | 'o' => '0',
            'l' | 'I' | '|' => '1',
            _ => c,
        })
        .collect();
    let real = text.chars().filter(char::is_ascii_digit).count();
    (fixed.chars().all(|c| c.is_ascii_digit()) && real + 2 >= text.len()).then_some(fixed)
}

/// A tax id in compact form with its country prefix as printed ("PT123456789", "ESB12345674",
/// "123456789"): the shape of some country's id (`ids`). Check digits are not verified here.
pub fn tax_id(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '/'))
        .collect();
    if !compact
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '|')
    {
        return None;
    }
    let upper = compact.to_ascii_uppercase();
    // Failing as read, the digits after any prefix as OCR may have misread them ("5O1964843").
    let prefix = upper
        .get(..2)
        .filter(|p| ids::is_vat_prefix(p))
        .unwrap_or("");
    let misread = compact
        .get(prefix.len()..)
        .and_then(ocr_digits)
        .map(|d| format!("{prefix}{d}"));
    std::iter::once(upper)
        .chain(misread)
        .find(|id| ids::is_tax_id(id))
}

/// Spaces dropped and letters upper-cased, with an "IBAN" prefix left out.
pub(crate) fn iban_compact(text: &str) -> String {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let compact = compact.strip_prefix("IBAN").unwrap_or(&compact);
    compact.strip_prefix(':').unwrap_or(compact).to_string()
}

/// The compact IBAN when its check digits hold.
pub fn iban(text: &str) -> Option<String> {
    Some(iban_compact(text)).filter(|i| ids::iban_is_valid(i))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_with_a_look_alike_month_digit() {
        for (text, fixed) in [
            ("25/42/2017", Some("2017-12-25")),
            ("04/99/2017", Some("2017-09-04")),
            ("04-87-18", Some("2018-07-04")),
            // Month first where the day cannot be mended into a month.
            ("92/25/2017", Some("2017-02-25")),
            // A dot read as a colon or a comma.
            ("03-10:2018", Some("2018-10-03")),
            ("21.11,2018", Some("2018-11-21")),
        ] {
            assert_eq!(super::ocr_date(text).as_deref(), fixed, "{text}");
        }
        // Valid as printed, a day out of range, no look-alike, or more than a date.
        for text in [
            "25/12/2017",
            "35/42/2017",
            "25/52/2017",
            "25/42/2017 x",
            "25/42",
            // A time, and a date whose separators are all slips.
            "10:20:2018",
            "03,10,2018",
            "31-02:2018",
        ] {
            assert_eq!(super::ocr_date(text), None, "{text}");
        }
    }

    #[test]
    fn amounts_with_look_alike_letters() {
        for (text, fixed) in [
            ("s2.00", Some("52.00")),
            ("i6.00", Some("16.00")),
            ("1O,5O", Some("10.50")),
        ] {
            assert_eq!(super::ocr_amount(text).as_deref(), fixed, "{text}");
        }
        // Printed digits, junk that is no look-alike, too many letters, or no two decimals.
        for text in ["52.00", "<4.00", "SO.OD", "TOTAL", "s2.0", "Ue.Pi"] {
            assert_eq!(super::ocr_amount(text), None, "{text}");
        }
    }

    #[test]
    fn month_names_of_every_lexicon_language() {
        for (text, iso) in [
            ("31. Oktober 2018", "2018-10-31"),
            ("12 mars 2024", "2024-03-12"),
            ("1er février 2024", "2024-02-01"),
            ("3 de marzo del 2024", "2024-03-03"),
            ("5 maggio 2023", "2023-05-05"),
            ("14 mei 2022", "2022-05-14"),
            ("16 de março de 2022", "2022-03-16"),
            ("März 16, 2021", "2021-03-16"),
        ] {
            assert_eq!(date(text).as_deref(), Some(iso), "{text}");
        }
    }

    #[test]
    fn month_first_dates() {
        assert_eq!(date("11/03/2017").as_deref(), Some("2017-03-11"));
        assert_eq!(month_first("11/03/2017").as_deref(), Some("2017-11-03"));
        assert!(only_month_first("11/17/2017"));
        assert!(!only_month_first("17/11/2017"));
        assert!(!only_month_first("11/03/2017"));
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time("13:05", None).as_deref(), Some("13:05"));
        assert_eq!(time("1:05:26", Some("PM")).as_deref(), Some("13:05:26"));
        assert_eq!(time("12:10AM", None).as_deref(), Some("00:10"));
        assert_eq!(time("25:00", None), None);
        assert_eq!(time("13:05", Some("PM")), None);
        assert_eq!(time("10.30", None), None);
    }

    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn numeric_dates() {
        for text in [
            "16-03-2022",
            "16/03/2022",
            "16.03.2022",
            "2022-03-16",
            "2022/03/16",
            "20220316",
            "16/03/22",
            "03/16/2022",
            "Data: 16-03-2022.",
            "16 / 03 / 2022",
        ] {
            assert_eq!(date(text), some("2022-03-16"), "{text}");
        }
        assert_eq!(date("01-02-2024"), some("2024-02-01"), "day first");
        assert_eq!(date("29/02/2024"), some("2024-02-29"), "leap year");
        assert_eq!(date("2024-03-01T10:00:00"), some("2024-03-01"));
    }

    #[test]
    fn written_dates() {
        for text in [
            "16 de março de 2022",
            "16 de Marco de 2022",
            "16 Mar 2022",
            "16-Mar-2022",
            "March 16, 2022",
            "Wednesday, March 16th, 2022",
            "16 March 2022",
            "16 mar. 22",
        ] {
            assert_eq!(date(text), some("2022-03-16"), "{text}");
        }
        assert_eq!(date("1 de fevereiro de 2024"), some("2024-02-01"));
        assert_eq!(date("5 Sept 2023"), some("2023-09-05"));
    }

    #[test]
    fn impossible_or_absent_dates() {
        for text in [
            "31/02/2024",
            "29/02/2023",
            "13/13/2022",
            "20221340",
            "12345678",
            "2022",
            "1.234,56",
            "16 Mar",
            "",
            "FT 2024/17",
        ] {
            assert_eq!(date(text), None, "{text}");
        }
    }

    #[test]
    fn amounts() {
        for (text, want) in [
            ("1.234,56", "1234.56"),
            ("1 234,56", "1234.56"),
            ("1\u{a0}234,56", "1234.56"),
            ("1,234.56", "1234.56"),
            ("1234,5", "1234.50"),
            ("12", "12.00"),
            ("€ 12,00", "12.00"),
            ("12,00 EUR", "12.00"),
            ("12,00€", "12.00"),
            ("R$ 10,00", "10.00"),
            ("-3,00", "-3.00"),
            ("3,00-", "-3.00"),
            ("(3.00)", "-3.00"),
            ("1.234", "1234.00"),
            ("1,234", "1234.00"),
            ("12,5", "12.50"),
            ("0,500", "0.50"),
            ("1.234.567,891", "1234567.89"),
            ("1.005", "1005.00"),
            ("2,345", "2345.00"),
            ("0,125", "0.13"),
            ("12 , 00", "12.00"),
            ("-0,00", "0.00"),
        ] {
            assert_eq!(amount(text), some(want), "{text}");
        }
    }

    #[test]
    fn amount_rejects() {
        for text in [
            "",
            "abc",
            "12,00 kg",
            "IVA 23",
            "23%",
            "01-02-2024",
            "1.23.45",
            "12 34",
            "100,00 23,00",
            "1,2,3",
            "(3.00",
            "FT 2024/17",
            "12:30",
        ] {
            assert_eq!(amount(text), None, "{text}");
        }
    }

    #[test]
    fn currencies() {
        for (text, want) in [
            ("€", "EUR"),
            ("EUR", "EUR"),
            ("euros", "EUR"),
            ("Total (EUR)", "EUR"),
            ("$", "USD"),
            ("USD", "USD"),
            ("US$ 5", "USD"),
            ("£", "GBP"),
            ("GBP", "GBP"),
            ("CHF", "CHF"),
            ("R$", "BRL"),
            ("BRL", "BRL"),
            ("Kz", "AOA"),
            ("AOA", "AOA"),
        ] {
            assert_eq!(currency(text), some(want), "{text}");
        }
        assert_eq!(currency("Moeda"), None);
        assert_eq!(currency(""), None);
    }

    #[test]
    fn tax_ids() {
        for (text, want) in [
            ("PT 123 456 789", "PT123456789"),
            ("pt123456789", "PT123456789"),
            ("123 456 789", "123456789"),
            ("123.456.789", "123456789"),
            ("l23456789", "123456789"),
            ("ESB12345678", "ESB12345678"),
            ("DE123456789", "DE123456789"),
            ("ATU12345678", "ATU12345678"),
            ("NL123456789B01", "NL123456789B01"),
            ("FR 19 787 878 784", "FR19787878784"),
            ("x1234567l", "X1234567L"),
            ("CHE-123.456.789 MWST", "CHE123456789MWST"),
            ("EL 123 456 789", "EL123456789"),
        ] {
            assert_eq!(tax_id(text), some(want), "{text}");
        }
        for text in [
            "12345678",
            "1234567890",
            "Lisboa",
            "",
            "XX123456789",
            "12,00",
            "PT12345",
            // A country's shape, not any length: DE takes nine digits, FR a key and a SIREN.
            "DE19787878784",
            "FR123456782",
            "GR123456789",
        ] {
            assert_eq!(tax_id(text), None, "{text}");
        }
    }

    #[test]
    fn ibans() {
        assert_eq!(
            iban("PT50 0002 0123 1234 5678 9015 4"),
            some("PT50000201231234567890154")
        );
        assert_eq!(
            iban("pt50000201231234567890154"),
            some("PT50000201231234567890154")
        );
        assert_eq!(
            iban("IBAN: GB82 WEST 1234 5698 7654 32"),
            some("GB82WEST12345698765432")
        );
        assert_eq!(iban("PT50 0002 0123 1234 5678 9015 5"), None);
        assert_eq!(iban("hello"), None);
    }

    #[test]
    fn percents() {
        for (text, want) in [
            ("23%", "23.00"),
            ("23 %", "23.00"),
            ("23,0%", "23.00"),
            ("6", "6.00"),
        ] {
            assert_eq!(percent(text), some(want), "{text}");
        }
        assert_eq!(percent("IVA 13%"), some("13.00"));
        assert_eq!(percent("IVA (13 %)"), some("13.00"));
        assert_eq!(percent("0%"), some("0.00"));
        for text in ["", "%", "abc%", "150%", "-5%", "Isento"] {
            assert_eq!(percent(text), None, "{text}");
        }
    }

    #[test]
    fn addresses_are_the_same_place_however_broken_and_whatever_the_country() {
        let xml = "Lieferantenstraße 20, 80333 München, DE";
        assert!(same_address(xml, "Lieferantenstrasse 20, DE 80333 MÜNCHEN"));
        assert!(same_address(
            xml,
            "Lieferantenstraße 20, 80333 München, Deutschland"
        ));
        assert!(same_address(xml, "Lieferantenstraße 20 80333 München"));
        assert!(!same_address(xml, "Lieferantenstraße 21, 80333 München"));
        assert!(!same_address(
            xml,
            "Hans Muster, Lieferantenstraße 20, 80333 München, DE"
        ));
        assert!(!same_address("", ""));
    }
}
