//! A task's life after its work: when a task counts as stuck in a transient status and where
//! it goes back to, when finished tasks move to history, and how long deleted tasks' files are
//! kept.

use super::{Invalid, TaskStatus};

#[derive(Debug, Clone, PartialEq)]
pub struct LifecyclePolicy {
    /// How long a task may stay in a transient status without progress, per status.
    pub stuck_after: Vec<(TaskStatus, i64)>,
    /// Days after which Processed and ExportCompleted tasks move to history (the archive).
    pub history_after_days: i64,
    /// Days a deleted task's original file is kept before it is removed.
    pub retention_days: i64,
}

/// An hour, for every transient status (docket's choice).
const STUCK_SECONDS: i64 = 3600;

impl Default for LifecyclePolicy {
    fn default() -> Self {
        LifecyclePolicy {
            stuck_after: TaskStatus::ALL
                .iter()
                .filter(|s| revert_target(**s).is_some())
                .map(|s| (*s, STUCK_SECONDS))
                .collect(),
            history_after_days: 31,
            retention_days: 30,
        }
    }
}

impl LifecyclePolicy {
    /// Overrides stuck times from `STATUS=SECONDS` pairs (status by code or name), e.g.
    /// `41=7200,InReview=14400`.
    pub fn with_stuck_after(mut self, spec: &str) -> Result<Self, Invalid> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (status, seconds) = pair
                .split_once('=')
                .ok_or_else(|| Invalid(format!("{pair:?} is not STATUS=SECONDS")))?;
            let status = status.trim();
            let status = status
                .parse::<i64>()
                .ok()
                .and_then(TaskStatus::from_code)
                .or_else(|| {
                    TaskStatus::ALL
                        .iter()
                        .copied()
                        .find(|s| s.name().eq_ignore_ascii_case(status))
                })
                .filter(|s| revert_target(*s).is_some())
                .ok_or_else(|| Invalid(format!("{status} is not a transient status")))?;
            let seconds: i64 = seconds
                .trim()
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| Invalid(format!("{pair:?}: seconds must be a positive number")))?;
            self.stuck_after.retain(|(s, _)| *s != status);
            self.stuck_after.push((status, seconds));
        }
        Ok(self)
    }
}

/// Where a task stuck in `status` goes back to, and whether it needs its pipeline job again;
/// None for statuses that are not transient.
pub fn revert_target(status: TaskStatus) -> Option<TaskStatus> {
    use TaskStatus::*;
    Some(match status {
        QueuedForPreProcessing | PreProcessingInProgress => QueuedForPreProcessing,
        PreProcessingSuccessful | QueuedForRecognition | RecognitionInProgress => {
            QueuedForRecognition
        }
        RecognitionSuccessful | InReview => ToReview,
        Exporting => Reviewed,
        _ => return None,
    })
}

/// The status a cancelled queued or running task ends in; None when it cannot be cancelled.
pub fn cancelled_status(status: TaskStatus) -> Option<TaskStatus> {
    use TaskStatus::*;
    match status {
        QueuedForPreProcessing | PreProcessingInProgress => Some(PreProcessingFailed),
        PreProcessingSuccessful | QueuedForRecognition | RecognitionInProgress => {
            Some(RecognitionFailed)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_times_are_set_per_transient_status() {
        let policy = LifecyclePolicy::default()
            .with_stuck_after("41=7200, inreview=60")
            .unwrap();
        let of = |s: TaskStatus| policy.stuck_after.iter().find(|(x, _)| *x == s).unwrap().1;
        assert_eq!(of(TaskStatus::RecognitionInProgress), 7200);
        assert_eq!(of(TaskStatus::InReview), 60);
        assert_eq!(of(TaskStatus::PreProcessingInProgress), 3600);
        for bad in ["3=60", "41", "41=-1", "Nope=5"] {
            assert!(
                LifecyclePolicy::default().with_stuck_after(bad).is_err(),
                "{bad}"
            );
        }
    }
}
