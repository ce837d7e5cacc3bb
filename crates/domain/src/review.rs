//! Human review: who holds a task while reviewing it (its checkout), what reviewers change in
//! its fields, and how those edits are laid over what recognition found, with who and when,
//! for the export's audit fields.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::export::Chunk;
use super::people::User;
use super::text::Rect;
use super::understanding::{Field, Understanding};
use super::{Invalid, Timestamp};

/// How long a checkout holds a task unless renewed or released (docket's choice).
pub const CHECKOUT_SECONDS: i64 = 30 * 60;

/// Who reviews: a signed-in person, or an API client acting with the organisation's token
/// (shown in the export's `...External` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reviewer {
    User { id: i64, name: String },
    Client,
}

/// How the API client appears where a person's name would.
pub const CLIENT_NAME: &str = "API client";

impl Reviewer {
    pub fn of(user: &User) -> Self {
        Reviewer::User {
            id: user.id,
            name: user.display_name().to_owned(),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Reviewer::User { id, .. } => Some(*id),
            Reviewer::Client => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Reviewer::User { name, .. } => name,
            Reviewer::Client => CLIENT_NAME,
        }
    }

    /// The name for the export's `...External` fields: set only for the API client.
    pub fn external(&self) -> Option<String> {
        matches!(self, Reviewer::Client).then(|| CLIENT_NAME.to_owned())
    }
}

/// How a workspace hands its tasks to reviewers when a task names none (`taskAssignment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentMode {
    /// Any of the workspace's reviewers may take any task (everyone who sees the workspace
    /// when it names no reviewers).
    #[default]
    Any,
    /// Each task goes to one reviewer, the next in the list after the previous task's.
    InTurn,
}

/// A workspace's review settings (docket's choice of names; JSON in camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewSettings {
    pub assignment: AssignmentMode,
    /// User ids of the default reviewers, in order.
    pub reviewers: Vec<i64>,
    /// Review tasks automatically when every required field is found with confidence at or
    /// above `confidenceThreshold` (and, on Portuguese invoices, agrees with the fiscal QR code).
    pub auto_review: bool,
    pub confidence_threshold: f64,
    /// Field categories a task must have, e.g. `InvoiceNumber`, `GrossTotal`.
    pub required_fields: Vec<String>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            assignment: AssignmentMode::Any,
            reviewers: Vec::new(),
            auto_review: false,
            confidence_threshold: 0.9,
            required_fields: Vec::new(),
        }
    }
}

impl ReviewSettings {
    pub fn check(&self) -> Result<(), Invalid> {
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(Invalid(
                "confidenceThreshold must be between 0 and 1".into(),
            ));
        }
        if self.auto_review && self.required_fields.is_empty() {
            return Err(Invalid(
                "automatic review needs at least one required field".into(),
            ));
        }
        if self.required_fields.len() > 50 || self.reviewers.len() > 1000 {
            return Err(Invalid("too many required fields or reviewers".into()));
        }
        if self
            .required_fields
            .iter()
            .any(|f| f.trim().is_empty() || f.len() > 128)
        {
            return Err(Invalid(
                "a required field needs a name of 1 to 128 characters".into(),
            ));
        }
        Ok(())
    }

    /// Whether recognition alone reviews the task: Ok with what was checked, Err with the
    /// first reason it needs a person. `fiscal_qr`: the workspace reads Portuguese invoices,
    /// whose values must agree with their AT QR code.
    pub fn auto_review(
        &self,
        understanding: &Understanding,
        fiscal_qr: bool,
    ) -> Result<String, String> {
        if !self.auto_review || self.required_fields.is_empty() {
            return Err("automatic review is off".into());
        }
        let all = understanding
            .invoice
            .iter()
            .chain(&understanding.receipt)
            .chain(&understanding.key_values);
        let fields: Vec<&Field> = all.collect();
        for name in &self.required_fields {
            let field = fields
                .iter()
                .filter(|f| f.category_normalized == *name && !f.content.trim().is_empty())
                .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
                .ok_or_else(|| format!("{name} was not found"))?;
            if let Some(issue) = &field.issue {
                return Err(format!("{name}: {issue}"));
            }
            if field.confidence < self.confidence_threshold {
                return Err(format!(
                    "{name} has confidence {:.2}, below {:.2}",
                    field.confidence, self.confidence_threshold
                ));
            }
        }
        if fiscal_qr {
            let qr = understanding.qr_codes.iter().find(|q| !q.fields.is_empty());
            match qr {
                None => return Err("no fiscal QR code to check the values against".into()),
                Some(q) if q.invalid_keys_count > 0 => {
                    return Err("the fiscal QR code has invalid keys".into())
                }
                Some(_) => {}
            }
            if let Some(f) = understanding.invoice.iter().find(|f| f.issue.is_some()) {
                let issue = f.issue.as_deref().unwrap_or_default();
                return Err(format!("{}: {issue}", f.category_normalized));
            }
        }
        let qr = if fiscal_qr {
            ", agreeing with the fiscal QR code"
        } else {
            ""
        };
        Ok(format!(
            "reviewed automatically: {} found with confidence ≥ {:.2}{qr}",
            self.required_fields.join(", "),
            self.confidence_threshold
        ))
    }
}

/// Who holds (or last held) a task for review, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    pub user_id: Option<i64>,
    pub user_name: String,
    pub until: Timestamp,
}

impl Checkout {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.until.millis() > now.millis()
    }

    /// The holder is a person by id, or the organisation's API client (no id).
    pub fn is_held_by(&self, reviewer: &Reviewer) -> bool {
        self.user_id == reviewer.user_id()
    }
}

/// The fields a reviewer can change, by the export entity type they appear as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKind {
    #[serde(rename = "invoiceField")]
    Invoice,
    #[serde(rename = "receiptField")]
    Receipt,
    #[serde(rename = "keyValue")]
    KeyValue,
}

impl FieldKind {
    pub const ALL: [FieldKind; 3] = [FieldKind::Invoice, FieldKind::Receipt, FieldKind::KeyValue];

    /// The export's entity `type`.
    pub fn entity_type(self) -> &'static str {
        match self {
            FieldKind::Invoice => "invoiceField",
            FieldKind::Receipt => "receiptField",
            FieldKind::KeyValue => "keyValue",
        }
    }

    pub fn parse(text: &str) -> Result<FieldKind, Invalid> {
        FieldKind::ALL
            .into_iter()
            .find(|k| k.entity_type().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                Invalid(format!(
                    "type {text:?} cannot be edited; use invoiceField, receiptField or keyValue"
                ))
            })
    }

    fn fields(self, understanding: &mut Understanding) -> &mut Vec<Field> {
        match self {
            FieldKind::Invoice => &mut understanding.invoice,
            FieldKind::Receipt => &mut understanding.receipt,
            FieldKind::KeyValue => &mut understanding.key_values,
        }
    }
}

/// What a reviewer does to one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// The field's value (changed, or added when recognition missed it) and where it is.
    Set {
        content: String,
        page_number: u32,
        bbox: Option<Rect>,
    },
    /// The document has no such field.
    Absent { page_number: u32 },
}

/// One edit, as kept: every edit stays, in order, and the last one of a field wins.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEdit {
    pub kind: FieldKind,
    /// The field's `category` in the export (`InvoiceNumber`, `GrossTotal`).
    pub category: String,
    pub change: Change,
    pub by: Reviewer,
    pub at: Timestamp,
}

impl FieldEdit {
    /// Checks what a client asks to change.
    pub fn check(category: &str, change: &Change) -> Result<(), Invalid> {
        if category.trim().is_empty() || category.len() > 128 {
            return Err(Invalid("category must have 1 to 128 characters".into()));
        }
        if let Change::Set { content, bbox, .. } = change {
            if content.chars().count() > 4096 {
                return Err(Invalid("content may have at most 4096 characters".into()));
            }
            if let Some(b) = bbox {
                let finite = [b.left, b.top, b.right, b.bottom]
                    .iter()
                    .all(|v| v.is_finite());
                if !finite || b.right < b.left || b.bottom < b.top {
                    return Err(Invalid(
                        "boundingBox must have right ≥ left and bottom ≥ top".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Who last touched a field through review, for the export.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldAudit {
    pub kind: FieldKind,
    pub category: String,
    /// Recognition had not found it: a reviewer added it.
    pub added: Option<(Reviewer, Timestamp)>,
    pub edited: Option<(Reviewer, Timestamp)>,
    pub not_detected: bool,
}

/// Lays the edits over what recognition found, in order; returns each touched field's audit.
pub fn apply(understanding: &mut Understanding, edits: &[FieldEdit]) -> Vec<FieldAudit> {
    let mut audits: Vec<FieldAudit> = Vec::new();
    for edit in edits {
        let fields = edit.kind.fields(understanding);
        let found = fields
            .iter()
            .position(|f| f.category_normalized == edit.category);
        let audit_at = audits
            .iter()
            .position(|a| a.kind == edit.kind && a.category == edit.category);
        let added_now = found.is_none();
        let index = found.unwrap_or_else(|| {
            fields.push(Field {
                page_number: 1,
                category: edit.category.clone(),
                category_normalized: edit.category.clone(),
                content: String::new(),
                content_normalized: String::new(),
                bbox: None,
                confidence: 1.0,
                issue: None,
            });
            fields.len() - 1
        });
        let field = &mut fields[index];
        let not_detected = match &edit.change {
            Change::Set {
                content,
                page_number,
                bbox,
            } => {
                field.content = content.trim().to_owned();
                field.content_normalized = field.content.clone();
                field.page_number = *page_number;
                if bbox.is_some() {
                    field.bbox = *bbox;
                }
                false
            }
            Change::Absent { page_number } => {
                field.content.clear();
                field.content_normalized.clear();
                field.bbox = None;
                field.page_number = *page_number;
                true
            }
        };
        // A person vouched for the value.
        field.confidence = 1.0;
        field.issue = None;
        let stamp = Some((edit.by.clone(), edit.at));
        match audit_at {
            Some(i) => {
                audits[i].edited = stamp;
                audits[i].not_detected = not_detected;
            }
            None => audits.push(FieldAudit {
                kind: edit.kind,
                category: edit.category.clone(),
                added: if added_now { stamp.clone() } else { None },
                edited: if added_now { None } else { stamp },
                not_detected,
            }),
        }
    }
    audits
}

/// Writes the audits into the exported entities and their chunks' `lastModified...` fields.
pub fn stamp(chunks: &mut [Chunk], audits: &[FieldAudit]) {
    for chunk in chunks {
        let mut last: Option<(Reviewer, Timestamp)> = None;
        for entity in &mut chunk.entities {
            let Some(audit) = audits.iter().find(|a| {
                a.kind.entity_type() == entity.entity_type && a.category == entity.category
            }) else {
                continue;
            };
            if let Some((by, at)) = &audit.added {
                entity.added_by = by.user_id();
                entity.added_by_external = by.external();
                entity.added_on = Some(*at);
            }
            if let Some((by, at)) = &audit.edited {
                entity.edited_by = by.user_id();
                entity.edited_by_external = by.external();
                entity.edited_on = Some(*at);
            }
            entity.not_detected = audit.not_detected;
            entity.marked_as_solved = true;
            for touch in [&audit.added, &audit.edited].into_iter().flatten() {
                if last
                    .as_ref()
                    .is_none_or(|(_, at)| at.millis() <= touch.1.millis())
                {
                    last = Some(touch.clone());
                }
            }
        }
        if let Some((by, at)) = last {
            chunk.last_modified_by = by.user_id();
            chunk.last_modified_by_external = by.external();
            chunk.last_modified_on = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(category: &str, content: &str) -> Field {
        Field {
            page_number: 1,
            category: category.into(),
            category_normalized: category.into(),
            content: content.into(),
            content_normalized: content.into(),
            bbox: None,
            confidence: 0.4,
            issue: Some("doubtful".into()),
        }
    }

    fn edit(category: &str, change: Change, by: Reviewer, at: i64) -> FieldEdit {
        FieldEdit {
            kind: FieldKind::Invoice,
            category: category.into(),
            change,
            by,
            at: Timestamp::from_millis(at),
        }
    }

    #[test]
    fn edits_change_add_and_blank_fields_the_last_one_winning() {
        let mut understanding = Understanding {
            invoice: vec![
                field("InvoiceNumber", "FT 1/2"),
                field("GrossTotal", "1O.00"),
            ],
            ..Understanding::default()
        };
        let ana = Reviewer::User {
            id: 7,
            name: "Ana".into(),
        };
        let set = |content: &str| Change::Set {
            content: content.into(),
            page_number: 1,
            bbox: None,
        };
        let edits = [
            edit("GrossTotal", set("10.00"), ana.clone(), 1),
            edit("DueDate", set("2026-12-31"), Reviewer::Client, 2),
            edit(
                "InvoiceNumber",
                Change::Absent { page_number: 1 },
                ana.clone(),
                3,
            ),
            edit("GrossTotal", set("12.00"), Reviewer::Client, 4),
        ];
        let audits = apply(&mut understanding, &edits);
        let values: Vec<(&str, &str, f64)> = understanding
            .invoice
            .iter()
            .map(|f| (f.category.as_str(), f.content.as_str(), f.confidence))
            .collect();
        assert_eq!(
            values,
            [
                ("InvoiceNumber", "", 1.0),
                ("GrossTotal", "12.00", 1.0),
                ("DueDate", "2026-12-31", 1.0)
            ]
        );
        let total = audits.iter().find(|a| a.category == "GrossTotal").unwrap();
        assert_eq!(total.added, None);
        assert_eq!(
            total.edited,
            Some((Reviewer::Client, Timestamp::from_millis(4)))
        );
        let due = audits.iter().find(|a| a.category == "DueDate").unwrap();
        assert!(due.added.is_some() && due.edited.is_none());
        assert!(
            audits
                .iter()
                .find(|a| a.category == "InvoiceNumber")
                .unwrap()
                .not_detected
        );
    }

    #[test]
    fn automatic_review_needs_every_required_field_sure_and_agreeing() {
        let sure = |category: &str, confidence: f64| Field {
            confidence,
            issue: None,
            ..field(category, "x")
        };
        let settings = ReviewSettings {
            auto_review: true,
            confidence_threshold: 0.8,
            required_fields: vec!["InvoiceNumber".into(), "GrossTotal".into()],
            ..ReviewSettings::default()
        };
        let mut understanding = Understanding {
            invoice: vec![sure("InvoiceNumber", 0.95), sure("GrossTotal", 0.7)],
            ..Understanding::default()
        };
        let verdict = settings.auto_review(&understanding, false);
        assert_eq!(
            verdict.unwrap_err(),
            "GrossTotal has confidence 0.70, below 0.80"
        );
        understanding.invoice[1].confidence = 0.9;
        assert!(settings.auto_review(&understanding, false).is_ok());
        let no_qr = settings.auto_review(&understanding, true).unwrap_err();
        assert!(no_qr.contains("no fiscal QR code"), "{no_qr}");
        understanding.invoice[1].issue = Some("differs from the QR code".into());
        let disagrees = settings.auto_review(&understanding, false).unwrap_err();
        assert!(
            disagrees.contains("differs from the QR code"),
            "{disagrees}"
        );
        let off = ReviewSettings {
            auto_review: false,
            ..settings.clone()
        };
        assert!(off.auto_review(&understanding, false).is_err());
        assert!(ReviewSettings {
            required_fields: vec![],
            ..settings.clone()
        }
        .check()
        .is_err());
        assert!(ReviewSettings {
            confidence_threshold: 1.5,
            ..settings
        }
        .check()
        .is_err());
    }
}
