//! Workspace templates: what kind of documents a workspace expects, which decides what the
//! pipeline extracts for it.

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

    /// `taskType`: what a task of this workspace holds.
    pub fn task_type(self) -> &'static str {
        match self {
            Self::Transcripts => "Transcript",
            Self::ImageAnonymization => "Image",
            _ => "Document",
        }
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
        for t in WorkspaceTemplate::ALL {
            assert_eq!(WorkspaceTemplate::parse(t.key()), Some(*t));
        }
    }
}
