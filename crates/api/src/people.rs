//! `/tenant` and `/sdworkspace` people routes: the roles, who is in the organisation or may
//! work in a workspace, and invitations (each with a link to set a password, handed back to
//! the inviter; docket sends no mail unless told how).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Actor;
use super::error::{ApiError, ApiResult};
use super::input::{canonical_keys, from_json_value, parse_lenient};
use super::AppState;
use docket_domain::people::{Email, Invite, Invited, Role, User};
use docket_domain::Timestamp;

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleResponse {
    pub name: String,
}

/// A user as the documented user lists show them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    pub id: i64,
    /// Administrator, Manager, Creator, Reviewer or Viewer.
    pub role_name: String,
    /// The name the person gave, null until they have.
    pub name: Option<String>,
    /// The sign-in name: the e-mail address.
    pub user_name: String,
    pub email: String,
    pub created_at: Timestamp,
    /// True once the person has used their invitation link.
    pub email_confirmed: bool,
    /// `Invited` (no password yet) or `Active`.
    pub status: String,
}

impl From<&User> for UserResponse {
    fn from(user: &User) -> Self {
        UserResponse {
            id: user.id,
            role_name: user.role.name().to_owned(),
            name: user.name.clone(),
            user_name: user.email.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            created_at: user.created_at,
            email_confirmed: user.email_confirmed(),
            status: user.status.name().to_owned(),
        }
    }
}

/// An invited person, and the link with which they set a password.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedUserResponse {
    #[serde(flatten)]
    pub user: UserResponse,
    /// Where the person sets a password; shown once. Null for a member of the organisation
    /// who was only given access to the workspace.
    pub invitation_url: Option<String>,
    pub invitation_expires_on: Option<Timestamp>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInvite {
    pub email: String,
    pub role_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteUsersRequest {
    pub users: Vec<UserInvite>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteWorkspaceUsersRequest {
    pub workspace_id: i64,
    pub users: Vec<UserInvite>,
}

/// The roles a user can have.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/tenant/availableroles",
    tag = "Users",
    responses((status = 200, body = Vec<RoleResponse>))
)]
pub async fn available_roles(_actor: Actor) -> Json<Vec<RoleResponse>> {
    let roles = Role::ALL.iter().map(|r| RoleResponse {
        name: r.name().to_owned(),
    });
    Json(roles.collect())
}

fn user_list(users: &[User]) -> Json<Vec<UserResponse>> {
    Json(users.iter().map(UserResponse::from).collect())
}

/// Every user of the organisation (for those who manage people).
#[utoipa::path(
    get,
    path = "/api/v1.0/external/tenant/allusers",
    tag = "Users",
    responses((status = 200, body = Vec<UserResponse>), (status = 403))
)]
pub async fn all_users(
    actor: Actor,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<UserResponse>>> {
    if !actor.role().sees_every_workspace() {
        return Err(ApiError::Forbidden(
            "only Administrators and Managers see every user".into(),
        ));
    }
    Ok(user_list(&state.store.users(actor.org_id()).await?))
}

/// Everyone who may work in a workspace: its members, and every Administrator and Manager.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdworkspace/allusers/{workspaceId}",
    tag = "Users",
    params(("workspaceId" = i64, Path)),
    responses((status = 200, body = Vec<UserResponse>), (status = 404))
)]
pub async fn workspace_users(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<Vec<UserResponse>>> {
    let workspace_id = visible_workspace(&actor, &state, &workspace_id).await?;
    let users = state
        .store
        .workspace_users(actor.org_id(), workspace_id)
        .await?;
    Ok(user_list(&users))
}

/// The workspace, when it is the caller's organisation's and the caller may see it (404
/// otherwise: another organisation's ids are not confirmed to exist).
pub(super) async fn visible_workspace(actor: &Actor, state: &AppState, id: &str) -> ApiResult<i64> {
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("workspaceId {id:?} is not a number")))?;
    let found = state.store.workspace(actor.org_id(), Some(id)).await?;
    match found {
        Some(w) if actor.sees_workspace(state, w.id).await? => Ok(w.id),
        _ => Err(ApiError::NotFound("workspace")),
    }
}

/// Invite people to the organisation.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/tenant/inviteusers",
    tag = "Users",
    request_body = InviteUsersRequest,
    responses(
        (status = 200, body = Vec<InvitedUserResponse>),
        (status = 400, description = "No users, a bad or repeated e-mail, an address already in the organisation, or an unknown role"),
        (status = 403, description = "The caller may not invite people with that role"),
    )
)]
pub async fn invite_users(
    actor: Actor,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Json<Vec<InvitedUserResponse>>> {
    let request: InviteUsersRequest = invite_body(&body, &["users"])?;
    let invites = checked_invites(&actor, &request.users)?;
    Ok(Json(invite(&state, &actor, &invites, None).await?))
}

/// Invite people to a workspace: new people join the organisation too; members of the
/// organisation are given access to the workspace.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdworkspace/inviteusers",
    tag = "Users",
    request_body = InviteWorkspaceUsersRequest,
    responses(
        (status = 200, body = Vec<InvitedUserResponse>),
        (status = 400, description = "No users, a bad or repeated e-mail, or an unknown role"),
        (status = 403, description = "The caller may not invite people with that role"),
        (status = 404, description = "No such workspace"),
    )
)]
pub async fn invite_workspace_users(
    actor: Actor,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Json<Vec<InvitedUserResponse>>> {
    let request: InviteWorkspaceUsersRequest = invite_body(&body, &["workspaceId", "users"])?;
    let invites = checked_invites(&actor, &request.users)?;
    let workspace = visible_workspace(&actor, &state, &request.workspace_id.to_string()).await?;
    Ok(Json(
        invite(&state, &actor, &invites, Some(workspace)).await?,
    ))
}

/// The request body, its property names in any case at both levels.
fn invite_body<T: serde::de::DeserializeOwned>(body: &[u8], names: &[&str]) -> ApiResult<T> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
    let mut value = parse_lenient(text)?;
    canonical_keys(&mut value, names);
    if let Some(Value::Array(users)) = value.get_mut("users") {
        for user in users {
            canonical_keys(user, &["email", "roleName"]);
        }
    }
    from_json_value(value, names)
}

/// Validates every invitation before any is made: addresses, roles, no address twice, and
/// that the caller may invite each role.
pub(super) fn checked_invites(actor: &Actor, users: &[UserInvite]) -> ApiResult<Vec<Invite>> {
    if users.is_empty() {
        return Err(ApiError::BadRequest(
            "users must name at least one person".into(),
        ));
    }
    if users.len() > 100 {
        return Err(ApiError::BadRequest("at most 100 people at once".into()));
    }
    let mut invites: Vec<Invite> = Vec::with_capacity(users.len());
    for user in users {
        let invite = Invite {
            email: Email::parse(&user.email)?,
            role: Role::parse(&user.role_name)?,
        };
        if invites.iter().any(|i| i.email == invite.email) {
            return Err(ApiError::BadRequest(format!(
                "{} is listed twice",
                invite.email.as_str()
            )));
        }
        if !actor.role().may_invite(invite.role) {
            return Err(ApiError::Forbidden(format!(
                "a {} may not invite a {}",
                actor.role().name(),
                invite.role.name()
            )));
        }
        invites.push(invite);
    }
    Ok(invites)
}

pub(super) async fn invite(
    state: &AppState,
    actor: &Actor,
    invites: &[Invite],
    workspace: Option<i64>,
) -> ApiResult<Vec<InvitedUserResponse>> {
    let invited = state
        .store
        .invite_users(actor.org_id(), invites, workspace)
        .await?;
    let response = invited
        .iter()
        .map(|outcome| {
            let (url, expires) = match outcome {
                Invited::New(link) => (
                    Some(state.password_link_url(&link.token)),
                    Some(link.expires_at),
                ),
                Invited::Existing(_) => (None, None),
            };
            InvitedUserResponse {
                user: outcome.user().into(),
                invitation_url: url,
                invitation_expires_on: expires,
            }
        })
        .collect();
    Ok(response)
}
