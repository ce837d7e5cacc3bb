//! Workspace templates: what kind of documents a workspace expects, which decides what the
//! pipeline extracts for it.

/// OCR languages of a new workspace: Portuguese and English documents.
pub const DEFAULT_LANGUAGES: &str = "por+eng";
/// OCR languages that ask for each page's language to be found: a first pass in English, then
/// one in the lexicon language the words are clearly written in (with English), if another.
pub const AUTO_LANGUAGES: &str = "auto";

/// Whether `languages` is a well-formed Tesseract language list (`por`, `por+eng`).
pub fn valid_languages(languages: &str) -> bool {
    !languages.is_empty()
        && languages.split('+').all(|code| {
            !code.is_empty()
                && code.len() <= 32
                && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
}

/// What a task holds, returned as `taskType` (code) and `taskTypeText` (name). The docs show
/// codes (`"taskType": 10`) without a table: these are docket's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskType {
    Document,
    Transcript,
    Image,
}

impl TaskType {
    pub fn code(self) -> i64 {
        match self {
            Self::Document => 10,
            Self::Transcript => 20,
            Self::Image => 30,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Document => "Document",
            Self::Transcript => "Transcript",
            Self::Image => "Image",
        }
    }
}

/// The documented SmartDocumentor templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceTemplate {
    InvoicesPortugal,
    InvoicesUniversal,
    Receipts,
    Layout,
    AiDocumentUnderstanding,
    IdentificationDocument,
    DocumentAnonymization,
    ImageAnonymization,
    Transcripts,
    Template,
}

impl WorkspaceTemplate {
    pub const ALL: &'static [WorkspaceTemplate] = &[
        Self::InvoicesPortugal,
        Self::InvoicesUniversal,
        Self::Receipts,
        Self::Layout,
        Self::AiDocumentUnderstanding,
        Self::IdentificationDocument,
        Self::DocumentAnonymization,
        Self::ImageAnonymization,
        Self::Transcripts,
        Self::Template,
    ];

    /// Stable key, stored and returned as `templateType`.
    pub fn key(self) -> &'static str {
        match self {
            Self::InvoicesPortugal => "InvoicesPortugal",
            Self::InvoicesUniversal => "InvoicesUniversal",
            Self::Receipts => "Receipts",
            Self::Layout => "Layout",
            Self::AiDocumentUnderstanding => "AIDocumentUnderstanding",
            Self::IdentificationDocument => "IdentificationDocument",
            Self::DocumentAnonymization => "DocumentAnonymization",
            Self::ImageAnonymization => "ImageAnonymization",
            Self::Transcripts => "Transcripts",
            Self::Template => "Template",
        }
    }

    /// The documented name, returned as `workspaceTemplateName`.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::InvoicesPortugal => "Invoices (Portugal)",
            Self::InvoicesUniversal => "Invoices (Universal)",
            Self::Receipts => "Receipts",
            Self::Layout => "Layout",
            Self::AiDocumentUnderstanding => "AI Document Understanding",
            Self::IdentificationDocument => "Identification Document",
            Self::DocumentAnonymization => "Document Anonymization",
            Self::ImageAnonymization => "Image Anonymization",
            Self::Transcripts => "Transcripts",
            Self::Template => "Template",
        }
    }

    /// `templateType`: the template's code, its place in the documented list (docket's choice).
    pub fn code(self) -> i64 {
        let index = Self::ALL
            .iter()
            .position(|t| *t == self)
            .unwrap_or_default();
        index as i64 + 1
    }

    /// What a task of this workspace holds.
    pub fn task_type(self) -> TaskType {
        match self {
            Self::Transcripts => TaskType::Transcript,
            Self::ImageAnonymization => TaskType::Image,
            _ => TaskType::Document,
        }
    }

    /// OCR languages a new workspace of this template gets: documents from anywhere (Universal
    /// invoices, receipts) have their language found page by page; the rest read Portuguese
    /// and English.
    pub fn default_languages(self) -> &'static str {
        match self {
            Self::InvoicesUniversal | Self::Receipts => AUTO_LANGUAGES,
            _ => DEFAULT_LANGUAGES,
        }
    }

    /// Whether tasks of this workspace get invoice fields.
    pub fn extracts_invoices(self) -> bool {
        matches!(self, Self::InvoicesPortugal | Self::InvoicesUniversal)
    }

    /// Accepts the key or the display name, in any case.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        Self::ALL.iter().copied().find(|t| {
            t.key().eq_ignore_ascii_case(value) || t.display_name().eq_ignore_ascii_case(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_names() {
        assert_eq!(
            WorkspaceTemplate::parse("invoices (portugal)"),
            Some(WorkspaceTemplate::InvoicesPortugal)
        );
        assert_eq!(
            WorkspaceTemplate::parse("Layout"),
            Some(WorkspaceTemplate::Layout)
        );
        assert_eq!(WorkspaceTemplate::parse("nope"), None);
        assert!(valid_languages("por+eng") && valid_languages("chi_sim"));
        assert!(!valid_languages("") && !valid_languages("por+") && !valid_languages("../x"));
        for (i, t) in WorkspaceTemplate::ALL.iter().enumerate() {
            assert_eq!(WorkspaceTemplate::parse(t.key()), Some(*t));
            assert_eq!(t.code(), i as i64 + 1);
        }
    }
}
