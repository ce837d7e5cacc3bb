//! Review: checkouts held on the task row, and the edits reviewers make to its fields.

use async_trait::async_trait;
use sqlx::Transaction;

use super::{record_status, Db, SqlStore};
use crate::{Checkout, FieldEdit, Reviewer, Reviews, StoreError, StoreResult};
use docket_domain::review::{AssignmentMode, Change, FieldKind, ReviewSettings};
use docket_domain::{TaskStatus, Timestamp};

type CheckoutRow = (Option<i64>, Option<String>, Option<i64>);
/// A task's status and its checkout columns.
type StatusRow = (i64, Option<i64>, Option<String>, Option<i64>);

fn checkout_from((user_id, user_name, until): CheckoutRow) -> Option<Checkout> {
    Some(Checkout {
        user_id,
        user_name: user_name?,
        until: Timestamp::from_millis(until?),
    })
}

/// The task's status and checkout, its row locked for the rest of the transaction.
async fn locked_task(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    task_id: i64,
) -> StoreResult<(TaskStatus, Option<Checkout>)> {
    let row: Option<StatusRow> = sqlx::query_as(&format!(
        "SELECT task_status, checkout_user_id, checkout_user_name, checkout_until
             FROM tasks WHERE id = $1 AND org_id = $2{}",
        super::super::LOCK_ROWS
    ))
    .bind(task_id)
    .bind(org_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (status, user_id, user_name, until) = row.ok_or(StoreError::NotFound("task"))?;
    let status = TaskStatus::from_code(status)
        .ok_or_else(|| StoreError::Corrupt(format!("task {task_id}: status {status}")))?;
    Ok((status, checkout_from((user_id, user_name, until))))
}

/// The task in review, held by `by` (a lapsed hold of theirs still counts: nobody took it).
async fn held_task(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    task_id: i64,
    by: &Reviewer,
) -> StoreResult<()> {
    let (status, checkout) = locked_task(tx, org_id, task_id).await?;
    if status != TaskStatus::InReview {
        return Err(StoreError::NotReviewable(status, "check it out first"));
    }
    match checkout {
        Some(c) if c.is_held_by(by) => Ok(()),
        Some(c) if c.is_live(Timestamp::now()) => Err(StoreError::CheckedOut(c)),
        _ => Err(StoreError::NotReviewable(status, "check it out first")),
    }
}

async fn set_checkout(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
    by: &Reviewer,
    until: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tasks SET checkout_user_id = $1, checkout_user_name = $2, checkout_until = $3
         WHERE id = $4",
    )
    .bind(by.user_id())
    .bind(by.name())
    .bind(until.millis())
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Reviews for SqlStore {
    async fn check_out(
        &self,
        org_id: i64,
        task_id: i64,
        by: &Reviewer,
        until: Timestamp,
    ) -> StoreResult<Checkout> {
        let mut tx = self.write().await?;
        let (status, checkout) = locked_task(&mut tx, org_id, task_id).await?;
        match (status, checkout) {
            (TaskStatus::ToReview, _) => {
                record_status(&mut tx, task_id, TaskStatus::InReview, None).await?;
            }
            (TaskStatus::InReview, Some(c)) if !c.is_held_by(by) && c.is_live(Timestamp::now()) => {
                return Err(StoreError::CheckedOut(c))
            }
            (TaskStatus::InReview, _) => {}
            (status, _) => {
                return Err(StoreError::NotReviewable(
                    status,
                    "only a task to review can be checked out",
                ))
            }
        }
        set_checkout(&mut tx, task_id, by, until).await?;
        tx.commit().await?;
        Ok(Checkout {
            user_id: by.user_id(),
            user_name: by.name().to_owned(),
            until,
        })
    }

    async fn release(&self, org_id: i64, task_id: i64, by: &Reviewer) -> StoreResult<()> {
        let mut tx = self.write().await?;
        held_task(&mut tx, org_id, task_id, by).await?;
        set_checkout(&mut tx, task_id, by, Timestamp::now()).await?;
        record_status(
            &mut tx,
            task_id,
            TaskStatus::ToReview,
            Some("released by the reviewer"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_edits(
        &self,
        org_id: i64,
        task_id: i64,
        edits: &[FieldEdit],
    ) -> StoreResult<()> {
        let Some(first) = edits.first() else {
            return Ok(());
        };
        let mut tx = self.write().await?;
        held_task(&mut tx, org_id, task_id, &first.by).await?;
        for edit in edits {
            let change = serde_json::to_string(&edit.change)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO field_edits (task_id, kind, category, change, user_id, user_name, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(task_id)
            .bind(edit.kind.entity_type())
            .bind(&edit.category)
            .bind(change)
            .bind(edit.by.user_id())
            .bind(edit.by.name())
            .bind(edit.at.millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn complete_review(&self, org_id: i64, task_id: i64, by: &Reviewer) -> StoreResult<()> {
        let mut tx = self.write().await?;
        held_task(&mut tx, org_id, task_id, by).await?;
        set_checkout(&mut tx, task_id, by, Timestamp::now()).await?;
        record_status(&mut tx, task_id, TaskStatus::Reviewed, None).await?;
        super::webhooks::enqueue_export(&mut tx, task_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn field_edits(&self, task_id: i64) -> StoreResult<Vec<FieldEdit>> {
        let rows: Vec<(String, String, String, Option<i64>, String, i64)> = sqlx::query_as(
            "SELECT kind, category, change, user_id, user_name, at FROM field_edits
             WHERE task_id = $1 ORDER BY id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(kind, category, change, user_id, user_name, at)| {
                let corrupt = |e: String| StoreError::Corrupt(format!("task {task_id} edit: {e}"));
                let change: Change =
                    serde_json::from_str(&change).map_err(|e| corrupt(e.to_string()))?;
                Ok(FieldEdit {
                    kind: FieldKind::parse(&kind).map_err(|e| corrupt(e.0))?,
                    category,
                    change,
                    by: match user_id {
                        Some(id) => Reviewer::User {
                            id,
                            name: user_name,
                        },
                        None => Reviewer::Client,
                    },
                    at: Timestamp::from_millis(at),
                })
            })
            .collect()
    }

    async fn checkout(&self, task_id: i64) -> StoreResult<Option<Checkout>> {
        let row: Option<CheckoutRow> = sqlx::query_as(
            "SELECT checkout_user_id, checkout_user_name, checkout_until FROM tasks WHERE id = $1",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(checkout_from))
    }

    async fn assign_reviewers(&self, task_id: i64, reviewers: &[i64]) -> StoreResult<Vec<i64>> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM task_reviewers WHERE task_id = $1")
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        let chosen = if reviewers.is_empty() {
            workspace_reviewers(&mut tx, task_id).await?
        } else {
            reviewers.to_vec()
        };
        for user_id in &chosen {
            sqlx::query(
                "INSERT INTO task_reviewers (task_id, user_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(task_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(chosen)
    }

    async fn task_reviewers(&self, task_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM task_reviewers WHERE task_id = $1 ORDER BY user_id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The reviewers the task's workspace gives it: all its reviewers, or the next in turn.
async fn workspace_reviewers(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
) -> StoreResult<Vec<i64>> {
    let row: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT w.id, w.review_settings FROM tasks t JOIN workspaces w ON w.id = t.workspace_id
         WHERE t.id = $1",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (workspace_id, json) = row.ok_or(StoreError::NotFound("task"))?;
    let settings: ReviewSettings = json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    match settings.assignment {
        _ if settings.reviewers.is_empty() => Ok(Vec::new()),
        AssignmentMode::Any => Ok(settings.reviewers),
        AssignmentMode::InTurn => {
            let turn: i64 = sqlx::query_scalar(
                "UPDATE workspaces SET next_reviewer_turn = next_reviewer_turn + 1
                 WHERE id = $1 RETURNING next_reviewer_turn",
            )
            .bind(workspace_id)
            .fetch_one(&mut **tx)
            .await?;
            let count = settings.reviewers.len() as i64;
            Ok(vec![
                settings.reviewers[((turn - 1).rem_euclid(count)) as usize],
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{leave_in, new_task, with_organisation};
    use super::*;
    use crate::{Catalog, Credentials, Jobs, Tasks};
    use docket_domain::job::QueueLimits;

    /// A task of the organisation carried through the pipeline to ToReview.
    async fn task_to_review(store: &SqlStore, org: i64) -> i64 {
        let id = new_task(store, org, None).await;
        leave_in(store, id, TaskStatus::ToReview).await;
        assert!(store
            .claim_job("w", 60, QueueLimits::default())
            .await
            .unwrap()
            .is_none());
        id
    }

    fn person(id: i64) -> Reviewer {
        Reviewer::User {
            id,
            name: format!("person {id}"),
        }
    }

    fn later(seconds: i64) -> Timestamp {
        Timestamp::now().plus_seconds(seconds)
    }

    #[tokio::test]
    async fn one_reviewer_holds_a_task_until_release_or_lapse() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let task = task_to_review(&store, org).await;
        let held = store
            .check_out(org, task, &person(1), later(60))
            .await
            .unwrap();
        assert_eq!(held.user_name, "person 1");
        let err = store
            .check_out(org, task, &person(2), later(60))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::CheckedOut(ref c) if c.user_id == Some(1)),
            "{err}"
        );
        let err = store
            .release(org, task, &Reviewer::Client)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::CheckedOut(_)), "{err}");
        store
            .check_out(org, task, &person(1), later(120))
            .await
            .unwrap();
        store.release(org, task, &person(1)).await.unwrap();
        store
            .check_out(org, task, &person(2), later(-1))
            .await
            .unwrap();
        // Person 2's hold lapsed: the API client may take the task.
        store
            .check_out(org, task, &Reviewer::Client, later(60))
            .await
            .unwrap();
        let err = store
            .complete_review(org, task, &person(2))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::CheckedOut(_)), "{err}");
        store
            .complete_review(org, task, &Reviewer::Client)
            .await
            .unwrap();
        let err = store
            .check_out(org, task, &person(1), later(60))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotReviewable(TaskStatus::Reviewed, _)),
            "{err}"
        );
        let statuses: Vec<TaskStatus> = store
            .task_events(task)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.task_status)
            .collect();
        use TaskStatus::*;
        assert_eq!(
            statuses[statuses.len() - 5..],
            [ToReview, InReview, ToReview, InReview, Reviewed]
        );
        let other = store
            .create_organization("other")
            .await
            .unwrap()
            .organization
            .id;
        let err = store
            .check_out(other, task, &person(9), later(60))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    }

    #[tokio::test]
    async fn edits_are_kept_in_order_only_from_the_holder() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let task = task_to_review(&store, org).await;
        let edit = |by: Reviewer, content: &str| FieldEdit {
            kind: FieldKind::Invoice,
            category: "GrossTotal".into(),
            change: Change::Set {
                content: content.into(),
                page_number: 1,
                bbox: None,
            },
            by,
            at: Timestamp::now(),
        };
        let err = store
            .record_edits(org, task, &[edit(person(1), "1")])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotReviewable(..)), "{err}");
        store
            .check_out(org, task, &person(1), later(60))
            .await
            .unwrap();
        let mine = [edit(person(1), "1"), edit(person(1), "2")];
        store.record_edits(org, task, &mine).await.unwrap();
        let err = store
            .record_edits(org, task, &[edit(person(2), "3")])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::CheckedOut(_)), "{err}");
        assert_eq!(store.field_edits(task).await.unwrap(), mine);
        assert!(store
            .restart_task(org, &crate::TaskRef::Id(task))
            .await
            .unwrap());
        assert!(
            store.field_edits(task).await.unwrap().is_empty(),
            "reprocess drops edits"
        );
        assert_eq!(
            store.checkout(task).await.unwrap(),
            None,
            "and the checkout"
        );
    }

    #[tokio::test]
    async fn reviewers_are_assigned_as_named_else_in_turn_and_reset_by_reprocess() {
        use crate::{Invite, People, Role};
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let invite = |email: &str| Invite {
            email: crate::Email::parse(email).unwrap(),
            role: Role::Reviewer,
        };
        let invited = store
            .invite_users(org, &[invite("a@x.pt"), invite("b@x.pt")], None)
            .await
            .unwrap();
        let (a, b) = (invited[0].user().id, invited[1].user().id);
        let workspace = store.workspace(org, None).await.unwrap().unwrap().id;
        let settings = ReviewSettings {
            assignment: AssignmentMode::InTurn,
            reviewers: vec![a, b],
            ..ReviewSettings::default()
        };
        assert!(store
            .set_review_settings(org, workspace, &settings)
            .await
            .unwrap());
        let other = store
            .create_organization("other")
            .await
            .unwrap()
            .organization
            .id;
        assert!(!store
            .set_review_settings(other, workspace, &settings)
            .await
            .unwrap());
        let mut turns = Vec::new();
        for _ in 0..3 {
            let task = task_to_review(&store, org).await;
            turns.push(store.assign_reviewers(task, &[]).await.unwrap());
        }
        assert_eq!(turns, [vec![a], vec![b], vec![a]]);
        let task = task_to_review(&store, org).await;
        store.assign_reviewers(task, &[b, a]).await.unwrap();
        assert_eq!(
            store.task_reviewers(task).await.unwrap(),
            [a.min(b), a.max(b)]
        );
        store
            .restart_task(org, &crate::TaskRef::Id(task))
            .await
            .unwrap();
        assert!(store.task_reviewers(task).await.unwrap().is_empty());
    }
}
