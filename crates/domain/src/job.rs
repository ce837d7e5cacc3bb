//! Pipeline jobs as workers see them: the stage a task waits in, a claimed job, and the limits
//! a claim keeps to.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStage {
    PreProcess,
    Recognize,
}

impl JobStage {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStage::PreProcess => "preprocess",
            JobStage::Recognize => "recognize",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "preprocess" => Some(JobStage::PreProcess),
            "recognize" => Some(JobStage::Recognize),
            _ => None,
        }
    }
}

/// Limits a claim keeps to.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// An organisation with this many pages in hand gets no more jobs until some finish.
    pub pages_in_flight: i64,
    /// Pages a worker reads of a document per turn: what a held job counts for at most.
    pub page_batch: i64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            pages_in_flight: i64::MAX,
            page_batch: i64::MAX,
        }
    }
}

/// Pending jobs of one organisation whose tasks are in one status, for the queue-depth gauge.
#[derive(Debug, Clone)]
pub struct QueueDepth {
    pub org_id: i64,
    pub task_status: i64,
    /// Held by a worker under a live lease, or waiting for one.
    pub leased: bool,
    pub jobs: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub task_id: i64,
    pub stage: JobStage,
    /// How many times this job has been claimed and not given back, this time included.
    pub attempts: i64,
    /// How many times its document reader was killed before this claim.
    pub kills: i64,
    pub worker: String,
}
