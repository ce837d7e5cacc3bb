//! Which lexicon language a page is written in, from its words: each lexicon lists common
//! words ("der", "und", "facture"), and the language whose words the page uses most, clearly
//! more than any other's, is the page's. OCR uses it to pick its language model.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::normalize::fold;

/// A language's Tesseract code and its common words, folded.
struct Language {
    tesseract: String,
    words: HashSet<String>,
}

fn languages() -> &'static [Language] {
    static LANGUAGES: OnceLock<Vec<Language>> = OnceLock::new();
    LANGUAGES.get_or_init(|| {
        super::lexicon::all()
            .iter()
            .filter(|l| !l.tesseract.is_empty())
            .map(|l| Language {
                tesseract: l.tesseract.clone(),
                words: l.common_words.iter().map(|w| fold(w)).collect(),
            })
            .collect()
    })
}

/// Tesseract codes of every lexicon language ("eng", "por", ...).
pub fn tesseract_codes() -> Vec<&'static str> {
    languages().iter().map(|l| l.tesseract.as_str()).collect()
}

/// Fewest common words that make a language, and how far it must lead the runner-up.
const MIN_HITS: usize = 3;
const LEAD: f64 = 1.5;

/// The Tesseract code of the language `words` are written in, when one clearly leads.
pub fn detect<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let mut hits = vec![0usize; languages().len()];
    for word in words {
        let word = fold(word.trim_matches(|c: char| !c.is_alphanumeric()));
        for (hit, language) in hits.iter_mut().zip(languages()) {
            *hit += usize::from(language.words.contains(&word));
        }
    }
    let mut ranked: Vec<(usize, &Language)> = hits.into_iter().zip(languages()).collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    let (best, language) = *ranked.first()?;
    let second = ranked.get(1).map_or(0, |r| r.0);
    (best >= MIN_HITS && best as f64 >= second as f64 * LEAD).then_some(language.tesseract.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_told_apart_by_their_common_words() {
        let text = |s: &'static str| s.split_whitespace();
        assert_eq!(
            detect(text(
                "Rechnung für Ihre Bestellung, bitte zahlen Sie den Betrag bis zum"
            )),
            Some("deu")
        );
        assert_eq!(
            detect(text(
                "Facture du 12 mars : merci de régler le montant avec votre référence"
            )),
            Some("fra")
        );
        assert_eq!(
            detect(text(
                "Thank you for your order, please pay the amount due by the date"
            )),
            Some("eng")
        );
        assert_eq!(
            detect(text(
                "Factuur voor uw bestelling, graag het bedrag betalen op de rekening"
            )),
            Some("nld")
        );
        assert_eq!(detect(text("12,00 34,50 TOTAL")), None);
        assert_eq!(tesseract_codes().len(), 7);
    }
}
