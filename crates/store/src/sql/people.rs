//! Users, workspace assignments, password links and sessions.

use async_trait::async_trait;
use sqlx::Transaction;

use super::{Db, SqlStore};
use crate::{Email, Invite, Invited, PasswordLink, People, Role, StoreError, StoreResult, User};
use docket_domain::credentials;
use docket_domain::people::{UserStatus, PASSWORD_LINK_SECONDS};
use docket_domain::Timestamp;

type UserRow = (i64, i64, String, Option<String>, String, String, i64);

const USER_COLUMNS: &str = "u.id, u.org_id, u.email, u.name, u.role, u.status, u.created_at";
/// The same, unqualified: SQLite's RETURNING names only the modified table's own columns.
const USER_FIELDS: &str = "id, org_id, email, name, role, status, created_at";

fn user_from(row: UserRow) -> StoreResult<User> {
    let (id, org_id, email, name, role, status, created_at) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("user {id}: {what}"));
    Ok(User {
        id,
        org_id,
        email: Email::parse(&email).map_err(|e| corrupt(&e.0))?,
        name,
        role: Role::parse(&role).map_err(|e| corrupt(&e.0))?,
        created_at: Timestamp::from_millis(created_at),
        status: UserStatus::parse(&status).ok_or_else(|| corrupt("unknown status"))?,
    })
}

fn users_from(rows: Vec<UserRow>) -> StoreResult<Vec<User>> {
    rows.into_iter().map(user_from).collect()
}

async fn insert_user(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    invite: &Invite,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> StoreResult<User> {
    let now = Timestamp::now();
    let status = match password_hash {
        Some(_) => UserStatus::Active,
        None => UserStatus::Invited,
    };
    let inserted = sqlx::query_scalar(
        "INSERT INTO users (org_id, email, name, role, password_hash, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(org_id)
    .bind(invite.email.as_str())
    .bind(name)
    .bind(invite.role.name())
    .bind(password_hash)
    .bind(status.name())
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await;
    // Another process may add the same address between our check and this insert.
    let id: i64 = match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(StoreError::DuplicateEmail(invite.email.as_str().to_owned()))
        }
        other => other?,
    };
    Ok(User {
        id,
        org_id,
        email: invite.email.clone(),
        name: name.map(str::to_owned),
        role: invite.role,
        created_at: now,
        status,
    })
}

async fn existing_user(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    email: &Email,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 AND u.email = $2"
    ))
    .bind(org_id)
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(user_from).transpose()
}

async fn assign(
    tx: &mut Transaction<'static, Db>,
    workspace_id: i64,
    user_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(workspace_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn new_link(tx: &mut Transaction<'static, Db>, user: User) -> StoreResult<PasswordLink> {
    let token = credentials::new_secret();
    let expires_at = Timestamp::now().plus_seconds(PASSWORD_LINK_SECONDS);
    sqlx::query("DELETE FROM password_links WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO password_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(credentials::hash_secret(&token))
        .bind(user.id)
        .bind(expires_at.millis())
        .execute(&mut **tx)
        .await?;
    Ok(PasswordLink {
        user,
        token,
        expires_at,
    })
}

#[async_trait]
impl People for SqlStore {
    async fn invite_users(
        &self,
        org_id: i64,
        invites: &[Invite],
        workspace_id: Option<i64>,
    ) -> StoreResult<Vec<Invited>> {
        let mut tx = self.write().await?;
        let mut invited = Vec::with_capacity(invites.len());
        for invite in invites {
            let outcome = match (
                existing_user(&mut tx, org_id, &invite.email).await?,
                workspace_id,
            ) {
                (Some(user), Some(_)) => Invited::Existing(user),
                (Some(_), None) => {
                    return Err(StoreError::DuplicateEmail(invite.email.as_str().to_owned()))
                }
                (None, _) => {
                    let user = insert_user(&mut tx, org_id, invite, None, None).await?;
                    Invited::New(new_link(&mut tx, user).await?)
                }
            };
            if let Some(workspace_id) = workspace_id {
                assign(&mut tx, workspace_id, outcome.user().id).await?;
            }
            invited.push(outcome);
        }
        tx.commit().await?;
        Ok(invited)
    }

    async fn create_user(
        &self,
        org_id: i64,
        invite: &Invite,
        name: Option<&str>,
        password_hash: &str,
    ) -> StoreResult<User> {
        let mut tx = self.write().await?;
        if existing_user(&mut tx, org_id, &invite.email)
            .await?
            .is_some()
        {
            return Err(StoreError::DuplicateEmail(invite.email.as_str().to_owned()));
        }
        let user = insert_user(&mut tx, org_id, invite, name, Some(password_hash)).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn users(&self, org_id: i64) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 ORDER BY u.id"
        ))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        users_from(rows)
    }

    async fn workspace_users(&self, org_id: i64, workspace_id: i64) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u
             WHERE u.org_id = $1
               AND (u.role IN ($3, $4) OR EXISTS (
                    SELECT 1 FROM workspace_members m
                    WHERE m.workspace_id = $2 AND m.user_id = u.id))
             ORDER BY u.id"
        ))
        .bind(org_id)
        .bind(workspace_id)
        .bind(Role::Administrator.name())
        .bind(Role::Manager.name())
        .fetch_all(&self.pool)
        .await?;
        users_from(rows)
    }

    async fn user_by_email(&self, org_id: i64, email: &Email) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 AND u.email = $2"
        ))
        .bind(org_id)
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(user_from).transpose()
    }

    async fn assigned_workspaces(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT workspace_id FROM workspace_members WHERE user_id = $1 ORDER BY workspace_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn issue_password_link(&self, user_id: i64) -> StoreResult<PasswordLink> {
        let mut tx = self.write().await?;
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let user = user_from(row.ok_or(StoreError::NotFound("user"))?)?;
        let link = new_link(&mut tx, user).await?;
        tx.commit().await?;
        Ok(link)
    }

    async fn password_link_user(&self, token: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM password_links l JOIN users u ON u.id = l.user_id
             WHERE l.token_hash = $1 AND l.expires_at > $2"
        ))
        .bind(credentials::hash_secret(token))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?;
        row.map(user_from).transpose()
    }

    async fn redeem_password_link(
        &self,
        token: &str,
        password_hash: &str,
        name: Option<&str>,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.write().await?;
        let user_id: Option<i64> = sqlx::query_scalar(
            "DELETE FROM password_links WHERE token_hash = $1 AND expires_at > $2
             RETURNING user_id",
        )
        .bind(credentials::hash_secret(token))
        .bind(Timestamp::now().millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        let row: UserRow = sqlx::query_as(&format!(
            "UPDATE users SET password_hash = $1, status = $2, name = COALESCE($3, name)
             WHERE id = $4 RETURNING {USER_FIELDS}"
        ))
        .bind(password_hash)
        .bind(UserStatus::Active.name())
        .bind(name)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        user_from(row).map(Some)
    }

    async fn sign_in_candidates(&self, email: &Email) -> StoreResult<Vec<(User, String)>> {
        let rows: Vec<(
            i64,
            i64,
            String,
            Option<String>,
            String,
            String,
            i64,
            String,
        )> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                 WHERE u.email = $1 AND u.password_hash IS NOT NULL ORDER BY u.id"
        ))
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, org, email, name, role, status, created, hash)| {
                Ok((
                    user_from((id, org, email, name, role, status, created))?,
                    hash,
                ))
            })
            .collect()
    }

    async fn create_session(
        &self,
        user_id: i64,
        token: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // Ended sessions are useless; dropping a few with each new one keeps the table small.
        sqlx::query(
            "DELETE FROM sessions WHERE token_hash IN
                (SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT 100)",
        )
        .bind(Timestamp::now().millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(credentials::hash_secret(token))
            .bind(user_id)
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, token: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(credentials::hash_secret(token))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?;
        row.map(user_from).transpose()
    }

    async fn end_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(credentials::hash_secret(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::with_organisation;
    use super::*;
    use crate::{Catalog, Credentials};

    fn invite(email: &str, role: Role) -> Invite {
        Invite {
            email: Email::parse(email).unwrap(),
            role,
        }
    }

    fn emails(users: &[User]) -> Vec<&str> {
        users.iter().map(|u| u.email.as_str()).collect()
    }

    #[tokio::test]
    async fn invitations_are_all_or_none_and_addresses_unique_per_organisation() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let first = [invite("ana@example.pt", Role::Reviewer)];
        let invited = store.invite_users(org, &first, None).await.unwrap();
        let Invited::New(link) = &invited[0] else {
            panic!("{invited:?}")
        };
        assert_eq!(link.user.status, UserStatus::Invited);
        let again = [
            invite("rui@example.pt", Role::Viewer),
            invite("ANA@example.pt", Role::Manager),
        ];
        let err = store.invite_users(org, &again, None).await.unwrap_err();
        assert!(matches!(err, StoreError::DuplicateEmail(ref e) if e == "ana@example.pt"));
        assert_eq!(emails(&store.users(org).await.unwrap()), ["ana@example.pt"]);
        let other = store.create_organization("other").await.unwrap();
        let elsewhere = store
            .invite_users(other.organization.id, &first, None)
            .await
            .unwrap();
        assert_eq!(
            elsewhere.len(),
            1,
            "another organisation may have the same person"
        );
    }

    #[tokio::test]
    async fn a_workspace_lists_its_members_and_everyone_who_sees_all() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let default = store.workspace(org, None).await.unwrap().unwrap().id;
        let other = store
            .create_workspace(org, "Receipts", None, "receipts", "por+eng")
            .await
            .unwrap()
            .id;
        let people = [
            invite("boss@example.pt", Role::Manager),
            invite("rev@example.pt", Role::Reviewer),
        ];
        store.invite_users(org, &people[..1], None).await.unwrap();
        store
            .invite_users(org, &people[1..], Some(other))
            .await
            .unwrap();
        let members = store.workspace_users(org, default).await.unwrap();
        assert_eq!(emails(&members), ["boss@example.pt"]);
        let members = store.workspace_users(org, other).await.unwrap();
        assert_eq!(emails(&members), ["boss@example.pt", "rev@example.pt"]);
        // Inviting an existing member to another workspace assigns them.
        let again = store
            .invite_users(org, &people[1..], Some(default))
            .await
            .unwrap();
        assert!(matches!(again[0], Invited::Existing(_)), "{again:?}");
        let rev = again[0].user().id;
        assert_eq!(
            store.assigned_workspaces(rev).await.unwrap(),
            [default, other]
        );
    }

    #[tokio::test]
    async fn a_password_link_works_once_and_ends_earlier_sessions() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let invited = store
            .invite_users(org, &[invite("ana@example.pt", Role::Reviewer)], None)
            .await
            .unwrap();
        let Invited::New(link) = &invited[0] else {
            panic!("{invited:?}")
        };
        let email = Email::parse("ana@example.pt").unwrap();
        assert!(store.sign_in_candidates(&email).await.unwrap().is_empty());
        assert_eq!(
            store
                .password_link_user(&link.token)
                .await
                .unwrap()
                .unwrap()
                .id,
            link.user.id
        );
        let user = store
            .redeem_password_link(&link.token, "hash-1", Some("Ana"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (user.status, user.name.as_deref()),
            (UserStatus::Active, Some("Ana"))
        );
        assert!(store
            .redeem_password_link(&link.token, "hash-2", None)
            .await
            .unwrap()
            .is_none());
        let candidates = store.sign_in_candidates(&email).await.unwrap();
        assert_eq!(candidates[0].1, "hash-1");

        store
            .create_session(user.id, "session", Timestamp::now().plus_seconds(60))
            .await
            .unwrap();
        assert_eq!(
            store.session_user("session").await.unwrap().unwrap().id,
            user.id
        );
        let reset = store.issue_password_link(user.id).await.unwrap();
        store
            .redeem_password_link(&reset.token, "hash-3", None)
            .await
            .unwrap()
            .unwrap();
        assert!(store.session_user("session").await.unwrap().is_none());
        store
            .create_session(user.id, "expired", Timestamp::now().plus_seconds(-1))
            .await
            .unwrap();
        assert!(store.session_user("expired").await.unwrap().is_none());
    }
}
