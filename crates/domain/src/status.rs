//! Task and integration statuses with the numeric values of the SmartDocumentor API, and the
//! transitions the pipeline may make between them.

use serde::{Deserialize, Serialize};

macro_rules! numbered_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> i64 {
                match self { $($name::$variant => $value),+ }
            }

            pub fn from_code(code: i64) -> Option<Self> {
                match code { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The API's text form (`taskStatusText`, `integrationStatusText`).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = i64::deserialize(d)?;
                Self::from_code(code)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} {code}", stringify!($name))))
            }
        }
    };
}

numbered_enum!(
    /// Where a task is in its life. Values marked "docket's choice" in the spec are ours.
    TaskStatus {
        ToReview = 3,
        InReview = 4,
        Reviewed = 5,
        Exporting = 6,
        ExportCompleted = 7,
        ExportFailed = 8,
        Processed = 9,
        Deleting = 19,
        Deleted = 20,
        QueuedForPreProcessing = 30,
        PreProcessingInProgress = 31,
        PreProcessingFailed = 32,
        PreProcessingDownloadFailed = 33,
        PreProcessingSuccessful = 34,
        PreProcessingGetPagesFailed = 35,
        QueuedForRecognition = 40,
        RecognitionInProgress = 41,
        RecognitionFailed = 42,
        RecognitionSuccessful = 43,
    }
);

numbered_enum!(
    /// Whether the task's export reached the client's system.
    IntegrationStatus {
        Never = 1,
        Queued = 2,
        Successful = 3,
        Failed = 4,
    }
);

impl TaskStatus {
    /// Statuses shown in the SmartDocumentor "Task History" rather than the inbox.
    pub fn is_in_history(self) -> bool {
        matches!(self, TaskStatus::Processed | TaskStatus::Deleted)
    }

    /// Whether the pipeline may move a task from `self` to `next`. Reprocessing is not a
    /// pipeline step: it may restart a task from any status.
    pub fn can_advance_to(self, next: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, next),
            (QueuedForPreProcessing, PreProcessingInProgress)
                // Given up on after repeated crashes, possibly before the stage began.
                | (QueuedForPreProcessing, PreProcessingFailed)
                | (QueuedForRecognition, RecognitionFailed)
                // A worker that died mid-stage leaves the status behind; the next one restarts it.
                | (PreProcessingInProgress, PreProcessingInProgress)
                | (
                    PreProcessingInProgress,
                    PreProcessingSuccessful
                        | PreProcessingFailed
                        | PreProcessingDownloadFailed
                        | PreProcessingGetPagesFailed
                )
                | (PreProcessingSuccessful, QueuedForRecognition)
                | (QueuedForRecognition, RecognitionInProgress)
                | (RecognitionInProgress, RecognitionInProgress)
                | (RecognitionInProgress, RecognitionSuccessful | RecognitionFailed)
                | (RecognitionSuccessful, ToReview)
                // Automatic review.
                | (RecognitionSuccessful, Reviewed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_match_the_api() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::from_code(status.code()), Some(*status));
        }
        assert_eq!(TaskStatus::InReview.code(), 4);
        assert_eq!(TaskStatus::InReview.name(), "InReview");
        assert_eq!(IntegrationStatus::Failed.name(), "Failed");
        assert_eq!(
            IntegrationStatus::from_code(4),
            Some(IntegrationStatus::Failed)
        );
        assert_eq!(TaskStatus::from_code(99), None);
    }

    #[test]
    fn pipeline_only_moves_forward() {
        use TaskStatus::*;
        assert!(QueuedForPreProcessing.can_advance_to(PreProcessingInProgress));
        assert!(RecognitionSuccessful.can_advance_to(ToReview));
        assert!(!ToReview.can_advance_to(PreProcessingInProgress));
        assert!(!PreProcessingDownloadFailed.can_advance_to(QueuedForRecognition));
    }
}
